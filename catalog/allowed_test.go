package catalog

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const allowedGolden = "testdata/allowed.golden"

// allowedPairs lists every role pair each entry of c allows, one line per
// (vendor, entry, from-role, to-role, transport, ports, direction), sorted.
// A one-way entry allows its From roles to open to its To roles ("->"); a
// both-ways entry allows either side to open ("<->"), so its pair is written
// once with the two roles in name order.
func allowedPairs(c *Catalog) []string {
	seen := make(map[string]bool)
	var out []string
	for _, e := range c.Entries() {
		ports := e.Ports.String()
		if e.Area != nil {
			ports += " (area " + e.Area.First.Name + "," + e.Area.Count.Name + ")"
		}
		if e.Transport == ICMP {
			ports = "-"
		}
		if !e.FromPorts.IsZero() {
			ports += " from_ports=" + e.FromPorts.String()
		}
		for _, from := range e.From {
			for _, to := range e.To {
				a, arrow, b := from, "->", to
				if e.Direction == BothWays {
					arrow = "<->"
					if b < a {
						a, b = b, a
					}
				}
				line := fmt.Sprintf("%s\t%s\t%s %s %s\t%s\t%s\t%s",
					e.Vendor, strings.TrimPrefix(e.ID, e.Vendor+"/"), a, arrow, b, e.Transport, ports, e.Direction)
				if !seen[line] {
					seen[line] = true
					out = append(out, line)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// Every flow the built-in catalog allows is listed in testdata/allowed.golden,
// reviewed against the vendor documents (docs/catalog-review.md). A change to
// an entry's roles, direction, transport or ports changes the list, so a
// widening shows up in review as added lines. go test ./catalog -run
// TestAllowedPairs -update rewrites the file.
func TestAllowedPairs(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.WriteString("# vendor\tentry\tfrom -> to (<-> either side opens)\ttransport\tports\tdirection\n")
	for _, l := range allowedPairs(c) {
		buf.WriteString(l)
		buf.WriteByte('\n')
	}
	got := buf.Bytes()
	if *update {
		if err := os.MkdirAll(filepath.Dir(allowedGolden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(allowedGolden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(allowedGolden)
	if err != nil {
		t.Fatalf("%v; run go test ./catalog -run TestAllowedPairs -update", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	var msg strings.Builder
	for _, l := range gl {
		if !slices.Contains(wl, l) {
			fmt.Fprintf(&msg, "+ %s (allowed now, not in %s)\n", l, allowedGolden)
		}
	}
	for _, l := range wl {
		if !slices.Contains(gl, l) {
			fmt.Fprintf(&msg, "- %s (in %s, no longer allowed)\n", l, allowedGolden)
		}
	}
	t.Fatalf("the catalog allows other flows than %s; review against the documents, then rerun with -update:\n%s", allowedGolden, msg.String())
}

// The listing itself: a both-ways entry is one symmetric pair, a one-way
// entry keeps its order, and every From x To combination appears.
func TestAllowedPairsShape(t *testing.T) {
	c := New()
	c.addVendor(&Vendor{ID: "v"})
	c.addEntry(&Entry{ID: "v/one", Vendor: "v", From: Roles{"b", "a"}, To: Roles{"c"}, Direction: OneWay, Transport: TCP, Ports: Ports(80)})
	c.addEntry(&Entry{ID: "v/two", Vendor: "v", From: Roles{"z"}, To: Roles{"a", "z"}, Direction: BothWays, Transport: UDP, Ports: Ports(5060)})
	got := allowedPairs(c)
	want := []string{
		"v\tone\ta -> c\ttcp\t80\tone-way",
		"v\tone\tb -> c\ttcp\t80\tone-way",
		"v\ttwo\ta <-> z\tudp\t5060\tboth",
		"v\ttwo\tz <-> z\tudp\t5060\tboth",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("allowedPairs:\n got %q\nwant %q", got, want)
	}
}

// allows reports whether an entry of vendor lets a host of role from open a
// flow to a host of role to on proto/port, as the verdict engine reads
// entries: From opens to To, or either side for a both-ways entry.
func allows(ix *Index, vendor, from, to string, proto uint8, port uint16) bool {
	for _, e := range ix.LookupVendor(vendor, proto, port, nil) {
		if e.From.Has(from) && e.To.Has(to) {
			return true
		}
		if e.Direction == BothWays && e.From.Has(to) && e.To.Has(from) {
			return true
		}
	}
	return false
}

// The pairs the review of multi-role entries settled, each against the
// document's words (docs/catalog-review.md): what the diagrams draw stays
// allowed, the pairs a broad role list implied are not.
func TestReviewedPairs(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndex(c.Entries())
	const g, s, im = "genesys-pureconnect", "sinch-contact-center", "imagicle-ucx"
	for _, tc := range []struct {
		vendor, from, to string
		proto            uint8
		port             uint16
		want             bool
		why              string
	}{
		{g, "ip-phone", "sip-proxy", protoUDP, 5060, true, "IP phone ↔ Interaction SIP Proxy: SIP TCP/UDP 5060"},
		{g, "sip-proxy", "ip-phone", protoUDP, 5060, true, "double arrow"},
		{g, "ip-phone", "cic-server", protoUDP, 5060, true, "IP phone ↔ CIC Servers SIP TCP/UDP 5060 (Speech Recognition, VoiceXML)"},
		{g, "ip-phone", "sip-gateway", protoUDP, 5060, true, "IP phone ↔ Any SIP Gateway: SIP TCP/UDP 5060"},
		{g, "sip-gateway", "cic-server", protoTCP, 5060, true, "All SIP gateways ↔ SIP TCP/UDP 5060"},
		{g, "ip-phone", "ip-phone", protoUDP, 5060, false, "no diagram draws phone to phone"},
		{g, "sip-gateway", "sip-proxy", protoUDP, 5060, false, "the SIP Proxy meets the Edge gateway on 5058/5059 only"},
		{g, "sip-proxy", "edge", protoUDP, 5058, true, "SIP (on Edge Gateway) TCP/UDP 5058"},
		{g, "cic-server", "cic-server", protoUDP, 5060, false, "no CIC to CIC SIP"},
		{g, "ip-phone", "sip-bridge", protoUDP, 5060, false, "the SIP Bridge is drawn with the soft phone only"},
		{g, "soft-phone", "sip-bridge", protoUDP, 5060, true, "IP Soft phone ↔ Interaction SIP Bridge"},
		{g, "exchange-server", "cic-server", protoUDP, 5060, true, "Exchange ← SIP TCP/UDP 5060 (Mail Server Integration)"},
		{g, "exchange-server", "ip-phone", protoUDP, 5060, false, "Exchange is drawn with the CIC servers only"},
		{g, "ip-phone", "cic-server", protoTCP, 5061, false, "IP phones reach the CIC servers on 5060 and 8060 only"},
		{g, "soft-phone", "cic-server", protoTCP, 5061, true, "soft phone → CIC TLS/TCP 5061"},
		{g, "sip-gateway", "cic-server", protoUDP, 8060, false, "8060 is the stations' port"},
		{g, "ip-phone", "cic-server", protoUDP, 8060, true, "IP phone ↔ CIC SIP TCP/UDP 8060"},
		{g, "sip-proxy", "sip-proxy", protoTCP, 8088, false, "Provision from Proxy: phone → proxy → CIC"},
		{g, "sip-proxy", "cic-server", protoTCP, 8088, true, "Interaction SIP Proxy → CIC Servers HTTP (Provisioning) TCP 8088"},
		{g, "workstation", "recording-storage", protoTCP, 445, false, "change log 12-March-2018 removed SMB to recording storage from workstations"},
		{g, "irrcs", "recording-storage", protoTCP, 445, true, "IRRCS → Recording storage SMB TCP 445"},
		{g, "cic-server", "cic-server", protoTCP, 445, false, "no CIC to CIC SMB"},
		{g, "cic-server", "cic-server", protoTCP, 389, false, "LDAP is drawn between CIC and AD / LDAP server, LDS between IWP and CIC"},
		{g, "iwp-server", "cic-server", protoTCP, 389, true, "IWP ↔ LDS TCP 389"},
		{g, "cic-server", "irrcs", protoTCP, 8106, true, "CIC ↔ IRRCS 8106 (change log 22-June-2017: bidirectional)"},
		{g, "irrcs", "iwp-server", protoTCP, 8106, false, "IWP → IRRCS is one-way"},
		{g, "cic-server", "ccs", protoTCP, 3633, false, "← Switchover TCP 3633: the CCS opens it"},
		{g, "ccs", "cic-server", protoTCP, 3633, true, "← Switchover TCP 3633"},
		{g, "ccs", "ossm", protoTCP, 3952, false, "only workstations reach the OSSM on 3952"},
		{g, "workstation", "ossm", protoTCP, 3952, true, "Workstation ↔ OSSM IceLib Client Communications TCP TLS 3952"},
		{g, "reverse-proxy", "ossm", protoTCP, 8018, false, "the reverse proxy is drawn with the CIC servers only"},
		{g, "asr-server", "cic-server", protoTCP, 5597, false, "the speech diagrams draw Notifier from the media server"},
		{g, "media-server", "cic-server", protoTCP, 5597, true, "Interaction Media Server → CIC Notifier TCP SSL 5597"},
		{s, "pstn-gateway", "workstation", protoUDP, 5004, false, "calls via a PSTN gateway consume ports on a MRS server"},
		{s, "mrs", "workstation", protoUDP, 5004, true, "relaying all voice streams to a MRS server"},
		{s, "pstn-gateway", "mrs", protoUDP, 8000, true, "calls going via a PSTN gateway are consuming ports on a MRS server"},
		{s, "cc-server", "mrs", protoUDP, 8000, false, "the document names CDT and PSTN gateway as MRS media peers"},
		{im, "ucx-server", "call-manager", protoUDP, 5060, true, "Interactions with the Calling Platform: SIP IN/OUT UDP 5060"},
		// UDP 5060 to a voice gateway is inside the RTP/T.38 "UDP > 1024" range, so the SIP
		// narrowing shows on the TCP ports.
		{im, "ucx-server", "voice-gateway", protoTCP, 5062, false, "the voice gateways' table lists HTTP and RTP/T.38 only"},
		{im, "voice-gateway", "ucx-server", protoTCP, 1720, false, "H.323 is stated with the Calling Platform"},
		{im, "call-manager", "ucx-server", protoTCP, 1720, true, "H.323 IN/OUT TCP 1720"},
		{im, "voice-gateway", "ucx-server", protoUDP, 5000, true, "RTP/T.38 IN/OUT with IP phones and other telephony devices"},
	} {
		if got := allows(ix, tc.vendor, tc.from, tc.to, tc.proto, tc.port); got != tc.want {
			t.Errorf("%s %s -> %s %d/%d: allowed %v, want %v (%s)", tc.vendor, tc.from, tc.to, tc.port, tc.proto, got, tc.want, tc.why)
		}
	}
}
