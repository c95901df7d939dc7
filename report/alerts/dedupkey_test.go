package alerts

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/verdict"
)

// TestDedupKeyFields: two occurrences that differ in any part of the
// finding's identity (kind, protocol, source host, destination host and
// port, vendor, catalog entry: verdict.Finding.Key) are two findings, each emitted at once; a new source
// port alone is the same finding. Two hosts hitting the same service must
// never merge into one alert.
func TestDedupKeyFields(t *testing.T) {
	tests := []struct {
		name   string
		change func(e *Event)
		same   bool
	}{
		{"another source port", func(e *Event) { e.Src = netip.AddrPortFrom(e.Src.Addr(), e.Src.Port()+1) }, true},
		{"another source host", func(e *Event) { e.Src = netip.AddrPortFrom(netip.MustParseAddr("10.1.0.6"), e.Src.Port()) }, false},
		{"another destination host", func(e *Event) { e.Dst = netip.AddrPortFrom(netip.MustParseAddr("10.0.0.11"), e.Dst.Port()) }, false},
		{"another destination port", func(e *Event) { e.Dst = netip.AddrPortFrom(e.Dst.Addr(), e.Dst.Port()+1) }, false},
		{"another protocol", func(e *Event) { e.Proto = flow.ProtoUDP }, false},
		{"another kind", func(e *Event) { e.Kind = verdict.KindUnexpected }, false},
		{"another catalog entry", func(e *Event) { e.EntryID = "acme/sip-tls" }, false},
		{"another vendor", func(e *Event) { e.Vendor = "other-vendor" }, false},
		{"another server name, not a dns-failure", func(e *Event) { e.ServerName = "b.example" }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDeduper(time.Minute, 100)
			first := occurrence(40000, 5060, t0)
			if emit, tracked := d.add(&first, t0); !emit || !tracked {
				t.Fatalf("first occurrence: emit %v tracked %v", emit, tracked)
			}
			second := occurrence(40000, 5060, t0.Add(time.Second))
			tt.change(&second)
			emit, tracked := d.add(&second, t0.Add(time.Second))
			if !tracked {
				t.Fatal("second occurrence not tracked")
			}
			if emit == tt.same {
				t.Errorf("second occurrence emitted %v, want %v (same finding: %v)", emit, !tt.same, tt.same)
			}
			if want := map[bool]int{true: 1, false: 2}[tt.same]; len(d.open) != want {
				t.Errorf("%d open windows, want %d", len(d.open), want)
			}
		})
	}
}

// Two names of one catalog entry failing to resolve are two dns-failure
// findings with two IDs in findings.parquet, so two alerts: the feed keys
// occurrences as the findings table does.
func TestDedupDNSFailureNames(t *testing.T) {
	d := newDeduper(time.Minute, 100)
	for i, name := range []string{"*.imagicle.cloud", "api.imagicle.com", "*.imagicle.cloud"} {
		ev := Event{Kind: verdict.KindDNSFailure, Vendor: "imagicle", EntryID: "imagicle/cloud", ServerName: name,
			Src: netip.AddrPortFrom(netip.MustParseAddr("10.1.0.5"), 0)}
		emit, _ := d.add(&ev, t0.Add(time.Duration(i)*time.Second))
		if want := i < 2; emit != want {
			t.Errorf("%s (occurrence %d): emitted %v, want %v", name, i+1, emit, want)
		}
		g := verdict.Finding{Kind: ev.Kind, Src: ev.Src.Addr(), Vendor: ev.Vendor, EntryID: ev.EntryID, ServerName: name}
		if keyOf(&ev) != dedupKey(g.Key()) {
			t.Errorf("%s: dedup key is not the finding's key", name)
		}
	}
}
