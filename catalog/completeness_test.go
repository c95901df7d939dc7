package catalog

import (
	"net/netip"
	"strings"
	"testing"
)

// documentPorts holds, per vendor, every (transport, port or range) its
// document states, written down by reading the document top to bottom,
// independently of the YAML files, so a port dropped from a data file
// fails here. Notation: "tcp 5597", "udp 5004-5030/even", "udp >1024",
// "tcp any", "udp dynamic" (RTP negotiated by SIP), "tcp unspecified"
// (flow stated without a number: "TCP nnn", "No default", "-"). "TCP/UDP
// n" is written as two items; "TLS n" and "TCP/TLS n" as tcp.
var documentPorts = map[string][]string{
	// 000_9e35c2777d8e9ed5.txt, each diagram in order; ports repeated in
	// later diagrams are listed again only when the transport differs.
	"genesys-pureconnect": {
		// Default web interfaces: IMS packaged, IMS software, SIP Proxy, IMSS.
		"tcp 8083", "tcp 446", "tcp 8084", "tcp 443", "tcp 8080", "tcp 442", "tcp 8190", "tcp 8191",
		// Client operations: Notifier (change log: 6235 is UDP), Session
		// Manager, SMB, ION, Interactive Update, ClientApp, ClientConfig,
		// Screen Recorder reverse proxy, ICBM to IRRCS.
		"tcp 5597", "tcp 6234", "udp 6235", "tcp 2633", "tcp 3952", "tcp 445",
		"tcp 8018", "tcp 8108", "tcp 8019", "tcp 8109", "tcp 8092", "tcp 80", "tcp 8094", "tcp 8042",
		"tcp 8106", "tcp 8107",
		// Interaction Edge: General, hosted IMS, hosted SIP Proxy, Gateway.
		"tcp 8081", "tcp 20", "tcp 21", "tcp 8082", "tcp 444", "tcp 623", "udp 623", "tcp 5900",
		"tcp 8112", "tcp 8113", "tcp 8098", "tcp 8102", "tcp 8103",
		"udp 32768-40960", "udp 40961-49152", "udp 6000-9291",
		"tcp 8088", "tcp 8089", "tcp 5060", "udp 5060", "tcp 5061", "tcp 5058", "udp 5058", "tcp 5059",
		// Database and CRM: Oracle, MS SQL (TCP 1434 per the 2018 change log), IIS.
		"tcp 1521", "tcp 1433", "tcp 1434", "tcp 3508",
		// Mail Server Integration.
		"udp dynamic", "tcp 135", "tcp 389", "tcp 636", "tcp 135-139", "tcp 7191", "tcp 465", "tcp 993", "tcp 1352",
		// IWP and Marquee.
		"tcp 8070",
		// IP Phone Operations: phone RTP ranges, 8060, NTP, DHCP, DNS.
		"udp 2222-2269", "udp 2222-2317", "udp 4000-4003", "udp 4000-4001",
		"tcp 8060", "udp 8060", "udp 123", "udp 67", "udp 53",
		// SIP Communication: SIP Bridge provisioning, TLS 8061.
		"tcp 8078", "tcp 8079", "tcp 8061",
		// Interaction Media Server range.
		"udp 16384-32767",
		// Off-Server Session Manager WebSocket.
		"tcp 8951", "tcp 8952",
		// Interaction Media Streaming Server.
		"tcp 6060", "udp 6060", "tcp 6061", "tcp 8104", "tcp 8105", "tcp 143", "tcp 139",
		// Interaction Dialer.
		"tcp 8122", "tcp 3633",
		// Interaction Web Tools.
		"tcp 8114",
		// Monitoring and Management.
		"udp 161", "udp 162", "tcp 8096", "tcp 8097", "udp 8888", "tcp 3389", "tcp 8443", "tcp 343", "tcp 4433",
		// Speech Recognition.
		"tcp 8086", "tcp 8100", "tcp 8120", "udp 10000-60000", "udp 16384-32768",
		// Text-to-Speech.
		"udp 7892-9091", "tcp 6075", "udp 6075", "tcp 6076",
		// Single Sign-On.
		"tcp 8043", "tcp unspecified",
		// VoiceXML.
		"tcp 8140", "tcp 8142", "tcp 8090", "tcp 8091",
	},
	// 001_7ac725733a5d06a8.txt, one table per component; HAC's protocol
	// column names no transport, taken as TCP.
	"sinch-contact-center": {
		"tcp 21018", "tcp 21013", "tcp 21000", "tcp 21019", "tcp unspecified", "tcp 8088", "tcp 21004", "tcp 21020",
		"udp 5004-5030/even", "udp 5005-5031/odd", "tcp 21002", "tcp 21017", "tcp 21009", "tcp 21021",
		"tcp 443", "tcp 21024", "tcp 21015", "tcp 21008", "tcp 21003", "tcp 1720", "tcp 21012", "tcp 21014",
		"tcp 21010", "udp 8000-8400", "udp 9000-10200", // MRS areas with the documented defaults
		"tcp 21097", "tcp 21022", "tcp 21016", "tcp 21006", "tcp 21007", "udp 5060", "tcp 5060", "tcp 5061",
		"tcp 21023", "tcp 80",
	},
	// 002_c8e1890840900af9.txt, table by table; "Any (TCP)" is tcp any,
	// "TCP nnn" tcp unspecified, "UDP > 1024" udp >1024.
	"imagicle-ucx": {
		// Company infrastructure.
		"tcp 389", "tcp any", "tcp 25", "tcp 465", "tcp 143", "tcp 993", "tcp 110", "tcp 995", "tcp 443",
		"udp 137", "udp 138", "tcp 139", "tcp 445", "udp 445", "tcp unspecified",
		// Console clients.
		"tcp 51234", "tcp 51235", "tcp 51236", "tcp 21050", "tcp 80",
		// MS Teams.
		"udp 3478-3481",
		// Cloud services.
		"tcp 8443",
		// Calling platform.
		"tcp 8080", "tcp 2748", "udp 5060", "udp 5062", "tcp 5062", "tcp 5063", "udp 5064", "udp 5066",
		"udp 5070", "tcp 5070", "tcp 5071", "tcp 5061", "tcp 1720", "tcp 1721", "udp >1024", "udp >=5000",
		"tcp 21", "tcp 22",
		// Cluster nodes.
		"tcp 1433", "udp 1434", "tcp 3389", "tcp 52000-52999", "tcp 4369", "tcp 5672", "tcp 15672", "tcp 25672",
		// Other: HA full connectivity on any TCP/UDP port.
		"udp any",
	},
	// 003_54a6dbf1ae5e64f2.txt, the three port tables.
	"incontact-wfo": {
		"tcp 2010", "tcp 443", "tcp 4510", "tcp 2020", "tcp 5650", "tcp 943", "tcp 5638", "tcp 5672",
		"tcp 5633", "tcp 5634",
	},
	// 004_f384c0982fc9ee16.txt, outbound list and the inbound table.
	"tegsoft": {
		"tcp 80", "tcp 443", "tcp 2222", "tcp 5060", "udp 5060", "udp 10000", "udp 20000",
		"tcp 50000", "tcp 8009", "tcp 8089",
	},
}

