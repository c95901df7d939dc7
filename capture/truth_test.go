package capture

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/source"
)

// truthRow is one line of testdata/pcaps/truth.tsv (tshark 4.0.17 counts).
type truthRow struct {
	packets, ipv4Flows, ipv6Flows int
}

func loadTruth(t *testing.T) map[string]truthRow {
	t.Helper()
	f, err := os.Open("../testdata/pcaps/truth.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string]truthRow{}
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
		rows[c[0]] = truthRow{packets: atoi(c[1]), ipv4Flows: atoi(c[2]), ipv6Flows: atoi(c[3])}
	}
	return rows
}

// conversations replays one capture and counts distinct TCP and UDP flow
// keys by address family, which is what tshark's conversation tables count.
func conversations(t *testing.T, path string) (v4, v6 int, frames uint64) {
	t.Helper()
	src, err := source.Open([]string{path}, source.Options{LinkTypeSupported: decode.SupportsLinkType})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	keys := map[flow.Key]bool{}
	p, err := New(Config{OnFlow: func(f *flow.Flow) {
		if pr := f.Key.Proto(); pr == flow.ProtoTCP || pr == flow.ProtoUDP {
			keys[f.Key] = true
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	for k := range keys {
		if k.Is4() {
			v4++
		} else {
			v6++
		}
	}
	return v4, v6, p.Stats().Frames.Load()
}

const dupConv = "tshark's conversation table repeats 5-tuples that a dissector registered as conversations of their own; as distinct endpoint pairs tshark agrees"

// TestConversationsMatchTshark replays every real capture in testdata and
// compares flow counts with tshark's. Where the auditor differs on purpose,
// the table says why.
func TestConversationsMatchTshark(t *testing.T) {
	truth := loadTruth(t)
	// Known, explained differences: file -> (v4, v6) the auditor finds.
	differs := map[string]struct {
		v4, v6 int
		why    string
	}{
		"l2-l3/vxlan.pcap":  {4, 0, "tshark lists the 9 outer VXLAN carrier conversations as well as the 4 inner flows; the auditor keys a tunnelled packet by its innermost 5-tuple only"},
		"l2-l3/Teredo.pcap": {8, 1, "Teredo is decapsulated as Zeek does: the IPv6 TCP flow inside is a flow, and the three outer UDP conversations (their bubbles included) are rows of tunnels.parquet, as in Zeek's tunnel.log"},
		// tshark lists one UDP 5-tuple twice when a dissector sets up its own
		// conversation for it (SNMP; RTP/RTCP announced by SDP or SCCP), once
		// per direction. Counting tshark's rows as unordered endpoint pairs
		// gives exactly the auditor's numbers.
		"mixed/snmp.pcap": {17, 0, dupConv},
		"sip-rtp/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap": {5, 0, dupConv},
		"sip-rtp/sip_ipv4_tcp.pcap":                 {3, 0, dupConv},
		"sip-rtp/skinny.pcap":                       {7, 0, dupConv},
		"sip-rtp/rtp_rtcp_sip_ipv4_udp.pcap":        {78, 0, dupConv},
		// The source keeps what is readable before damage and after
		// libpcap-compatible link-type masking; tshark refuses or counts otherwise.
		"malformed/juniper_es_oobr.pcap": {0, 0, "link type 132 is not decodable: the file is one file-level error"},
	}
	var files []string
	for name := range truth {
		if _, err := os.Stat(filepath.Join("../testdata/pcaps", name)); err == nil {
			files = append(files, name)
		}
	}
	if len(files) < 60 {
		t.Fatalf("only %d of the truth.tsv captures are in testdata", len(files))
	}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			want := truth[name]
			v4, v6, frames := conversations(t, filepath.Join("../testdata/pcaps", name))
			if d, ok := differs[name]; ok {
				if v4 != d.v4 || v6 != d.v6 {
					t.Errorf("flows v4=%d v6=%d, want %d/%d (differs from tshark %d/%d because %s)",
						v4, v6, d.v4, d.v6, want.ipv4Flows, want.ipv6Flows, d.why)
				}
				return
			}
			if v4 != want.ipv4Flows || v6 != want.ipv6Flows {
				t.Errorf("flows v4=%d v6=%d, tshark %d/%d (frames %d, tshark %d)", v4, v6, want.ipv4Flows, want.ipv6Flows, frames, want.packets)
			}
		})
	}
}

var updateConnStates = flag.Bool("update", false, "rewrite testdata/conn-states.golden")

// TestConnStatesGolden pins conn_state and history of every flow of every
// real capture under testdata/pcaps. The values follow the rules
// TestZeekBaselines checks against Zeek's own output; the golden file
// catches any change to them (rerun with -update when one is intended, and
// say why in docs/conn-state.md).
func TestConnStatesGolden(t *testing.T) {
	var files []string
	err := filepath.WalkDir("../testdata/pcaps", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !strings.HasSuffix(p, ".md") && !strings.HasSuffix(p, ".tsv") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var b strings.Builder
	for _, path := range files {
		name := strings.TrimPrefix(filepath.ToSlash(path), "../testdata/pcaps/")
		var lines []string
		for _, f := range replayFlows(t, path) {
			lines = append(lines, fmt.Sprintf("%s\t%s\t%s > %s\t%s\t%s", name, flow.ProtoName(f.Key.Proto()), f.Src(), f.Dst(), f.State(), f.History()))
		}
		sort.Strings(lines)
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
	}
	const golden = "testdata/conn-states.golden"
	if *updateConnStates {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs (rerun with -update if intended), line %d:\nwant %s\ngot  %s", golden, i+1, w, g)
			}
		}
	}
}

// replayFlows replays a capture through the decoder and one flow table,
// with checksum verification on, and returns its flows.
func replayFlows(t *testing.T, path string) []flow.Flow {
	t.Helper()
	return replayZeek(t, path, false)
}
