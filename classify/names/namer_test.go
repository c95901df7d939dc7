package names

import (
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/dnsinfo"
)

// answer is a parsed DNS response that resolves name to addr.
func answer(t *testing.T, name string, addr netip.Addr) *dnsinfo.Message {
	t.Helper()
	q := dnsmessage.Question{Name: dnsmessage.MustNewName(name + "."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}
	msg := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: 7, Response: true, RecursionAvailable: true},
		Questions: []dnsmessage.Question{q},
		Answers: []dnsmessage.Resource{{
			Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 300},
			Body:   &dnsmessage.AResource{A: addr.As4()},
		}},
	}
	b, err := msg.Pack()
	if err != nil {
		t.Fatal(err)
	}
	var m dnsinfo.Message
	if err := dnsinfo.Parse(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// A client resolves two names to one CDN address, the second within the
// epoch of the connection that follows it. The connection must be named
// after the answer it acted on, as if every answer had been committed as
// it came; the cache as the last commit left it still says the first
// name. A client whose entry the flow's lifetime churned keeps the name
// it started with.
func TestServerNamerAnswersOfItsOwnEpoch(t *testing.T) {
	sec := time.Second.Nanoseconds()
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).UnixNano()
	client := netip.MustParseAddr("10.10.2.7")
	cdn := netip.MustParseAddr("192.0.2.80")
	newFlow := func(first int64) *flow.Flow {
		k, dir := flow.NewKey(flow.ProtoTCP, netip.AddrPortFrom(client, 50000), netip.AddrPortFrom(cdn, 443))
		return &flow.Flow{Key: k, OrigDir: dir, First: first, Last: first}
	}

	cache := dnsinfo.NewCache(dnsinfo.DefaultConfig())
	stage := cache.NewStage()
	n := NewServerNamer(cache)
	stage.Observe(1, client, answer(t, "old.example.com", cdn), t0)
	cache.Commit(t0)

	// The epoch: the new answer, then the connection.
	stage.Observe(2, client, answer(t, "new.example.com", cdn), t0+2*sec)
	f := newFlow(t0 + 2*sec + 1e6)
	if !n.Start(f, nil) {
		t.Fatal("Start declined the flow: End would not come")
	}
	if got := f.Meta.ServerName; got != "old.example.com" {
		t.Fatalf("at start, before the commit: %q", got)
	}
	cache.Commit(t0 + 3*sec)
	n.End(f)
	if got := f.Meta.ServerName; got != "new.example.com" {
		t.Errorf("ServerName %q, want the name resolved just before the flow", got)
	}

	// A long flow: by its end the client has re-resolved the address
	// twice, so its entry no longer knows the name the flow began with.
	long := newFlow(t0 + 4*sec)
	n.Start(long, nil)
	stage.Observe(3, client, answer(t, "a.example.com", cdn), t0+10*sec)
	cache.Commit(t0 + 10*sec)
	stage.Observe(4, client, answer(t, "b.example.com", cdn), t0+20*sec)
	cache.Commit(t0 + 20*sec)
	n.End(long)
	if got := long.Meta.ServerName; got != "new.example.com" {
		t.Errorf("long flow: ServerName %q, want the name it started with", got)
	}
	if got := n.Named(); got != 2 {
		t.Errorf("Named %d, want 2", got)
	}
}
