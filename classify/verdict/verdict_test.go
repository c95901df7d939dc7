package verdict_test

import (
	"strings"
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/classify/verdict"
)

const (
	tcp = flow.ProtoTCP
	udp = flow.ProtoUDP
)

type want struct {
	verdict  verdict.Verdict
	kind     verdict.Kind
	entry    string
	by       verdict.Evidence
	from, to string
	reason   string // substring
	severity verdict.Severity
}

func TestClassifyWithInventory(t *testing.T) {
	cat := loadTestCatalog(t)
	inv := loadTestInventory(t, cat)
	cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: inv})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		flow func(t *testing.T) *flow.Flow
		want want
	}{
		{"override moves the port", func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.1.0.5:50000", "10.0.0.10:7597", handshake)
		}, want{verdict: verdict.Expected, entry: "acme/notifier", by: verdict.ByCatalog, from: "agent", to: "server", reason: "Notifier: agent -> server 7597/tcp"}},
		{"the documented port no longer matches after an override", func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.1.0.5:50000", "10.0.0.10:5597", handshake)
		}, want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, from: "agent", to: "server", reason: "no catalog entry allows this port", severity: verdict.Medium}},
		{"one-way entry opened from the wrong side", func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.0.0.10:50000", "10.1.0.5:7597", handshake)
		}, want{verdict: verdict.Unexpected, kind: verdict.KindWrongDirection, entry: "acme/notifier", from: "server", to: "agent", reason: "wrong direction: agent opens this flow to server", severity: verdict.Medium}},
		{"both-way entry, server opens", func(t *testing.T) *flow.Flow {
			return play(t, udp, "10.0.0.10:5060", "10.3.0.7:5060", exchange)
		}, want{verdict: verdict.Expected, entry: "acme/sip", by: verdict.ByCatalog, from: "server", to: "phone"}},
		{"both-way entry, phone opens over tcp", func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.3.0.7:40000", "10.0.0.11:5060", handshake)
		}, want{verdict: verdict.Expected, entry: "acme/sip", by: verdict.ByCatalog, from: "phone", to: "server"}},
		{"parser confirms the app", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, udp, "10.3.0.7:5060", "10.0.0.10:5060", exchange), flow.Meta{App: "sip", CallID: "abc@phone"})
		}, want{verdict: verdict.Expected, entry: "acme/sip", by: verdict.ByParser, from: "phone", to: "server"}},
		{"range upper bound", func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.0.0.10:50000", "10.0.0.20:1434", handshake)
		}, want{verdict: verdict.Expected, entry: "acme/db", by: verdict.ByCatalog, from: "server", to: "db"}},
		{"just past the range", func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.0.0.10:50000", "10.0.0.20:1435", handshake)
		}, want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, from: "server", to: "db", reason: "no catalog entry allows this port"}},
		{"port of the entry, roles of another", func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.1.0.5:50000", "10.0.0.20:1433", handshake)
		}, want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, entry: "acme/db", from: "agent", to: "db", reason: "1433-1434/tcp is catalogued for server -> db"}},
		{"even range", func(t *testing.T) *flow.Flow {
			return play(t, udp, "10.3.0.7:40000", "10.0.0.10:5006", exchange)
		}, want{verdict: verdict.Expected, entry: "acme/cdt-rtp", by: verdict.ByCatalog, from: "phone", to: "server"}},
		{"odd range", func(t *testing.T) *flow.Flow {
			return play(t, udp, "10.3.0.7:40000", "10.0.0.10:5007", exchange)
		}, want{verdict: verdict.Expected, entry: "acme/cdt-rtcp", by: verdict.ByCatalog}},
		{"past the odd range", func(t *testing.T) *flow.Flow {
			return play(t, udp, "10.3.0.7:40000", "10.0.0.10:5033", exchange)
		}, want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, entry: "acme/trunk", reason: "is catalogued for server -> gw"}},
		{"open range", func(t *testing.T) *flow.Flow {
			return play(t, udp, "10.0.0.10:20000", "203.0.113.1:61000", exchange)
		}, want{verdict: verdict.Expected, entry: "acme/trunk", by: verdict.ByCatalog, from: "server", to: "gw"}},
		{"dynamic entry's usual range", func(t *testing.T) *flow.Flow {
			return play(t, udp, "10.3.0.7:40000", "10.0.0.10:16500", exchange)
		}, want{verdict: verdict.Expected, entry: "acme/media", by: verdict.ByCatalog, reason: "usual range for negotiated media"}},
		{"media sent first by the server side of the range", func(t *testing.T) *flow.Flow {
			return play(t, udp, "10.0.0.10:16500", "10.3.0.7:40000", exchange)
		}, want{verdict: verdict.Expected, entry: "acme/media", by: verdict.ByCatalog, from: "server", to: "phone"}},
		{"udp reply seen first", func(t *testing.T) *flow.Flow {
			return play(t, udp, "10.0.0.10:6235", "10.1.0.5:50000", exchange)
		}, want{verdict: verdict.Expected, entry: "acme/stats", by: verdict.ByCatalog, from: "server", to: "agent", reason: "responder seen first"}},
		{"dynamic-only entry never matches by port", func(t *testing.T) *flow.Flow {
			return play(t, udp, "10.3.0.7:40000", "203.0.113.1:30000", exchange)
		}, want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, entry: "acme/media", from: "phone", to: "gw"}},
		{"cloud by address", func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.0.0.10:50000", "192.0.2.7:443", handshake)
		}, want{verdict: verdict.Expected, entry: "acme/cloud-api", by: verdict.ByCatalog, from: "server", to: "cloud", reason: "cloud addresses"}},
		{"cloud by TLS SNI", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, tcp, "10.0.0.10:50000", "198.51.100.9:443", handshake), flow.Meta{SNI: "eu.acme.cloud"})
		}, want{verdict: verdict.Expected, entry: "acme/cloud-api", by: verdict.ByName, reason: "named by DNS or TLS SNI"}},
		{"cloud name on the wrong port", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, tcp, "10.0.0.10:50000", "198.51.100.9:8443", handshake), flow.Meta{SNI: "eu.acme.cloud"})
		}, want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, reason: "responder is not in the inventory", severity: verdict.Low}},
		{"inventory host known by DNS name", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, tcp, "10.0.0.10:50000", "10.0.9.9:1433", handshake), flow.Meta{ServerName: "SQL.lab.example."})
		}, want{verdict: verdict.Expected, entry: "acme/db", by: verdict.ByName, from: "server", to: "db"}},
		{"unknown originator", func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.9.9.9:50000", "10.0.0.10:7597", handshake)
		}, want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, to: "server", reason: "originator is not in the inventory", severity: verdict.Low}},
		{"site allow rule", func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.0.0.11:50000", "10.0.0.20:445", handshake)
		}, want{verdict: verdict.Expected, entry: "site/backup", by: verdict.ByCatalog, from: "server", to: "db"}},
		{"ignore rule", func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.1.0.5:50000", "10.0.0.20:3389", handshake)
		}, want{verdict: verdict.Ignored, reason: "ignore rule"}},
		{"SYN unanswered, retried", func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.1.0.5:50000", "10.0.0.11:7597", []pkt{{true, syn, 0}, {true, syn, 0}, {true, syn, 0}})
		}, want{verdict: verdict.Blocked, kind: verdict.KindBlocked, entry: "acme/notifier", by: verdict.ByCatalog, from: "agent", to: "server", reason: "(S0)", severity: verdict.High}},
		{"SYN rejected", func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.0.0.10:50000", "10.0.0.20:1433", []pkt{{true, syn, 0}, {false, rstack, 0}})
		}, want{verdict: verdict.Blocked, kind: verdict.KindBlocked, by: verdict.ByCatalog, entry: "acme/db", reason: "(REJ)", severity: verdict.High}},
		{"SYN then own RST", func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.0.0.10:50000", "10.0.0.20:1433", []pkt{{true, syn, 0}, {true, flow.FlagRST, 0}})
		}, want{verdict: verdict.Expected, by: verdict.ByCatalog, entry: "acme/db", from: "server", to: "db"}}, // the RST answered a SYN-ACK
		{"optional entry blocked is medium", func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.1.0.5:50000", "10.0.0.10:8443", []pkt{{true, syn, 0}})
		}, want{verdict: verdict.Blocked, kind: verdict.KindBlocked, by: verdict.ByCatalog, entry: "acme/admin", severity: verdict.Medium}},
		{"UDP answered by ICMP unreachable", func(t *testing.T) *flow.Flow {
			return unreachable(t, "10.0.0.10:5060", "10.3.0.99:5060")
		}, want{verdict: verdict.Blocked, kind: verdict.KindBlocked, by: verdict.ByCatalog, entry: "acme/sip", reason: "ICMP destination unreachable", severity: verdict.High}},
		{"failed attempt nothing allows stays unexpected", func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.1.0.5:50000", "10.3.0.7:23", []pkt{{true, syn, 0}, {true, syn, 0}})
		}, want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, from: "agent", to: "phone", reason: "unexpected attempt, never answered (S0)"}},
		{"ICMP echo the catalog allows", func(t *testing.T) *flow.Flow {
			return icmp(t, "10.0.0.50", "10.0.0.10", 8, 0, true)
		}, want{verdict: verdict.Expected, entry: "acme/ping", by: verdict.ByCatalog, from: "monitor", to: "server"}},
		{"ICMP echo both ways", func(t *testing.T) *flow.Flow {
			return icmp(t, "10.0.0.10", "10.0.0.50", 8, 0, true)
		}, want{verdict: verdict.Expected, by: verdict.ByCatalog, entry: "acme/ping", from: "server", to: "monitor"}},
		{"ICMP echo nothing allows", func(t *testing.T) *flow.Flow {
			return icmp(t, "10.1.0.5", "10.0.0.10", 8, 0, true)
		}, want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, from: "agent", to: "server", reason: "ICMP"}},
		{"ICMP error is judged with the flow it quotes", func(t *testing.T) *flow.Flow {
			return icmp(t, "10.3.0.99", "10.0.0.10", 3, 3, false)
		}, want{verdict: verdict.Unclassified, reason: "ICMP error"}},
		{"protocol without catalog entries", func(t *testing.T) *flow.Flow {
			return play(t, 47, "10.0.0.10:0", "203.0.113.1:0", exchange)
		}, want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, from: "server", to: "gw", reason: "IP protocol"}},
	}
	var r verdict.Result
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.flow(t)
			cl.Classify(f, &r)
			check(t, &r, tt.want)
			if r.PortOnly {
				t.Error("PortOnly set with an inventory")
			}
		})
	}
}

