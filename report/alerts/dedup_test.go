package alerts

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/verdict"
)

// occurrence is a blocked flow from 10.1.0.5 to 10.0.0.10:port.
func occurrence(sport, dport uint16, at time.Time) Event {
	return Event{
		Kind: verdict.KindBlocked, Severity: verdict.High, Verdict: verdict.Blocked, Proto: flow.ProtoTCP,
		Src:   netip.AddrPortFrom(netip.MustParseAddr("10.1.0.5"), sport),
		Dst:   netip.AddrPortFrom(netip.MustParseAddr("10.0.0.10"), dport),
		Start: at, End: at.Add(time.Second), EntryID: "acme/sip", CommunityID: "1:x",
	}
}

func TestDeduper(t *testing.T) {
	const win = time.Minute
	type step struct {
		at     time.Duration // since t0
		pub    *Event        // an occurrence, or nil: expire at this time
		emit   bool          // for pub: emitted at once
		follow []uint64      // for expire: counts of the follow-ups emitted
	}
	ev := func(sport, dport uint16) *Event { e := occurrence(sport, dport, t0); return &e }
	tests := []struct {
		name  string
		steps []step
	}{
		{"repeats become one follow-up", []step{
			{at: 0, pub: ev(1000, 5060), emit: true},
			{at: time.Second, pub: ev(1001, 5060)},
			{at: 2 * time.Second, pub: ev(1002, 5060)},
			{at: 59 * time.Second},
			{at: win, follow: []uint64{2}},
		}},
		{"other port is another finding", []step{
			{at: 0, pub: ev(1000, 5060), emit: true},
			{at: 0, pub: ev(1000, 5061), emit: true},
			{at: win},
		}},
		{"persistent problem: one follow-up per window", []step{
			{at: 0, pub: ev(1000, 5060), emit: true},
			{at: 10 * time.Second, pub: ev(1001, 5060)},
			{at: win, follow: []uint64{1}},
			{at: 70 * time.Second, pub: ev(1002, 5060)},
			{at: 80 * time.Second, pub: ev(1003, 5060)},
			{at: 2*win - time.Second},
			{at: 2 * win, follow: []uint64{2}},
			// A window without repeats closes silently and is forgotten...
			{at: 3 * win},
			// ...so the next occurrence is news again.
			{at: 3*win + time.Second, pub: ev(1004, 5060), emit: true},
		}},
		{"table full: emitted untracked", []step{
			{at: 0, pub: ev(1000, 1), emit: true},
			{at: 0, pub: ev(1000, 2), emit: true},
			{at: 0, pub: ev(1000, 3), emit: true}, // beyond max 2
			{at: 0, pub: ev(1001, 3), emit: true}, // still untracked
			{at: 0, pub: ev(1001, 1)},
			{at: win, follow: []uint64{1}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDeduper(win, 2)
			for i, s := range tt.steps {
				now := t0.Add(s.at)
				if s.pub != nil {
					emit, tracked := d.add(s.pub, now)
					if emit != s.emit {
						t.Fatalf("step %d: emit %v, want %v", i, emit, s.emit)
					}
					if !tracked && len(d.open) < 2 {
						t.Fatalf("step %d: untracked with room", i)
					}
					continue
				}
				var got []uint64
				d.expire(now, func(ev *Event) {
					if !ev.Repeat || ev.Src.Port() != 0 || ev.CommunityID != "" {
						t.Errorf("step %d: follow-up %+v keeps per-flow fields or lacks Repeat", i, ev)
					}
					got = append(got, ev.Count)
				})
				if len(got) != len(s.follow) || (len(got) > 0 && got[0] != s.follow[0]) {
					t.Fatalf("step %d: follow-ups %v, want %v", i, got, s.follow)
				}
			}
		})
	}
}

func TestDeduperFollowUpSpanAndNames(t *testing.T) {
	d := newDeduper(time.Minute, 10)
	first := occurrence(1000, 443, t0)
	d.add(&first, t0)
	late := occurrence(1001, 443, t0.Add(-time.Hour)) // packet times need not be ordered
	late.SNI, late.Count = "sbc.example.net", 5
	d.add(&late, t0)
	again := occurrence(1002, 443, t0.Add(time.Hour))
	d.add(&again, t0)
	var got []Event
	d.flush(func(ev *Event) { got = append(got, *ev) })
	if len(got) != 1 {
		t.Fatalf("flush emitted %d events, want 1", len(got))
	}
	f := got[0]
	if f.Count != 6 || !f.Start.Equal(t0.Add(-time.Hour)) || !f.End.Equal(t0.Add(time.Hour+time.Second)) || f.SNI != "sbc.example.net" {
		t.Errorf("follow-up: count %d span %v..%v sni %q", f.Count, f.Start, f.End, f.SNI)
	}
	if len(d.open) != 0 || len(d.queue) != 0 {
		t.Errorf("flush left %d windows", len(d.open))
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(10, 5)
	allowed := func(n int, at time.Time) int {
		k := 0
		for range n {
			if l.allow(at) {
				k++
			}
		}
		return k
	}
	if got := allowed(20, t0); got != 5 {
		t.Errorf("burst: %d allowed, want 5", got)
	}
	if got := allowed(20, t0.Add(300*time.Millisecond)); got != 3 {
		t.Errorf("after 300ms at 10/s: %d allowed, want 3", got)
	}
	if got := allowed(20, t0.Add(time.Hour)); got != 5 {
		t.Errorf("after a long pause: %d allowed, want the burst of 5", got)
	}
	// A clock stepping back must not mint tokens.
	if got := allowed(20, t0); got != 0 {
		t.Errorf("clock stepped back: %d allowed, want 0", got)
	}
	if !newLimiter(-1, 0).allow(t0) {
		t.Error("disabled limiter refused")
	}
}

func TestDedupAddAllocs(t *testing.T) {
	d := newDeduper(time.Minute, 10)
	ev := occurrence(1000, 5060, t0)
	d.add(&ev, t0)
	if n := testing.AllocsPerRun(1000, func() { d.add(&ev, t0) }); n != 0 {
		t.Errorf("absorbing a repeat allocates %v times", n)
	}
}
