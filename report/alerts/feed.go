package alerts

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ccaudit/auditor/internal/version"
)

// FeedOptions tune a Feed. The zero value gives the defaults.
type FeedOptions struct {
	// QueueSize bounds the Publish queue and each sink's queue (default
	// 4096 events). Beyond it events are dropped and counted, never
	// waited for.
	QueueSize int
	// DedupWindow is how long a finding's repeats are absorbed after it
	// was emitted (default 60s; negative disables deduplication).
	// MaxWindows bounds the findings tracked at once (default 100000);
	// beyond it occurrences are emitted undeduplicated and counted.
	DedupWindow time.Duration
	MaxWindows  int
	// Rate and Burst limit the events emitted, after deduplication, to
	// Rate per second with bursts of Burst (defaults 100 and 1000;
	// a negative Rate disables the limit). Excess events are dropped and
	// counted.
	Rate  float64
	Burst int
	// MaxRetries bounds the retries of a batch a sink failed to deliver
	// (default 10; negative: none). Retries back off exponentially from RetryMin (default
	// 100ms) to RetryMax (default 30s), with jitter; the defaults keep
	// retrying for about a minute before dropping the batch.
	MaxRetries         int
	RetryMin, RetryMax time.Duration
	// FlushInterval is how often closed dedup windows are looked for
	// (default 1s): a follow-up event comes at most this late.
	FlushInterval time.Duration
	// Log, if set, gets a line per destination when its deliveries fail:
	// the cause, the attempts and events lost, the last error; at most
	// one line per LogInterval (default 30s) per destination, and the
	// rest at Close.
	Log         io.Writer
	LogInterval time.Duration
	// Observer is observer.name of events that name no sensor (default:
	// the host name), so that a replay's events say where they were
	// judged. Version is observer.version (default: this build's).
	Observer string
	Version  string
	// Now is the clock of dedup windows and the rate limit (default
	// time.Now). It is processing time, not packet time: the limits are
	// there to spare the receiver, however fast a replay runs.
	Now func() time.Time
}

