// Package evidence keeps the packets of flows that raise findings and
// writes them, per finding, to pcapng files a reviewer opens in Wireshark
// or tshark.
//
// A Recorder (one per pipeline worker, a capture.Dissector) copies the
// first packets of every flow while it is in the flow table; when the flow
// ends and is judged, Judged either hands them to the Store (the flow
// raised a finding) or frees them. ICMP errors are recorded like any flow
// and kept by the flow they quote. At the end of a capture window, Write
// puts each finding's flows (at most Config.FlowsPerFinding, each with at
// most Config.PacketsPerFlow packets) and the ICMP errors that quoted them
// into one file named by the finding's ID, with the finding in the
// section comment and each packet's flow in its own comment.
//
// Memory is bounded by Config.MaxMemory over all recorders: past it, new
// flows are not recorded (counted in Stats.FlowsSkipped), so a flood costs
// evidence, never memory. Findings that no flow raised (missing,
// dns-failure) and those raised from SIP call records (media-missing,
// media-one-way, poor-voice-quality) get no file: the first have no
// packets by definition, the others point at their flows by call_id.
package evidence

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/verdict"
)

// Config bounds what is kept and written.
type Config struct {
	// Dir receives the pcapng files; it is created if missing.
	Dir string
	// PacketsPerFlow is how many packets of each flow are kept (default 32).
	PacketsPerFlow int
	// FlowsPerFinding is how many flows of one finding go into its file
	// (default 8): a finding may aggregate thousands of attempts.
	FlowsPerFinding int
	// MaxMemory bounds the bytes of packets held at once (default 128 MiB).
	MaxMemory int64
	// MaxBytes bounds the pcapng files in Dir: after each Write the
	// oldest are removed until the rest fit (0: no bound).
	MaxBytes int64
}

func (c *Config) fill() {
	if c.PacketsPerFlow <= 0 {
		c.PacketsPerFlow = 32
	}
	if c.FlowsPerFinding <= 0 {
		c.FlowsPerFinding = 8
	}
	if c.MaxMemory <= 0 {
		c.MaxMemory = 128 << 20
	}
}

// Stats counts what the store did. Everything skipped is counted by cause.
type Stats struct {
	FlowsKept      atomic.Uint64 // flows that raised a finding, with their packets
	FlowsSkipped   atomic.Uint64 // flows not recorded: MaxMemory reached
	PacketsSkipped atomic.Uint64 // packets not recorded: MaxMemory reached
	FlowsOverCap   atomic.Uint64 // flows of a finding beyond FlowsPerFinding
	QuotesKept     atomic.Uint64 // ICMP errors kept for the flow they quote
	FilesWritten   atomic.Uint64
	PacketsWritten atomic.Uint64
	FilesRemoved   atomic.Uint64 // removed to keep Dir under MaxBytes
	BytesRemoved   atomic.Uint64
	WriteErrors    atomic.Uint64
}

// File is the evidence written for one finding.
type File struct {
	Name    string // base name in Config.Dir
	Packets int
}

type frame struct {
	data   []byte
	at     int64 // unix ns
	wire   int
	lt     layers.LinkType
	quoted flow.Key // for an ICMP error: the flow it quotes
	// kept marks a quote that is also a frame of a kept flow (an ICMP
	// error flow that raised a finding itself): freed with that flow, not
	// with the quotes.
	kept bool
}

type keptFlow struct {
	kind    verdict.Kind
	entryID string
	// also is a second finding the flow raised beside kind, without an
	// entry (tls-version-too-old): its file holds the flow too.
	also   verdict.Kind
	key    flow.Key
	frames []frame
}

// Store collects the kept flows of the current window.
type Store struct {
	cfg   Config
	used  atomic.Int64 // bytes of frames held by recorders and the store
	stats Stats

	mu     sync.Mutex
	kept   []keptFlow
	quotes map[flow.Key][]frame
}

