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

// A port several entries share makes a role the listening one only
// through an entry that pairs it with the peers seen: the CIC server's SIP
// to a phone (5060, the both-way entry "sip", phone on its From side) does
// not make the phone a SIP Bridge because the bridge listens on 5060 for
// soft phones (sip-soft-phone-bridge). A phone that also looks up its
// server (phone-dns) and sends RTP to a media server is an IP phone; one
// that only answered the CIC server's SIP could be any SIP peer of the CIC
// server and gets no role.
func TestSharedPortNeedsMatchingPeer(t *testing.T) {
	a, err := New(Config{Catalog: defaultCatalog(t), Vendors: []string{"genesys-pureconnect"}})
	if err != nil {
		t.Fatal(err)
	}
	const cic, media, dns = "10.20.1.10", "10.20.1.20", "10.20.1.6"
	for i := range 3 {
		w := fmt.Sprintf("10.20.2.%d", 100+i)
		for _, p := range []uint16{3952, 8019, 8043} {
			a.Add(flowOf(w, cic, 6, p))
		}
		for _, p := range []uint16{8019, 8043} {
			a.Add(flowOf(cic, w, 6, p))
		}
	}
	a.Add(flowOf(cic, media, 6, 8102))
	a.Add(flowOf(cic, media, 6, 8103))
	const phone, bare = "10.20.3.50", "10.20.3.51"
	for _, p := range []string{phone, bare} {
		a.Add(flowOf(cic, p, 17, 5060))
	}
	a.Add(flowOf(phone, dns, 17, 53))
	a.Add(flowOf(phone, media, 17, 17220))
	rep := a.Suggest()
	if h := hostOf(rep, cic); h == nil || h.Roles[0].Role != "genesys-pureconnect/cic-server" {
		t.Fatalf("%s: %+v, want the CIC server", cic, h)
	}
	if h := hostOf(rep, media); h == nil || h.Roles[0].Role != "genesys-pureconnect/media-server" {
		t.Fatalf("%s: %+v, want the media server", media, h)
	}
	if h := hostOf(rep, phone); h == nil || len(h.Roles) != 1 || h.Roles[0].Role != "genesys-pureconnect/ip-phone" {
		t.Errorf("%s: %+v, want genesys-pureconnect/ip-phone", phone, h)
	}
	if h := hostOf(rep, bare); h != nil {
		t.Errorf("%s answered only the CIC server's SIP, yet suggested as %+v", bare, h.Roles)
	}
}