func check(t *testing.T, r *verdict.Result, w want) {
	t.Helper()
	if r.Verdict != w.verdict {
		t.Errorf("verdict = %v, want %v (reason %q)", r.Verdict, w.verdict, r.Reason)
	}
	if r.Kind != w.kind {
		t.Errorf("kind = %q, want %q", r.Kind, w.kind)
	}
	if r.EntryID != w.entry {
		t.Errorf("entry = %q, want %q", r.EntryID, w.entry)
	}
	if w.entry != "" && (r.Entry == nil || r.Entry.ID != w.entry) {
		t.Errorf("Entry = %v, want %s", r.Entry, w.entry)
	}
	if r.ClassifiedBy != w.by {
		t.Errorf("classified by %q, want %q", r.ClassifiedBy, w.by)
	}
	if w.from != "" && r.FromRole != w.from {
		t.Errorf("from role = %q, want %q", r.FromRole, w.from)
	}
	if w.to != "" && r.ToRole != w.to {
		t.Errorf("to role = %q, want %q", r.ToRole, w.to)
	}
	if !strings.Contains(r.Reason, w.reason) || r.Reason == "" {
		t.Errorf("reason = %q, want it to contain %q", r.Reason, w.reason)
	}
	if w.severity != 0 && r.Severity != w.severity {
		t.Errorf("severity = %v, want %v", r.Severity, w.severity)
	}
	if !kindFits(r) {
		t.Errorf("kind %q with verdict %v", r.Kind, r.Verdict)
	}
}

