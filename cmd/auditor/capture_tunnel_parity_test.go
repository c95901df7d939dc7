//go:build linux

package main

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ccaudit/auditor/internal/netnstest"
	"github.com/ccaudit/auditor/report/parquetout"
)

// TestCaptureReplayParityTunnels is TestCaptureReplayParity for UDP
// tunnels the decoder opens (Geneve, GTP-U, Teredo off its port), each
// longer each way than the eBPF sensor's first packets: live capture with
// each engine and the replay of tcpdump's file write the same inner flows,
// each naming its tunnel, and the same tunnels rows; no outer connection
// becomes a flow.
func TestCaptureReplayParityTunnels(t *testing.T) {
	parityNeeds(t)
	for _, engine := range []string{"afpacket", "ebpf"} {
		t.Run(engine, func(t *testing.T) {
			var streams []netnstest.TunnelStream
			run := parityCapture(t, engine, func(p *netnstest.Pair) (err error) {
				streams, err = p.TunnelTraffic()
				return err
			})
			live, replay, liveOut, pcapPath := run.live, run.replay, run.liveOut, run.pcap
			// Exactly the inner flows, each with all its packets and its
			// tunnel named: two runs that both kept the outer flows, or
			// both lost packets, would agree too.
			var want []string
			for _, s := range streams {
				d := s.Inner[0]
				k := fmt.Sprintf("udp %s:%d>%s:%d", d.Src.Addr(), d.Src.Port(), d.Dst.Addr(), d.Dst.Port()) // as parityKey
				want = append(want, k)
				f, ok := live[k]
				switch {
				case !ok:
					t.Errorf("%s: inner flow %s not captured live", s.Kind, k)
				case f.PacketsOut != int64(d.Packets) || f.PacketsIn != int64(s.Inner[1].Packets):
					t.Errorf("%s: inner flow %s has %d/%d packets live, sent %d/%d", s.Kind, k, f.PacketsOut, f.PacketsIn, d.Packets, s.Inner[1].Packets)
				case !strings.HasPrefix(f.Tunnel, s.Kind+" "):
					t.Errorf("%s: inner flow %s has tunnel %q live", s.Kind, k, f.Tunnel)
				}
			}
			if got := slices.Sorted(maps.Keys(live)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
				t.Errorf("live flows %v, want only the inner flows %v", got, want)
			}
			compareParity(t, live, replay)
			for k, r := range live {
				if r.Tunnel != replay[k].Tunnel {
					t.Errorf("%s: tunnel %q live, %q in the replay", k, r.Tunnel, replay[k].Tunnel)
				}
			}
			compareTunnels(t, streams, readLiveTunnels(t, liveOut), readReplayTunnels(t, pcapPath))
			compareFindingsExact(t, readLiveFindings(t, liveOut), run.replayed.findings)
		})
	}
}

func readLiveTunnels(t *testing.T, dir string) []parquetout.TunnelRow {
	t.Helper()
	return readLiveTable(t, dir, "tunnels", parquetout.ReadTunnels)
}

// readReplayTunnels reads the tunnels.parquet e2eReplay wrote for capture.
func readReplayTunnels(t *testing.T, capture string) []parquetout.TunnelRow {
	t.Helper()
	rows, err := parquetout.ReadTunnels(filepath.Join(filepath.Dir(capture), "auditor-out", "tunnels.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// compareTunnels checks that live capture and replay wrote the same
// tunnels rows (times and sensor aside), one per outer UDP connection the
// generator made, each with all its packets.
func compareTunnels(t *testing.T, streams []netnstest.TunnelStream, live, replay []parquetout.TunnelRow) {
	t.Helper()
	norm := func(rows []parquetout.TunnelRow) map[string]parquetout.TunnelRow {
		m := map[string]parquetout.TunnelRow{}
		for _, r := range rows {
			r.FirstSeen, r.LastSeen, r.Sensor = time.Time{}, time.Time{}, ""
			k := fmt.Sprintf("%s %s:%d>%s:%d", r.Kind, r.SrcIP, r.SrcPort, r.DstIP, r.DstPort)
			if _, dup := m[k]; dup {
				t.Errorf("tunnel %s written twice", k)
			}
			m[k] = r
		}
		return m
	}
	l, r := norm(live), norm(replay)
	for _, k := range slices.Sorted(maps.Keys(l)) {
		if l[k] != r[k] {
			t.Errorf("tunnel %s differs:\n live   %+v\n replay %+v", k, l[k], r[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(r)) {
		if _, ok := l[k]; !ok {
			t.Errorf("tunnel %s in the replay (%+v), not captured live", k, r[k])
		}
	}
	// Every outer direction the generator sent is in a row, whichever
	// end the decoder took for the originator.
	sent := map[string]int64{}
	for _, s := range streams {
		for _, d := range s.Outer {
			sent[s.Kind] += int64(d.Packets)
		}
	}
	for kind, pkts := range sent {
		var got int64
		for _, row := range l {
			if row.Kind == kind {
				got += row.PacketsOut + row.PacketsIn
			}
		}
		if got != pkts {
			t.Errorf("%s: tunnels rows live hold %d packets, the generator sent %d", kind, got, pkts)
		}
	}
}

// compareFindingsExact compares findings without their times (compared on
// the flows) and sensor name (set only live); tunnelled traffic may raise
// none.
func compareFindingsExact(t *testing.T, live, replay []parquetout.FindingRow) {
	t.Helper()
	norm := func(rows []parquetout.FindingRow) []string {
		out := make([]string, len(rows))
		for i, r := range rows {
			r.FirstSeen, r.LastSeen, r.Sensor = time.Time{}, time.Time{}, ""
			out[i] = fmt.Sprintf("%+v", r)
		}
		slices.Sort(out)
		return out
	}
	if l, r := norm(live), norm(replay); !slices.Equal(l, r) {
		t.Errorf("findings differ:\n live   %s\n replay %s", strings.Join(l, "\n        "), strings.Join(r, "\n        "))
	}
}
