package verdict_test

import (
	"cmp"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/classify/verdict"
)

// postureCatalog adds what the acme catalog lacks for the posture checks:
// a cloud entry known by addresses only, an entry whose document states a
// TLS version, and SMB, whose "tls: required" is not TLS. All optional,
// so the missing check ignores them.
const postureCatalog = `schema: 1
vendor:
  id: cloudy
  name: Cloudy
  document: cloudy.txt
  defaults: {section: Ports}
  roles: {agent: agent PC, server: server, relay: media relay}
entries:
  - {id: relay, component: Media relay, from: agent, to: relay, transport: tcp, ports: 443, app: https, tls: required, required: false, cidrs: [198.18.0.0/16]}
  - {id: cti, component: CTI server (TLS 1.3), from: agent, to: server, transport: tcp, ports: 9443, app: cti, tls: required, required: false}
  - {id: files, component: File share, from: agent, to: server, transport: tcp, ports: 445, app: smb, tls: required, required: false}
`

func postureClassifier(t testing.TB, withInventory, tlsInspected bool) *verdict.Classifier {
	t.Helper()
	cat := loadTestCatalog(t)
	extra, err := catalog.Load(strings.NewReader(postureCatalog), "cloudy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.Merge(extra); err != nil {
		t.Fatal(err)
	}
	cfg := verdict.Config{Catalog: cat, TLSInspected: tlsInspected}
	if withInventory {
		inv, err := catalog.ReadInventory(strings.NewReader(strings.Replace(testInventory, "vendors: [acme]", "vendors: [acme, cloudy]", 1)), "lab.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if err := inv.Check(cat); err != nil {
			t.Fatal(err)
		}
		cfg.Inventory = inv
	}
	cl, err := verdict.NewClassifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func tlsMeta(version string) flow.Meta { return flow.Meta{App: "tls", TLSVersion: version} }

// Connections without data or without a handshake the capture saw.
var (
	handshakeOnly = []pkt{{true, syn, 0}, {false, synack, 0}, {true, ack, 0}, {true, finack, 0}, {false, finack, 0}}
	midStream     = []pkt{{true, ack, 100}, {false, ack, 200}}
)

func TestTLSPosture(t *testing.T) {
	type tc struct {
		name string
		flow func(t *testing.T) *flow.Flow
		want want
	}
	withInventory := []tc{
		{"TLS 1.0 on a TLS entry", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, tcp, "10.1.0.5:50000", "10.0.0.10:7597", handshake), tlsMeta("TLS 1.0"))
		}, want{verdict: verdict.Expected, kind: verdict.KindTLSTooOld, entry: "acme/notifier", by: verdict.ByParser, reason: "TLS 1.0 negotiated: below the TLS 1.2 minimum", severity: verdict.High}},
		{"SSL 3.0", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, tcp, "10.1.0.5:50000", "10.0.0.10:7597", handshake), tlsMeta("SSL 3.0"))
		}, want{verdict: verdict.Expected, kind: verdict.KindTLSTooOld, entry: "acme/notifier", by: verdict.ByParser, reason: "SSL 3.0 negotiated", severity: verdict.High}},
		{"no ServerHello: the highest version offered", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, tcp, "10.1.0.5:50000", "10.0.0.10:7597", handshake), flow.Meta{App: "tls", TLSOfferedMax: 0x0302, TLSOfferedMin: 0x0301})
		}, want{verdict: verdict.Expected, kind: verdict.KindTLSTooOld, entry: "acme/notifier", by: verdict.ByParser, reason: "offered at most TLS 1.1", severity: verdict.High}},
		{"TLS 1.2 is fine", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, tcp, "10.1.0.5:50000", "10.0.0.10:7597", handshake), tlsMeta("TLS 1.2"))
		}, want{verdict: verdict.Expected, entry: "acme/notifier", by: verdict.ByParser, reason: "Notifier"}},
		{"a client offering 1.0 to 1.3 that got 1.3 is fine", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, tcp, "10.1.0.5:50000", "10.0.0.10:7597", handshake), flow.Meta{App: "tls", TLSVersion: "TLS 1.3", TLSOfferedMax: 0x0304, TLSOfferedMin: 0x0301})
		}, want{verdict: verdict.Expected, entry: "acme/notifier", by: verdict.ByParser}},
		{"the document requires TLS 1.3", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, tcp, "10.1.0.5:50000", "10.0.0.10:9443", handshake), tlsMeta("TLS 1.2"))
		}, want{verdict: verdict.Expected, kind: verdict.KindTLSTooOld, entry: "cloudy/cti", by: verdict.ByCatalog, reason: "TLS 1.2 negotiated: below TLS 1.3, which CTI server (TLS 1.3) requires (cloudy/cti)", severity: verdict.High}},
		{"plaintext where TLS is required", func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.1.0.5:50000", "10.0.0.10:7597", handshake)
		}, want{verdict: verdict.Expected, kind: verdict.KindPlaintextOnTLSPort, entry: "acme/notifier", by: verdict.ByCatalog, reason: "TLS required, but the connection exchanged data without a TLS handshake", severity: verdict.High}},
		{"TLS after a STARTTLS hand-over is TLS", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, tcp, "10.1.0.5:50000", "10.0.0.10:7597", handshake), flow.Meta{App: "smtp+tls", TLSVersion: "TLS 1.2"})
		}, want{verdict: verdict.Expected, entry: "acme/notifier", by: verdict.ByCatalog}},
		{"an upgraded label confirms the entry of its protocol", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, tcp, "10.0.0.10:50000", "10.0.0.20:1433", handshake), flow.Meta{App: "sql+tls", TLSVersion: "TLS 1.3"})
		}, want{verdict: verdict.Expected, entry: "acme/db", by: verdict.ByParser}},
		{"another parser recognised plaintext", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, tcp, "10.0.0.10:50000", "192.0.2.7:443", handshake), flow.Meta{App: "sip"})
		}, want{verdict: verdict.Expected, kind: verdict.KindPlaintextOnTLSPort, entry: "acme/cloud-api", by: verdict.ByCatalog, severity: verdict.High}},
		{"payload cut by the snap length: nothing to judge", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, tcp, "10.1.0.5:50000", "10.0.0.10:7597", handshake), flow.Meta{PayloadCut: true})
		}, want{verdict: verdict.Expected, entry: "acme/notifier", by: verdict.ByCatalog}},
		{"no data: nothing to judge", func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.1.0.5:50000", "10.0.0.10:7597", handshakeOnly)
		}, want{verdict: verdict.Expected, entry: "acme/notifier", by: verdict.ByCatalog}},
		{"handshake not captured: the dissector missed the start", func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.1.0.5:50000", "10.0.0.10:7597", midStream)
		}, want{verdict: verdict.Expected, entry: "acme/notifier", by: verdict.ByCatalog}},
		{"SMB encryption is not TLS", func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.1.0.5:50000", "10.0.0.10:445", handshake)
		}, want{verdict: verdict.Expected, entry: "cloudy/files", by: verdict.ByCatalog}},
		{"plain HTTP on an HTTPS port", func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.1.0.5:50000", "10.0.0.10:8443", handshake)
		}, want{verdict: verdict.Expected, kind: verdict.KindNotTLSOnHTTPSPort, entry: "acme/admin", by: verdict.ByCatalog, reason: "HTTPS, but the connection exchanged data without a TLS handshake", severity: verdict.Medium}},
		{"HTTPS on the HTTPS port", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, tcp, "10.1.0.5:50000", "10.0.0.10:8443", handshake), tlsMeta("TLS 1.3"))
		}, want{verdict: verdict.Expected, entry: "acme/admin", by: verdict.ByCatalog}},
		{"SNI none of the cloud entry's names", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, tcp, "10.0.0.10:50000", "192.0.2.7:443", handshake), flow.Meta{App: "tls", TLSVersion: "TLS 1.3", SNI: "files.example.net"})
		}, want{verdict: verdict.Expected, kind: verdict.KindSNINotInCatalog, entry: "acme/cloud-api", by: verdict.ByCatalog, reason: "the TLS SNI is none of its names (*.acme.cloud)", severity: verdict.Low}},
		{"SNI one of its names", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, tcp, "10.0.0.10:50000", "192.0.2.7:443", handshake), flow.Meta{App: "tls", TLSVersion: "TLS 1.3", SNI: "EU.acme.cloud"})
		}, want{verdict: verdict.Expected, entry: "acme/cloud-api", by: verdict.ByCatalog, reason: "(destination in the entry's cloud addresses)"}},
		{"cloud reached by address only", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, tcp, "10.0.0.10:50000", "192.0.2.7:443", handshake), tlsMeta("TLS 1.3"))
		}, want{verdict: verdict.Expected, entry: "acme/cloud-api", by: verdict.ByCatalog, reason: "reached by address: no TLS SNI or DNS name"}},
		{"cloud reached by address, DNS named it", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, tcp, "10.0.0.10:50000", "192.0.2.7:443", handshake), flow.Meta{App: "tls", TLSVersion: "TLS 1.3", ServerName: "eu.acme.cloud"})
		}, want{verdict: verdict.Expected, entry: "acme/cloud-api", by: verdict.ByCatalog, reason: "(destination in the entry's cloud addresses)"}},
		{"addresses-only entry, SNI some entry lists", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, tcp, "10.1.0.5:50000", "198.18.3.4:443", handshake), flow.Meta{App: "tls", TLSVersion: "TLS 1.3", SNI: "eu.acme.cloud"})
		}, want{verdict: verdict.Expected, entry: "cloudy/relay", by: verdict.ByCatalog}},
		{"addresses-only entry, SNI no entry lists", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, tcp, "10.1.0.5:50000", "198.18.3.4:443", handshake), flow.Meta{App: "tls", TLSVersion: "TLS 1.3", SNI: "tunnel.example.org"})
		}, want{verdict: verdict.Expected, kind: verdict.KindSNINotInCatalog, entry: "cloudy/relay", by: verdict.ByCatalog, reason: "a name no catalog entry lists", severity: verdict.Low}},
		{"an old version outranks the SNI", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, tcp, "10.0.0.10:50000", "192.0.2.7:443", handshake), flow.Meta{App: "tls", TLSVersion: "TLS 1.1", SNI: "files.example.net"})
		}, want{verdict: verdict.Expected, kind: verdict.KindTLSTooOld, entry: "acme/cloud-api", by: verdict.ByCatalog, severity: verdict.High}},
		{"unexpected stays unexpected", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, tcp, "10.1.0.5:50000", "10.3.0.7:23", handshake), tlsMeta("TLS 1.0"))
		}, want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, severity: verdict.Medium}},
		{"blocked stays blocked", func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.1.0.5:50000", "10.0.0.10:7597", []pkt{{true, syn, 0}, {false, rstack, 0}})
		}, want{verdict: verdict.Blocked, kind: verdict.KindBlocked, entry: "acme/notifier", by: verdict.ByCatalog, severity: verdict.High}},
	}
	portOnly := []tc{
		{"TLS 1.1 by port", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, tcp, "10.1.0.5:50000", "10.0.0.10:5597", handshake), tlsMeta("TLS 1.1"))
		}, want{verdict: verdict.Expected, kind: verdict.KindTLSTooOld, entry: "acme/notifier", by: verdict.ByParser, reason: "TLS 1.1 negotiated", severity: verdict.High}},
		{"plaintext by port", func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.1.0.5:50000", "10.0.0.10:5597", handshake)
		}, want{verdict: verdict.Expected, kind: verdict.KindPlaintextOnTLSPort, entry: "acme/notifier", by: verdict.ByPort, severity: verdict.High}},
		{"plain HTTP by port", func(t *testing.T) *flow.Flow {
			return play(t, tcp, "10.1.0.5:50000", "10.0.0.10:8443", handshake)
		}, want{verdict: verdict.Expected, kind: verdict.KindNotTLSOnHTTPSPort, entry: "acme/admin", by: verdict.ByPort, severity: verdict.Medium}},
		{"SNI not the cloud entry's", func(t *testing.T) *flow.Flow {
			return withMeta(play(t, tcp, "10.0.0.10:50000", "192.0.2.7:443", handshake), flow.Meta{App: "tls", TLSVersion: "TLS 1.2", SNI: "files.example.net"})
		}, want{verdict: verdict.Expected, kind: verdict.KindSNINotInCatalog, entry: "acme/cloud-api", by: verdict.ByCatalog, severity: verdict.Low}},
	}
	var r verdict.Result
	for _, mode := range []struct {
		name  string
		inv   bool
		cases []tc
	}{{"inventory", true, withInventory}, {"port-only", false, portOnly}} {
		cl := postureClassifier(t, mode.inv, true)
		for _, tt := range mode.cases {
			t.Run(mode.name+"/"+tt.name, func(t *testing.T) {
				cl.Classify(tt.flow(t), &r)
				check(t, &r, tt.want)
			})
		}
	}
}