func (o *FeedOptions) defaults() {
	if o.QueueSize <= 0 {
		o.QueueSize = 4096
	}
	if o.DedupWindow == 0 {
		o.DedupWindow = 60 * time.Second
	}
	if o.MaxWindows <= 0 {
		o.MaxWindows = 100000
	}
	if o.Rate == 0 {
		o.Rate = 100
	}
	if o.Burst <= 0 {
		o.Burst = 1000
	}
	if o.MaxRetries < 0 {
		o.MaxRetries = 0
	} else if o.MaxRetries == 0 {
		o.MaxRetries = 10
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 100 * time.Millisecond
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 30 * time.Second
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = o.RetryMin
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LogInterval <= 0 {
		o.LogInterval = 30 * time.Second
	}
	if o.Observer == "" {
		o.Observer, _ = os.Hostname()
	}
	if o.Version == "" {
		o.Version = version.Get().String()
	}
}

// Feed deduplicates, rate-limits and fans finding events out to sinks.
// Publish never blocks: the auditor's capture must not wait for a slow
// SIEM. One dispatcher goroutine owns dedup and rate limiting; each sink
// has its own goroutine and queue, so a dead receiver delays only itself.
type Feed struct {
	opts   FeedOptions
	in     chan Event
	mu     sync.RWMutex // guards closed against Publish racing Close
	closed bool
	stop   chan struct{}
	done   chan struct{} // dispatcher finished
	ctx    context.Context
	abort  context.CancelFunc

	sinks  []*sinkWorker
	log    *failureLog
	dedup  *deduper
	limit  *limiter
	idBase string
	seq    uint64

	published, emitted, deduplicated, untracked atomic.Uint64
	rateLimited, queueFull, afterClose          atomic.Uint64
}

type sinkWorker struct {
	sink       Sink
	q          chan Record
	done       chan struct{}
	size       int
	wait       time.Duration
	sent       atomic.Uint64
	failed     atomic.Uint64
	retried    atomic.Uint64
	dropped    atomic.Uint64
	lastErr    atomic.Pointer[string]
	fails      sinkFailures
	batchSlice []Record
}

// New starts a feed delivering to sinks, which it owns from now on: Close
// closes them.
func New(sinks []Sink, opts FeedOptions) *Feed {
	opts.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	f := &Feed{
		opts: opts, in: make(chan Event, opts.QueueSize),
		stop: make(chan struct{}), done: make(chan struct{}),
		ctx: ctx, abort: cancel,
		limit: newLimiter(opts.Rate, opts.Burst), idBase: newIDBase(),
	}
	if opts.Log != nil {
		f.log = &failureLog{w: opts.Log, interval: opts.LogInterval, now: opts.Now}
	}
	if opts.DedupWindow > 0 {
		f.dedup = newDeduper(opts.DedupWindow, opts.MaxWindows)
	}
	for _, s := range sinks {
		w := &sinkWorker{sink: s, q: make(chan Record, opts.QueueSize), done: make(chan struct{}), size: 64}
		if b, ok := s.(Batcher); ok {
			w.size, w.wait = b.BatchLimits()
			w.size = max(w.size, 1)
		}
		f.sinks = append(f.sinks, w)
		go f.runSink(w)
	}
	go f.dispatch()
	return f
}

// newIDBase returns the random prefix of this feed's event ids, so ids
// from two runs or two sensors never collide.
func newIDBase() string {
	var b [6]byte
	crand.Read(b[:])
	return hex.EncodeToString(b[:]) + "-"
}

// Publish hands one finding occurrence to the feed without blocking. When
// the queue is full, or the feed is closed, the event is dropped and
// counted. It is safe for concurrent use.
func (f *Feed) Publish(ev Event) {
	f.published.Add(1)
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.closed {
		f.afterClose.Add(1)
		return
	}
	select {
	case f.in <- ev:
	default:
		f.queueFull.Add(1)
	}
}

func (f *Feed) dispatch() {
	defer close(f.done)
	tick := time.NewTicker(f.opts.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case ev := <-f.in:
			f.handle(&ev)
		case <-tick.C:
			if f.dedup != nil {
				f.dedup.expire(f.opts.Now(), f.emit)
			}
		case <-f.stop:
			// Close set the flag under the lock before stopping us, so
			// nothing enters the queue any more: drain it exactly.
		drain:
			for {
				select {
				case ev := <-f.in:
					f.handle(&ev)
				default:
					break drain
				}
			}
			if f.dedup != nil {
				f.dedup.flush(f.emit)
			}
			for _, w := range f.sinks {
				close(w.q)
			}
			return
		}
	}
}

func (f *Feed) handle(ev *Event) {
	ev.Count = max(ev.Count, 1)
	ev.Repeat = false
	if f.dedup == nil {
		f.emit(ev)
		return
	}
	emit, tracked := f.dedup.add(ev, f.opts.Now())
	if !tracked {
		f.untracked.Add(1)
	}
	if emit {
		f.emit(ev)
	} else {
		f.deduplicated.Add(ev.Count)
	}
}

// emit rate-limits, encodes and queues one event for every sink.
func (f *Feed) emit(ev *Event) {
	now := f.opts.Now()
	if !f.limit.allow(now) {
		f.rateLimited.Add(1)
		return
	}
	f.seq++
	ev.ID = f.idBase + strconv.FormatUint(f.seq, 10)
	ev.Created = now
	// Record.Host stays empty for an event without a sensor, so that a
	// syslog sink uses its own configured host name.
	host := ev.Sensor
	if ev.Sensor == "" {
		ev.Sensor = f.opts.Observer
	}
	ev.Version = f.opts.Version
	rec := Record{JSON: AppendEncode(make([]byte, 0, 1024), ev), ID: ev.ID, Kind: ev.Kind, Severity: ev.Severity, Host: host, Created: now}
	f.emitted.Add(1)
	for _, w := range f.sinks {
		select {
		case w.q <- rec:
		default:
			w.dropped.Add(1)
			if w.dropped.Load()&(w.dropped.Load()-1) == 0 {
				// Logged at 1, 2, 4, 8... drops: a full queue means
				// the sink is far behind, and this runs per event.
				f.log.note(w.sink.Name(), &w.fails, errors.New("queue full: the destination is too slow"), 0, CauseQueueFull)
			}
		}
	}
}

