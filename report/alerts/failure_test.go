package alerts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a log destination safe for the sink goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestCauseOf(t *testing.T) {
	tests := []struct {
		err  error
		want Cause
	}{
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, CauseConnect},
		{fmt.Errorf("post: %w", syscall.ECONNREFUSED), CauseConnect},
		{&net.DNSError{Err: "no such host", Name: "siem"}, CauseConnect},
		{fmt.Errorf("post: %w", context.DeadlineExceeded), CauseTimeout},
		{fmt.Errorf("post: %w", &statusError{code: 503}), CauseServer},
		{fmt.Errorf("post: %w", &statusError{code: 429}), CauseServer},
		{permanent(fmt.Errorf("post: %w", &statusError{code: 401})), CauseRejected},
		{permanent(errors.New("malformed")), CauseRejected},
		{errors.New("write /var/log/a: no space left on device"), CauseWrite},
		{fmt.Errorf("post: %w", context.Canceled), CauseAbandoned},
	}
	for _, tt := range tests {
		if got := causeOf(tt.err); got != tt.want {
			t.Errorf("causeOf(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// A destination that refuses connections: every event is counted as
// failed by cause, Undelivered says so, and the log names the destination
// and the cause at once, then at most once per interval.
func TestFeedDeliveryFailureIsReported(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: connection refused
	s, err := Open("http://"+addr+"/ingest", Options{BatchSize: 2, BatchWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	feed := New([]Sink{s}, FeedOptions{Log: &log, LogInterval: time.Hour, RetryMin: time.Millisecond, RetryMax: time.Millisecond, MaxRetries: 2})
	for _, ev := range distinct(5) {
		feed.Publish(ev)
	}
	waitFor(t, ctx, "the first log line", func() bool { return strings.Contains(log.String(), "failing") })
	if err := feed.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := feed.Stats()
	sk := st.Sinks[0]
	if sk.Failed != 5 || sk.FailedBy["connect"] != 5 || st.Undelivered() != 5 {
		t.Errorf("stats %+v, undelivered %d; want 5 failed by connect", st, st.Undelivered())
	}
	if sum := st.FailureSummary(); sum != "http://"+addr+"/ingest: 5 connect" {
		t.Errorf("FailureSummary = %q", sum)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	// One line at the first failure, held back for the interval, and one
	// at Close with the rest.
	if len(lines) != 2 {
		t.Fatalf("log has %d lines, want 2 (first failure, then the rest at Close):\n%s", len(lines), log.String())
	}
	for _, l := range lines {
		if !strings.Contains(l, "http://"+addr+"/ingest") || !strings.Contains(l, "(connect)") {
			t.Errorf("log line lacks destination or cause: %s", l)
		}
	}
	if !strings.Contains(lines[1], "5 in all") {
		t.Errorf("last line does not total the events: %s", lines[1])
	}
}

// A receiver that delivers everything leaves no log line and nothing
// undelivered.
func TestFeedDeliveredIsQuiet(t *testing.T) {
	ctx := testCtx(t, 10*time.Second)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	s, err := Open(srv.URL, Options{BatchWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	feed := New([]Sink{s}, FeedOptions{Log: &log})
	for _, ev := range distinct(3) {
		feed.Publish(ev)
	}
	if err := feed.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := feed.Stats()
	if st.Undelivered() != 0 || st.Sinks[0].Sent != 3 || log.String() != "" || st.FailureSummary() != "" {
		t.Errorf("stats %+v, log %q", st, log.String())
	}
}
