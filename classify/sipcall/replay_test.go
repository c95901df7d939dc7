package sipcall

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/source"
	"github.com/ccaudit/auditor/internal/synth"
)

// replayed is what one capture produced.
type replayed struct {
	calls   []*Call
	flows   []endedFlow
	tracker *Tracker
}

type endedFlow struct {
	key  flow.Key
	meta flow.Meta
	// negotiated and callID are the MatchMedia answer at flow end.
	negotiated bool
	callID     string
}

// replay runs capture files through the real pipeline with one Dissector
// and flushes the tracker at the end, as auditor replay does.
func replay(t testing.TB, cfg Config, paths ...string) *replayed {
	return replayWorkers(t, cfg, 1, paths...)
}

// replayWorkers is replay with the flows sharded over several workers,
// each with its own Dissector on the shared Tracker.
func replayWorkers(t testing.TB, cfg Config, workers int, paths ...string) *replayed {
	t.Helper()
	return replayEpochs(t, cfg, capture.Config{Workers: workers}, paths...)
}

// replayEpochs is replay with the workers and epochs of pc.
func replayEpochs(t testing.TB, cfg Config, pc capture.Config, paths ...string) *replayed {
	t.Helper()
	out := &replayed{}
	cfg.OnCall = func(c *Call) { out.calls = append(out.calls, c) }
	tr := NewTracker(cfg)
	out.tracker = tr
	src, err := source.Open(paths, source.Options{LinkTypeSupported: decode.SupportsLinkType})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var mu sync.Mutex
	p, err := capture.New(capture.Config{
		Table:        flow.DefaultConfig(),
		Workers:      pc.Workers,
		EpochPackets: pc.EpochPackets,
		EpochSpan:    pc.EpochSpan,
		Stages: func(int) capture.Stages {
			return capture.Stages{Dissectors: []capture.Dissector{tr.NewDissector()}, OnFlow: func(f *flow.Flow) {
				ef := endedFlow{key: f.Key}
				if f.Meta != nil {
					ef.meta = *f.Meta
				}
				ef.callID, ef.negotiated = tr.MatchMedia(f)
				mu.Lock()
				out.flows = append(out.flows, ef)
				mu.Unlock()
			}}
		},
		Shared: []capture.Shared{tr},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	tr.Flush()
	sort.Slice(out.calls, func(i, j int) bool { return out.calls[i].Start < out.calls[j].Start })
	return out
}

func pcap(name string) string { return filepath.Join("../../testdata/pcaps/sip-rtp", name) }

// negotiatedStreams counts negotiated media flows by app.
func (r *replayed) negotiated(app string) int {
	n := 0
	for _, f := range r.flows {
		if f.negotiated && f.meta.App == app {
			n++
		}
	}
	return n
}

// rtpStreams counts the RTP streams (flow directions that carried RTP)
// of negotiated media, which is what tshark's rtp,streams lists for
// streams it found through SDP.
func rtpStreams(calls []*Call) int {
	n := 0
	for _, c := range calls {
		for _, m := range c.Media {
			for _, f := range m.Flows {
				if f.App != "rtp" {
					continue
				}
				for _, d := range []DirStats{f.FromCaller, f.FromCallee} {
					if d.Expected > 0 {
						n++
					}
				}
			}
		}
	}
	return n
}

func distinctCallIDs(calls []*Call) int {
	ids := map[string]bool{}
	for _, c := range calls {
		ids[c.CallID] = true
	}
	return len(ids)
}

// TestCaptures replays the real SIP captures and compares with tshark
// 4.0 (testdata/pcaps/truth.tsv: sip_calls counts distinct INVITE
// Call-IDs, rtp_streams the RTP streams set up by SDP).
func TestCaptures(t *testing.T) {
	tests := []struct {
		file            string
		calls, streams  int
		sipFlows        int
		unexpectedMedia int
		why             string
	}{
		{file: "sip.pcap", calls: 4, streams: 1, sipFlows: 6},
		{file: "sip_ipv4_tcp.pcap", calls: 1, streams: 2, sipFlows: 1},
		{file: "rtp_rtcp_sip_ipv4_udp.pcap", calls: 2, streams: 2, sipFlows: 2, unexpectedMedia: 3,
			why: "tshark finds a third stream (200.57.7.202:30000 -> :40362) through the SDP of an MGCP CRCX, which is not SIP"},
		{file: "FAX-Call-t38-CA-TDM-SIP-FB-1.pcap", calls: 2, streams: 2, sipFlows: 3},
		{file: "sip_ipv4_tcp_fragmented.pcap", calls: 37, sipFlows: 4,
			why: "SIP on TCP 6060, which tshark does not decode as SIP by default (tshark -d tcp.port==6060,sip counts 37)"},
		{file: "sip_tcp_websocket.pcap", calls: 2, sipFlows: 5},
		{file: "sip_ipv6_udp.pcap", calls: 1, sipFlows: 6},
		{file: "sip_sctp.pcap", calls: 1, sipFlows: 2},
		{file: "sip_compact_form.pcap", calls: 1, sipFlows: 1},
		{file: "erspan_sip_ipv4_udp.pcapng", calls: 3, sipFlows: 4},
		{file: "../malformed/invalid-content-length.pcap", calls: 1, sipFlows: 1},
		{file: "g711a.pcap", unexpectedMedia: 1},
		{file: "skinny.pcap", unexpectedMedia: 5, why: "Skinny (SCCP) sets up the media; it is not parsed, so the RTP is unexpected"},
		{file: "h323.pcap"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := replay(t, Config{}, pcap(tt.file))
			if got := distinctCallIDs(r.calls); got != tt.calls {
				t.Errorf("calls: %d distinct Call-IDs, want %d %s", got, tt.calls, tt.why)
			}
			if got := rtpStreams(r.calls); got != tt.streams {
				t.Errorf("negotiated RTP streams: %d, want %d %s", got, tt.streams, tt.why)
			}
			sip, unexpected := 0, 0
			for _, f := range r.flows {
				switch {
				case f.meta.App == "sip":
					sip++
				case LooksLikeMedia(&flow.Flow{Meta: &f.meta}) && !f.negotiated:
					unexpected++
				}
				if IsMediaApp(f.meta.App) && f.meta.CallID != "" && f.callID != f.meta.CallID {
					t.Errorf("flow %v: MatchMedia %q, Meta.CallID %q", f.key, f.callID, f.meta.CallID)
				}
			}
			if sip != tt.sipFlows {
				t.Errorf("%d flows labelled sip, want %d", sip, tt.sipFlows)
			}
			if unexpected != tt.unexpectedMedia {
				t.Errorf("%d flows of media without signalling, want %d", unexpected, tt.unexpectedMedia)
			}
			if calls, exp := r.tracker.Active(); calls != 0 || exp != 0 {
				t.Errorf("after Flush: %d calls and %d expectations left", calls, exp)
			}
		})
	}
}

// TestCaptureDetails pins what the records say about calls whose
// signalling is known from tshark's decode.
func TestCaptureDetails(t *testing.T) {
	t.Run("tcp call with media both ways", func(t *testing.T) {
		r := replay(t, Config{}, pcap("sip_ipv4_tcp.pcap"))
		if len(r.calls) != 1 {
			t.Fatalf("%d calls", len(r.calls))
		}
		c := r.calls[0]
		if c.Transport != "tcp" || c.FinalStatus != 200 || c.EndReason != EndBye || c.Answer <= c.Start || c.End < c.Answer {
			t.Errorf("call %+v", c)
		}
		if len(c.Media) != 1 || len(c.Media[0].Flows) != 2 || c.Findings != nil {
			t.Fatalf("media %+v findings %v", c.Media, c.Findings)
		}
		m := c.Media[0]
		if m.CallerRTP.String() != "10.33.6.100:6000" || m.CalleeRTP.String() != "10.33.6.101:6050" || m.CalleeRTCP.Port() != 6051 {
			t.Errorf("negotiated endpoints %v %v %v", m.CallerRTP, m.CalleeRTP, m.CalleeRTCP)
		}
		if m.Lost != 0 || m.JitterMillis <= 0 || m.JitterMillis > 20 {
			t.Errorf("lost %d jitter %.2f ms", m.Lost, m.JitterMillis)
		}
	})
	t.Run("auth challenge and retry are one call", func(t *testing.T) {
		r := replay(t, Config{}, pcap("sip.pcap"))
		for _, c := range r.calls {
			if c.CallID == "85216695-42dcdb1d@192.168.1.2" && (c.FinalStatus != 403 || c.EndReason != EndRejected) {
				t.Errorf("%s: final %d %s, want 403 rejected after the 407 retry", c.CallID, c.FinalStatus, c.EndReason)
			}
		}
		if len(r.calls) != 4 {
			t.Errorf("%d call records, want 4", len(r.calls))
		}
	})
	t.Run("refused T.38 re-INVITE keeps the audio stream", func(t *testing.T) {
		r := replay(t, Config{}, pcap("FAX-Call-t38-CA-TDM-SIP-FB-1.pcap"))
		var c *Call
		for _, x := range r.calls {
			if x.CallID == "00e9d4a500e9d48-0015-0001-0000-0000@10.35.40.25" {
				c = x
			}
		}
		if c == nil || len(c.Media) != 1 || c.Media[0].Type != "audio" || c.Reinvites != 3 {
			t.Fatalf("call %+v", c)
		}
		if f := c.Media[0].Flows; len(f) != 1 || f[0].FromCaller.Packets == 0 || f[0].FromCallee.Packets == 0 {
			t.Errorf("flows %+v", f)
		}
	})
	t.Run("websocket", func(t *testing.T) {
		r := replay(t, Config{}, pcap("sip_tcp_websocket.pcap"))
		ws := 0
		for _, c := range r.calls {
			if c.Transport == "ws" {
				ws++
				if c.FinalStatus != 200 || c.EndReason != EndBye || c.CallerUA == "" {
					t.Errorf("ws call %+v", c)
				}
			}
		}
		if ws != 1 {
			t.Errorf("%d calls over WebSocket, want 1", ws)
		}
	})
}

// agreementCaptures are the captures replayed in different ways that must
// agree: a generated one with every kind of call, and three real ones.
func agreementCaptures(t *testing.T) []string {
	busy, _ := generate(t, map[synth.Scenario]int{
		synth.SIPUDP: 40, synth.SIPTCP: 10, synth.SIPReinvite: 10, synth.SIPHold: 10, synth.SIPT38: 10,
		synth.SIPEarlyMedia: 10, synth.SIPIPv6: 5, synth.SIPCancel: 5, synth.SIPFailure: 5,
	})
	return []string{busy, pcap("sip.pcap"), pcap("rtp_rtcp_sip_ipv4_udp.pcap"), pcap("FAX-Call-t38-CA-TDM-SIP-FB-1.pcap")}
}

// TestWorkersAgree shards the same captures over one, two and three
// workers: calls, their media statistics and every flow's labels must be
// identical, since signalling and its media land on different workers and
// the tracker applies what each saw in capture order at epoch ends.
func TestWorkersAgree(t *testing.T) {
	for _, path := range agreementCaptures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			one := replayWorkers(t, Config{}, 1, path)
			if len(one.calls) == 0 {
				t.Fatal("no calls")
			}
			for _, n := range []int{2, 3} {
				many := replayWorkers(t, Config{}, n, path)
				if !reflect.DeepEqual(callsByID(one.calls), callsByID(many.calls)) {
					t.Errorf("%d workers: call records differ from one worker's", n)
				}
				sameFlows(t, fmt.Sprintf("%d workers", n), "one worker", many.flows, one.flows)
			}
		})
	}
}

