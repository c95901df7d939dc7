package decode

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// replayed is one flow of a replayed capture, in the form the tests
// compare: "proto src -> dst state history [tunnel]".
type replayed struct {
	flows   []string
	tunnels []string // tunnel names with their packet counts
	skipped map[Reason]int
}

// replay decodes a capture and tracks its flows in a flow table, as the
// pipeline does: each flow's tunnel is the one of its first packet.
func replay(t *testing.T, path string) replayed {
	t.Helper()
	res := replayed{skipped: map[Reason]int{}}
	d := New(Options{})
	var names TunnelNames
	tunnelOf := map[flow.Key]string{}
	var out []string
	tbl := flow.NewTable(flow.DefaultConfig(), func(fl *flow.Flow) {
		src, dst := fl.Src(), fl.Dst()
		s := flow.ProtoName(fl.Key.Proto()) + " " + src.String() + " -> " + dst.String() + " " + fl.State() + " " + fl.History()
		if tn := tunnelOf[fl.Key]; tn != "" {
			s += " [" + tn + "]"
		}
		out = append(out, s)
	})
	each(t, path, func(lt uint16, data []byte, ts int64, wireLen int) {
		var p Packet
		err := d.Decode(layers.LinkType(lt), data, ts, wireLen, &p)
		var reason Reason
		if errors.As(err, &reason) {
			res.skipped[reason]++
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := tunnelOf[p.Key]; !ok {
			tunnelOf[p.Key] = names.Name(&p)
		}
		tbl.Packet(&p.Packet)
	})
	tbl.Flush(flow.EndFlush)
	sort.Strings(out)
	res.flows = out
	for _, ts := range d.Tunnels() {
		res.tunnels = append(res.tunnels, ts.Name()+" "+itoa(int(ts.PacketsOut))+"/"+itoa(int(ts.PacketsIn)))
	}
	return res
}

// each calls fn for every frame of a pcap or pcapng file.
func each(t *testing.T, path string, fn func(lt uint16, data []byte, ts int64, wireLen int)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if strings.HasSuffix(path, ".pcapng") {
		r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		for {
			data, info, err := r.ReadPacketData()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fn(uint16(r.LinkType()), data, info.Timestamp.UnixNano(), info.Length)
		}
	}
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for {
		data, info, err := r.ReadPacketData()
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(uint16(r.LinkType()), data, info.Timestamp.UnixNano(), info.Length)
	}
}

func TestEncapDump(t *testing.T) {
	if os.Getenv("ENCAP_DUMP") == "" {
		t.Skip("set ENCAP_DUMP=1 to print the flows of every capture")
	}
	files, _ := filepath.Glob("testdata/encap/*.pcap*")
	for _, f := range files {
		r := replay(t, f)
		t.Logf("== %s skipped %v", filepath.Base(f), r.skipped)
		for _, l := range r.flows {
			t.Logf("   %s", l)
		}
		for _, l := range r.tunnels {
			t.Logf("   tunnel %s", l)
		}
	}
}
