package verdict

import (
	"encoding/binary"
	"encoding/hex"
	"net/netip"
)

// ID names the finding by what findings aggregate by: kind, protocol,
// hosts, port and entry (and the name, for dns-failure findings). The
// same problem gets the same ID in every capture window and on every
// sensor, so rows of several findings tables can be joined on it and an
// evidence file can be named by it. It is the 16 hex digits of Key.
func (g *Finding) ID() string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], g.Key())
	return hex.EncodeToString(b[:])
}

// Key is the identity ID spells out, as FNV-1a: what makes two
// occurrences the same finding, wherever they are counted (the findings
// table, the alert feed's deduplication, evidence files). It allocates
// nothing: the feed keys every occurrence it absorbs.
func (g *Finding) Key() uint64 {
	h := fnv1a(fnvOffset)
	var text [64]byte
	h = h.str(string(g.Kind))
	h = h.bytes([]byte{g.Proto})
	h = h.bytes(append(addrText(text[:0], g.Src), 0))
	h = h.bytes(append(addrText(text[:0], g.Dst), 0))
	h = h.bytes(binary.BigEndian.AppendUint16(text[:0], g.DstPort))
	h = h.str(g.Vendor)
	h = h.str(g.EntryID)
	if g.Kind == KindDNSFailure {
		h = h.str(g.ServerName)
	}
	return uint64(h)
}

// addrText appends a's text as netip.Addr.String writes it, "invalid IP"
// for the zero Addr of a finding about no host.
func addrText(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(b, "invalid IP"...)
	}
	return a.AppendTo(b)
}

// fnv1a is a running 64-bit FNV-1a hash (hash/fnv's New64a, without the
// interface value that escapes).
type fnv1a uint64

const (
	fnvOffset fnv1a = 14695981039346656037
	fnvPrime  fnv1a = 1099511628211
)

func (h fnv1a) bytes(b []byte) fnv1a {
	for _, c := range b {
		h = (h ^ fnv1a(c)) * fnvPrime
	}
	return h
}

// str hashes s and a NUL after it, so that adjacent strings cannot run
// into each other.
func (h fnv1a) str(s string) fnv1a {
	for i := 0; i < len(s); i++ {
		h = (h ^ fnv1a(s[i])) * fnvPrime
	}
	return h * fnvPrime // the NUL: h ^ 0 is h
}
