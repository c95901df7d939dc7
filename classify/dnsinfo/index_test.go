package dnsinfo

import (
	"math/rand/v2"
	"testing"
)

// TestIndex drives an index the way the cache does (fill, then replace
// entries in place) and checks it against a map after every change. The
// small sizes make probe sequences wrap around the table and deletions
// shift runs that straddle its end.
func TestIndex(t *testing.T) {
	for _, tt := range []struct {
		name     string
		entries  int
		keys     int // distinct keys drawn from
		changes  int
		initSize int
	}{
		{"tiny", 3, 8, 500, 1},
		{"grows from small", 100, 300, 3000, 4},
		{"full and replacing", 1000, 1 << 16, 5000, 1000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tt.entries)))
			key := func(n int) cacheKey {
				var k cacheKey
				k.server[15], k.server[14] = byte(n), byte(n>>8)
				if n%3 != 0 {
					k.client[0], k.client[1] = 10, byte(n>>4)
				}
				return k
			}
			x := newIndex(tt.initSize)
			var entries []entry
			want := map[cacheKey]int{}
			for range tt.changes {
				k := key(rng.IntN(tt.keys))
				pos, h := x.find(entries, k)
				if pos >= 0 {
					if want[k] != pos {
						t.Fatalf("find(%v) = %d, want %d", k, pos, want[k])
					}
					continue
				}
				if _, ok := want[k]; ok {
					t.Fatalf("find(%v) missed the key at %d", k, want[k])
				}
				if len(entries) < tt.entries {
					pos = len(entries)
					entries = append(entries, entry{})
				} else {
					pos = rng.IntN(len(entries))
					x.remove(entries[pos].hash, pos)
					delete(want, entries[pos].key)
				}
				entries[pos] = entry{key: k, hash: h}
				x.insert(h, pos)
				want[k] = pos
				if x.n != len(want) {
					t.Fatalf("index counts %d keys, want %d", x.n, len(want))
				}
				for k, pos := range want {
					if got, _ := x.find(entries, k); got != pos {
						t.Fatalf("after storing %v: find(%v) = %d, want %d", k, k, got, pos)
					}
				}
			}
			if len(x.slots) < x.n*maxLoad {
				t.Errorf("%d slots for %d keys", len(x.slots), x.n)
			}
		})
	}
}
