package verdict_test

import (
	"testing"

	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/classify/verdict"
)

// A broad range is still a documented media range: Imagicle's RTP is
// documented on ">1024" (receiver) and ">=5000" (sender), and both count,
// in DocumentedMediaPorts and in port-only mode, which judges by it.
func TestDocumentedMediaKeepsBroadRanges(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	var imagicle []*catalog.Entry
	for _, e := range cat.Entries() {
		if e.Vendor == "imagicle-ucx" {
			imagicle = append(imagicle, e)
		}
	}
	d := verdict.DocumentedMediaPorts(imagicle, nil)
	if d.Signalled != nil {
		t.Errorf("imagicle media left to signalling by %s", d.Signalled.ID)
	}
	var to, from bool
	for _, r := range d.Ranges {
		if r.Entry.ID != "imagicle-ucx/rtp" {
			continue
		}
		to = to || !r.From && r.Lo == 1025 && r.Hi == 65535
		from = from || r.From && r.Lo == 5000 && r.Hi == 65535
	}
	if !to || !from {
		t.Errorf("ranges %+v: want imagicle-ucx/rtp 1025-65535 and from 5000-65535", d.Ranges)
	}
	for port, want := range map[uint16]bool{40000: true, 1025: true, 1024: false, 80: false} {
		if got := d.Contains(port); got != want {
			t.Errorf("port %d documented %v, want %v", port, got, want)
		}
	}

	for _, tc := range []struct {
		name           string
		client, server string
		media          uint16
		outside        bool
	}{
		{"both ports in the broad ranges", "10.0.0.1:40002", "10.0.0.2:40000", 40000, false},
		{"below every range", "10.0.0.1:40002", "10.0.0.2:1000", 1000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := verdict.NewClassifier(verdict.Config{Catalog: cat, Vendors: []string{"imagicle-ucx"}, Media: fakeMedia{tc.media}})
			if err != nil {
				t.Fatal(err)
			}
			var r verdict.Result
			cl.Classify(play(t, udp, tc.client, tc.server, exchange), &r)
			if r.Verdict != verdict.Negotiated {
				t.Fatalf("verdict %v (%s), want negotiated", r.Verdict, r.Reason)
			}
			if got := r.Kind == verdict.KindMediaOutsideRange; got != tc.outside {
				t.Errorf("kind %q (%s): outside %v, want %v", r.Kind, r.Reason, got, tc.outside)
			}
		})
	}
}

// DocumentedMediaPorts reads the To side through portsOf (a site's
// overrides), names the first entry that leaves media to signalling,
// and skips entries that are not media.
func TestDocumentedMediaPortsOf(t *testing.T) {
	rtp := &catalog.Entry{ID: "v/rtp", App: "rtp", Transport: catalog.UDP, Ports: catalog.PortSet{Ranges: []catalog.PortRange{{Lo: 16384, Hi: 32767, Parity: catalog.EvenPorts}}}}
	gw := &catalog.Entry{ID: "v/gw-rtp", App: "rtp", Transport: catalog.UDP, Ports: catalog.PortSet{Dynamic: true}}
	sip := &catalog.Entry{ID: "v/sip", App: "sip", Transport: catalog.UDP, Ports: catalog.PortSet{Ranges: []catalog.PortRange{{Lo: 5060, Hi: 5060}}}}
	tcpRTP := &catalog.Entry{ID: "v/tcp-rtp", App: "rtp", Transport: catalog.TCP, Ports: catalog.PortSet{Ranges: []catalog.PortRange{{Lo: 9000, Hi: 9000}}}}
	moved := func(e *catalog.Entry) catalog.PortSet {
		if e == rtp {
			return catalog.PortSet{Ranges: []catalog.PortRange{{Lo: 20000, Hi: 20100}}}
		}
		return e.Ports
	}
	d := verdict.DocumentedMediaPorts([]*catalog.Entry{sip, tcpRTP, rtp, gw}, moved)
	if d.Signalled != gw {
		t.Errorf("signalled %v, want v/gw-rtp", d.Signalled)
	}
	if len(d.Ranges) != 1 || d.Ranges[0].Entry != rtp || d.Ranges[0].Lo != 20000 || d.Ranges[0].From {
		t.Errorf("ranges %+v, want v/rtp's 20000-20100 only", d.Ranges)
	}
	for port, want := range map[uint16]bool{20001: true, 16384: false, 5060: false, 9000: false} {
		if got := d.Contains(port); got != want {
			t.Errorf("port %d documented %v, want %v", port, got, want)
		}
	}
	if d := verdict.DocumentedMediaPorts([]*catalog.Entry{rtp}, nil); !d.Contains(16384) || d.Contains(16385) {
		t.Errorf("the catalog's /even range: %+v", d.Ranges)
	}
	if s := verdict.DocumentedMediaPorts(nil, nil); s.Signalled != nil || len(s.Ranges) != 0 {
		t.Errorf("no entries: %+v", s)
	}
}