func (f *Feed) runSink(w *sinkWorker) {
	defer close(w.done)
	for {
		rec, ok := <-w.q
		if !ok {
			return
		}
		batch := append(w.batchSlice[:0], rec)
		batch, open := f.fill(w, batch)
		f.deliver(w, batch)
		clear(batch) // let the JSON go
		w.batchSlice = batch[:0]
		if !open {
			return
		}
	}
}

// fill adds queued records to batch up to the sink's batch size, waiting
// up to its batch wait for more. It reports whether the queue is still
// open.
func (f *Feed) fill(w *sinkWorker, batch []Record) ([]Record, bool) {
	var timeout <-chan time.Time
	if w.wait > 0 {
		t := time.NewTimer(w.wait)
		defer t.Stop()
		timeout = t.C
	}
	for len(batch) < w.size {
		select {
		case rec, ok := <-w.q:
			if !ok {
				return batch, false
			}
			batch = append(batch, rec)
			continue
		default:
		}
		if timeout == nil {
			return batch, true
		}
		select {
		case rec, ok := <-w.q:
			if !ok {
				return batch, false
			}
			batch = append(batch, rec)
		case <-timeout:
			return batch, true
		case <-f.stop:
			// Closing: send what we have rather than wait out the timer.
			timeout = nil
		case <-f.ctx.Done():
			return batch, true
		}
	}
	return batch, true
}

// deliver writes a batch, retrying with exponential backoff and full
// jitter, and counts the outcome.
func (f *Feed) deliver(w *sinkWorker, batch []Record) {
	n := uint64(len(batch))
	// A batch abandoned at Close after failed attempts is counted under
	// the cause of those failures: that is what the operator must fix.
	lastCause := CauseAbandoned
	for attempt := 0; ; attempt++ {
		if err := f.ctx.Err(); err != nil {
			err = errors.New("feed closed before delivery: " + err.Error())
			w.failed.Add(n)
			if last := w.lastErr.Load(); last != nil && lastCause != CauseAbandoned {
				err = fmt.Errorf("%w; last error: %s", err, *last)
			}
			w.setErr(err)
			f.log.note(w.sink.Name(), &w.fails, err, n, lastCause)
			return
		}
		err := w.sink.Write(f.ctx, batch)
		if err == nil {
			w.sent.Add(n)
			return
		}
		w.setErr(err)
		cause := causeOf(err)
		if f.ctx.Err() != nil && cause == CauseAbandoned {
			cause = lastCause
		}
		lastCause = cause
		if errors.Is(err, errPermanent) || attempt >= f.opts.MaxRetries {
			w.failed.Add(n)
			f.log.note(w.sink.Name(), &w.fails, err, n, cause)
			return
		}
		f.log.note(w.sink.Name(), &w.fails, err, 0, cause)
		w.retried.Add(1)
		t := time.NewTimer(f.backoff(attempt))
		select {
		case <-t.C:
		case <-f.ctx.Done():
			t.Stop()
		}
	}
}

func (f *Feed) backoff(attempt int) time.Duration {
	d := f.opts.RetryMax
	if attempt < 30 {
		d = min(f.opts.RetryMin<<attempt, f.opts.RetryMax)
	}
	// Half fixed, half random: spreads sensors that lost the same
	// receiver, yet never retries immediately.
	return d/2 + rand.N(d/2+1)
}

func (w *sinkWorker) setErr(err error) {
	s := err.Error()
	w.lastErr.Store(&s)
}

