package suggest

import (
	"fmt"
	"slices"
	"testing"
)

// Two hosts that serve each other a both-way entry: the CIC servers open
// the SSO ports (8019, 8043) on the workstations, which open them and the
// Session Manager (3952) on the servers. The workstations' first guess is
// CIC server (the entries' listening side); refinement must settle on the
// workstation role for them and the CIC server alone for the servers,
// whatever the number of rounds, instead of swapping the two guesses each
// round.
func TestRefineBothWaysServedEachOther(t *testing.T) {
	c := defaultCatalog(t)
	for _, nws := range []int{1, 2, 3, 4} {
		t.Run(fmt.Sprint(nws, " workstations"), func(t *testing.T) {
			a, err := New(Config{Catalog: c, Vendors: []string{"genesys-pureconnect"}})
			if err != nil {
				t.Fatal(err)
			}
			servers := []string{"10.20.1.10", "10.20.1.11"}
			for _, s := range servers {
				for i := range nws {
					w := fmt.Sprintf("10.20.2.%d", 100+i)
					for _, p := range []uint16{3952, 8019, 8043} {
						a.Add(flowOf(w, s, 6, p))
					}
					for _, p := range []uint16{8019, 8043} {
						a.Add(flowOf(s, w, 6, p))
					}
				}
			}
			rep := a.Suggest()
			got := make(map[string][]string)
			for _, h := range rep.Hosts {
				for _, g := range h.Roles {
					got[h.Addr.String()] = append(got[h.Addr.String()], g.Role)
				}
			}
			for _, s := range servers {
				if want := []string{"genesys-pureconnect/cic-server"}; !slices.Equal(got[s], want) {
					t.Errorf("%s: %v, want %v", s, got[s], want)
				}
			}
			for i := range nws {
				w := fmt.Sprintf("10.20.2.%d", 100+i)
				if want := []string{"genesys-pureconnect/workstation"}; !slices.Equal(got[w], want) {
					t.Errorf("%s: %v, want %v", w, got[w], want)
				}
			}
		})
	}
}
