package evidence

import (
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/verdict"
)

// flowOf starts a flow from src to dst and returns it with a packet
// builder for it.
func flowOf(proto uint8, src, dst string) (*flow.Flow, func(t int64, frame []byte, fromOrig bool) *decode.Packet) {
	s, d := netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst)
	key, dir := flow.NewKey(proto, s, d)
	f := &flow.Flow{Key: key, OrigDir: dir}
	return f, func(t int64, frame []byte, fromOrig bool) *decode.Packet {
		p := &decode.Packet{Frame: frame, LinkType: layers.LinkTypeEthernet}
		p.Key, p.Time, p.WireLen = key, t, uint32(len(frame))
		p.Dir = dir
		if !fromOrig {
			p.Dir = 1 - dir
		}
		return p
	}
}

func frameOf(n int, b byte) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

// record runs a flow through the recorder as the pipeline would: Start
// and Packet for each frame, End, then Judged.
func record(r *Recorder, f *flow.Flow, pkt func(int64, []byte, bool) *decode.Packet, n int, kind verdict.Kind, entry string) {
	for i := range n {
		p := pkt(int64(i+1)*int64(time.Millisecond), frameOf(60, byte(i)), i%2 == 0)
		if i == 0 && !r.Start(f, p) {
			break
		}
		if !r.Packet(f, p, i%2 == 0) {
			break
		}
	}
	r.End(f)
	r.Judged(f, kind, entry, "")
}

func readBack(t *testing.T, path string) (comment string, frames [][]byte) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r, err := pcapgo.NewNgReader(fh, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, data)
	}
	return r.SectionInfo().Comment, frames
}

func blockedFinding(src, dst string, port uint16) verdict.Finding {
	return verdict.Finding{Kind: verdict.KindBlocked, Severity: verdict.High, Proto: flow.ProtoTCP,
		Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), DstPort: port, EntryID: "v/e", Reason: "no answer"}
}

func TestStoreWritesFindingFlows(t *testing.T) {
	dir := t.TempDir()
	s, err := NewStore(Config{Dir: dir, PacketsPerFlow: 3, FlowsPerFinding: 2})
	if err != nil {
		t.Fatal(err)
	}
	r := s.NewRecorder()
	// Three attempts of one blocked finding (only two are written), a
	// flow that raised nothing, and one of another finding.
	for _, sport := range []string{"40001", "40002", "40003"} {
		f, pkt := flowOf(flow.ProtoTCP, "10.0.0.1:"+sport, "10.0.0.2:1433")
		record(r, f, pkt, 5, verdict.KindBlocked, "v/e")
	}
	f, pkt := flowOf(flow.ProtoTCP, "10.0.0.1:40009", "10.0.0.2:1433")
	record(r, f, pkt, 5, "", "")
	f, pkt = flowOf(flow.ProtoTCP, "10.0.0.3:40001", "10.0.0.2:1433")
	record(r, f, pkt, 2, verdict.KindBlocked, "v/e")

	g := blockedFinding("10.0.0.1", "10.0.0.2", 1433)
	other := blockedFinding("10.0.0.3", "10.0.0.2", 1433)
	// A finding of the same hosts but another entry matches nothing.
	wrongEntry := g
	wrongEntry.EntryID = "v/other"
	files, err := s.Write("w1-", []verdict.Finding{g, other, wrongEntry})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("files %v, want two", files)
	}
	got := files[g.ID()]
	if got.Name != "w1-"+g.ID()+".pcapng" || got.Packets != 6 {
		t.Errorf("file %+v, want 2 flows of 3 packets", got)
	}
	comment, frames := readBack(t, filepath.Join(dir, got.Name))
	if len(frames) != 6 || comment == "" {
		t.Errorf("read back %d packets, comment %q", len(frames), comment)
	}
	if f := files[other.ID()]; f.Packets != 2 {
		t.Errorf("other finding %+v, want its 2 packets", f)
	}
	if n := s.Stats().FlowsOverCap.Load(); n != 1 {
		t.Errorf("flows over the per-finding cap %d, want 1", n)
	}
	if used := s.used.Load(); used != 0 {
		t.Errorf("%d bytes still held after Write", used)
	}
}

