package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/ccaudit/auditor/report/parquetout"
)

// evidencePacket is one packet of an evidence file, as gopacket decodes it.
type evidencePacket struct {
	proto    string
	src, dst netip.AddrPort
	icmp     bool
}

func readEvidence(t *testing.T, path string) (comment string, pkts []evidencePacket) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r, err := pcapgo.NewNgReader(fh, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		lt := r.LinkType()
		if ci.InterfaceIndex >= 0 {
			if ifc, err := r.Interface(ci.InterfaceIndex); err == nil {
				lt = ifc.LinkType
			}
		}
		p := gopacket.NewPacket(data, lt, gopacket.Default)
		var ep evidencePacket
		var src, dst netip.Addr
		if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
			src, _ = netip.AddrFromSlice(ip.SrcIP)
			dst, _ = netip.AddrFromSlice(ip.DstIP)
		}
		switch {
		case p.Layer(layers.LayerTypeICMPv4) != nil:
			ep = evidencePacket{proto: "icmp", src: netip.AddrPortFrom(src, 0), dst: netip.AddrPortFrom(dst, 0), icmp: true}
		case p.Layer(layers.LayerTypeTCP) != nil:
			tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
			ep = evidencePacket{proto: "tcp", src: netip.AddrPortFrom(src, uint16(tcp.SrcPort)), dst: netip.AddrPortFrom(dst, uint16(tcp.DstPort))}
		case p.Layer(layers.LayerTypeUDP) != nil:
			udp := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
			ep = evidencePacket{proto: "udp", src: netip.AddrPortFrom(src, uint16(udp.SrcPort)), dst: netip.AddrPortFrom(dst, uint16(udp.DstPort))}
		default:
			t.Fatalf("%s: a packet gopacket reads as neither TCP, UDP nor ICMP: %v", path, p)
		}
		pkts = append(pkts, ep)
	}
	return r.SectionInfo().Comment, pkts
}

// TestEvidence replays the demo with --evidence, with one worker and with
// two (frames then cross from the decoder to the workers in batches), and
// checks that each finding a flow raised has a file holding exactly the
// packets of its flows (all of them: the demo's are shorter than the
// per-flow cap) and, for the blocked SIP OPTIONS, the ICMP error that
// answered it; tshark, when installed, reads every file too.
func TestEvidence(t *testing.T) {
	for _, workers := range []string{"1", "2"} {
		t.Run("workers="+workers, func(t *testing.T) {
			dir := t.TempDir()
			ev, out := filepath.Join(dir, "evidence"), filepath.Join(dir, "out")
			stdout, stderr, code := runCLI(t, "replay", "--workers", workers, "--site", "../../testdata/demo-site.yaml",
				"--evidence", ev, "--out", out, "../../testdata/demo.pcapng")
			if code != exitOK {
				t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
			}
			findings, err := parquetout.ReadFindings(filepath.Join(out, "findings.parquet"))
			if err != nil {
				t.Fatal(err)
			}
			flows, err := parquetout.ReadFlows(filepath.Join(out, "flows.parquet"))
			if err != nil {
				t.Fatal(err)
			}
			var withFiles []string
			var packets int
			for _, g := range findings {
				if g.FindingID == "" {
					t.Errorf("finding %s %s without an ID", g.Kind, g.Reason)
				}
				if g.DstIP == "" {
					if g.EvidenceFile != "" {
						t.Errorf("%s finding without a flow has evidence %s", g.Kind, g.EvidenceFile)
					}
					continue
				}
				if g.EvidenceFile != g.FindingID+".pcapng" {
					t.Errorf("%s %s -> %s:%d: evidence file %q, want %s.pcapng", g.Kind, g.SrcIP, g.DstIP, g.DstPort, g.EvidenceFile, g.FindingID)
					continue
				}
				withFiles = append(withFiles, g.EvidenceFile)
				packets += int(g.EvidencePackets)
				comment, pkts := readEvidence(t, filepath.Join(ev, g.EvidenceFile))
				if !strings.Contains(comment, g.FindingID) || !strings.Contains(comment, g.Reason) || (g.EntryID != "" && !strings.Contains(comment, g.EntryID)) {
					t.Errorf("%s: section comment %q lacks the finding", g.EvidenceFile, comment)
				}
				if len(pkts) != int(g.EvidencePackets) {
					t.Errorf("%s: %d packets, findings.parquet says %d", g.EvidenceFile, len(pkts), g.EvidencePackets)
				}
				// Every packet belongs to a flow of the finding's hosts and
				// port; together they are all those flows' packets.
				var want, got, icmp int
				for _, f := range flows {
					if f.Proto == g.Proto && f.SrcIP == g.SrcIP && f.DstIP == g.DstIP && f.DstPort == g.DstPort {
						want += int(f.PacketsOut + f.PacketsIn)
					}
				}
				for _, p := range pkts {
					if p.icmp {
						icmp++
						continue
					}
					fwd := p.src.Addr().String() == g.SrcIP && p.dst.Addr().String() == g.DstIP && int32(p.dst.Port()) == g.DstPort
					rev := p.dst.Addr().String() == g.SrcIP && p.src.Addr().String() == g.DstIP && int32(p.src.Port()) == g.DstPort
					if p.proto != g.Proto || !(fwd || rev) {
						t.Errorf("%s: packet %s %s -> %s is not the finding's flow", g.EvidenceFile, p.proto, p.src, p.dst)
					}
					got++
				}
				if got != want {
					t.Errorf("%s: %d flow packets, flows.parquet counts %d", g.EvidenceFile, got, want)
				}
				if wantICMP := g.Proto == "udp" && g.Kind == "blocked"; (icmp > 0) != wantICMP {
					t.Errorf("%s: %d ICMP errors (blocked udp: %v)", g.EvidenceFile, icmp, wantICMP)
				}
			}
			sort.Strings(withFiles)
			entries, err := os.ReadDir(ev)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if fmt.Sprint(names) != fmt.Sprint(withFiles) {
				t.Errorf("evidence dir holds %v, findings name %v", names, withFiles)
			}
			// The demo's flow findings: telnet, a Sinch agent PC on Genesys
			// 3952, two TCP attempts blocked, the SIP OPTIONS refused.
			if len(withFiles) != 5 {
				t.Errorf("%d evidence files, want the demo's 5 flow findings", len(withFiles))
			}
			if line := fmt.Sprintf("evidence   %d files, %d packets in %s\n", len(withFiles), packets, ev); !strings.Contains(stdout, line) {
				t.Errorf("summary lacks %q:\n%s", line, stdout)
			}
			if _, err := exec.LookPath("tshark"); err == nil {
				for _, name := range names {
					if out, err := exec.Command("tshark", "-r", filepath.Join(ev, name), "-T", "fields", "-e", "frame.comment").CombinedOutput(); err != nil {
						t.Errorf("tshark -r %s: %v\n%s", name, err, out)
					} else if !strings.Contains(string(out), "flow ") {
						t.Errorf("tshark sees no packet comments in %s:\n%s", name, out)
					}
				}
			}
		})
	}
}
