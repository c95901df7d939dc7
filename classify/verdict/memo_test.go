package verdict_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/classify/verdict"
)

// namedFlows are port-only flows of the kinds a site's traffic repeats:
// the same responder names and service ports over and over, a name that
// matches no entry, reply-first UDP whose service port is the source, and
// one port number that UDP and TCP judge differently.
func namedFlows(t testing.TB) []*flow.Flow {
	return []*flow.Flow{
		withMeta(play(t, tcp, "10.0.0.10:50000", "198.51.100.9:443", handshake), flow.Meta{SNI: "eu.acme.cloud"}),
		withMeta(play(t, tcp, "10.0.0.10:50001", "198.51.100.9:443", handshake), flow.Meta{ServerName: "EU.ACME.CLOUD."}),
		withMeta(play(t, tcp, "10.0.0.10:50002", "198.51.100.7:443", handshake), flow.Meta{SNI: "www.example.org", ServerName: "api.acme.cloud"}),
		withMeta(play(t, tcp, "10.0.0.10:50003", "198.51.100.7:443", handshake), flow.Meta{SNI: "acme.cloud"}),
		withMeta(play(t, tcp, "10.1.0.5:50004", "10.0.0.10:5597", handshake), flow.Meta{SNI: "www.example.org", App: "tls"}),
		play(t, tcp, "10.1.0.5:50005", "10.0.0.10:8443", handshake),
		play(t, tcp, "10.1.0.5:50006", "10.0.0.10:23", handshake),
		play(t, udp, "10.0.0.10:6235", "10.1.0.5:50000", exchange),
		play(t, udp, "10.1.0.5:50008", "10.0.0.10:6235", exchange),
		play(t, tcp, "10.1.0.5:50007", "10.0.0.10:6235", handshake),
		play(t, udp, "10.3.0.7:5004", "10.0.0.10:40000", exchange),
		play(t, udp, "10.3.0.7:5005", "10.0.0.10:40001", exchange),
		play(t, udp, "10.3.0.7:40000", "10.0.0.10:16500", exchange),
	}
}

// TestClassifyMemoized pins that what a Classifier memoizes (names and
// ports it already looked up) never changes a result: every flow judged
// by a classifier that has seen all of them, twice, gets the Result a
// fresh one gives it.
func TestClassifyMemoized(t *testing.T) {
	for _, inv := range []bool{false, true} {
		t.Run(fmt.Sprintf("inventory=%v", inv), func(t *testing.T) {
			base := benchClassifier(t, inv)
			flows := append(namedFlows(t), mixedFlows(t)...)
			used := base.Clone()
			var r verdict.Result
			for range 2 {
				for _, f := range flows {
					used.Classify(f, &r)
				}
			}
			for i, f := range flows {
				var want, got verdict.Result
				base.Clone().Classify(f, &want)
				used.Classify(f, &got)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("flow %d (%v): memoized %+v, fresh %+v", i, f.Key, got, want)
				}
			}
		})
	}
}

// BenchmarkClassifyNamed measures port-only judging of flows that repeat
// names and ports, with the embedded catalog, as a site's traffic does.
func BenchmarkClassifyNamed(b *testing.B) {
	cat, err := catalog.Default()
	if err != nil {
		b.Fatal(err)
	}
	cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat})
	if err != nil {
		b.Fatal(err)
	}
	flows := []*flow.Flow{
		withMeta(play(b, tcp, "10.0.0.10:50000", "198.51.100.9:443", handshake), flow.Meta{SNI: "api.imagicle.cloud", ServerName: "api.imagicle.cloud"}),
		withMeta(play(b, tcp, "10.0.0.10:50001", "198.51.100.8:443", handshake), flow.Meta{ServerName: "telescope.tegsoft.com"}),
		withMeta(play(b, tcp, "10.0.0.10:50002", "198.51.100.7:443", handshake), flow.Meta{SNI: "login.example-idp.com", ServerName: "login.example-idp.com"}),
		withMeta(play(b, tcp, "10.0.0.10:50003", "10.1.0.20:1433", handshake), flow.Meta{ServerName: "sql01.example.local"}),
		play(b, tcp, "10.0.0.10:50004", "10.1.0.10:3389", handshake),
		play(b, udp, "10.0.0.10:5060", "10.1.0.10:5060", exchange),
		play(b, udp, "10.0.0.10:40000", "10.1.0.10:53", exchange),
	}
	classifyLoop(b, cl, flows)
}