// kindFits is the contract between verdicts and kinds: unexpected and
// blocked flows always carry theirs; allowed flows only posture findings.
func kindFits(r *verdict.Result) bool {
	switch r.Verdict {
	case verdict.Unexpected:
		return r.Kind == verdict.KindUnexpected || r.Kind == verdict.KindWrongDirection || r.Kind == verdict.KindUnexpectedMedia
	case verdict.Blocked:
		return r.Kind == verdict.KindBlocked
	case verdict.Expected:
		switch r.Kind {
		case "", verdict.KindTLSTooOld, verdict.KindPlaintextOnTLSPort, verdict.KindNotTLSOnHTTPSPort, verdict.KindSNINotInCatalog:
			return true
		}
	case verdict.Negotiated:
		return r.Kind == "" || r.Kind == verdict.KindTLSTooOld || r.Kind == verdict.KindMediaOutsideRange
	default:
		return r.Kind == ""
	}
	return false
}

func TestClassifyPortOnly(t *testing.T) {
	cat := loadTestCatalog(t)
	tests := []struct {
		name    string
		vendors []string
		flow    func(t *testing.T) *flow.Flow
		want    want
	}{
		{"documented port", nil, func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.1.0.5:50000", "10.0.0.10:5597", handshake)
		}, want{verdict: verdict.Expected, entry: "acme/notifier", by: verdict.ByPort, reason: "port-only (no inventory): Notifier uses 5597/tcp"}},
		{"direction is not judged without roles", nil, func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.0.0.10:50000", "10.1.0.5:5597", handshake)
		}, want{verdict: verdict.Expected, entry: "acme/notifier", by: verdict.ByPort}},
		{"vendor filter excludes", []string{"other"}, func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.1.0.5:50000", "10.0.0.10:5597", handshake)
		}, want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, reason: "port-only", severity: verdict.Low}},
		{"vendor filter includes", []string{"other"}, func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.1.0.5:50000", "10.0.0.10:8080", handshake)
		}, want{verdict: verdict.Expected, entry: "other/web", by: verdict.ByPort}},
		{"even range", nil, func(t *testing.T) *flow.Flow {
			return play(t, udp, "10.3.0.7:40000", "10.0.0.10:5030", exchange)
		}, want{verdict: verdict.Expected, entry: "acme/cdt-rtp", by: verdict.ByPort}},
		{"dynamic media range is not matched by port", nil, func(t *testing.T) *flow.Flow {
			return play(t, udp, "10.3.0.7:40000", "10.0.0.10:16500", exchange)
		}, want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected}},
		{"range wider than half the port space says nothing", nil, func(t *testing.T) *flow.Flow {
			return play(t, udp, "10.0.0.10:20000", "203.0.113.1:61000", exchange)
		}, want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected}},
		{"cloud address", nil, func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.0.0.10:50000", "192.0.2.7:443", handshake)
		}, want{verdict: verdict.Expected, entry: "acme/cloud-api", by: verdict.ByCatalog}},
		{"blocked still detected", nil, func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.1.0.5:50000", "10.0.0.11:5597", []pkt{{true, syn, 0}, {true, syn, 0}})
		}, want{verdict: verdict.Blocked, kind: verdict.KindBlocked, entry: "acme/notifier", by: verdict.ByPort, severity: verdict.Medium}},
		{"ICMP entry exists", nil, func(t *testing.T) *flow.Flow {
			return icmp(t, "10.1.0.5", "10.0.0.10", 8, 0, true)
		}, want{verdict: verdict.Expected, entry: "acme/ping", by: verdict.ByPort}},
	}
	var r verdict.Result
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Vendors: tt.vendors})
			if err != nil {
				t.Fatal(err)
			}
			if !cl.PortOnly() {
				t.Fatal("PortOnly() = false without an inventory")
			}
			cl.Classify(tt.flow(t), &r)
			check(t, &r, tt.want)
			if !r.PortOnly {
				t.Error("PortOnly not set")
			}
		})
	}
}