// documentDestinations are the cloud destinations the documents name.
var documentDestinations = map[string][]string{
	"genesys-pureconnect": {"updates.inin.com"},
	"imagicle-ucx": {
		"20.202.0.0/16", "52.112.0.0/14", "52.120.0.0/14",
		"*.skype.com", "*.microsoft.com", "*.azure.net", "*.azure.com", "*.office.com",
		"*.imagicle.cloud", "api.imagicle.com", "*.amazoncognito.com", "*.amazonaws.com", "*.imagicle.com",
	},
	"tegsoft": {"tegsoft.com", "telescope.tegsoft.com", "159.122.86.236", "158.177.43.56", "159.122.86.228"},
}

func TestCompleteness(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for vendor, items := range documentPorts {
		entries := c.EntriesOf(vendor)
		if len(entries) == 0 {
			t.Errorf("vendor %s has no entries", vendor)
			continue
		}
		for _, item := range items {
			proto, tok, _ := strings.Cut(item, " ")
			if !slicesAny(entries, func(e *Entry) bool { return coversToken(e, proto, tok) }) {
				t.Errorf("%s: document states %q, no entry covers it", vendor, item)
			}
		}
	}
}

func slicesAny(es []*Entry, f func(*Entry) bool) bool {
	for _, e := range es {
		if f(e) {
			return true
		}
	}
	return false
}

// coversToken reports whether e, on its own, covers every port of tok
// with the transport proto.
func coversToken(e *Entry, proto, tok string) bool {
	p := uint8(protoTCP)
	if proto == "udp" {
		p = protoUDP
	}
	if !e.Transport.Matches(p) {
		return false
	}
	want, err := ParsePorts(tok)
	if err != nil {
		panic(err)
	}
	switch {
	case want.Dynamic:
		return e.Ports.Dynamic
	case want.Unspecified:
		return e.Ports.Unspecified || e.FromPorts.Unspecified
	}
	sets := []PortSet{e.Ports, e.FromPorts}
	for _, r := range want.Ranges {
		for port := int(r.Lo); port <= int(r.Hi); port++ {
			if !r.Contains(uint16(port)) {
				continue
			}
			if !sets[0].Contains(uint16(port)) && !sets[1].Contains(uint16(port)) {
				return false
			}
		}
		// An even-only range must not be stated as covering odd ports.
		if r.Parity != AllPorts {
			odd := r.Lo + 1
			if odd <= r.Hi && (sets[0].Contains(odd) || sets[1].Contains(odd)) {
				return false
			}
		}
	}
	return true
}