// Close stops accepting events, emits the follow-ups of open dedup
// windows and waits for every sink to deliver its queue (retrying as
// usual) until ctx is done; then it abandons what is left, counting it as
// failed. It closes the sinks and returns their errors, or ctx's error
// when it had to abandon events. Close is idempotent.
func (f *Feed) Close(ctx context.Context) error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	f.mu.Unlock()
	close(f.stop)
	<-f.done // the dispatcher never blocks, so this is quick

	var errs []error
	for _, w := range f.sinks {
		select {
		case <-w.done:
		case <-ctx.Done():
			f.abort()
			<-w.done
		}
	}
	if err := ctx.Err(); err != nil && f.ctx.Err() != nil {
		errs = append(errs, err)
	}
	f.abort()
	for _, w := range f.sinks {
		f.log.flush(w.sink.Name(), &w.fails)
		if err := w.sink.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Stats are a feed's counters. Every occurrence published is accounted
// for exactly once: Published = DroppedQueueFull + DroppedClosed +
// Deduplicated + the occurrences that became events of their own (emitted
// or rate-limited). Follow-up events are emitted, or rate-limited, on top.
type Stats struct {
	// Published counts Publish calls.
	Published uint64 `json:"published"`
	// Emitted counts events handed to the sinks: first occurrences,
	// follow-ups and untracked occurrences.
	Emitted uint64 `json:"emitted"`
	// Deduplicated counts occurrences absorbed into dedup windows.
	Deduplicated uint64 `json:"deduplicated"`
	// Untracked counts occurrences emitted without deduplication because
	// MaxWindows findings were already tracked.
	Untracked uint64 `json:"untracked"`
	// RateLimited counts events dropped by the rate limit.
	RateLimited uint64 `json:"rate_limited"`
	// DroppedQueueFull counts events dropped because the Publish queue
	// was full; DroppedClosed those published after Close.
	DroppedQueueFull uint64 `json:"dropped_queue_full"`
	DroppedClosed    uint64 `json:"dropped_closed"`

	Sinks []SinkStats `json:"sinks"`
}

// SinkStats are one sink's counters, in events except Retried.
type SinkStats struct {
	Name string `json:"name"`
	// Sent events were accepted by the destination.
	Sent uint64 `json:"sent"`
	// Failed events were given up: retries exhausted, refused for good,
	// or abandoned at Close.
	Failed uint64 `json:"failed"`
	// Retried counts batch retries.
	Retried uint64 `json:"retried"`
	// Dropped events never reached the sink: its queue was full.
	Dropped uint64 `json:"dropped_queue_full"`
	// FailedBy splits Failed and Dropped by cause (Cause names); causes
	// with no event are left out.
	FailedBy map[string]uint64 `json:"failed_by_cause,omitempty"`
	// LastError is the last delivery error, empty if there was none.
	LastError string `json:"last_error,omitempty"`
}

// Stats returns the feed's counters; safe to call at any time.
func (f *Feed) Stats() Stats {
	s := Stats{
		Published: f.published.Load(), Emitted: f.emitted.Load(),
		Deduplicated: f.deduplicated.Load(), Untracked: f.untracked.Load(),
		RateLimited: f.rateLimited.Load(), DroppedQueueFull: f.queueFull.Load(),
		DroppedClosed: f.afterClose.Load(),
	}
	for _, w := range f.sinks {
		ss := SinkStats{
			Name: w.sink.Name(), Sent: w.sent.Load(), Failed: w.failed.Load(),
			Retried: w.retried.Load(), Dropped: w.dropped.Load(),
		}
		for c := range numCauses {
			n := w.fails.events[c].Load()
			if c == CauseQueueFull {
				n = ss.Dropped
			}
			if n > 0 {
				if ss.FailedBy == nil {
					ss.FailedBy = map[string]uint64{}
				}
				ss.FailedBy[c.String()] = n
			}
		}
		if e := w.lastErr.Load(); e != nil {
			ss.LastError = *e
		}
		s.Sinks = append(s.Sinks, ss)
	}
	return s
}