// NewStore returns a store writing into cfg.Dir.
func NewStore(cfg Config) (*Store, error) {
	cfg.fill()
	if cfg.Dir == "" {
		return nil, errors.New("evidence: no directory")
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	return &Store{cfg: cfg, quotes: map[flow.Key][]frame{}}, nil
}

// Stats returns the counters.
func (s *Store) Stats() *Stats { return &s.stats }

// Dir is where the files go.
func (s *Store) Dir() string { return s.cfg.Dir }

func (s *Store) free(frames []frame) {
	var n int64
	for _, f := range frames {
		n += int64(len(f.data))
	}
	s.used.Add(-n)
}

// freeQuotes frees the quotes no kept flow owns.
func (s *Store) freeQuotes(frames []frame) {
	var n int64
	for _, f := range frames {
		if !f.kept {
			n += int64(len(f.data))
		}
	}
	s.used.Add(-n)
}

// Recorder records the first packets of one worker's flows. It is a
// capture.Dissector; the pipeline must hand it frames (KeepFrames).
type Recorder struct {
	s     *Store
	rings map[*flow.Flow][]frame
	// The flow that ended last and its packets, until Judged: End runs
	// right before the flow handler that judges it, on the same worker.
	endedFlow *flow.Flow
	ended     []frame
}

// NewRecorder returns a recorder for one worker.
func (s *Store) NewRecorder() *Recorder {
	return &Recorder{s: s, rings: map[*flow.Flow][]frame{}}
}

// Start records every flow while memory allows.
func (r *Recorder) Start(f *flow.Flow, p *decode.Packet) bool {
	if p.Frame == nil {
		return false
	}
	if r.s.used.Load() >= r.s.cfg.MaxMemory {
		r.s.stats.FlowsSkipped.Add(1)
		return false
	}
	r.rings[f] = make([]frame, 0, min(r.s.cfg.PacketsPerFlow, 4))
	return true
}

// Packet copies the packet's frame until the flow has PacketsPerFlow.
func (r *Recorder) Packet(f *flow.Flow, p *decode.Packet, _ bool) bool {
	ring, ok := r.rings[f]
	if !ok || p.Frame == nil {
		return false
	}
	if r.s.used.Add(int64(len(p.Frame))) > r.s.cfg.MaxMemory {
		r.s.used.Add(-int64(len(p.Frame)))
		r.s.stats.PacketsSkipped.Add(1)
		return false
	}
	fr := frame{data: slices.Clone(p.Frame), at: p.Time, wire: int(p.WireLen), lt: p.LinkType}
	if p.QuotedKey != (flow.Key{}) {
		fr.quoted = p.QuotedKey
	}
	ring = append(ring, fr)
	r.rings[f] = ring
	return len(ring) < r.s.cfg.PacketsPerFlow
}

// End sets the flow's packets aside for Judged.
func (r *Recorder) End(f *flow.Flow) {
	ring, ok := r.rings[f]
	if !ok {
		return
	}
	delete(r.rings, f)
	if r.endedFlow != nil {
		r.s.free(r.ended) // never judged: a flow handler that skipped Judged
	}
	r.endedFlow, r.ended = f, ring
}

// Judged is called by the flow handler with the flow's finding kind (""
// when it raised none) and entry, and the kind of a second finding it
// raised beside that one without an entry ("" for none): the packets go
// to the store, or are freed. ICMP errors among them are kept for the
// flows they quote.
func (r *Recorder) Judged(f *flow.Flow, kind verdict.Kind, entryID string, also verdict.Kind) {
	if r.endedFlow != f {
		return
	}
	ring := r.ended
	r.endedFlow, r.ended = nil, nil
	s := r.s
	if len(ring) == 0 {
		// Started, but memory ran out before its first packet: there is
		// nothing to write for it.
		return
	}
	var quotes int
	for _, fr := range ring {
		if fr.quoted != (flow.Key{}) {
			quotes++
		}
	}
	if kind == "" && quotes == 0 {
		s.free(ring)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, fr := range ring {
		if fr.quoted != (flow.Key{}) {
			fr.kept = kind != ""
			s.quotes[fr.quoted] = append(s.quotes[fr.quoted], fr)
			s.stats.QuotesKept.Add(1)
		}
	}
	if kind != "" {
		s.kept = append(s.kept, keptFlow{kind: kind, entryID: entryID, also: also, key: f.Key, frames: ring})
		s.stats.FlowsKept.Add(1)
	} else {
		// Only the quotes are kept; free the ICMP flow's other packets.
		var other []frame
		for _, fr := range ring {
			if fr.quoted == (flow.Key{}) {
				other = append(other, fr)
			}
		}
		s.free(other)
	}
}

// matches reports whether a kept flow raised finding g.
func (k *keptFlow) matches(g *verdict.Finding) bool {
	same := k.kind == g.Kind && k.entryID == g.EntryID || k.also != "" && k.also == g.Kind && g.EntryID == ""
	if !same || k.key.Proto() != g.Proto || !g.Dst.IsValid() {
		return false
	}
	icmp := g.Proto == flow.ProtoICMP || g.Proto == flow.ProtoICMPv6
	end := func(ap netip.AddrPort, addr netip.Addr, port uint16, anyHost bool) bool {
		return (anyHost || ap.Addr() == addr) && (icmp || ap.Port() == port)
	}
	a, b := k.key.A(), k.key.B()
	srcAny := !g.Src.IsValid()
	return (end(b, g.Dst, g.DstPort, false) && (srcAny || a.Addr() == g.Src)) ||
		(end(a, g.Dst, g.DstPort, false) && (srcAny || b.Addr() == g.Src))
}

// Write writes the window's evidence: one file per finding that kept
// flows raised, named prefix + the finding's ID + ".pcapng". It returns
// the files by finding ID, frees what the window held, and then removes
// the oldest files of Dir past MaxBytes.
func (s *Store) Write(prefix string, findings []verdict.Finding) (map[string]File, error) {
	s.mu.Lock()
	kept, quotes := s.kept, s.quotes
	s.kept, s.quotes = nil, map[flow.Key][]frame{}
	s.mu.Unlock()
	defer func() {
		for _, k := range kept {
			s.free(k.frames)
		}
		for _, q := range quotes {
			s.freeQuotes(q)
		}
	}()
	files := map[string]File{}
	var errs []error
	for i := range findings {
		g := &findings[i]
		var flows []*keptFlow
		for j := range kept {
			if kept[j].matches(g) {
				if len(flows) == s.cfg.FlowsPerFinding {
					s.stats.FlowsOverCap.Add(1)
					continue
				}
				flows = append(flows, &kept[j])
			}
		}
		if len(flows) == 0 {
			continue
		}
		var packets int
		for _, k := range flows {
			packets += len(k.frames) + len(quotes[k.key])
		}
		if packets == 0 {
			continue
		}
		id := g.ID()
		name := prefix + id + ".pcapng"
		n, err := s.writeFile(filepath.Join(s.cfg.Dir, name), g, id, flows, quotes)
		if err != nil {
			s.stats.WriteErrors.Add(1)
			errs = append(errs, err)
			continue
		}
		s.stats.FilesWritten.Add(1)
		s.stats.PacketsWritten.Add(uint64(n))
		files[id] = File{Name: name, Packets: n}
	}
	if err := s.trim(); err != nil {
		errs = append(errs, err)
	}
	return files, errors.Join(errs...)
}

type outPacket struct {
	frame
	comment string
}

// writeFile writes one finding's packets in capture order, through a
// temporary name created exclusively, so a reader never sees half a file
// and no planted link is followed.
func (s *Store) writeFile(path string, g *verdict.Finding, id string, flows []*keptFlow, quotes map[flow.Key][]frame) (int, error) {
	var pkts []outPacket
	for _, k := range flows {
		label := "flow " + flowLabel(k.key)
		for _, fr := range k.frames {
			pkts = append(pkts, outPacket{fr, label})
		}
		for _, fr := range quotes[k.key] {
			pkts = append(pkts, outPacket{fr, "ICMP error quoting " + flowLabel(k.key)})
		}
	}
	slices.SortStableFunc(pkts, func(a, b outPacket) int { return cmp.Compare(a.at, b.at) })

	tmp, err := os.CreateTemp(filepath.Dir(path), ".evidence-*.tmp")
	if err != nil {
		return 0, fmt.Errorf("evidence %s: %w", id, err)
	}
	defer os.Remove(tmp.Name())
	comment := fmt.Sprintf("auditor finding %s: %s (%s)", id, g.Kind, g.Severity)
	if g.EntryID != "" {
		comment += " entry " + g.EntryID
	}
	comment += ": " + g.Reason
	ifaces := map[layers.LinkType]int{}
	first := pkts[0].lt
	w, err := pcapgo.NewNgWriterInterface(tmp, pcapgo.NgInterface{Name: "evidence", LinkType: first, SnapLength: 0},
		pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "auditor", Comment: comment}})
	if err != nil {
		tmp.Close()
		return 0, fmt.Errorf("evidence %s: %w", id, err)
	}
	ifaces[first] = 0
	for _, p := range pkts {
		ifc, ok := ifaces[p.lt]
		if !ok {
			if ifc, err = w.AddInterface(pcapgo.NgInterface{Name: "evidence", LinkType: p.lt}); err != nil {
				break
			}
			ifaces[p.lt] = ifc
		}
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, p.at).UTC(), CaptureLength: len(p.data),
			Length: max(p.wire, len(p.data)), InterfaceIndex: ifc}
		if err = w.WritePacketWithOptions(ci, p.data, pcapgo.NgPacketOptions{Comments: []string{p.comment}}); err != nil {
			break
		}
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return 0, fmt.Errorf("evidence %s: %w", path, err)
	}
	return len(pkts), nil
}

