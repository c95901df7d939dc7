//go:build linux

package main

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestE2EVoiceQuality places sipp calls whose media loses a share of its
// packets (and nothing else) to an nftables rule on the callee, and checks
// the rating calls.parquet gives each call against the E-model worked by
// hand for G.711 with PLC (Ie 0, Bpl 25.1, random loss):
//
//	loss 0%:  R 93.2, MOS 4.41, no finding
//	loss 20%: Ie,eff = 95*20/(20+25.1) = 42.1, R 51.1, MOS 2.63
//
// The rule drops every fifth packet (nft numgen inc mod 5), so the loss
// is 20% within a packet of the stream's ends, each loss alone (BurstR
// 1): MOS 2.58 to 2.68 for 19% to 21%. tc's netem would drop at random
// instead, but the kernels this runs on do not all have sch_netem. The tap is the caller's interface, before
// the lossy hop: it sees all the caller sent, and sipp's uas echoes what
// it received, so the callee -> caller direction carries the gaps.
func TestE2EVoiceQuality(t *testing.T) {
	for _, tt := range []struct {
		name           string
		lossPct        int
		minMOS, maxMOS float64
		poor           bool
	}{
		{"clean", 0, 4.35, 4.42, false},
		{"20% loss", 20, 2.58, 2.68, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := newE2ENet(t, "sipp", "nft")
			copyPcapPrefix(t, "../../testdata/pcaps/sip-rtp/g711a.pcap", filepath.Join(n.dir, "g711a.pcap"), 1000)
			scenario, err := filepath.Abs("testdata/e2e/uac-pcma-5s.xml")
			if err != nil {
				t.Fatal(err)
			}
			if tt.lossPct > 0 {
				// Only UDP to the callee's media port is dropped, on arrival.
				n.run(n.server, "nft", "add", "table", "inet", "vq")
				n.run(n.server, "nft", "add chain inet vq in { type filter hook input priority 0; }")
				n.run(n.server, "nft", fmt.Sprintf("add rule inet vq in udp dport %d numgen inc mod %d == 0 drop", e2eUASMedia, 100/tt.lossPct))
			}
			capture := n.startCapture(5000)
			uas := n.start(n.server, "sipp", "-sn", "uas", "-nostdin", "-rtp_echo",
				"-i", e2eServerIP, "-p", fmt.Sprint(e2eSIPPort), "-mi", e2eServerIP, "-mp", fmt.Sprint(e2eUASMedia))
			n.waitListening(n.server, "udp", e2eSIPPort, uas)
			n.waitListening(n.server, "udp", e2eUASMedia, uas)
			uac := n.start(n.client, "sipp", "-sf", scenario, "-nostdin",
				"-i", e2eClientIP, "-p", fmt.Sprint(e2eSIPPort), "-mi", e2eClientIP, "-mp", fmt.Sprint(e2eUACMedia),
				"-m", "1", "-l", "1", "-timeout", "20s", "-timeout_error", fmt.Sprintf("%s:%d", e2eServerIP, e2eSIPPort))
			uac.wait(t, 25*time.Second)
			r := e2eReplay(t, capture.stop(t))

			if len(r.calls) != 1 || len(r.calls[0].Media) != 1 {
				t.Fatalf("%d calls, want 1 with one stream", len(r.calls))
			}
			c := r.calls[0]
			m := c.Media[0]
			q, sent := m.CalleeToCaller, m.CallerToCallee
			if c.MOS == nil || q == nil || sent == nil {
				t.Fatalf("call not rated: %+v", c)
			}
			t.Logf("MOS %.2f, R %.1f; callee->caller expected %d lost %d (%.1f%%) BurstR %.2f",
				*c.MOS, *c.RFactor, q.Expected, q.Lost, q.LossPercent, q.BurstR)
			if sent.Lost != 0 || sent.MOS < 4.4 {
				t.Errorf("caller->callee (before the lossy hop) lost %d, MOS %.2f: want none lost, 4.41", sent.Lost, sent.MOS)
			}
			if *c.MOS < tt.minMOS || *c.MOS > tt.maxMOS {
				t.Errorf("MOS %.2f, want %.2f to %.2f", *c.MOS, tt.minMOS, tt.maxMOS)
			}
			if q.Expected < 120 {
				t.Errorf("callee->caller expected %d packets, want most of the recording's 236", q.Expected)
			}
			var poor int
			for _, f := range r.findings {
				if f.Kind == "poor-voice-quality" {
					poor++
				}
			}
			if (poor > 0) != tt.poor || m.PoorQuality != tt.poor {
				t.Errorf("poor-voice-quality findings %d, stream poor %v, want %v", poor, m.PoorQuality, tt.poor)
			}
		})
	}
}