func TestCompletenessDestinations(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for vendor, dests := range documentDestinations {
		for _, d := range dests {
			found := slicesAny(c.EntriesOf(vendor), func(e *Entry) bool {
				if a, err := netip.ParseAddr(d); err == nil {
					for _, p := range e.CIDRs {
						if p.Contains(a) {
							return true
						}
					}
					return false
				}
				if p, err := netip.ParsePrefix(d); err == nil {
					for _, q := range e.CIDRs {
						if q == p {
							return true
						}
					}
					return false
				}
				for _, f := range e.FQDNs {
					if f == d {
						return true
					}
				}
				return false
			})
			if !found {
				t.Errorf("%s: document names destination %s, no entry lists it", vendor, d)
			}
		}
	}
}

// The Genesys change log corrects Notifier 6235 to UDP; no entry may keep
// the superseded TCP 6235, and Interaction Edge ports are not configurable.
func TestDocumentCorrections(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndex(c.EntriesOf("genesys-pureconnect"))
	if got := ix.Lookup(protoTCP, 6235, nil); len(got) != 0 {
		t.Errorf("TCP 6235 still in the Genesys catalog: %s", got[0].ID)
	}
	if got := ix.Lookup(protoUDP, 6235, nil); len(got) == 0 {
		t.Error("UDP 6235 (Notifier) missing")
	}
	for _, e := range c.EntriesOf("genesys-pureconnect") {
		if strings.HasPrefix(e.ID, "genesys-pureconnect/edge-") && e.Configurable {
			t.Errorf("%s: Interaction Edge ports cannot be changed", e.ID)
		}
	}
	if e, _ := c.Entry("genesys-pureconnect/notifier-tls"); e == nil || !e.Configurable || e.TLS != TLSRequired {
		t.Errorf("notifier-tls: want a configurable TLS entry, got %+v", e)
	}
}

func TestEveryEntryTraceable(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{}
	for _, v := range c.Vendors() {
		docs[v.ID] = v.Document
	}
	for _, e := range c.Entries() {
		if e.Source.Document != docs[e.Vendor] || e.Source.Section == "" {
			t.Errorf("%s: source %q does not name the vendor document %s and a section", e.ID, e.Source, docs[e.Vendor])
		}
	}
	if got := len(c.Vendors()); got != 5 {
		t.Errorf("got %d vendors, want 5", got)
	}
}

// The Genesys document draws a plain and a secured variant of one service
// side by side ("HTTP TCP 8084 /WAN  TCP/TLS 443 /WAN", "SIP TCP/UDP 5060
// /WAN  TLS/TCP 5061"): a host pair uses one of them, so each set below is
// one alternative group, and entries of different sets are not.
func TestGenesysAlternativeGroups(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	groups := [][]string{
		{"media-server-web-http-packaged", "media-server-web-https-packaged", "media-server-web-http", "media-server-web-https"},
		{"fax-retrieval-http", "fax-retrieval-https"},
		{"recording-retrieval-http", "recording-retrieval-https"},
		{"sip", "sip-tls"},
		{"sip-phones", "sip-tls-phones"},
		{"sip-soft-phone-bridge", "sip-tls-soft-phone-bridge"},
		{"cic-sip-8060", "cic-sip-8061-tls"},
		{"sip-provisioning-http", "sip-provisioning-https"},
		{"sip-provisioning-http-proxy", "sip-provisioning-https-proxy"},
		{"sip-bridge-provisioning-http", "sip-bridge-provisioning-https"},
		{"sip-bridge-provisioning-http-cic", "sip-bridge-provisioning-https-cic"},
	}
	seen := map[string]int{}
	for i, g := range groups {
		var name string
		for _, id := range g {
			e, ok := c.Entry("genesys-pureconnect/" + id)
			switch {
			case !ok:
				t.Errorf("%s: no such entry", id)
				continue
			case e.OneOf == "":
				t.Errorf("%s: in no one_of group, want the group of %v", id, g)
				continue
			case name == "":
				name = e.OneOf
			case e.OneOf != name:
				t.Errorf("%s: one_of %q, want %q as %s", id, e.OneOf, name, g[0])
			}
			if j, ok := seen[e.OneOf]; ok && j != i {
				t.Errorf("%s: one_of %q also holds %v", id, e.OneOf, groups[j])
			}
			seen[e.OneOf] = i
		}
	}
}