// An ICMP error is kept for the flow it quotes, and written with it.
func TestStoreICMPQuotes(t *testing.T) {
	s, err := NewStore(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r := s.NewRecorder()
	udp, pkt := flowOf(flow.ProtoUDP, "10.0.0.1:5060", "10.0.0.9:5060")
	icmp, ipkt := flowOf(flow.ProtoICMP, "10.0.0.9:0", "10.0.0.1:0")
	p := ipkt(5, frameOf(70, 0xee), true)
	p.QuotedKey = udp.Key
	if !r.Start(icmp, p) {
		t.Fatal("ICMP flow not recorded")
	}
	r.Packet(icmp, p, true)
	r.End(icmp)
	r.Judged(icmp, "", "", "") // the ICMP flow itself raises nothing
	record(r, udp, pkt, 1, verdict.KindBlocked, "v/sip")
	g := verdict.Finding{Kind: verdict.KindBlocked, Proto: flow.ProtoUDP, Src: netip.MustParseAddr("10.0.0.1"),
		Dst: netip.MustParseAddr("10.0.0.9"), DstPort: 5060, EntryID: "v/sip"}
	files, err := s.Write("", []verdict.Finding{g})
	if err != nil {
		t.Fatal(err)
	}
	if f := files[g.ID()]; f.Packets != 2 {
		t.Errorf("file %+v, want the datagram and the ICMP error", f)
	}
}

// Past MaxMemory new flows go unrecorded and are counted; memory comes
// back as flows are judged.
func TestStoreMemoryBound(t *testing.T) {
	s, err := NewStore(Config{Dir: t.TempDir(), MaxMemory: 100})
	if err != nil {
		t.Fatal(err)
	}
	r := s.NewRecorder()
	a, apkt := flowOf(flow.ProtoTCP, "10.0.0.1:1", "10.0.0.2:2")
	b, bpkt := flowOf(flow.ProtoTCP, "10.0.0.1:3", "10.0.0.2:4")
	p := apkt(1, frameOf(60, 1), true)
	r.Start(a, p)
	r.Packet(a, p, true)
	if r.Packet(a, apkt(2, frameOf(60, 2), true), true) {
		t.Error("a packet past MaxMemory was kept")
	}
	if n := s.Stats().PacketsSkipped.Load(); n != 1 {
		t.Errorf("packets skipped %d, want 1", n)
	}
	p = bpkt(3, frameOf(60, 3), true)
	if r.Start(b, p) {
		// 60 of 100 bytes held: the flow may start, its packet not fit
		r.Packet(b, p, true)
	}
	r.End(a)
	r.Judged(a, "", "", "")
	if used := s.used.Load(); used != 0 {
		t.Errorf("%d bytes held after the only recorded flow was judged clean", used)
	}
	// A full store refuses to start a flow at all.
	s.used.Store(100)
	c, cpkt := flowOf(flow.ProtoTCP, "10.0.0.1:5", "10.0.0.2:6")
	if r.Start(c, cpkt(4, frameOf(60, 4), true)) {
		t.Error("a flow started with the memory bound reached")
	}
	if s.Stats().FlowsSkipped.Load() == 0 {
		t.Error("skipped flow not counted")
	}
}

func TestMatchesEitherDirection(t *testing.T) {
	g := blockedFinding("10.0.0.1", "10.0.0.2", 1433)
	for _, tt := range []struct {
		name     string
		src, dst string
		kind     verdict.Kind
		want     bool
	}{
		{"originator to responder", "10.0.0.1:40000", "10.0.0.2:1433", verdict.KindBlocked, true},
		{"key built the other way", "10.0.0.2:1433", "10.0.0.1:40000", verdict.KindBlocked, true},
		{"other port", "10.0.0.1:40000", "10.0.0.2:1434", verdict.KindBlocked, false},
		{"other source", "10.0.0.7:40000", "10.0.0.2:1433", verdict.KindBlocked, false},
		{"other kind", "10.0.0.1:40000", "10.0.0.2:1433", verdict.KindUnexpected, false},
	} {
		key, _ := flow.NewKey(flow.ProtoTCP, netip.MustParseAddrPort(tt.src), netip.MustParseAddrPort(tt.dst))
		k := keptFlow{kind: tt.kind, entryID: "v/e", key: key}
		if got := k.matches(&g); got != tt.want {
			t.Errorf("%s: matches %v, want %v", tt.name, got, tt.want)
		}
	}
	// A finding aggregated over many sources has no source: any matches.
	g.Src = netip.Addr{}
	key, _ := flow.NewKey(flow.ProtoTCP, netip.MustParseAddrPort("10.9.9.9:1"), netip.MustParseAddrPort("10.0.0.2:1433"))
	if k := (keptFlow{kind: verdict.KindBlocked, entryID: "v/e", key: key}); !k.matches(&g) {
		t.Error("a sourceless finding did not match its target's flow")
	}
}

// Past MaxBytes the oldest files go first.
func TestStoreTrim(t *testing.T) {
	dir := t.TempDir()
	s, err := NewStore(Config{Dir: dir, MaxBytes: 2500})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i, port := range []uint16{1, 2, 3} {
		r := s.NewRecorder()
		f, pkt := flowOf(flow.ProtoTCP, "10.0.0.1:40000", netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), port).String())
		record(r, f, pkt, 10, verdict.KindBlocked, "v/e")
		files, err := s.Write("", []verdict.Finding{blockedFinding("10.0.0.1", "10.0.0.2", port)})
		if err != nil {
			t.Fatal(err)
		}
		for _, fl := range files {
			names = append(names, fl.Name)
			// distinct modification times, oldest first
			old := time.Now().Add(time.Duration(i-10) * time.Minute)
			if err := os.Chtimes(filepath.Join(dir, fl.Name), old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, names[0])); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("oldest file %s kept (err %v)", names[0], err)
	}
	if _, err := os.Stat(filepath.Join(dir, names[2])); err != nil {
		t.Errorf("newest file removed: %v", err)
	}
	if s.Stats().FilesRemoved.Load() == 0 {
		t.Error("removals not counted")
	}
}