// Without the TLS dissector an unlabelled connection proves nothing.
func TestPlaintextNeedsTheDissector(t *testing.T) {
	var r verdict.Result
	for _, inv := range []bool{true, false} {
		cl := postureClassifier(t, inv, false)
		port := "7597"
		if !inv {
			port = "5597"
		}
		cl.Classify(play(t, tcp, "10.1.0.5:50000", "10.0.0.10:"+port, handshake), &r)
		if r.Verdict != verdict.Expected || r.Kind != "" {
			t.Errorf("inventory=%v: %v %q (%s) without TLSInspected", inv, r.Verdict, r.Kind, r.Reason)
		}
		cl.Classify(play(t, tcp, "10.1.0.5:50000", "10.0.0.10:8443", handshake), &r)
		if r.Kind != "" {
			t.Errorf("inventory=%v: https port: %q without TLSInspected", inv, r.Kind)
		}
	}
}

func rtpMeta(callID string) flow.Meta { return flow.Meta{App: "rtp", CallID: callID} }

func TestUnexpectedMedia(t *testing.T) {
	cat := loadTestCatalog(t)
	inv := loadTestInventory(t, cat)
	tests := []struct {
		name string
		inv  bool
		flow func(t *testing.T) *flow.Flow
		want want
	}{
		{"media by content nothing allows", true, func(t *testing.T) *flow.Flow {
			return withMeta(play(t, udp, "10.3.0.7:40000", "10.0.0.10:40002", exchange), rtpMeta(""))
		}, want{verdict: verdict.Unexpected, kind: verdict.KindUnexpectedMedia, entry: "acme/trunk", from: "phone", to: "server", reason: "no SIP/SDP signalling seen", severity: verdict.Medium}},
		{"answered by ICMP unreachable", true, func(t *testing.T) *flow.Flow {
			return withMeta(unreachable(t, "10.3.0.7:40000", "10.0.0.10:40002"), rtpMeta(""))
		}, want{verdict: verdict.Unexpected, kind: verdict.KindUnexpectedMedia, entry: "acme/trunk", reason: "answered by ICMP unreachable"}},
		{"unknown host: low", true, func(t *testing.T) *flow.Flow {
			return withMeta(play(t, udp, "10.9.9.9:40000", "10.0.0.10:40002", exchange), flow.Meta{App: "rtcp"})
		}, want{verdict: verdict.Unexpected, kind: verdict.KindUnexpectedMedia, severity: verdict.Low}},
		{"a fixed range allows it: expected, noted", true, func(t *testing.T) *flow.Flow {
			return withMeta(play(t, udp, "10.3.0.7:40000", "10.0.0.10:5006", exchange), rtpMeta(""))
		}, want{verdict: verdict.Expected, entry: "acme/cdt-rtp", by: verdict.ByParser, reason: "media without signalling seen"}},
		{"the usual range of negotiated media allows it", true, func(t *testing.T) *flow.Flow {
			return withMeta(play(t, udp, "10.3.0.7:40000", "10.0.0.10:16500", exchange), rtpMeta(""))
		}, want{verdict: verdict.Expected, entry: "acme/media", by: verdict.ByParser, reason: "usual range for negotiated media); media without signalling seen"}},
		{"labelled by signalling: not by content", true, func(t *testing.T) *flow.Flow {
			return withMeta(play(t, udp, "10.3.0.7:40000", "10.0.0.10:40002", exchange), rtpMeta("c1@lab"))
		}, want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, entry: "acme/trunk"}},
		{"other UDP stays unexpected", true, func(t *testing.T) *flow.Flow {
			return play(t, udp, "10.3.0.7:40000", "10.0.0.10:40002", exchange)
		}, want{verdict: verdict.Unexpected, kind: verdict.KindUnexpected, entry: "acme/trunk"}},
		{"port-only: the dynamic range says nothing", false, func(t *testing.T) *flow.Flow {
			return withMeta(play(t, udp, "10.3.0.7:40000", "10.0.0.10:16500", exchange), rtpMeta(""))
		}, want{verdict: verdict.Unexpected, kind: verdict.KindUnexpectedMedia, severity: verdict.Low}},
		{"port-only: a fixed range allows it", false, func(t *testing.T) *flow.Flow {
			return withMeta(play(t, udp, "10.3.0.7:40000", "10.0.0.10:5006", exchange), rtpMeta(""))
		}, want{verdict: verdict.Expected, entry: "acme/cdt-rtp", by: verdict.ByParser, reason: "port-only"}},
	}
	var r verdict.Result
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := verdict.Config{Catalog: cat}
			if tt.inv {
				cfg.Inventory = inv
			}
			cl, err := verdict.NewClassifier(cfg)
			if err != nil {
				t.Fatal(err)
			}
			cl.Classify(tt.flow(t), &r)
			check(t, &r, tt.want)
		})
	}
}