func TestNegotiatedMedia(t *testing.T) {
	cat := loadTestCatalog(t)
	inv := loadTestInventory(t, cat)
	var r verdict.Result
	for _, tc := range []struct {
		name string
		inv  *catalog.Inventory
		want want
	}{
		{"with inventory", inv, want{verdict: verdict.Negotiated, entry: "acme/gw-media", by: verdict.BySDP, from: "phone", to: "gw", reason: "SIP/SDP"}},
		{"port-only", nil, want{verdict: verdict.Negotiated, by: verdict.BySDP, reason: "SIP/SDP"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Inventory: tc.inv, Media: fakeMedia{30000}})
			if err != nil {
				t.Fatal(err)
			}
			cl.Classify(play(t, udp, "10.3.0.7:40000", "203.0.113.1:30000", exchange), &r)
			check(t, &r, tc.want)
			if r.CallID != "call-1@lab" {
				t.Errorf("call id %q", r.CallID)
			}
			// Signalling does not vouch for this one: ports decide.
			cl.Classify(play(t, udp, "10.3.0.7:40000", "203.0.113.1:30002", exchange), &r)
			if r.Verdict != verdict.Unexpected {
				t.Errorf("unsignalled media: %v", r.Verdict)
			}
		})
	}
}

func TestNewClassifierErrors(t *testing.T) {
	cat := loadTestCatalog(t)
	inv := loadTestInventory(t, cat)
	for _, tc := range []struct {
		name string
		cfg  verdict.Config
		want string
	}{
		{"no catalog", verdict.Config{}, "no catalog"},
		{"unknown vendor", verdict.Config{Catalog: cat, Vendors: []string{"nope"}}, `vendor "nope"`},
		{"vendor not deployed", verdict.Config{Catalog: cat, Inventory: &catalog.Inventory{Vendors: []string{"acme"}}, Vendors: []string{"other"}}, "no catalog entry is in scope"},
		{"bad expect pattern", verdict.Config{Catalog: cat, Inventory: inv, Expect: []string{"acme/["}}, "expect pattern"},
		{"expect matches nothing", verdict.Config{Catalog: cat, Inventory: inv, Expect: []string{"acme/nope*"}}, "matches no entry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verdict.NewClassifier(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestStrings(t *testing.T) {
	for v := verdict.Verdict(0); v < verdict.NumVerdicts; v++ {
		got, err := verdict.ParseVerdict(v.String())
		if err != nil || got != v {
			t.Errorf("ParseVerdict(%q) = %v, %v", v, got, err)
		}
	}
	if _, err := verdict.ParseVerdict("fine"); err == nil {
		t.Error("ParseVerdict accepted fine")
	}
	if verdict.BySDP.String() != "sdp" || verdict.ByNone.String() != "" || verdict.Critical.String() != "critical" {
		t.Error("names changed")
	}
}