// A flow started just under the memory bound whose first packet did not
// fit has no packets; when it raises a finding, the window's Write must
// neither panic nor write an empty file.
func TestStoreFlowWithoutPackets(t *testing.T) {
	s, err := NewStore(Config{Dir: t.TempDir(), MaxMemory: 100})
	if err != nil {
		t.Fatal(err)
	}
	r := s.NewRecorder()
	s.used.Store(90) // what other flows hold
	f, pkt := flowOf(flow.ProtoTCP, "10.0.0.1:40000", "10.0.0.2:1433")
	p := pkt(1, frameOf(60, 1), true)
	if !r.Start(f, p) {
		t.Fatal("not started under the bound")
	}
	if r.Packet(f, p, true) {
		t.Fatal("a packet over the bound was kept")
	}
	r.End(f)
	r.Judged(f, verdict.KindBlocked, "v/e", "")
	files, err := s.Write("", []verdict.Finding{blockedFinding("10.0.0.1", "10.0.0.2", 1433)})
	if err != nil || len(files) != 0 {
		t.Errorf("files %v, err %v: want none", files, err)
	}
	if used := s.used.Load(); used != 90 {
		t.Errorf("held %d bytes, want the others' 90", used)
	}
}

// An ICMP error flow that raised a finding of its own keeps its quote both
// as its own packet and for the flow it quotes; Write frees it once, so the
// memory bound keeps counting right.
func TestStoreQuoteOfAKeptFlowFreedOnce(t *testing.T) {
	s, err := NewStore(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r := s.NewRecorder()
	udp, _ := flowOf(flow.ProtoUDP, "10.0.0.1:5060", "10.0.0.9:5060")
	icmp, ipkt := flowOf(flow.ProtoICMP, "10.0.0.9:0", "10.0.0.1:0")
	p := ipkt(5, frameOf(70, 0xee), true)
	p.QuotedKey = udp.Key
	r.Start(icmp, p)
	r.Packet(icmp, p, true)
	r.End(icmp)
	r.Judged(icmp, verdict.KindUnexpected, "", "")
	if used := s.used.Load(); used != 70 {
		t.Fatalf("held %d bytes, want the one 70-byte frame", used)
	}
	if _, err := s.Write("", nil); err != nil {
		t.Fatal(err)
	}
	if used := s.used.Load(); used != 0 {
		t.Errorf("after Write %d bytes held, want 0 (freed twice if negative)", used)
	}
}

// A flow that raised a second finding beside its verdict's (an unexpected
// flow on TLS 1.0 is also tls-version-too-old) is evidence of both: each
// finding's file holds it, and no other finding's does.
func TestStoreSecondFindingOfAFlow(t *testing.T) {
	s, err := NewStore(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r := s.NewRecorder()
	f, pkt := flowOf(flow.ProtoTCP, "10.0.0.1:40000", "10.0.0.2:443")
	for i := range 3 {
		p := pkt(int64(i+1), frameOf(60, byte(i)), i%2 == 0)
		if i == 0 {
			r.Start(f, p)
		}
		r.Packet(f, p, i%2 == 0)
	}
	r.End(f)
	r.Judged(f, verdict.KindUnexpected, "", verdict.KindTLSTooOld)
	finding := func(kind verdict.Kind, entry string) verdict.Finding {
		return verdict.Finding{Kind: kind, Proto: flow.ProtoTCP, Src: netip.MustParseAddr("10.0.0.1"),
			Dst: netip.MustParseAddr("10.0.0.2"), DstPort: 443, EntryID: entry}
	}
	unexpected, old := finding(verdict.KindUnexpected, ""), finding(verdict.KindTLSTooOld, "")
	other := finding(verdict.KindBlocked, "")
	files, err := s.Write("", []verdict.Finding{unexpected, old, other})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []verdict.Finding{unexpected, old} {
		if f, ok := files[g.ID()]; !ok || f.Packets != 3 {
			t.Errorf("%s: file %+v (present %v), want the flow's 3 packets", g.Kind, f, ok)
		}
	}
	if _, ok := files[other.ID()]; ok {
		t.Errorf("the flow went into a finding it did not raise")
	}
}