// mediaSite runs three vendors with documented media ranges, and moves the
// Sinch MRS prompt area with the site's parameters.
const mediaSite = `schema: 1
site: media
vendors: [genesys-pureconnect, imagicle-ucx, sinch-contact-center]
parameters:
  sinch-contact-center/mrs-prompt-first-port: 20000
  sinch-contact-center/mrs-max-prompts: 100
roles:
  media-server: [10.1.0.20]
  ip-phone: [10.30.0.0/16]
  sip-gateway: [203.0.113.10]
  ucx-server: [10.2.0.5]
  call-manager: [10.2.0.9]
  mrs: [10.4.0.7]
  pstn-gateway: [10.4.0.1]
`

func TestMediaOutsideDocumentedRange(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	inv, err := catalog.ReadInventory(strings.NewReader(mediaSite), "media.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := inv.Check(cat); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		vendors []string // port-only mode when set
		client  string
		server  string
		media   uint16 // port the signalling negotiated
		want    want
		// finding is "dst:port entry" of the finding ("-": no entry), ""
		// for none. Its entry is the one whose documented range the media
		// missed, which need not be the flow's entry (the credited side's).
		finding string
	}{
		{"media server inside its range", nil, "10.30.1.2:4000", "10.1.0.20:16500", 16500,
			want{verdict: verdict.Negotiated, entry: "genesys-pureconnect/media-server-rtp", by: verdict.BySDP, reason: "SIP/SDP"}, ""},
		// The phone's side lies in its model's documented range: that
		// entry is credited, and the media server's side is judged.
		{"media server outside its range", nil, "10.30.1.2:4000", "10.1.0.20:40000", 40000,
			want{verdict: verdict.Negotiated, kind: verdict.KindMediaOutsideRange, entry: "genesys-pureconnect/phone-rtp-audiocodes", by: verdict.BySDP,
				reason: "Interaction Media Server RTP documents for media-server: 16384-32767/udp (genesys-pureconnect/media-server-rtp)", severity: verdict.Medium}, "10.1.0.20:40000 genesys-pureconnect/media-server-rtp"},
		{"phone outside the phone ranges, media server sent first", nil, "10.1.0.20:16500", "10.30.1.2:5004", 16500,
			want{verdict: verdict.Negotiated, kind: verdict.KindMediaOutsideRange, entry: "genesys-pureconnect/media-server-rtp", by: verdict.BySDP, reason: "Polycom VVX-1500 RTP ports documents for ip-phone", severity: verdict.Medium}, "10.30.1.2:5004 genesys-pureconnect/phone-rtp-polycom-vvx1500"},
		{"phone outside, phone sent first: the finding names the phone", nil, "10.30.1.2:5004", "10.1.0.20:16500", 16500,
			want{verdict: verdict.Negotiated, kind: verdict.KindMediaOutsideRange, entry: "genesys-pureconnect/media-server-rtp", by: verdict.BySDP, reason: "documents for ip-phone"}, "10.30.1.2:5004 genesys-pureconnect/phone-rtp-polycom-vvx1500"},
		{"gateway ports are left to signalling", nil, "10.30.1.2:4002", "203.0.113.10:31000", 31000,
			want{verdict: verdict.Negotiated, entry: "genesys-pureconnect/phone-rtp-audiocodes", by: verdict.BySDP}, ""},
		{"imagicle server below its >= 5000", nil, "10.2.0.5:4000", "10.2.0.9:20000", 20000,
			want{verdict: verdict.Negotiated, kind: verdict.KindMediaOutsideRange, entry: "imagicle-ucx/rtp", by: verdict.BySDP, reason: "RTP voice and T.38 fax streams documents for ucx-server: >=5000/udp (imagicle-ucx/rtp)"}, "10.2.0.5:4000 imagicle-ucx/rtp"},
		{"imagicle server inside", nil, "10.2.0.5:6000", "10.2.0.9:20000", 20000,
			want{verdict: verdict.Negotiated, entry: "imagicle-ucx/rtp", by: verdict.BySDP, reason: "in the documented range"}, ""},
		{"MRS prompt area moved by the site", nil, "10.4.0.1:30000", "10.4.0.7:20150", 20150,
			want{verdict: verdict.Negotiated, entry: "sinch-contact-center/mrs-prompts", by: verdict.BySDP, reason: "in the documented range"}, ""},
		{"MRS at the documented default, no longer the site's", nil, "10.4.0.1:30000", "10.4.0.7:8100", 8100,
			want{verdict: verdict.Negotiated, kind: verdict.KindMediaOutsideRange, by: verdict.BySDP, reason: "documents for mrs: 20000-20200/udp (sinch-contact-center/mrs-prompts)"}, "10.4.0.7:8100 sinch-contact-center/mrs-prompts"},
		{"port-only: outside every Tegsoft range", []string{"tegsoft"}, "10.0.0.1:12000", "10.0.0.2:30000", 30000,
			want{verdict: verdict.Negotiated, kind: verdict.KindMediaOutsideRange, by: verdict.BySDP, reason: "port-only", severity: verdict.Low}, "10.0.0.2:30000 -"},
		{"port-only: the originator's port outside", []string{"tegsoft"}, "10.0.0.1:30000", "10.0.0.2:12000", 12000,
			want{verdict: verdict.Negotiated, kind: verdict.KindMediaOutsideRange, by: verdict.BySDP, severity: verdict.Low}, "10.0.0.1:30000 -"},
		{"port-only: inside", []string{"tegsoft"}, "10.0.0.1:12002", "10.0.0.2:12000", 12000,
			want{verdict: verdict.Negotiated, by: verdict.BySDP}, ""},
		{"port-only: Genesys leaves some media to signalling", []string{"genesys-pureconnect"}, "10.0.0.1:5004", "10.0.0.2:65000", 65000,
			want{verdict: verdict.Negotiated, by: verdict.BySDP}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := verdict.Config{Catalog: cat, Inventory: inv, Media: fakeMedia{tt.media}, Vendors: tt.vendors}
			if tt.vendors != nil {
				cfg.Inventory = nil
			}
			cl, err := verdict.NewClassifier(cfg)
			if err != nil {
				t.Fatal(err)
			}
			f := play(t, udp, tt.client, tt.server, exchange)
			var r verdict.Result
			cl.Classify(f, &r)
			check(t, &r, tt.want)
			fs := verdict.NewFindings(cl, verdict.FindingsConfig{})
			fs.Observe(f, &r)
			all := fs.All()
			switch {
			case tt.finding == "" && len(all) != 0:
				t.Errorf("findings %+v, want none", all)
			case tt.finding != "" && (len(all) != 1 || all[0].Kind != verdict.KindMediaOutsideRange):
				t.Errorf("findings %+v, want one %s", all, verdict.KindMediaOutsideRange)
			case tt.finding != "":
				g := all[0]
				entry := cmp.Or(g.EntryID, "-")
				if got := g.Dst.String() + ":" + itoa(g.DstPort) + " " + entry; got != tt.finding || g.CallID != "call-1@lab" || g.Proto != udp {
					t.Errorf("finding at %s (call %q), want %s: %+v", got, g.CallID, tt.finding, g)
				}
				if vendor, _, _ := strings.Cut(g.EntryID, "/"); g.Vendor != vendor {
					t.Errorf("finding vendor %q for entry %q", g.Vendor, g.EntryID)
				}
				// The alert feed's occurrence is the finding the
				// aggregate opened, swapped sides included.
				one := verdict.FlowFinding(f, &r)
				one.Ports = g.Ports
				if !reflect.DeepEqual(one, g) {
					t.Errorf("FlowFinding %+v\nwant the finding opened %+v", one, g)
				}
			}
		})
	}
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }

// TestFindingDescribedByEarliestFlow: flows of one finding may end in any
// order (two workers end theirs independently); the row's reason and
// names come from the earliest flow that had them, so every order gives
// the same row.
func TestFindingDescribedByEarliestFlow(t *testing.T) {
	cl := postureClassifier(t, true, false)
	negotiated := withMeta(playAt(t, tcp, "10.1.0.5:50000", "10.0.0.10:7597", time.Second, handshake), tlsMeta("TLS 1.0"))
	offered := withMeta(playAt(t, tcp, "10.1.0.5:50001", "10.0.0.10:7597", 2*time.Second, handshake),
		flow.Meta{App: "tls", TLSOfferedMax: 0x0302, TLSOfferedMin: 0x0301, SNI: "late.example"})
	// Same first packet time: the flow key decides.
	tie := withMeta(playAt(t, tcp, "10.1.0.5:50002", "10.0.0.10:7597", 2*time.Second, handshake),
		flow.Meta{App: "tls", TLSVersion: "SSL 3.0", SNI: "tie.example"})
	judge := func(flows ...*flow.Flow) verdict.Finding {
		fs := verdict.NewFindings(cl, verdict.FindingsConfig{})
		for _, f := range flows {
			var r verdict.Result
			cl.Classify(f, &r)
			fs.Observe(f, &r)
		}
		all := fs.All()
		if len(all) != 1 {
			t.Fatalf("%d findings, want one: %+v", len(all), all)
		}
		return all[0]
	}
	want := judge(negotiated, offered, tie)
	if !strings.Contains(want.Reason, "TLS 1.0 negotiated") || want.SNI != "late.example" || want.Count != 3 {
		t.Errorf("finding %+v: want the reason of the earliest flow (TLS 1.0 negotiated), the SNI of the earliest flow with one", want)
	}
	for _, order := range [][]*flow.Flow{{offered, negotiated, tie}, {tie, offered, negotiated}, {tie, negotiated, offered}} {
		if got := judge(order...); !reflect.DeepEqual(got, want) {
			t.Errorf("another order of the same flows:\n%+v\nwant\n%+v", got, want)
		}
	}
	if got := judge(tie, offered); !strings.Contains(got.Reason, "offered at most TLS 1.1") || got.SNI != "late.example" {
		t.Errorf("tied first packets: %+v, want the lower flow key's reason and SNI (source port 50001)", got)
	}
}
