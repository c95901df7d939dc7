package alerts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Cause classifies why events did not reach a destination. The set is
// fixed so that metrics labelled by it stay bounded.
type Cause uint8

const (
	CauseConnect   Cause = iota // connection refused, unreachable, DNS failure
	CauseTimeout                // no answer in time (a hanging receiver)
	CauseRejected               // the receiver refused the batch for good (HTTP 4xx, a bulk item error)
	CauseServer                 // the receiver failed (HTTP 5xx, 429): retried, then given up
	CauseWrite                  // writing failed (a full disk, a broken connection)
	CauseAbandoned              // still queued or retrying when the feed was closed
	CauseQueueFull              // the destination's queue was full: never tried
	numCauses
)

var causeNames = [numCauses]string{"connect", "timeout", "rejected", "server-error", "write", "abandoned", "queue-full"}

func (c Cause) String() string {
	if c < numCauses {
		return causeNames[c]
	}
	return "unknown"
}

// Causes lists every cause, for metrics that want all label values.
func Causes() []Cause {
	cs := make([]Cause, numCauses)
	for i := range cs {
		cs[i] = Cause(i)
	}
	return cs
}

// statusError is an HTTP answer that did not deliver a batch.
type statusError struct {
	code   int
	status string // "503 Service Unavailable"
}

func (e *statusError) Error() string { return e.status }

// causeOf classifies a delivery error.
func causeOf(err error) Cause {
	var se *statusError
	var ne net.Error
	var oe *net.OpError
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &se):
		if se.code >= 500 || se.code == 408 || se.code == 425 || se.code == 429 {
			return CauseServer
		}
		return CauseRejected
	case errors.Is(err, errPermanent):
		return CauseRejected
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return CauseTimeout
	case errors.As(err, &dnsErr), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.As(err, &oe) && oe.Op == "dial":
		return CauseConnect
	case errors.Is(err, context.Canceled):
		return CauseAbandoned
	}
	return CauseWrite
}

// failureLog writes one line per destination about delivery problems, at
// most one per interval per destination, so a dead receiver is noticed at
// once without flooding the log.
type failureLog struct {
	mu       sync.Mutex // serialises writes to w from the sink goroutines
	w        io.Writer
	interval time.Duration
	now      func() time.Time
}

// sinkFailures are one destination's failure counters and its log state.
type sinkFailures struct {
	events  [numCauses]atomic.Uint64 // events given up, by cause
	errors  atomic.Uint64            // delivery attempts that failed
	mu      sync.Mutex
	lastLog time.Time
	// unlogged counts attempts and events since the last line.
	unloggedAttempts, unloggedEvents uint64
	lastCause                        Cause
	lastMsg                          string
}

// note records a failed attempt (events > 0 when the batch was given up)
// and logs it if the destination's last line is old enough.
func (l *failureLog) note(name string, f *sinkFailures, err error, events uint64, cause Cause) {
	f.errors.Add(1)
	if events > 0 {
		f.events[cause].Add(events)
	}
	if l == nil || l.w == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unloggedAttempts++
	f.unloggedEvents += events
	f.lastCause, f.lastMsg = cause, err.Error()
	now := l.now()
	if !f.lastLog.IsZero() && now.Sub(f.lastLog) < l.interval {
		return
	}
	l.line(name, f, now)
}

// line writes the destination's pending line; f.mu is held.
func (l *failureLog) line(name string, f *sinkFailures, now time.Time) {
	total := uint64(0)
	for i := range f.events {
		total += f.events[i].Load()
	}
	l.mu.Lock()
	fmt.Fprintf(l.w, "auditor: alerts to %s failing (%s): %d attempt(s) failed, %d event(s) given up since the last report, %d in all; last error: %s\n",
		name, f.lastCause, f.unloggedAttempts, f.unloggedEvents, total, f.lastMsg)
	l.mu.Unlock()
	f.lastLog = now
	f.unloggedAttempts, f.unloggedEvents = 0, 0
}

// flush writes what the rate limit held back, at Close.
func (l *failureLog) flush(name string, f *sinkFailures) {
	if l == nil || l.w == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.unloggedAttempts > 0 || f.unloggedEvents > 0 {
		l.line(name, f, l.now())
	}
}

// Undelivered counts the events some destination did not get because of a
// failure: given up, abandoned, or dropped on a full queue. Events left
// out on purpose (deduplicated, rate-limited) are not counted.
func (s *Stats) Undelivered() uint64 {
	n := s.DroppedQueueFull + s.DroppedClosed
	for _, ss := range s.Sinks {
		n += ss.Failed + ss.Dropped
	}
	return n
}

// FailureSummary names each destination that missed events, with the
// count by cause: "http://x/: 5 connect".
func (s *Stats) FailureSummary() string {
	var parts []string
	for _, ss := range s.Sinks {
		if len(ss.FailedBy) == 0 {
			continue
		}
		causes := make([]string, 0, len(ss.FailedBy))
		for c := range ss.FailedBy {
			causes = append(causes, c)
		}
		sort.Strings(causes)
		var b strings.Builder
		for i, c := range causes {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%d %s", ss.FailedBy[c], c)
		}
		parts = append(parts, ss.Name+": "+b.String())
	}
	if n := s.DroppedQueueFull + s.DroppedClosed; n > 0 {
		parts = append(parts, fmt.Sprintf("feed: %d queue-full", n))
	}
	return strings.Join(parts, "; ")
}