func flowLabel(k flow.Key) string {
	var b strings.Builder
	b.WriteString(flow.ProtoName(k.Proto()))
	b.WriteByte(' ')
	b.WriteString(k.A().String())
	b.WriteString(" <-> ")
	b.WriteString(k.B().String())
	return b.String()
}

// trim removes the oldest evidence files until Dir holds at most MaxBytes.
func (s *Store) trim() error {
	if s.cfg.MaxBytes <= 0 {
		return nil
	}
	type entry struct {
		path string
		size int64
		mod  time.Time
	}
	var files []entry
	var total int64
	err := filepath.WalkDir(s.cfg.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(d.Name(), ".pcapng") {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		files = append(files, entry{path, info.Size(), info.ModTime()})
		total += info.Size()
		return nil
	})
	if err != nil {
		return fmt.Errorf("evidence: %w", err)
	}
	slices.SortFunc(files, func(a, b entry) int {
		return cmp.Or(a.mod.Compare(b.mod), cmp.Compare(a.path, b.path))
	})
	for _, f := range files {
		if total <= s.cfg.MaxBytes {
			break
		}
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("evidence: %w", err)
		}
		total -= f.size
		s.stats.FilesRemoved.Add(1)
		s.stats.BytesRemoved.Add(uint64(f.size))
	}
	return nil
}
