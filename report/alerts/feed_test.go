package alerts

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ccaudit/auditor/classify/verdict"
)

// distinct returns n occurrences that are all different findings.
func distinct(n int) []Event {
	out := make([]Event, n)
	for i := range out {
		out[i] = occurrence(40000, uint16(1000+i), t0)
	}
	return out
}

// fastRetry makes retries quick enough for a test yet keeps retrying for
// longer than any test waits.
func fastRetry(o FeedOptions) FeedOptions {
	o.RetryMin, o.RetryMax, o.MaxRetries = 2*time.Millisecond, 20*time.Millisecond, 100000
	return o
}

func TestFeedSyslogTCP(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	r := startTCPReceiver(t, "127.0.0.1:0")
	s, err := Open("syslog+tcp://"+r.addr(), Options{Hostname: "fallback host"})
	if err != nil {
		t.Fatal(err)
	}
	feed := New([]Sink{s}, FeedOptions{})
	blocked := occurrence(40000, 5060, t0)
	blocked.Sensor = "dc1-span"
	unexpected := occurrence(40000, 22, t0)
	unexpected.Kind, unexpected.Severity, unexpected.EntryID = verdict.KindUnexpected, verdict.Low, ""
	missing := Event{Kind: verdict.KindMissing, Severity: verdict.Medium, EntryID: "acme/rtp", Start: t0, End: t1}
	for _, ev := range []Event{blocked, unexpected, missing} {
		feed.Publish(ev)
	}
	if err := feed.Close(ctx); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		pri         int
		host, msgID string
		ruleID      string
	}{
		{16*8 + 3, "dc1-span", "blocked", "acme/sip"},
		{16*8 + 5, "fallback_host", "unexpected", "unexpected"},
		{16*8 + 4, "fallback_host", "missing", "acme/rtp"},
	}
	ids := map[string]bool{}
	for i, w := range want {
		m := r.next(t, ctx)
		if m.pri != w.pri || m.host != w.host || m.app != "auditor" || m.procID != strconv.Itoa(os.Getpid()) || m.msgID != w.msgID || m.sd != "-" {
			t.Errorf("message %d header: %+v, want %+v", i, m, w)
		}
		d := decodeECS(t, m.msg)
		if d.Rule.ID != w.ruleID {
			t.Errorf("message %d rule.id %q, want %q", i, d.Rule.ID, w.ruleID)
		}
		if d.Event.Created != m.ts.UTC().Format("2006-01-02T15:04:05.000000Z07:00") {
			t.Errorf("message %d TIMESTAMP %v, event.created %s", i, m.ts, d.Event.Created)
		}
		ids[d.Event.ID] = true
	}
	if len(ids) != 3 {
		t.Errorf("event ids not unique: %v", ids)
	}
	st := feed.Stats()
	if st.Sinks[0].Sent != 3 || st.Sinks[0].Failed != 0 || st.Emitted != 3 || st.Published != 3 {
		t.Errorf("stats: %+v", st)
	}
}

