package names

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/source"
	"github.com/ccaudit/auditor/classify/dnsinfo"
)

type frame struct {
	lt      layers.LinkType
	data    []byte
	ts      int64
	wireLen int
}

// readFrames loads a capture into memory, so allocation tests and
// benchmarks measure the pipeline and not the file reader.
func readFrames(t testing.TB, name string) []frame {
	t.Helper()
	src, err := source.Open([]string{capturePath(name)}, source.Options{LinkTypeSupported: decode.SupportsLinkType})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out []frame
	for {
		fr, err := src.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, frame{fr.LinkType, append([]byte(nil), fr.Data...), fr.Time, fr.WireLen})
	}
}

type stack struct {
	p     *capture.Pipeline
	tls   *TLS
	dns   *DNS
	namer *ServerNamer
}

func newStack(t testing.TB) *stack {
	cache := dnsinfo.NewCache(dnsinfo.DefaultConfig())
	s := &stack{tls: NewTLS(TLSConfig{}), dns: NewDNS(cache, DNSConfig{}), namer: NewServerNamer(cache)}
	cfg := flow.DefaultConfig()
	cfg.MaxFlows = 1 << 12
	p, err := capture.New(capture.Config{Table: cfg, Dissectors: []capture.Dissector{s.tls, s.dns, s.namer}, Shared: []capture.Shared{cache}})
	if err != nil {
		t.Fatal(err)
	}
	s.p = p
	return s
}

// TestSteadyStateAllocs checks that once a flow is labelled its packets
// cost nothing: the TLS dissector has let go, so the pipeline no longer
// calls it. A DNS flow, parsed packet by packet, allocates nothing either
// once its message and cache entries exist.
func TestSteadyStateAllocs(t *testing.T) {
	t.Run("TLS", func(t *testing.T) {
		frames := readFrames(t, "tls/dump_mtu300.pcap")
		s := newStack(t)
		var dec decode.Decoder
		var pkt decode.Packet
		steady := -1
		for i, fr := range frames {
			s.p.Frame(fr.lt, fr.data, fr.ts, fr.wireLen)
			if s.tls.Stats().ServerHellos.Load() == 1 && s.tls.InProgress() == 0 {
				// The next data segment without FIN or RST: replaying it
				// is a retransmission on an established, labelled flow.
				for j := i + 1; j < len(frames); j++ {
					f := frames[j]
					if dec.Decode(f.lt, f.data, f.ts, f.wireLen, &pkt) == nil && len(pkt.Payload) > 0 && pkt.TCPFlags&(flow.FlagFIN|flow.FlagRST) == 0 {
						steady = j
						break
					}
				}
				break
			}
		}
		if steady < 0 {
			t.Fatal("no handshake completed")
		}
		fr := frames[steady]
		if n := testing.AllocsPerRun(200, func() { s.p.Frame(fr.lt, fr.data, fr.ts, fr.wireLen) }); n != 0 {
			t.Fatalf("%v allocs per packet of a labelled TLS flow", n)
		}
	})
	t.Run("DNS", func(t *testing.T) {
		frames := readFrames(t, "mixed/teams.pcap")
		s := newStack(t)
		var dec decode.Decoder
		var pkt decode.Packet
		last := -1
		for i, fr := range frames {
			s.p.Frame(fr.lt, fr.data, fr.ts, fr.wireLen)
			if dec.Decode(fr.lt, fr.data, fr.ts, fr.wireLen, &pkt) == nil && pkt.Key.Proto() == flow.ProtoUDP &&
				pkt.Key.Endpoint(pkt.Dir).Port() == 53 && len(pkt.Payload) > 12 {
				last = i
			}
		}
		if last < 0 {
			t.Fatal("no DNS response")
		}
		fr := frames[last]
		responses := s.dns.Stats().Responses.Load()
		if n := testing.AllocsPerRun(200, func() { s.p.Frame(fr.lt, fr.data, fr.ts, fr.wireLen) }); n != 0 {
			t.Fatalf("%v allocs per repeated DNS response", n)
		}
		if s.dns.Stats().Responses.Load() == responses {
			t.Fatal("the repeated response was not parsed")
		}
	})
}

func BenchmarkPipeline(b *testing.B) {
	for _, name := range []string{"mixed/teams.pcap", "mixed/sites.pcapng"} {
		frames := readFrames(b, name)
		var size int64
		for _, fr := range frames {
			size += int64(len(fr.data))
		}
		for _, with := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/dissectors=%v", filepath.Base(name), with), func(b *testing.B) {
				b.SetBytes(size)
				b.ReportAllocs()
				for b.Loop() {
					var p *capture.Pipeline
					if with {
						p = newStack(b).p
					} else {
						cfg := flow.DefaultConfig()
						cfg.MaxFlows = 1 << 12
						p, _ = capture.New(capture.Config{Table: cfg})
					}
					for _, fr := range frames {
						p.Frame(fr.lt, fr.data, fr.ts, fr.wireLen)
					}
					p.Flush()
				}
				pkts := float64(b.N) * float64(len(frames))
				b.ReportMetric(pkts/b.Elapsed().Seconds(), "pkts/s")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/pkts, "ns/pkt")
			})
		}
	}
}
