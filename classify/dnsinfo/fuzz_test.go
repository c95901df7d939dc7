package dnsinfo

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// snapshot renders what Parse kept, to compare two parses of one message.
func snapshot(m *Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%+v|", m.Header)
	for _, q := range m.Questions {
		fmt.Fprintf(&b, "%s %d %d|", q.Name, q.Type, q.Class)
	}
	for _, a := range m.Answers {
		fmt.Fprintf(&b, "%s %d %d %d %s %s|", a.Name, a.Type, a.Class, a.TTL, a.Addr, a.Target)
	}
	fmt.Fprintf(&b, "%d %d %d %v %d", m.OtherAnswers, m.Authority, m.Additional, m.EDNS, m.UDPSize)
	return b.String()
}

func FuzzParse(f *testing.F) {
	f.Add(cnameResponse())
	for _, file := range []string{"dns-edns-ecs.pcap", "../malformed/malformed_dns.pcap", "naptr.pcap", "mdns.pcap"} {
		msgs, _ := readMessages(f, file)
		for _, m := range msgs {
			f.Add(m.data)
		}
	}
	other := cnameResponse()
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Message
		err := Parse(data, &m)
		if err != nil && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrNameTooLong) &&
			!errors.Is(err, ErrPointerLoop) && !errors.Is(err, ErrBadPointer) &&
			!errors.Is(err, ErrBadLabel) && !errors.Is(err, ErrBadRData) {
			t.Fatalf("unclassified error %v", err)
		}
		if len(m.Questions) > int(m.QDCount) || len(m.Answers)+m.OtherAnswers > int(m.ANCount) {
			t.Fatalf("more records than the header claims: %s", snapshot(&m))
		}
		for _, q := range m.Questions {
			// 255 wire bytes escape to at most 4 bytes per octet.
			if len(q.Name) == 0 || len(q.Name) > 4*maxNameWire {
				t.Fatalf("question name of %d bytes", len(q.Name))
			}
		}
		for _, a := range m.Answers {
			if a.Type == TypeA && !a.Addr.Is4() || a.Type == TypeAAAA && !a.Addr.Is6() ||
				a.Type == TypeCNAME && len(a.Target) == 0 {
				t.Fatalf("bad answer %+v", a)
			}
		}
		// Reusing m must give the same result after another message.
		want := snapshot(&m)
		_ = Parse(other, &m)
		err2 := Parse(data, &m)
		if got := snapshot(&m); got != want || (err == nil) != (err2 == nil) {
			t.Fatalf("reparse differs:\n%s\n%s", got, want)
		}

		c := NewCache(Config{MaxEntries: 4, MaxFailureNames: 2})
		m.Response = true
		c.Observe(netip.MustParseAddr("10.0.0.1"), &m, 1)
		for _, a := range m.Answers {
			if name, ok := c.Lookup(netip.MustParseAddr("10.0.0.2"), a.Addr, 2); ok && name == "" {
				t.Fatalf("empty name for %s", a.Addr)
			}
		}
		if c.Len() > 4 || len(c.Failures()) > 2 {
			t.Fatalf("cache over its bounds: %d entries, %d failure names", c.Len(), len(c.Failures()))
		}
	})
}

func FuzzSplitTCP(f *testing.F) {
	msg := cnameResponse()
	f.Add(append([]byte{0, byte(len(msg))}, msg...))
	f.Add([]byte{0, 12, 1, 2, 3})
	f.Add([]byte{0, 0})
	msgs, _ := readMessages(f, "dns_tcp.pcap")
	for _, m := range msgs {
		f.Add(append([]byte{byte(len(m.data) >> 8), byte(len(m.data))}, m.data...))
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		// Each message takes at least 2+headerLen bytes.
		maxSteps := len(stream)/(2+headerLen) + 1
		for steps := 0; ; steps++ {
			if steps >= maxSteps {
				t.Fatal("no progress")
			}
			msg, rest, err := SplitTCP(stream)
			if err != nil {
				if !errors.Is(err, ErrNeedMore) && !errors.Is(err, ErrBadLength) {
					t.Fatalf("unclassified error %v", err)
				}
				if msg != nil || len(rest) != len(stream) {
					t.Fatalf("error %v with msg %d bytes, rest %d of %d", err, len(msg), len(rest), len(stream))
				}
				return
			}
			if len(msg) < headerLen || 2+len(msg)+len(rest) != len(stream) {
				t.Fatalf("split %d into %d + %d", len(stream), len(msg), len(rest))
			}
			stream = rest
		}
	})
}
