package names

import (
	"bufio"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/source"
	"github.com/ccaudit/auditor/classify/dnsinfo"
	"github.com/ccaudit/auditor/classify/tlsinfo"
)

const pcapDir = "../../testdata/pcaps"

// truth is one line of testdata/pcaps/truth.tsv (TShark 4.0.17 counts).
type truth struct {
	dnsQueries, tlsHellos, quicHellos int
	// sni lists the distinct server names TShark saw; when TShark cut the
	// list (it ends "...(N total)"), sni holds the complete names before
	// the cut and sniTotal the full count.
	sni      []string
	sniTotal int
}

func loadTruth(t *testing.T) map[string]truth {
	t.Helper()
	f, err := os.Open(filepath.Join(pcapDir, "truth.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	col := map[string]int{}
	for i, name := range strings.Split(sc.Text(), "\t") {
		col[name] = i
	}
	rows := map[string]truth{}
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		atoi := func(name string) int {
			n, err := strconv.Atoi(c[col[name]])
			if err != nil {
				t.Fatalf("truth.tsv %s: %s: %v", c[0], name, err)
			}
			return n
		}
		r := truth{dnsQueries: atoi("dns_queries"), tlsHellos: atoi("tls_client_hellos"), quicHellos: atoi("quic_client_hellos")}
		if s := c[col["distinct_sni"]]; s != "" {
			if head, tail, cut := strings.Cut(s, "...("); cut {
				r.sni = strings.Split(head, ";")
				r.sni = r.sni[:len(r.sni)-1] // the last name was cut short
				r.sniTotal, _ = strconv.Atoi(strings.TrimSuffix(tail, " total)"))
			} else {
				r.sni = strings.Split(s, ";")
				r.sniTotal = len(r.sni)
			}
		}
		rows[c[0]] = r
	}
	return rows
}

// labelled is what the dissectors left on one flow.
type labelled struct {
	key      flow.Key
	src, dst netip.AddrPort
	meta     flow.Meta
}

type replayed struct {
	flows []labelled
	tls   *TLS
	dns   *DNS
	namer *ServerNamer
	cache *dnsinfo.Cache
	certs []*tlsinfo.Certificate
	times []int64 // time of every flow's first and last packet
}

// replay runs a capture through the real pipeline with the three
// dissectors in production order.
func replay(t testing.TB, name string) *replayed {
	t.Helper()
	src, err := source.Open([]string{capturePath(name)}, source.Options{LinkTypeSupported: decode.SupportsLinkType})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	r := &replayed{cache: dnsinfo.NewCache(dnsinfo.DefaultConfig())}
	r.tls = NewTLS(TLSConfig{OnServerHello: func(_ *flow.Flow, s *tlsinfo.ServerHello) {
		if s.Certificate != nil {
			r.certs = append(r.certs, s.Certificate)
		}
	}})
	r.dns = NewDNS(r.cache, DNSConfig{})
	r.namer = NewServerNamer(r.cache)
	p, err := capture.New(capture.Config{
		Table:      flow.DefaultConfig(),
		Dissectors: []capture.Dissector{r.tls, r.dns, r.namer},
		Shared:     []capture.Shared{r.cache},
		OnFlow: func(f *flow.Flow) {
			r.times = append(r.times, f.First, f.Last)
			if f.Meta != nil {
				r.flows = append(r.flows, labelled{key: f.Key, src: f.Src(), dst: f.Dst(), meta: *f.Meta})
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Damaged captures end in a file error after their readable part,
	// which is what the dissectors are tested on.
	if err := p.Run(context.Background(), src); err != nil {
		t.Logf("%s: %v", name, err)
	}
	if n := r.tls.InProgress(); n != 0 {
		t.Errorf("%d handshakes still hold state after the flush", n)
	}
	if n := len(r.dns.streams); n != 0 {
		t.Errorf("%d DNS streams still hold state after the flush", n)
	}
	return r
}

func (r *replayed) snis() []string {
	var out []string
	for _, f := range r.flows {
		if f.meta.SNI != "" && !slices.Contains(out, f.meta.SNI) {
			out = append(out, f.meta.SNI)
		}
	}
	return out
}

// TestCapturesMatchTshark replays every capture of truth.tsv and compares
// the hellos, server names and DNS queries with TShark's.
func TestCapturesMatchTshark(t *testing.T) {
	rows := loadTruth(t)
	// Where the auditor differs from TShark on purpose, and why.
	differs := map[string]struct {
		tlsHellos, dnsQueries int
		why                   string
		sni                   []string // when set, the SNI expected instead of TShark's
	}{
		"l2-l3/gre-sample.pcap": {0, 2, "TShark also counts the two queries quoted inside the ICMP port-unreachable errors that answered them", nil},
		"mixed/rdp.pcap": {1, 0, "TShark 4.0 does not follow RDP's X.224 negotiation into TLS; with -d tcp.port==3389,tls it shows this ClientHello",
			[]string{"192.168.2.142"}},
	}
	var files []string
	for name := range rows {
		if _, err := os.Stat(capturePath(name)); err == nil {
			files = append(files, name)
		}
	}
	slices.Sort(files)
	if len(files) < 60 {
		t.Fatalf("only %d of the truth.tsv captures are in testdata", len(files))
	}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			want := rows[name]
			r := replay(t, name)
			st := r.tls.Stats()
			hellos, queries := int(st.ClientHellos.Load()), int(r.dns.Stats().Queries.Load())
			if d, ok := differs[name]; ok {
				if hellos != d.tlsHellos || queries != d.dnsQueries {
					t.Errorf("%d ClientHellos, %d DNS queries; want %d, %d (TShark %d, %d: %s)",
						hellos, queries, d.tlsHellos, d.dnsQueries, want.tlsHellos, want.dnsQueries, d.why)
				}
			} else {
				if hellos != want.tlsHellos {
					t.Errorf("%d ClientHellos, TShark %d", hellos, want.tlsHellos)
				}
				if queries != want.dnsQueries {
					t.Errorf("%d DNS queries, TShark %d", queries, want.dnsQueries)
				}
			}
			if got := int(st.QUICHellos.Load()); got != want.quicHellos {
				t.Errorf("%d QUIC ClientHellos, TShark %d", got, want.quicHellos)
			}
			sni := r.snis()
			if d, ok := differs[name]; ok && d.sni != nil {
				want.sniTotal, want.sni = len(d.sni), d.sni
			}
			if len(sni) != want.sniTotal {
				t.Errorf("%d distinct SNI, TShark %d\n got %q\nwant %q", len(sni), want.sniTotal, sni, want.sni)
			}
			for _, s := range want.sni {
				if !slices.Contains(sni, s) {
					t.Errorf("SNI %q missing", s)
				}
			}
		})
	}
}

// TestWorkersAgree shards captures over one, two and three workers: every
// flow must get the same labels and server name, although a DNS answer and
// the connection it leads to usually land on different workers.
func TestWorkersAgree(t *testing.T) {
	for _, name := range []string{"mixed/teams.pcap", "mixed/sites.pcapng", "dns/dns-edns-ecs.pcap"} {
		t.Run(name, func(t *testing.T) {
			one := labelsWith(t, name, 1)
			named := 0
			for _, l := range one {
				if l.meta.ServerName != "" {
					named++
				}
			}
			if named == 0 && name == "mixed/teams.pcap" {
				t.Fatal("no flow named")
			}
			for _, n := range []int{2, 3} {
				many := labelsWith(t, name, n)
				if len(many) != len(one) {
					t.Fatalf("%d workers: %d labelled flows, one worker %d", n, len(many), len(one))
				}
				for i := range one {
					if !reflect.DeepEqual(one[i], many[i]) {
						t.Errorf("%d workers: %v -> %v: %+v, one worker %+v", n, many[i].src, many[i].dst, many[i].meta, one[i].meta)
					}
				}
			}
		})
	}
}

// TestEpochLengthAgrees replays captures with epochs of 100 ms up to
// 10 s of packet time: every flow must get the same server name, since
// the cache keeps when each answer arrived and a flow is named by the
// answers that preceded its first packet, whichever epoch committed them.
func TestEpochLengthAgrees(t *testing.T) {
	for _, name := range []string{"mixed/teams.pcap", "mixed/sites.pcapng", "dns/dns-edns-ecs.pcap"} {
		t.Run(name, func(t *testing.T) {
			short := labelsEpochs(t, name, capture.Config{Workers: 2, EpochSpan: 100 * time.Millisecond})
			for _, span := range []time.Duration{time.Second, 10 * time.Second} {
				long := labelsEpochs(t, name, capture.Config{Workers: 2, EpochSpan: span, EpochPackets: 1 << 20})
				if len(long) != len(short) {
					t.Fatalf("%v epochs: %d labelled flows, 100 ms epochs %d", span, len(long), len(short))
				}
				for i := range short {
					if !reflect.DeepEqual(short[i], long[i]) {
						t.Errorf("%v epochs: %v -> %v: %+v, 100 ms epochs %+v", span, long[i].src, long[i].dst, long[i].meta, short[i].meta)
					}
				}
			}
		})
	}
}

// labelsWith replays a capture over n workers and returns the labelled
// flows in key order.
func labelsWith(t *testing.T, name string, n int) []labelled {
	t.Helper()
	return labelsEpochs(t, name, capture.Config{Workers: n})
}

// labelsEpochs is labelsWith with the workers and epochs of pc.
func labelsEpochs(t *testing.T, name string, pc capture.Config) []labelled {
	t.Helper()
	src, err := source.Open([]string{capturePath(name)}, source.Options{LinkTypeSupported: decode.SupportsLinkType})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	cache := dnsinfo.NewCache(dnsinfo.DefaultConfig())
	var mu sync.Mutex
	var out []labelled
	p, err := capture.New(capture.Config{
		Table:        flow.DefaultConfig(),
		Workers:      pc.Workers,
		EpochPackets: pc.EpochPackets,
		EpochSpan:    pc.EpochSpan,
		Stages: func(int) capture.Stages {
			return capture.Stages{
				Dissectors: []capture.Dissector{NewTLS(TLSConfig{}), NewDNS(cache, DNSConfig{}), NewServerNamer(cache)},
				OnFlow: func(f *flow.Flow) {
					if f.Meta == nil {
						return
					}
					m := *f.Meta
					m.Cert = nil // a pointer: compared by the TLS tests
					mu.Lock()
					out = append(out, labelled{key: f.Key, src: f.Src(), dst: f.Dst(), meta: m})
					mu.Unlock()
				},
			}
		},
		Shared: []capture.Shared{cache},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background(), src); err != nil {
		t.Logf("%s: %v", name, err)
	}
	slices.SortFunc(out, func(a, b labelled) int { return a.key.Compare(b.key) })
	return out
}

// capturePath resolves a capture name: under this package's testdata when
// it starts with "testdata/", else under the repository's shared captures.
func capturePath(name string) string {
	if strings.HasPrefix(name, "testdata/") {
		return name
	}
	return filepath.Join(pcapDir, name)
}
