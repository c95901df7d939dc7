package capture

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/source"
)

// zeekRow is one connection of a Zeek conn.log baseline: the fields this
// package computes. Empty id fields mean the baseline does not log them
// (its capture holds one connection).
type zeekRow struct {
	origH, origP, respH, respP string
	proto, service             string
	state, history             string
}

func (r zeekRow) id() string { return r.origH + ":" + r.origP + " > " + r.respH + ":" + r.respP }

// readZeekLog reads a conn.log in Zeek's TSV format, or btest-diff-cut's
// output of it (a header line without "#fields").
func readZeekLog(t *testing.T, path string) []zeekRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cols map[string]int
	var rows []zeekRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#fields\t"):
			line = strings.TrimPrefix(line, "#fields\t")
			fallthrough
		case cols == nil && !strings.HasPrefix(line, "#"):
			cols = map[string]int{}
			for i, c := range strings.Split(line, "\t") {
				cols[c] = i
			}
			continue
		case strings.HasPrefix(line, "#"):
			continue
		}
		v := strings.Split(line, "\t")
		get := func(name string) string {
			if i, ok := cols[name]; ok && i < len(v) {
				if v[i] == "-" {
					return ""
				}
				return v[i]
			}
			return ""
		}
		rows = append(rows, zeekRow{
			origH: get("id.orig_h"), origP: get("id.orig_p"), respH: get("id.resp_h"), respP: get("id.resp_p"),
			proto: get("proto"), service: get("service"),
			state: get("conn_state"), history: get("history"),
		})
		if _, ok := cols["conn_state"]; !ok {
			rows[len(rows)-1].state = "?"
		}
	}
	return rows
}

// replayZeek decodes a capture frame by frame into a flow table, as Zeek
// reads it; ignoreChecksums is Zeek's -C.
func replayZeek(t *testing.T, path string, ignoreChecksums bool) []flow.Flow {
	t.Helper()
	src, err := source.Open([]string{path}, source.Options{LinkTypeSupported: decode.SupportsLinkType})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out []flow.Flow
	tab := flow.NewTable(flow.DefaultConfig(), func(f *flow.Flow) { out = append(out, *f) })
	dec := decode.New(decode.Options{IgnoreChecksums: ignoreChecksums})
	var p decode.Packet
	var scratch flow.Key
	for {
		fr, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if dec.Decode(fr.LinkType, fr.Data, fr.Time, fr.WireLen, &p) != nil {
			continue
		}
		tab.PacketTunneled(&p.Packet, nil, tunnelIdentity(&p, &scratch))
	}
	tab.Flush(flow.EndFlush)
	return out
}

// zeekTunnelServices are the services of the outer connections Zeek logs
// for tunnels: the auditor keeps those in tunnels.parquet, not as flows,
// unless none of their packets opened (a VXLAN datagram carrying ARP).
var zeekTunnelServices = map[string]bool{"vxlan": true, "gtpv1": true, "geneve": true, "teredo": true, "ayiya": true}

// TestZeekBaselines replays captures from Zeek's own test suite and
// compares each connection's conn_state and history with the conn.log
// Zeek's btest baseline records for it (testdata/zeek/SOURCES.md).
func TestZeekBaselines(t *testing.T) {
	cases, err := os.ReadFile("testdata/zeek/cases.tsv")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(cases)), "\n") {
		c := strings.Split(line, "\t")
		trace, baseline, flags := c[0], c[1], ""
		if len(c) > 2 {
			flags = c[2]
		}
		t.Run(trace, func(t *testing.T) {
			want := readZeekLog(t, filepath.Join("testdata/zeek", baseline))
			flows := replayZeek(t, filepath.Join("testdata/zeek", trace), strings.Contains(flags, "C"))
			// Flag I compares ICMP connections too (Zeek's ids for them
			// are ICMP type and counterpart, as flow.ICMPPorts gives).
			withICMP := strings.Contains(flags, "I")
			compared := func(proto string) bool {
				return proto == "" || proto == "tcp" || proto == "udp" || withICMP && proto == "icmp"
			}
			// A 4-tuple may carry several connections (reuse after a
			// reset): compare each tuple's connections as a multiset.
			got := map[string][]string{}
			for i := range flows {
				f := &flows[i]
				if !compared(flow.ProtoName(f.Key.Proto())) {
					continue
				}
				src, dst := f.Src(), f.Dst()
				r := zeekRow{origH: src.Addr().String(), origP: fmt.Sprint(src.Port()), respH: dst.Addr().String(), respP: fmt.Sprint(dst.Port())}
				got[r.id()] = append(got[r.id()], f.State()+" "+f.History())
			}
			wantBy := map[string][]string{}
			for _, w := range want {
				if !compared(w.proto) || zeekTunnelServices[w.service] && got[w.id()] == nil {
					continue
				}
				id := w.id()
				if w.origH == "" {
					if len(got) != 1 {
						t.Fatalf("baseline without connection ids needs a one-connection capture; flows %v", got)
					}
					for k := range got {
						id = k
					}
				}
				st := w.state
				if st == "?" {
					// The baseline does not log conn_state: compare history.
					for i, g := range got[id] {
						if _, h, _ := strings.Cut(g, " "); h == w.history {
							st = strings.SplitN(got[id][i], " ", 2)[0]
						}
					}
				}
				wantBy[id] = append(wantBy[id], st+" "+w.history)
			}
			for id, w := range wantBy {
				g := got[id]
				sort.Strings(g)
				sort.Strings(w)
				if strings.Join(g, "|") != strings.Join(w, "|") {
					t.Errorf("%s: got %q, Zeek %q", id, g, w)
				}
			}
			for id, g := range got {
				if _, ok := wantBy[id]; !ok {
					t.Errorf("%s: %q not in Zeek's log", id, g)
				}
			}
		})
	}
}
