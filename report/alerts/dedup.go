package alerts

import (
	"net/netip"
	"time"

	"github.com/ccaudit/auditor/classify/verdict"
)

// dedupKey is what makes two occurrences the same finding: the finding's
// identity as the verdict engine keys it (verdict.Finding.Key), so the feed
// merges exactly what the findings table merges. The source port is not
// part of it: every attempt uses a new one.
type dedupKey uint64

func keyOf(ev *Event) dedupKey {
	g := verdict.Finding{
		Kind: ev.Kind, Proto: ev.Proto, Src: ev.Src.Addr(), Dst: ev.Dst.Addr(), DstPort: ev.Dst.Port(),
		Vendor: ev.Vendor, EntryID: ev.EntryID, ServerName: ev.ServerName,
	}
	return dedupKey(g.Key())
}

// window is the dedup state of one key: the occurrences absorbed since the
// last event emitted for it.
type window struct {
	key        dedupKey
	first      Event // the event that opened the window, for the follow-up
	repeats    uint64
	start, end time.Time // span of the absorbed occurrences
	closes     time.Time
}

// deduper turns occurrences into events: the first occurrence of a key is
// emitted at once and opens a window; occurrences within the window are
// absorbed; when it closes with any absorbed, one follow-up event reports
// them (Repeat, Count = absorbed) and a new window opens, so a persistent
// problem costs one event per window. A window that closes empty is
// forgotten. It runs on the Feed's dispatcher goroutine only.
type deduper struct {
	length time.Duration
	max    int
	open   map[dedupKey]*window
	// queue holds the open windows in closing order: all have the same
	// length and open in time order, so the earliest to close is first.
	queue []*window
	due   []*window // scratch for expire
}

func newDeduper(length time.Duration, max int) *deduper {
	return &deduper{length: length, max: max, open: make(map[dedupKey]*window)}
}

// add accounts one occurrence. It returns true when ev is to be emitted
// now; tracked is false when the window table was full, so ev is emitted
// without deduplication.
func (d *deduper) add(ev *Event, now time.Time) (emit, tracked bool) {
	k := keyOf(ev)
	if w, ok := d.open[k]; ok {
		w.repeats += max(ev.Count, 1)
		w.start = minTime(w.start, ev.Start)
		w.end = maxTime(w.end, ev.End)
		fillNames(&w.first, ev)
		return false, true
	}
	if len(d.open) >= d.max {
		return true, false
	}
	w := &window{key: k, first: *ev, closes: now.Add(d.length)}
	d.open[k] = w
	d.queue = append(d.queue, w)
	return true, true
}

// expire closes the windows due by now, passing each follow-up event to
// emit.
func (d *deduper) expire(now time.Time, emit func(*Event)) {
	n := 0
	for n < len(d.queue) && !d.queue[n].closes.After(now) {
		n++
	}
	if n == 0 {
		return
	}
	d.due = append(d.due[:0], d.queue[:n]...)
	// Copy the rest down rather than reslicing forward, so the backing
	// array does not grow for ever under a steady stream of windows.
	rest := copy(d.queue, d.queue[n:])
	clear(d.queue[rest:])
	d.queue = d.queue[:rest]
	for _, w := range d.due {
		d.close(w, now, emit)
	}
	clear(d.due)
}

// flush closes every window, for Close.
func (d *deduper) flush(emit func(*Event)) {
	for _, w := range d.queue {
		if w.repeats > 0 {
			emit(w.followUp())
		}
	}
	clear(d.open)
	clear(d.queue)
	d.queue = d.queue[:0]
}

func (d *deduper) close(w *window, now time.Time, emit func(*Event)) {
	if w.repeats == 0 {
		delete(d.open, w.key)
		return
	}
	emit(w.followUp())
	w.repeats = 0
	w.start, w.end = time.Time{}, time.Time{}
	w.closes = now.Add(d.length)
	d.queue = append(d.queue, w)
}

// followUp is the event reporting a window's absorbed occurrences. Their
// source ports and flows differ, so it carries neither a source port nor
// a Community ID.
func (w *window) followUp() *Event {
	ev := w.first
	ev.Count, ev.Repeat = w.repeats, true
	ev.Start, ev.End = w.start, w.end
	ev.Src = netip.AddrPortFrom(ev.Src.Addr(), 0)
	ev.CommunityID = ""
	return &ev
}

// fillNames completes names the first occurrence lacked (a later flow of
// the same finding may have had its TLS or DNS parsed).
func fillNames(dst, src *Event) {
	if dst.SNI == "" {
		dst.SNI = src.SNI
	}
	if dst.ServerName == "" {
		dst.ServerName = src.ServerName
	}
	if dst.CallID == "" {
		dst.CallID = src.CallID
	}
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// limiter is a token bucket: rate events per second, bursts up to burst.
type limiter struct {
	rate, burst float64
	tokens      float64
	last        time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), tokens: float64(burst)}
}

func (l *limiter) allow(now time.Time) bool {
	if l.rate <= 0 {
		return true
	}
	// Only a clock moving forward refills; one stepping back neither mints
	// tokens nor lets the same interval be counted twice.
	if l.last.IsZero() {
		l.last = now
	} else if now.After(l.last) {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
		l.last = now
	}
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}
