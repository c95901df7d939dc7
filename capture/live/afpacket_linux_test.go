//go:build linux

package live

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/bpf"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/internal/netnstest"
)

var testOpts = AFPacketOptions{BlockSize: 1 << 16, NumBlocks: 8, BlockTimeout: 5 * time.Millisecond}

func openIn(t *testing.T, ns netnstest.NS, iface string, opts AFPacketOptions) *AFPacketSource {
	t.Helper()
	var s *AFPacketSource
	if err := ns.Do(func() (err error) { s, err = OpenAFPacket(iface, opts); return err }); err != nil {
		if errors.Is(err, os.ErrPermission) {
			t.Skipf("AF_PACKET needs CAP_NET_RAW: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type dirKey struct {
	key flow.Key
	dir flow.Dir
}

// readAll decodes frames until none arrived for a while.
func readAll(t *testing.T, s *AFPacketSource) map[dirKey]int {
	t.Helper()
	got := map[dirKey]int{}
	dec := decode.New(decode.Options{})
	var pkt decode.Packet
	for {
		s.SetDeadline(time.Now().Add(300 * time.Millisecond))
		fr, err := s.Next()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		if fr.WireLen < fr.CaptureLen || fr.Time == 0 {
			t.Errorf("frame %d: wire %d, captured %d, time %d", fr.Index, fr.WireLen, fr.CaptureLen, fr.Time)
		}
		if err := dec.Decode(fr.LinkType, fr.Data, fr.Time, fr.WireLen, &pkt); err != nil {
			t.Errorf("frame %d does not decode: %v", fr.Index, err)
			continue
		}
		got[dirKey{pkt.Key, pkt.Dir}]++
	}
}

func TestAFPacketSeesEveryFrame(t *testing.T) {
	pair := netnstest.NewPair(t)
	s := openIn(t, pair.A, pair.IfA, testOpts)
	dirs, err := pair.Traffic()
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, s)
	for _, d := range dirs {
		k, dir := flow.NewKey(d.Proto, d.Src, d.Dst)
		n := got[dirKey{k, dir}]
		delete(got, dirKey{k, dir})
		if d.Packets >= 0 && n != d.Packets {
			t.Errorf("%v -> %v: %d frames, sent %d", d.Src, d.Dst, n, d.Packets)
		}
		if d.Packets < 0 && n < 3 {
			t.Errorf("%v -> %v: %d frames of a TCP exchange", d.Src, d.Dst, n)
		}
	}
	for dk, n := range got {
		t.Errorf("unexpected flow %v %v: %d frames", dk.key.A(), dk.key.B(), n)
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Drops != 0 || st.Frames == 0 || st.Packets != st.Frames {
		t.Errorf("stats %+v: want no drops and every frame read", st)
	}
}

func TestAFPacketFilter(t *testing.T) {
	pair := netnstest.NewPair(t)
	opts := testOpts
	// IPv4 UDP to port 53, unfragmented: what `udp dst port 53` compiles to.
	opts.Filter = []bpf.Instruction{
		bpf.LoadAbsolute{Off: 12, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 0x0800, SkipTrue: 8},
		bpf.LoadAbsolute{Off: 23, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 17, SkipTrue: 6},
		bpf.LoadAbsolute{Off: 20, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x1fff, SkipTrue: 4},
		bpf.LoadMemShift{Off: 14},
		bpf.LoadIndirect{Off: 16, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 53, SkipTrue: 1},
		bpf.RetConstant{Val: 0x40000},
		bpf.RetConstant{Val: 0},
	}
	s := openIn(t, pair.A, pair.IfA, opts)
	if _, err := pair.Traffic(); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, s)
	if len(got) != 1 {
		t.Fatalf("filter let %d flow directions through, want the DNS queries only: %v", len(got), got)
	}
	for dk, n := range got {
		if dk.key.Endpoint(dk.dir.Flip()).Port() != 53 || n != netnstest.DNSQueries {
			t.Errorf("got %d frames to %v", n, dk.key.Endpoint(dk.dir.Flip()))
		}
	}
}

// TestAFPacketFanout runs one pipeline per socket of a fanout group: every
// flow, both directions, lands in exactly one of them.
func TestAFPacketFanout(t *testing.T) {
	pair := netnstest.NewPair(t)
	var srcs []*AFPacketSource
	if err := pair.A.Do(func() (err error) {
		srcs, err = OpenAFPacketFanout(pair.IfA, 2, testOpts)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var (
		mu    sync.Mutex
		flows = map[flow.Key][]int{} // pipeline indexes that saw the flow
		pkts  = map[flow.Key]uint64{}
		wg    sync.WaitGroup
	)
	for i, s := range srcs {
		p, err := capture.New(capture.Config{OnFlow: func(f *flow.Flow) {
			mu.Lock()
			flows[f.Key] = append(flows[f.Key], i)
			pkts[f.Key] += f.Orig.Packets + f.Resp.Packets
			mu.Unlock()
		}})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Run(ctx, s); err != nil {
				t.Errorf("pipeline %d: %v", i, err)
			}
		}()
	}
	dirs, err := pair.Traffic()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	for _, s := range srcs {
		s.Close()
	}
	wg.Wait()
	for i := 0; i < len(dirs); i += 2 {
		d, back := dirs[i], dirs[i+1]
		k, _ := flow.NewKey(d.Proto, d.Src, d.Dst)
		if len(flows[k]) != 1 {
			t.Errorf("flow %v -> %v ended in pipelines %v, want exactly one", d.Src, d.Dst, flows[k])
		}
		if d.Packets >= 0 && pkts[k] != uint64(d.Packets+back.Packets) {
			t.Errorf("flow %v -> %v: %d packets, sent %d", d.Src, d.Dst, pkts[k], d.Packets+back.Packets)
		}
	}
}

// TestAFPacketCloseMidTraffic closes the socket while frames arrive and a
// pipeline reads it: the pipeline ends cleanly and promptly.
func TestAFPacketCloseMidTraffic(t *testing.T) {
	pair := netnstest.NewPair(t)
	s := openIn(t, pair.A, pair.IfA, testOpts)
	pair.CheckCloseMidTraffic(t, s)
	if _, err := s.Stats(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Stats after Close: %v, want os.ErrClosed", err)
	}
}
