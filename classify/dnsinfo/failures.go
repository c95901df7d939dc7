package dnsinfo

import (
	"cmp"
	"slices"
)

// Failure counts the failed responses for one question name.
//
// The table is bounded with the Space-Saving algorithm (Metwally et al.
// 2005): when it is full, a new name takes over the entry with the fewest
// failures and inherits its count. Count is then an overestimate by at most
// Overcount, every name with more than total/MaxFailureNames failures is
// guaranteed to be present, and the per-RCODE counts cover only what was
// seen since the name entered the table.
type Failure struct {
	Name      string
	Count     uint64
	Overcount uint64
	NXDomain  uint64
	ServFail  uint64
	Refused   uint64
	Other     uint64 // FORMERR, NOTIMP and extended codes
	LastRCode RCode
	Last      int64 // unix nanoseconds of the latest failure
}

type failureTable struct {
	max   int
	index map[string]int
	list  []Failure
}

func (t *failureTable) add(name []byte, rc RCode, now int64) {
	i, ok := t.index[string(name)]
	if !ok {
		if len(t.list) < t.max {
			i = len(t.list)
			t.list = append(t.list, Failure{})
		} else {
			i = t.smallest()
			delete(t.index, t.list[i].Name)
			t.list[i] = Failure{Count: t.list[i].Count, Overcount: t.list[i].Count}
		}
		t.list[i].Name = string(name)
		t.index[t.list[i].Name] = i
	}
	f := &t.list[i]
	f.Count++
	switch rc {
	case RCodeNameError:
		f.NXDomain++
	case RCodeServerFailure:
		f.ServFail++
	case RCodeRefused:
		f.Refused++
	default:
		f.Other++
	}
	f.LastRCode, f.Last = rc, now
}

// smallest is a linear scan: the table is small and only a full table
// meeting a new failing name pays for it.
func (t *failureTable) smallest() int {
	best := 0
	for i := range t.list {
		if t.list[i].Count < t.list[best].Count {
			best = i
		}
	}
	return best
}

func (t *failureTable) sorted() []Failure {
	out := slices.Clone(t.list)
	slices.SortFunc(out, func(a, b Failure) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out
}