// TestEpochLengthAgrees replays the same captures with epochs of 100 ms
// up to 10 s of packet time: every flow's labels must be the same, since a
// media flow is matched against the calls as they were at its first
// packet, and kept until its first commit whatever its length. Call
// records are not compared: a call ends at the first commit after its
// time is up, so its end time moves with the epochs.
func TestEpochLengthAgrees(t *testing.T) {
	for _, path := range agreementCaptures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			short := replayEpochs(t, Config{}, capture.Config{Workers: 2, EpochSpan: 100 * time.Millisecond}, path)
			if short.negotiated("rtp") == 0 {
				t.Fatal("no negotiated RTP flows")
			}
			for _, span := range []time.Duration{time.Second, 10 * time.Second} {
				long := replayEpochs(t, Config{}, capture.Config{Workers: 2, EpochSpan: span, EpochPackets: 1 << 20}, path)
				sameFlows(t, fmt.Sprintf("%v epochs", span), "100 ms epochs", long.flows, short.flows)
			}
		})
	}
}

// sameFlows fails t unless got and want label the same flows alike; what
// and than name the two replays.
func sameFlows(t *testing.T, what, than string, got, want []endedFlow) {
	t.Helper()
	a, b := flowsByKey(want), flowsByKey(got)
	if len(a) != len(b) {
		t.Fatalf("%s: %d flows, %s %d", what, len(b), than, len(a))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("%s: flow %v: %+v, %s %+v", what, a[i].key, b[i], than, a[i])
		}
	}
}

func callsByID(calls []*Call) []Call {
	out := make([]Call, len(calls))
	for i, c := range calls {
		out[i] = *c
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CallID < out[j].CallID })
	return out
}

func flowsByKey(flows []endedFlow) []endedFlow {
	out := slices.Clone(flows)
	slices.SortFunc(out, func(a, b endedFlow) int {
		if c := a.key.Compare(b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.meta.CallID, b.meta.CallID)
	})
	return out
}
