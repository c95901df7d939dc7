//go:build linux && (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64)

package ebpf

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/live"
	"github.com/ccaudit/auditor/internal/netnstest"
)

// loadOrSkip loads the sensor, skipping the test where it cannot run.
func loadOrSkip(t *testing.T, opts Options) *Sensor {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("loading eBPF programs needs root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN)")
	}
	s, err := Load(opts)
	if errors.Is(err, ErrNotSupported) || errors.Is(err, os.ErrPermission) {
		t.Skipf("eBPF sensor unavailable here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestLoad proves the programs pass this kernel's verifier.
func TestLoad(t *testing.T) {
	s := loadOrSkip(t, Options{})
	for _, p := range []*ebpf.Program{s.objs.SensorIngress, s.objs.SensorEgress, s.objs.SensorXdp} {
		if p == nil || p.FD() < 0 {
			t.Fatalf("program not loaded: %v", p)
		}
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st != (Stats{}) {
		t.Errorf("fresh sensor has stats %+v", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("Next after Close: %v, want io.EOF", err)
	}
}

type dirKey struct {
	key flow.Key
	dir flow.Dir
}

// tally is what the sensor reported per flow direction: frames from the
// ring, decoded as a pipeline would, and packets from the counters.
type tally struct {
	ring, counted map[dirKey]int
	reasons       map[Reason]int
}

// collect reads every ring record and then the counters.
func collect(t *testing.T, s *Sensor) tally {
	t.Helper()
	tl := tally{ring: map[dirKey]int{}, counted: map[dirKey]int{}, reasons: map[Reason]int{}}
	dec := decode.New(decode.Options{})
	var pkt decode.Packet
	s.SetDeadline(time.Now().Add(200 * time.Millisecond))
	for {
		fr, err := s.Next()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		tl.reasons[s.parsed.Reason]++
		if err := dec.Decode(fr.LinkType, fr.Data, fr.Time, fr.WireLen, &pkt); err != nil {
			t.Errorf("ring frame (%s) does not decode: %v", s.parsed.Reason, err)
			continue
		}
		if d := time.Since(time.Unix(0, fr.Time)); d < 0 || d > time.Minute {
			t.Errorf("ring frame timestamp %v is %v from now", time.Unix(0, fr.Time), d)
		}
		tl.ring[dirKey{pkt.Key, pkt.Dir}]++
	}
	deltas, err := s.Counters(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range deltas {
		tl.counted[dirKey{d.Key, d.Dir}] += int(d.Packets)
	}
	// A second read adds nothing.
	if again, err := s.Counters(nil); err != nil || len(again) != 0 {
		t.Errorf("second Counters call: %d deltas, %v", len(again), err)
	}
	return tl
}

func TestSensorAccountsEveryPacketOnce(t *testing.T) {
	for _, tc := range []struct {
		name     string
		hook     Hook
		maxFlows int
	}{
		{"tc", HookTC, 1024},
		{"tc-clsact", HookTCClsact, 1024},
		// Two entries: most flow directions find the map full and take
		// the ring, still exactly once.
		{"map-full", HookTC, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const firstUDP, firstTCP = 4, 2
			hook, mapFull := tc.hook, tc.maxFlows < 8
			s := loadOrSkip(t, Options{FirstPacketsUDP: firstUDP, FirstPacketsTCP: firstTCP, MaxFlows: tc.maxFlows, RingSize: 1 << 20})
			pair := netnstest.NewPair(t)
			// AF_PACKET on the same interface is the reference count for
			// the TCP exchange, whose packet count the stack decides.
			var ref *live.AFPacketSource
			if err := pair.A.Do(func() (err error) {
				if err := s.Attach(pair.IfA, hook); err != nil {
					return err
				}
				ref, err = live.OpenAFPacket(pair.IfA, live.AFPacketOptions{BlockSize: 1 << 16, NumBlocks: 8, BlockTimeout: 5 * time.Millisecond})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer ref.Close()
			dirs, err := pair.Traffic()
			if err != nil {
				t.Fatal(err)
			}
			tl := collect(t, s)
			seen := referenceCounts(t, ref)
			t.Logf("ring records by reason: %v", tl.reasons)
			st, err := s.Stats()
			if err != nil {
				t.Fatal(err)
			}
			if st.RingFull+st.Lost+st.BadRecords != 0 || (st.MapFull != 0) != mapFull {
				t.Errorf("losses on a quiet link: %+v", st)
			}
			if mapFull && uint64(tl.reasons[ReasonMapFull]) != st.MapFull {
				t.Errorf("%d map-full records, %d map-full packets", tl.reasons[ReasonMapFull], st.MapFull)
			}
			if st.NonIP != 0 {
				t.Errorf("%d non-IP frames on a link with static neighbours", st.NonIP)
			}
			t.Logf("stats: %+v", st)
			if st.RecordsRead != st.RingRecords {
				t.Errorf("read %d ring records, kernel sent %d", st.RecordsRead, st.RingRecords)
			}
			var ringTotal, countedTotal int
			for _, n := range tl.ring {
				ringTotal += n
			}
			for _, n := range tl.counted {
				countedTotal += n
			}
			if uint64(ringTotal) != st.RingRecords || uint64(countedTotal) != st.MapPackets {
				t.Errorf("ring %d / counted %d packets, kernel stats say %d / %d", ringTotal, countedTotal, st.RingRecords, st.MapPackets)
			}
			for _, d := range dirs {
				k, dir := flow.NewKey(d.Proto, d.Src, d.Dst)
				dk := dirKey{k, dir}
				ring, counted := tl.ring[dk], tl.counted[dk]
				delete(tl.ring, dk)
				delete(tl.counted, dk)
				if d.Packets >= 0 && ring+counted != d.Packets {
					t.Errorf("%v -> %v: ring %d + counted %d, sent %d", d.Src, d.Dst, ring, counted, d.Packets)
				}
				if ring+counted != seen[dk] {
					t.Errorf("%v -> %v: ring %d + counted %d, AF_PACKET saw %d", d.Src, d.Dst, ring, counted, seen[dk])
				}
				switch {
				case mapFull:
				case d.Src.Port() == netnstest.RTPPortA:
					if ring != firstUDP {
						t.Errorf("RTP stream: %d packets in the ring, want the first %d", ring, firstUDP)
					}
				case d.Src.Port() == 53 || d.Dst.Port() == 53, d.Dst.Port() == netnstest.ClosedPortB, d.Src.Port() == netnstest.ClosedPortB:
					if counted != 0 {
						t.Errorf("%v -> %v: %d packets counted in the kernel, want all in the ring", d.Src, d.Dst, counted)
					}
				case d.Packets < 0:
					// SYN (or SYN-ACK), FIN and the first packets go to
					// the ring; the stream is long enough for the rest.
					if ring < 2+firstTCP || counted == 0 {
						t.Errorf("%v -> %v: ring %d, counted %d", d.Src, d.Dst, ring, counted)
					}
				}
			}
			for dk, n := range tl.ring {
				t.Errorf("unexpected flow %v %v in the ring: %d packets", dk.key.A(), dk.key.B(), n)
			}
			for dk, n := range tl.counted {
				t.Errorf("unexpected flow %v %v counted: %d packets", dk.key.A(), dk.key.B(), n)
			}
			if tl.reasons[ReasonFirst] == 0 || tl.reasons[ReasonTCPControl] == 0 || tl.reasons[ReasonAppPort] == 0 {
				t.Errorf("ring reasons %v: want first, tcp-control and app-port", tl.reasons)
			}
		})
	}
}

func TestSensorXDPCountsIngress(t *testing.T) {
	const firstUDP = 4
	s := loadOrSkip(t, Options{FirstPacketsUDP: firstUDP, MaxFlows: 1024, RingSize: 1 << 20})
	pair := netnstest.NewPair(t)
	// XDP sees what arrives: attach on B's end, where A's packets land.
	if err := pair.B.Do(func() error { return s.Attach(pair.IfB, HookXDP) }); err != nil {
		if errors.Is(err, ErrNotSupported) {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	const n = 100
	sent, err := pair.Blast(ctx, n)
	if err != nil || sent != n {
		t.Fatalf("sent %d of %d: %v", sent, n, err)
	}
	time.Sleep(50 * time.Millisecond)
	tl := collect(t, s)
	var ring, counted int
	for _, v := range tl.ring {
		ring += v
	}
	for _, v := range tl.counted {
		counted += v
	}
	if ring != firstUDP || ring+counted != n {
		t.Errorf("ring %d + counted %d, want %d + %d", ring, counted, firstUDP, n-firstUDP)
	}
}

// TestSensorCloseMidTraffic closes the sensor while packets flow and a
// pipeline reads it: the pipeline ends cleanly and nothing stays attached.
func TestSensorCloseMidTraffic(t *testing.T) {
	s := loadOrSkip(t, Options{FirstPacketsUDP: 1 << 20, RingSize: 1 << 20})
	pair := netnstest.NewPair(t)
	var ifindex int
	if err := pair.A.Do(func() error {
		if err := s.Attach(pair.IfA, HookTC); err != nil {
			return err
		}
		ifc, err := netInterface(pair.IfA)
		ifindex = ifc
		return err
	}); err != nil {
		t.Fatal(err)
	}
	pair.CheckCloseMidTraffic(t, s)
	if err := pair.A.Do(func() error {
		for _, at := range []ebpf.AttachType{ebpf.AttachTCXIngress, ebpf.AttachTCXEgress} {
			res, err := link.QueryPrograms(link.QueryOptions{Target: ifindex, Attach: at})
			if err != nil {
				return err
			}
			if len(res.Programs) != 0 {
				t.Errorf("%d programs still attached (%v) after Close", len(res.Programs), at)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// referenceCounts reads an AF_PACKET socket dry and counts its frames per
// flow direction.
func referenceCounts(t *testing.T, src *live.AFPacketSource) map[dirKey]int {
	t.Helper()
	got := map[dirKey]int{}
	dec := decode.New(decode.Options{})
	var pkt decode.Packet
	for {
		src.SetDeadline(time.Now().Add(200 * time.Millisecond))
		fr, err := src.Next()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := dec.Decode(fr.LinkType, fr.Data, fr.Time, fr.WireLen, &pkt); err == nil {
			got[dirKey{pkt.Key, pkt.Dir}]++
		}
	}
}

func netInterface(name string) (int, error) {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return 0, err
	}
	return ifc.Index, nil
}

// TestSensorRingsUDPTunnels sends Geneve, GTP-U and off-port Teredo
// streams, each longer than the first packets, through the sensor: every
// datagram goes to the ring and decodes to its inner flow; none is counted
// in the kernel, where it could only be keyed by the outer 5-tuple and
// come back as an outer UDP flow.
func TestSensorRingsUDPTunnels(t *testing.T) {
	const firstUDP = 4
	s := loadOrSkip(t, Options{FirstPacketsUDP: firstUDP, MaxFlows: 1024, RingSize: 1 << 20})
	pair := netnstest.NewPair(t)
	if err := pair.A.Do(func() error { return s.Attach(pair.IfA, HookTC) }); err != nil {
		t.Fatal(err)
	}
	streams, err := pair.TunnelTraffic()
	if err != nil {
		t.Fatal(err)
	}
	tl := collect(t, s)
	t.Logf("ring records by reason: %v", tl.reasons)
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.RingFull+st.Lost+st.BadRecords+st.MapFull+st.NonIP != 0 {
		t.Errorf("losses on a quiet link: %+v", st)
	}
	var total int
	for _, ts := range streams {
		for _, d := range ts.Inner {
			k, dir := flow.NewKey(d.Proto, d.Src, d.Dst)
			dk := dirKey{k, dir}
			if n := tl.ring[dk]; n != d.Packets {
				t.Errorf("%s inner %v -> %v: %d packets in the ring, sent %d", ts.Kind, d.Src, d.Dst, n, d.Packets)
			}
			delete(tl.ring, dk)
			total += d.Packets
		}
		for _, d := range ts.Outer {
			k, dir := flow.NewKey(d.Proto, d.Src, d.Dst)
			if n := tl.counted[dirKey{k, dir}]; n != 0 {
				t.Errorf("%s outer %v -> %v: %d packets counted in the kernel under the outer flow, want all in the ring", ts.Kind, d.Src, d.Dst, n)
			}
		}
	}
	if tl.reasons[ReasonTunnel] != total {
		t.Errorf("%d ring records for tunnels, %d tunnelled packets sent", tl.reasons[ReasonTunnel], total)
	}
	for dk, n := range tl.ring {
		t.Errorf("unexpected flow %v %v in the ring: %d packets", dk.key.A(), dk.key.B(), n)
	}
	if len(tl.counted) != 0 {
		t.Errorf("counted in the kernel: %v", tl.counted)
	}
}
