package alerts

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
)

// testCtx bounds a test: every wait in these tests ends with it.
func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond until it holds or ctx ends, which fails the test.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// syslogMsg is an RFC 5424 message as a receiver parsed it.
type syslogMsg struct {
	pri                          int
	ts                           time.Time
	host, app, procID, msgID, sd string
	msg                          []byte
}

var rfc5424 = regexp.MustCompile(`^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*?\]) (.*)$`)

// parseRFC5424 parses a message strictly, as a receiver that checks the
// header would: a sink bug shows up as a parse error.
func parseRFC5424(b []byte) (syslogMsg, error) {
	m := rfc5424.FindSubmatch(b)
	if m == nil {
		return syslogMsg{}, fmt.Errorf("not RFC 5424: %q", b)
	}
	pri, _ := strconv.Atoi(string(m[1]))
	if pri > 191 {
		return syslogMsg{}, fmt.Errorf("PRI %d out of range", pri)
	}
	ts, err := time.Parse(time.RFC3339Nano, string(m[2]))
	if err != nil {
		return syslogMsg{}, fmt.Errorf("TIMESTAMP: %v", err)
	}
	if !json.Valid(m[8]) {
		return syslogMsg{}, fmt.Errorf("MSG is not JSON: %q", m[8])
	}
	return syslogMsg{
		pri: pri, ts: ts, host: string(m[3]), app: string(m[4]), procID: string(m[5]),
		msgID: string(m[6]), sd: string(m[7]), msg: bytes.Clone(m[8]),
	}, nil
}

// tcpReceiver is a syslog receiver over TCP with octet-counting framing.
type tcpReceiver struct {
	t     *testing.T
	ln    net.Listener
	msgs  chan syslogMsg
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startTCPReceiver(t *testing.T, addr string) *tcpReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := &tcpReceiver{t: t, ln: ln, msgs: make(chan syslogMsg, 1024)}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			r.conns = append(r.conns, c)
			r.mu.Unlock()
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				r.read(c)
			}()
		}
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *tcpReceiver) addr() string { return r.ln.Addr().String() }

// read parses "LEN SP MSG" frames until the connection ends.
func (r *tcpReceiver) read(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		n, err := br.ReadString(' ')
		if err != nil {
			if err != io.EOF && len(n) > 0 {
				r.t.Errorf("frame length: %v", err)
			}
			return
		}
		size, err := strconv.Atoi(n[:len(n)-1])
		if err != nil || size <= 0 || size > 1<<20 {
			r.t.Errorf("bad octet count %q", n)
			return
		}
		frame := make([]byte, size)
		if _, err := io.ReadFull(br, frame); err != nil {
			r.t.Errorf("frame of %d bytes: %v", size, err)
			return
		}
		m, err := parseRFC5424(frame)
		if err != nil {
			r.t.Error(err)
			return
		}
		r.msgs <- m
	}
}

// stop closes the listener and every connection, as a receiver going
// down would.
func (r *tcpReceiver) stop() {
	r.ln.Close()
	r.mu.Lock()
	for _, c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *tcpReceiver) next(t *testing.T, ctx context.Context) syslogMsg {
	t.Helper()
	select {
	case m := <-r.msgs:
		return m
	case <-ctx.Done():
		t.Fatal("timed out waiting for a syslog message")
	}
	return syslogMsg{}
}

// memSink keeps what it is given, for tests of the feed's logic.
type memSink struct {
	mu   sync.Mutex
	recs []Record
}

func (s *memSink) Name() string { return "mem" }

func (s *memSink) Write(_ context.Context, batch []Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, batch...)
	return nil
}

func (s *memSink) Close() error { return nil }

func (s *memSink) docs(t *testing.T) []ecsDoc {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ecsDoc
	for _, r := range s.recs {
		out = append(out, decodeECS(t, r.JSON))
	}
	return out
}

func (s *memSink) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recs)
}

// fakeClock is the feed's clock in dedup and rate-limit tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