// A receiver restarting between batches: the sink notices the closed
// connection, reconnects once the receiver is back, and loses nothing.
func TestFeedSyslogTCPReceiverRestarts(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	r1 := startTCPReceiver(t, "127.0.0.1:0")
	addr := r1.addr()
	s, err := Open("syslog+tcp://"+addr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	feed := New([]Sink{s}, fastRetry(FeedOptions{}))
	evs := distinct(4)
	feed.Publish(evs[0])
	r1.next(t, ctx)
	r1.stop()

	feed.Publish(evs[1])
	feed.Publish(evs[2])
	waitFor(t, ctx, "retries while the receiver is down", func() bool { return feed.Stats().Sinks[0].Retried >= 2 })
	r2 := startTCPReceiver(t, addr)
	feed.Publish(evs[3])
	got := map[int]bool{}
	for range 3 {
		got[decodeECS(t, r2.next(t, ctx).msg).Destination.Port] = true
	}
	for _, ev := range evs[1:] {
		if !got[int(ev.Dst.Port())] {
			t.Errorf("event to port %d lost across the restart; got %v", ev.Dst.Port(), got)
		}
	}
	if err := feed.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if st := feed.Stats().Sinks[0]; st.Sent != 4 || st.Failed != 0 || st.LastError == "" {
		t.Errorf("sink stats: %+v", st)
	}
}

func TestFeedSyslogUDP(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	s, err := Open("syslog+udp://"+pc.LocalAddr().String(), Options{Facility: 13})
	if err != nil {
		t.Fatal(err)
	}
	feed := New([]Sink{s}, FeedOptions{})
	for _, ev := range distinct(3) {
		feed.Publish(ev)
	}
	if err := feed.Close(ctx); err != nil {
		t.Fatal(err)
	}
	deadline, _ := ctx.Deadline()
	pc.SetReadDeadline(deadline)
	buf := make([]byte, 65536)
	for i := range 3 {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		m, err := parseRFC5424(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		if m.pri != 13*8+3 || m.msgID != "blocked" {
			t.Errorf("datagram %d: PRI %d MSGID %q", i, m.pri, m.msgID)
		}
		if d := decodeECS(t, m.msg); d.Destination.Port != 1000+i {
			t.Errorf("datagram %d: destination port %d, want %d (one event per datagram, in order)", i, d.Destination.Port, 1000+i)
		}
	}
}

// httpReceiver is an NDJSON ingest endpoint with a bearer token that can
// be told to fail.
type httpReceiver struct {
	t       *testing.T
	token   string
	status  atomic.Int32 // answer while failing; 0: accept
	mu      sync.Mutex
	batches []int
	ids     map[string]int
}

func (h *httpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-ndjson" {
		h.t.Errorf("request %s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		http.Error(w, "want POST of NDJSON", http.StatusBadRequest)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+h.token {
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	}
	if s := h.status.Load(); s != 0 {
		http.Error(w, "not now", int(s))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil || len(body) == 0 || body[len(body)-1] != '\n' {
		h.t.Errorf("body %q: %v", body, err)
		return
	}
	var ids []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		ids = append(ids, decodeECS(h.t, sc.Bytes()).Event.ID)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.batches = append(h.batches, len(ids))
	for _, id := range ids {
		h.ids[id]++
	}
}

func (h *httpReceiver) received() (events int, batches []int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.ids), append([]int(nil), h.batches...)
}

func newHTTPReceiver(t *testing.T) *httpReceiver {
	return &httpReceiver{t: t, token: "s3cret-token", ids: map[string]int{}}
}

func tokenEnv(name string) (string, bool) {
	if name == "ALERT_TOKEN" {
		return "s3cret-token", true
	}
	return "", false
}

func TestFeedHTTPBatches(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	h := newHTTPReceiver(t)
	srv := httptest.NewServer(h)
	defer srv.Close()
	s, err := Open(srv.URL+"/ingest?token_env=ALERT_TOKEN", Options{Getenv: tokenEnv, BatchSize: 4, BatchWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s.Name(), "s3cret") {
		t.Errorf("sink name leaks the token: %s", s.Name())
	}
	feed := New([]Sink{s}, FeedOptions{})
	for _, ev := range distinct(10) {
		feed.Publish(ev)
	}
	if err := feed.Close(ctx); err != nil {
		t.Fatal(err)
	}
	n, batches := h.received()
	if n != 10 {
		t.Errorf("received %d events, want 10", n)
	}
	if len(batches) < 3 {
		t.Errorf("batches %v: want at least 3 of at most 4", batches)
	}
	for _, b := range batches {
		if b > 4 {
			t.Errorf("batch of %d events exceeds BatchSize 4", b)
		}
	}
	if st := feed.Stats().Sinks[0]; st.Sent != 10 || st.Retried != 0 {
		t.Errorf("sink stats: %+v", st)
	}
}

func TestFeedHTTPRefused(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	h := newHTTPReceiver(t)
	srv := httptest.NewServer(h)
	defer srv.Close()
	// A wrong token is refused for good: retrying cannot help.
	s, err := Open(srv.URL, Options{Getenv: func(string) (string, bool) { return "wrong", true }, TokenEnv: "X", BatchWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	feed := New([]Sink{s}, fastRetry(FeedOptions{}))
	for _, ev := range distinct(3) {
		feed.Publish(ev)
	}
	if err := feed.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := feed.Stats().Sinks[0]
	if st.Failed != 3 || st.Sent != 0 || st.Retried != 0 || !strings.Contains(st.LastError, "401") {
		t.Errorf("sink stats: %+v", st)
	}
}

// The receiver is down (answering 503, or not listening at all) and comes
// back: while the queues have room nothing is lost, the batches are
// retried until it is back.
func TestFeedHTTPReceiverDownThenBack(t *testing.T) {
	for _, mode := range []string{"503", "connection refused"} {
		t.Run(mode, func(t *testing.T) {
			ctx := testCtx(t, 15*time.Second)
			h := newHTTPReceiver(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			srv := &http.Server{Handler: h}
			if mode == "503" {
				h.status.Store(http.StatusServiceUnavailable)
				go srv.Serve(ln)
			} else {
				ln.Close()
			}
			defer srv.Close()

			s, err := Open("http://"+addr+"/ingest", Options{Getenv: tokenEnv, TokenEnv: "ALERT_TOKEN", BatchSize: 5, BatchWait: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			feed := New([]Sink{s}, fastRetry(FeedOptions{QueueSize: 64}))
			for _, ev := range distinct(20) {
				feed.Publish(ev)
			}
			waitFor(t, ctx, "retries", func() bool { return feed.Stats().Sinks[0].Retried >= 3 })
			if mode == "503" {
				h.status.Store(0)
			} else {
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				go srv.Serve(ln)
			}
			if err := feed.Close(ctx); err != nil {
				t.Fatal(err)
			}
			n, _ := h.received()
			st := feed.Stats()
			if n != 20 || st.Sinks[0].Sent != 20 || st.Sinks[0].Failed != 0 || st.Sinks[0].Dropped != 0 || st.DroppedQueueFull != 0 {
				t.Errorf("received %d of 20; stats %+v", n, st)
			}
		})
	}
}

// With the receiver down long enough to fill the queues, the excess is
// dropped, counted, and everything else still arrives.
func TestFeedQueueFullDropsCounted(t *testing.T) {
	ctx := testCtx(t, 15*time.Second)
	h := newHTTPReceiver(t)
	h.status.Store(http.StatusServiceUnavailable)
	srv := httptest.NewServer(h)
	defer srv.Close()
	s, err := Open(srv.URL, Options{Getenv: tokenEnv, TokenEnv: "ALERT_TOKEN", BatchSize: 4, BatchWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	const published = 200
	feed := New([]Sink{s}, fastRetry(FeedOptions{QueueSize: 8, DedupWindow: -1, Rate: -1}))
	for _, ev := range distinct(published) {
		feed.Publish(ev)
	}
	waitFor(t, ctx, "the dispatcher to drain the publish queue", func() bool {
		st := feed.Stats()
		return st.Emitted+st.DroppedQueueFull == published
	})
	h.status.Store(0)
	if err := feed.Close(ctx); err != nil {
		t.Fatal(err)
	}
	n, _ := h.received()
	st := feed.Stats()
	sk := st.Sinks[0]
	if sk.Dropped+st.DroppedQueueFull == 0 {
		t.Errorf("nothing dropped with queues of 8 and %d events: %+v", published, st)
	}
	if uint64(n) != sk.Sent || sk.Sent+sk.Dropped != st.Emitted || sk.Failed != 0 || st.Emitted+st.DroppedQueueFull != published {
		t.Errorf("received %d; the counts do not add up: %+v", n, st)
	}
	// At most the two queues and the batch in flight survive.
	if n > 8+8+4 {
		t.Errorf("received %d, more than the queues hold", n)
	}
}

// Close gives up at its context's deadline, counting what it abandons.
func TestFeedCloseDeadline(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	h := newHTTPReceiver(t)
	h.status.Store(http.StatusServiceUnavailable)
	srv := httptest.NewServer(h)
	defer srv.Close()
	s, err := Open(srv.URL, Options{Getenv: tokenEnv, TokenEnv: "ALERT_TOKEN", BatchSize: 2, BatchWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	feed := New([]Sink{s}, FeedOptions{RetryMin: time.Second, MaxRetries: 50})
	for _, ev := range distinct(5) {
		feed.Publish(ev)
	}
	closeCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = feed.Close(closeCtx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close: %v, want the deadline error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v past a 200ms deadline", d)
	}
	if st := feed.Stats().Sinks[0]; st.Failed != 5 || st.Sent != 0 {
		t.Errorf("sink stats: %+v", st)
	}
	if err := feed.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestFeedDedupAndRateLimit(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	clock := &fakeClock{now: t0}
	mem := &memSink{}
	feed := New([]Sink{mem}, FeedOptions{Now: clock.Now, FlushInterval: time.Millisecond, Rate: 2, Burst: 3})
	stats := feed.Stats

	// Five occurrences of one finding: the first now, the rest absorbed.
	for i := range 5 {
		feed.Publish(occurrence(uint16(40000+i), 5060, t0.Add(time.Duration(i)*time.Second)))
	}
	waitFor(t, ctx, "dedup", func() bool { return stats().Deduplicated == 4 })
	if mem.len() != 1 {
		t.Fatalf("%d events for one finding within the window, want 1", mem.len())
	}
	clock.Advance(59 * time.Second)
	time.Sleep(20 * time.Millisecond) // several flush ticks: none may close the window early
	if mem.len() != 1 {
		t.Fatalf("window closed before 60s")
	}
	clock.Advance(2 * time.Second)
	waitFor(t, ctx, "the follow-up event", func() bool { return mem.len() == 2 })
	d := mem.docs(t)[1]
	if d.Auditor.Count != 4 || !d.Auditor.Repeat || d.Source.Port != 0 || d.Event.Start != "2025-03-14T09:26:54.589793Z" {
		t.Errorf("follow-up: %+v, source %+v, start %s", d.Auditor, d.Source, d.Event.Start)
	}

	// Burst 3, two used: ten new findings at once let two through.
	for _, ev := range distinct(10) {
		feed.Publish(ev)
	}
	waitFor(t, ctx, "rate limit", func() bool { return stats().RateLimited == 8 })
	clock.Advance(time.Second) // two more tokens
	for _, ev := range distinct(13)[10:] {
		feed.Publish(ev)
	}
	waitFor(t, ctx, "refill", func() bool { return stats().RateLimited+stats().Emitted == 4+8+3 })
	if err := feed.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := stats()
	if st.Emitted != 2+2+2 || st.RateLimited != 8+1 || st.Published != 18 {
		t.Errorf("stats: %+v", st)
	}
	// Every occurrence is accounted for once; the one follow-up is extra.
	if firsts := st.Published - st.Deduplicated - st.DroppedQueueFull - st.DroppedClosed; firsts+1 != st.Emitted+st.RateLimited {
		t.Errorf("accounting: %+v", st)
	}
	if mem.len() != int(st.Emitted) {
		t.Errorf("sink got %d events, %d emitted", mem.len(), st.Emitted)
	}
}

// Close emits the follow-ups of windows still open.
func TestFeedCloseFlushesWindows(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	mem := &memSink{}
	feed := New([]Sink{mem}, FeedOptions{})
	for range 3 {
		feed.Publish(occurrence(40000, 5060, t0))
	}
	if err := feed.Close(ctx); err != nil {
		t.Fatal(err)
	}
	docs := mem.docs(t)
	if len(docs) != 2 || docs[1].Auditor.Count != 2 || !docs[1].Auditor.Repeat {
		t.Fatalf("events after Close: %+v", docs)
	}
	feed.Publish(occurrence(40000, 5060, t0))
	if st := feed.Stats(); st.DroppedClosed != 1 {
		t.Errorf("publish after Close not counted: %+v", st)
	}
}

// Publish is on the path of every judged flow: a repeat costs no
// allocation, through dedup.
func TestPublishAllocs(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	mem := &memSink{}
	feed := New([]Sink{mem}, FeedOptions{DedupWindow: time.Hour, QueueSize: 1 << 16})
	defer feed.Close(ctx)
	ev := occurrence(40000, 5060, t0)
	feed.Publish(ev)
	waitFor(t, ctx, "the first event", func() bool { return mem.len() == 1 })
	if n := testing.AllocsPerRun(1000, func() { feed.Publish(ev) }); n != 0 {
		t.Errorf("Publish allocates %v times per repeat", n)
	}
}

func TestFeedStdout(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	var out bytes.Buffer
	s, err := Open("-", Options{Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	feed := New([]Sink{s}, FeedOptions{})
	for _, ev := range distinct(3) {
		feed.Publish(ev)
	}
	if err := feed.Close(ctx); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines on stdout, want 3:\n%s", len(lines), out.String())
	}
	for _, l := range lines {
		decodeECS(t, []byte(l))
	}
}

func TestFileSinkRotation(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	path := filepath.Join(t.TempDir(), "alerts.ndjson")
	const maxBytes, keep = 1000, 2
	s, err := Open(path, Options{FileMaxBytes: maxBytes, FileKeep: keep})
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for i := range 60 {
		line := `{"n":` + strconv.Itoa(i) + `,"pad":"` + strings.Repeat("x", 80) + `"}`
		all = append(all, line)
	}
	for i := 0; i < len(all); i += 7 {
		var batch []Record
		for _, l := range all[i:min(i+7, len(all))] {
			batch = append(batch, Record{JSON: []byte(l)})
		}
		if err := s.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "." + strconv.Itoa(keep+1)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("more than %d rotated files kept: %v", keep, err)
	}
	// Oldest to newest, the kept files hold a contiguous tail of the lines.
	var kept []string
	for _, p := range []string{path + ".2", path + ".1", path} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > maxBytes {
			t.Errorf("%s has %d bytes, over %d", p, len(b), maxBytes)
		}
		kept = append(kept, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")...)
	}
	tail := all[len(all)-len(kept):]
	if strings.Join(kept, "\n") != strings.Join(tail, "\n") {
		t.Errorf("kept lines are not the last %d written:\n%s", len(tail), strings.Join(kept, "\n"))
	}
	if len(kept) < 2*maxBytes/100 {
		t.Errorf("only %d lines kept: rotation too early", len(kept))
	}

	// Reopening appends and counts what is already there.
	s, err = Open(path, Options{FileMaxBytes: maxBytes, FileKeep: keep})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	big := Record{JSON: bytes.Repeat([]byte("y"), maxBytes-len(before))}
	if err := s.Write(ctx, []Record{big}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if got, _ := os.ReadFile(path + ".1"); !bytes.Equal(got, before) {
		t.Errorf("reopened file not rotated before overflowing")
	}
}
