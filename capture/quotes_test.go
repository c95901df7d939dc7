package capture

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/source"
	"github.com/ccaudit/auditor/internal/synth"
)

// fanoutRun replays path as a live capture with n sockets in a fanout
// group would see it: each frame goes to the pipeline its own flow key
// hashes to (the ICMP error's key, not the quoted flow's, as the kernel's
// fanout hash does), every pipeline ticks once a second of packet time,
// and it returns the UDP flows that had an ICMP error attributed.
func fanoutRun(t *testing.T, path string, n int, exchange bool) (unreached []string, quotes *Quotes) {
	t.Helper()
	src, err := source.Open([]string{path}, source.Options{LinkTypeSupported: decode.SupportsLinkType})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if exchange && n > 1 {
		quotes = NewQuotes(n)
	}
	pipes := make([]*Pipeline, n)
	for i := range pipes {
		pipes[i], err = New(Config{Quotes: quotes, QuotesIndex: i, OnFlow: func(f *flow.Flow) {
			if f.Key.Proto() == flow.ProtoUDP && f.ICMPUnreach > 0 {
				unreached = append(unreached, fmt.Sprintf("%v>%v", f.Src(), f.Dst()))
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	dec := decode.New(decode.Options{})
	var pkt decode.Packet
	var nextTick int64
	for {
		fr, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		owner := 0
		if dec.Decode(fr.LinkType, fr.Data, fr.Time, fr.WireLen, &pkt) == nil {
			owner = int(pkt.Key.Hash() % uint64(n))
		}
		pipes[owner].Frame(fr.LinkType, fr.Data, fr.Time, fr.WireLen)
		if fr.Time >= nextTick {
			for _, p := range pipes {
				p.Advance(fr.Time)
			}
			nextTick = fr.Time + 1e9
		}
	}
	for _, p := range pipes {
		p.Flush()
	}
	slices.Sort(unreached)
	return unreached, quotes
}

// Every UDP probe answered by ICMP port unreachable is attributed, with 2
// and 4 sockets as with one; without the exchange some are lost (the
// failure the exchange fixes).
func TestQuotesAcrossFanout(t *testing.T) {
	path, _ := generate(t, synth.Options{Seed: 7, Scenarios: []synth.Scenario{synth.UDPUnreachable}, Counts: map[synth.Scenario]int{synth.UDPUnreachable: 24}})
	want, _ := fanoutRun(t, path, 1, false)
	if len(want) < 2 {
		t.Fatalf("the capture has %d unreachable UDP flows; the test needs several", len(want))
	}
	lost := false
	for _, n := range []int{2, 4} {
		got, q := fanoutRun(t, path, n, true)
		if !slices.Equal(got, want) {
			t.Errorf("%d sockets: unreachable flows %v, want %v", n, got, want)
		}
		if q.Dropped.Load() != 0 || q.Unmatched.Load() != 0 {
			t.Errorf("%d sockets: %d quotes dropped, %d unmatched, want none: every probe's flow exists",
				n, q.Dropped.Load(), q.Unmatched.Load())
		}
		without, _ := fanoutRun(t, path, n, false)
		lost = lost || len(without) < len(want)
	}
	if !lost {
		t.Error("without the exchange no ICMP error was lost: the test does not exercise the fanout")
	}
}

// A quote of a flow no pipeline has is counted unmatched once, when the
// last of the other pipelines gives up on it; one that a pipeline had is
// never counted, whichever pipeline had it.
func TestQuotesUnmatchedCountedOnce(t *testing.T) {
	for _, n := range []int{2, 3, 4} {
		q := NewQuotes(n)
		pipes := make([]*Pipeline, n)
		for i := range pipes {
			p, err := New(Config{Quotes: q, QuotesIndex: i})
			if err != nil {
				t.Fatal(err)
			}
			pipes[i] = p
		}
		var missing flow.Key
		missing, _ = flow.NewKey(flow.ProtoUDP, netip.MustParseAddrPort("10.9.9.9:4000"), netip.MustParseAddrPort("10.9.9.8:53"))
		q.post(0, missing, 3, 3, 0)
		// Two ticks each: a quote is looked for twice before it is given up.
		for range 2 {
			for _, p := range pipes {
				p.applyQuotes()
			}
		}
		if got := q.Unmatched.Load(); got != 1 {
			t.Errorf("%d pipelines: unmatched %d, want 1", n, got)
		}
	}
}

// lagFrame is a frame held back to be fed to a pipeline out of order.
type lagFrame struct {
	lt   layers.LinkType
	data []byte
	ts   int64
	wire int
}

// splitQuotes reads the frames of path: the ICMP errors that quote a flow,
// and every other frame.
func splitQuotes(t *testing.T, path string) (errs, rest []lagFrame) {
	t.Helper()
	src, err := source.Open([]string{path}, source.Options{LinkTypeSupported: decode.SupportsLinkType})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dec := decode.New(decode.Options{})
	var pkt decode.Packet
	for {
		fr, err := src.Next()
		if errors.Is(err, io.EOF) {
			return errs, rest
		}
		if err != nil {
			t.Fatal(err)
		}
		f := lagFrame{fr.LinkType, slices.Clone(fr.Data), fr.Time, fr.WireLen}
		if dec.Decode(fr.LinkType, fr.Data, fr.Time, fr.WireLen, &pkt) == nil && pkt.Quoted {
			errs = append(errs, f)
		} else {
			rest = append(rest, f)
		}
	}
}

// On a loaded sensor the socket holding an ICMP error may be read before
// the one holding the probe it quotes, although the probe was captured
// first. Pipeline 1 reads every error while pipeline 0, which owns the
// probes' flows, has read none of them: pipeline 0 keeps the quotes from
// tick to tick and attributes them once it read the probes, unless it
// stayed behind for maxQuoteTicks ticks. A pipeline that has read a frame
// captured after the errors, yet lacks their flows, gives them up at its
// second tick (not its first: frame times are only close to capture
// order). An error given up by all is counted unmatched, never
// silently dropped.
func TestQuotesOwnerReadsProbeAfterError(t *testing.T) {
	path, _ := generate(t, synth.Options{Seed: 7, Scenarios: []synth.Scenario{synth.UDPUnreachable}, Counts: map[synth.Scenario]int{synth.UDPUnreachable: 8}})
	want, _ := fanoutRun(t, path, 1, false)
	errs, rest := splitQuotes(t, path)
	if len(errs) < 2 || len(want) < 2 {
		t.Fatalf("%d ICMP errors, %d unreachable flows: the test needs several", len(errs), len(want))
	}
	first, last := rest[0].ts, errs[len(errs)-1].ts
	for _, tc := range []struct {
		name string
		// lag is the owner's ticks before it reads its probes; readPast
		// gives it first a frame captured after the errors, as the socket
		// of a pipeline that does not own the flows would.
		lag        int
		readPast   bool
		attributed bool
	}{
		{"one tick behind", 1, false, true},
		{"two ticks behind", 2, false, true},
		{"behind for all but the last tick", maxQuoteTicks - 1, false, true},
		{"behind for every tick", maxQuoteTicks, false, false},
		{"read past the errors, one tick", 1, true, true},
		{"read past the errors, two ticks", 2, true, false},
	} {
		q := NewQuotes(2)
		var got []string
		pipes := make([]*Pipeline, 2)
		for i := range pipes {
			var err error
			pipes[i], err = New(Config{Quotes: q, QuotesIndex: i, OnFlow: func(f *flow.Flow) {
				if f.Key.Proto() == flow.ProtoUDP && f.ICMPUnreach > 0 {
					got = append(got, fmt.Sprintf("%v>%v", f.Src(), f.Dst()))
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range errs {
			pipes[1].Frame(f.lt, f.data, f.ts, f.wire)
		}
		if tc.readPast {
			// A runt the decoder skips: read, so its time counts.
			pipes[0].Frame(layers.LinkTypeEthernet, make([]byte, 4), last+1, 4)
		}
		for i := range tc.lag {
			pipes[0].Advance(first + int64(i))
		}
		for _, f := range rest {
			pipes[0].Frame(f.lt, f.data, f.ts, f.wire)
		}
		pipes[0].Advance(last + 1e9)
		for _, p := range pipes {
			p.Flush()
		}
		slices.Sort(got)
		attributed := pipes[0].Stats().ICMPQuoted.Load() + pipes[1].Stats().ICMPQuoted.Load()
		wantFlows, wantAttributed, wantUnmatched := want, uint64(len(errs)), uint64(0)
		if !tc.attributed {
			wantFlows, wantAttributed, wantUnmatched = nil, 0, uint64(len(errs))
		}
		if !slices.Equal(got, wantFlows) || attributed != wantAttributed || q.Unmatched.Load() != wantUnmatched {
			t.Errorf("%s: unreachable flows %v, want %v; %d errors attributed, %d unmatched, want %d and %d",
				tc.name, got, wantFlows, attributed, q.Unmatched.Load(), wantAttributed, wantUnmatched)
		}
	}
}
