package dnsinfo

import "hash/maphash"

// index maps cache keys to positions in Cache.entries. It is an
// open-addressing table with linear probing whose slots hold a key's hash
// next to its position, and the keys stay in the entries. Against a Go map
// of key to position it saves the second hashing when an answer adds an
// entry (the miss found where the key goes), a slot is 8 bytes instead of
// the 36 of a key and position, and a probe compares hashes, so it reads
// an entry's key only on a likely match: the entry it then reads anyway.
//
// The hash is the runtime's seeded map hash, so addresses chosen by
// whoever writes DNS answers cannot pile into one probe sequence any more
// than they can in a Go map.
type index struct {
	seed maphash.Seed
	// slots are hash<<32 | position+1, 0 when empty. The low bits of the
	// hash pick the first slot to probe, so deletion can tell where a
	// slot's key wanted to be without hashing it again.
	slots []uint64
	n     int
}

// maxLoad is the inverse of the largest fraction of slots in use. At one
// half a linear probe finds a present key in 1.5 slots on average and an
// absent one in 2.5.
const maxLoad = 2

func newIndex(size int) index {
	return index{seed: maphash.MakeSeed(), slots: make([]uint64, slotsFor(size))}
}

// slotsFor is the power of two of slots that holds n keys.
func slotsFor(n int) int {
	s := 8
	for s < n*maxLoad {
		s *= 2
	}
	return s
}

func hashKey(seed maphash.Seed, k cacheKey) uint32 { return uint32(maphash.Comparable(seed, k)) }

// find returns the position of k, or -1 and k's hash for insert.
func (x *index) find(entries []entry, k cacheKey) (pos int, h uint32) {
	h = hashKey(x.seed, k)
	return x.findHashed(entries, k, h), h
}

// findHashed is find for a caller that has k's hash h: a Stage hashes
// on its worker, so that a commit does not.
func (x *index) findHashed(entries []entry, k cacheKey, h uint32) int {
	mask := uint32(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return -1
		}
		if uint32(s>>32) == h && entries[uint32(s)-1].key == k {
			return int(uint32(s) - 1)
		}
	}
}

// insert adds position pos of a key with hash h, which find did not find.
func (x *index) insert(h uint32, pos int) {
	if (x.n+1)*maxLoad > len(x.slots) {
		x.grow()
	}
	x.put(uint64(h)<<32 | uint64(pos+1))
	x.n++
}

func (x *index) put(s uint64) {
	mask := uint32(len(x.slots) - 1)
	i := uint32(s>>32) & mask
	for x.slots[i] != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = s
}

func (x *index) grow() {
	old := x.slots
	x.slots = make([]uint64, 2*len(old))
	for _, s := range old {
		if s != 0 {
			x.put(s)
		}
	}
}

// remove deletes position pos, whose key has hash h. Later slots of the
// probe sequence move back into the gap (rather than leave a tombstone),
// so probes stay short however many entries the cache replaces.
func (x *index) remove(h uint32, pos int) {
	mask := uint32(len(x.slots) - 1)
	want := uint64(h)<<32 | uint64(pos+1)
	i := h & mask
	for x.slots[i] != want {
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; x.slots[j] != 0; j = (j + 1) & mask {
		// The slot at j may fill the gap at i unless its key's first
		// probe comes after i.
		home := uint32(x.slots[j]>>32) & mask
		if (j-home)&mask >= (j-i)&mask {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = 0
	x.n--
}
