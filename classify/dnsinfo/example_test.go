package dnsinfo_test

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/ccaudit/auditor/classify/dnsinfo"
)

// A response to "www.example.com A": a CNAME to edge.example.com and the
// alias's address, names compressed.
var response = []byte{
	0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0, // header: response, RD RA, 1 question, 2 answers
	3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1, // www.example.com A IN
	0xc0, 12, 0, 5, 0, 1, 0, 0, 0x0e, 0x10, 0, 7, 4, 'e', 'd', 'g', 'e', 0xc0, 16, // CNAME edge.example.com, TTL 3600
	0xc0, 45, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 10, // edge.example.com A 192.0.2.10, TTL 60
}

func Example() {
	var m dnsinfo.Message // reuse across messages: Parse then allocates nothing
	if err := dnsinfo.Parse(response, &m); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(m.Questions[0].Name), m.Questions[0].Type, m.RCode, len(m.Answers), "answers")

	cache := dnsinfo.NewCache(dnsinfo.Config{})
	client := netip.MustParseAddr("10.1.1.1")
	answered := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano()
	cache.Observe(client, &m, answered)

	// A flow from the client to the address a second later.
	flowStart := answered + int64(time.Second)
	e, ok := cache.LookupEntry(client, netip.MustParseAddr("192.0.2.10"), flowStart)
	fmt.Println(e.Name, e.CNAMEs, e.Exact, ok)
	// Another host behind the same resolver: only the address matches.
	name, ok := cache.Lookup(netip.MustParseAddr("10.1.1.2"), netip.MustParseAddr("192.0.2.10"), flowStart)
	fmt.Println(name, ok)
	// Output:
	// www.example.com A NOERROR 2 answers
	// www.example.com [edge.example.com] true true
	// www.example.com true
}

func ExampleSplitTCP() {
	// Two length-prefixed messages, the second one incomplete.
	stream := append([]byte{0, byte(len(response))}, response...)
	stream = append(stream, 0, byte(len(response)))
	stream = append(stream, response[:20]...)
	for {
		msg, rest, err := dnsinfo.SplitTCP(stream)
		if errors.Is(err, dnsinfo.ErrNeedMore) {
			fmt.Println("need more; keeping", len(rest), "bytes")
			break
		}
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println("message of", len(msg), "bytes")
		stream = rest
	}
	// Output:
	// message of 68 bytes
	// need more; keeping 22 bytes
}
