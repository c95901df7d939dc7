package alerts

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/verdict"
	"github.com/ccaudit/auditor/report/safetext"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var (
	t0 = time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)
	t1 = t0.Add(2*time.Second + 384*time.Millisecond)
)

// sampleEvents cover every shape of event: a flow finding with every
// name, a window finding without hosts, ICMPv6, and names a hostile peer
// could have put on the wire.
func sampleEvents() []Event {
	src := netip.MustParseAddrPort("10.1.0.5:50432")
	dst := netip.MustParseAddrPort("10.0.0.10:5061")
	return []Event{
		{
			Kind: verdict.KindBlocked, Severity: verdict.High, Verdict: verdict.Blocked,
			Start: t0, End: t1, Proto: flow.ProtoTCP, Src: src, Dst: dst,
			CommunityID: flow.CommunityID(flow.ProtoTCP, src, dst, 0),
			EntryID:     "acme/sip-tls", Vendor: "acme", FromRole: "agent", ToRole: "sbc", App: "sip",
			Reason: "TCP connection refused (REJ)", SNI: "sbc.example.net", ServerName: "sbc.example.net",
			CallID: "a84b4c76e66710@pc33", Ports: "5061/tcp", Sensor: "dc1-span",
			Count: 1, ID: "5eed00000000-1", Created: t1.Add(time.Second),
		},
		{
			Kind: verdict.KindMissing, Severity: verdict.Medium, Start: t0, End: t0.Add(5 * time.Minute),
			Proto: flow.ProtoUDP, EntryID: "acme/rtp", Vendor: "acme", FromRole: "agent", ToRole: "media",
			Reason:    "required by the catalog; no working flow seen between these hosts in the capture window",
			HostPairs: []string{"10.1.0.0/16 -> 10.0.0.20"}, Ports: "16384-32767/udp", Sensor: "dc1-span",
			Count: 3, Repeat: true, ID: "5eed00000000-2", Created: t0.Add(6 * time.Minute),
		},
		{
			Kind: verdict.KindUnexpected, Severity: verdict.Low, Verdict: verdict.Unexpected,
			Start: t0, End: t0, Proto: flow.ProtoICMPv6,
			Src: netip.MustParseAddrPort("[2001:db8::5]:128"), Dst: netip.MustParseAddrPort("[2001:db8::1]:129"),
			Reason: "no catalog entry allows ICMP", Created: t0,
		},
		{
			Kind: verdict.KindUnexpected, Severity: verdict.Medium, Verdict: verdict.Unexpected,
			Start: t0, End: t1, Proto: flow.ProtoTCP, Src: src, Dst: netip.MustParseAddrPort("192.0.2.7:443"),
			SNI: "evil\"\\\n\x00\u2028\xff.example", ServerName: strings.Repeat("ä", 600), Created: t0,
		},
	}
}

func TestEncodeGolden(t *testing.T) {
	var got bytes.Buffer
	for _, ev := range sampleEvents() {
		b := Encode(ev)
		if !json.Valid(b) {
			t.Fatalf("invalid JSON: %s", b)
		}
		if bytes.IndexByte(b, '\n') >= 0 {
			t.Fatalf("event spans lines: %s", b)
		}
		// Indent for a readable golden; the events themselves are one line.
		if err := json.Indent(&got, b, "", "  "); err != nil {
			t.Fatal(err)
		}
		got.WriteByte('\n')
	}
	path := filepath.Join("testdata", "events.golden.json")
	if *update {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("encoding differs from %s (run with -update if intended):\n%s", path, got.Bytes())
	}
}

// ecsDoc is the event schema as encoding/json sees it: the test decodes
// Encode's output into it to check the field names and nesting, and the
// benchmark uses it as the encoding/json alternative to AppendEncode.
type ecsDoc struct {
	Timestamp string `json:"@timestamp"`
	ECS       struct {
		Version string `json:"version"`
	} `json:"ecs"`
	Message string `json:"message"`
	Event   struct {
		ID       string   `json:"id,omitempty"`
		Kind     string   `json:"kind"`
		Category []string `json:"category"`
		Type     []string `json:"type"`
		Module   string   `json:"module"`
		Dataset  string   `json:"dataset"`
		Action   string   `json:"action"`
		Severity int      `json:"severity"`
		Created  string   `json:"created,omitempty"`
		Start    string   `json:"start,omitempty"`
		End      string   `json:"end,omitempty"`
		Reason   string   `json:"reason,omitempty"`
	} `json:"event"`
	Rule struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Category string `json:"category"`
		Ruleset  string `json:"ruleset"`
	} `json:"rule"`
	Observer struct {
		Name    string `json:"name,omitempty"`
		Product string `json:"product"`
		Type    string `json:"type"`
		Version string `json:"version,omitempty"`
	} `json:"observer"`
	Source      *ecsEndpoint `json:"source,omitempty"`
	Destination *ecsEndpoint `json:"destination,omitempty"`
	Network     *struct {
		Protocol    string `json:"protocol,omitempty"`
		Transport   string `json:"transport,omitempty"`
		IANANumber  string `json:"iana_number,omitempty"`
		Type        string `json:"type,omitempty"`
		CommunityID string `json:"community_id,omitempty"`
	} `json:"network,omitempty"`
	TLS *struct {
		Client struct {
			ServerName string `json:"server_name"`
		} `json:"client"`
	} `json:"tls,omitempty"`
	Auditor struct {
		Kind       string   `json:"kind"`
		Severity   string   `json:"severity"`
		Verdict    string   `json:"verdict,omitempty"`
		Vendor     string   `json:"vendor,omitempty"`
		EntryID    string   `json:"entry_id,omitempty"`
		FromRole   string   `json:"from_role,omitempty"`
		ToRole     string   `json:"to_role,omitempty"`
		App        string   `json:"app,omitempty"`
		SNI        string   `json:"sni,omitempty"`
		ServerName string   `json:"server_name,omitempty"`
		CallID     string   `json:"call_id,omitempty"`
		Ports      string   `json:"ports,omitempty"`
		HostPairs  []string `json:"host_pairs,omitempty"`
		Count      uint64   `json:"count"`
		Repeat     bool     `json:"repeat,omitempty"`
	} `json:"auditor"`
}

type ecsEndpoint struct {
	IP     string `json:"ip"`
	Port   int    `json:"port,omitempty"`
	Domain string `json:"domain,omitempty"`
}

func decodeECS(t testing.TB, b []byte) ecsDoc {
	t.Helper()
	var d ecsDoc
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // every field Encode writes is in the schema
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return d
}

func TestEncodeFields(t *testing.T) {
	evs := sampleEvents()
	tests := []struct {
		name  string
		ev    Event
		check func(t *testing.T, d ecsDoc)
	}{
		{"flow", evs[0], func(t *testing.T, d ecsDoc) {
			if d.Timestamp != "2025-03-14T09:26:55.973793Z" || d.Event.Start != "2025-03-14T09:26:53.589793Z" {
				t.Errorf("times: @timestamp %s start %s", d.Timestamp, d.Event.Start)
			}
			if d.Event.Kind != "alert" || d.Event.Category[0] != "network" || d.Event.Severity != 73 {
				t.Errorf("event: %+v", d.Event)
			}
			if d.Source.IP != "10.1.0.5" || d.Source.Port != 50432 || d.Destination.IP != "10.0.0.10" || d.Destination.Port != 5061 {
				t.Errorf("endpoints: %+v %+v", d.Source, d.Destination)
			}
			if d.Network.Transport != "tcp" || d.Network.IANANumber != "6" || d.Network.Type != "ipv4" || !strings.HasPrefix(d.Network.CommunityID, "1:") {
				t.Errorf("network: %+v", d.Network)
			}
			if d.Rule.ID != "acme/sip-tls" || d.Observer.Name != "dc1-span" || d.TLS.Client.ServerName != "sbc.example.net" {
				t.Errorf("rule %+v observer %+v", d.Rule, d.Observer)
			}
			if d.Auditor.Severity != "high" || d.Auditor.Verdict != "blocked" || d.Auditor.CallID != "a84b4c76e66710@pc33" || d.Auditor.Count != 1 {
				t.Errorf("auditor: %+v", d.Auditor)
			}
		}},
		{"window finding", evs[1], func(t *testing.T, d ecsDoc) {
			if d.Source != nil || d.Destination != nil || d.Auditor.Verdict != "" {
				t.Errorf("window finding has hosts or verdict: %+v %+v %q", d.Source, d.Destination, d.Auditor.Verdict)
			}
			if d.Rule.ID != "acme/rtp" || d.Event.Type[0] != "info" || d.Auditor.Count != 3 || !d.Auditor.Repeat {
				t.Errorf("rule %+v type %v auditor %+v", d.Rule, d.Event.Type, d.Auditor)
			}
			if len(d.Auditor.HostPairs) != 1 || d.Network.Transport != "udp" {
				t.Errorf("host pairs %v network %+v", d.Auditor.HostPairs, d.Network)
			}
		}},
		{"icmp6 without entry", evs[2], func(t *testing.T, d ecsDoc) {
			if d.Rule.ID != "unexpected" || d.Network.Transport != "ipv6-icmp" || d.Network.Type != "ipv6" {
				t.Errorf("rule %+v network %+v", d.Rule, d.Network)
			}
			if d.Source.Port != 0 || d.Destination.Port != 0 {
				t.Errorf("ICMP has ports: %+v %+v", d.Source, d.Destination)
			}
		}},
		{"hostile names", evs[3], func(t *testing.T, d ecsDoc) {
			// The backslash doubled and 0xFF as \xFF: reversible, as in the tables.
			if want := "evil\"\\\\\n\x00\u2028\\xFF.example"; d.TLS.Client.ServerName != want {
				t.Errorf("sni %q, want %q", d.TLS.Client.ServerName, want)
			}
			if n := len(d.Destination.Domain); n > maxString || n < maxString-4 {
				t.Errorf("server name of %d bytes not cut to about %d", n, maxString)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, decodeECS(t, Encode(tt.ev)))
		})
	}
}

// appendString must agree with encoding/json, on the safetext escape of
// every string it does not cut, invalid UTF-8 included: the escape is
// reversible where encoding/json's U+FFFD loses the byte.
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote " back \ slash`, "tab\tnl\ncr\r", "\x00\x01\x1f\x7f",
		"ünïcödé ✓ 𝄞", "\u2028\u2029", "bad \xff\xfe utf8", "trunc \xe2\x82", "<html>&amp;",
	} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(safetext.String(s)); err != nil {
			t.Fatal(err)
		}
		got := appendString(nil, s)
		if string(got) != strings.TrimSuffix(want.String(), "\n") {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want.String())
		}
	}
}

func FuzzEncode(f *testing.F) {
	f.Add("acme/sip", "agent", "sbc.example.net", "reason", uint16(5061))
	f.Add("\xff", "\x00", "\u2028", strings.Repeat("x", 2000), uint16(0))
	f.Fuzz(func(t *testing.T, entry, role, name, reason string, port uint16) {
		ev := Event{
			Kind: verdict.Kind(entry), EntryID: entry, FromRole: role, SNI: name, ServerName: name,
			Reason: reason, CallID: name, HostPairs: []string{role, name}, Sensor: role,
			Proto: flow.ProtoUDP, Src: netip.AddrPortFrom(netip.IPv6Loopback(), port),
			Dst: netip.AddrPortFrom(netip.IPv4Unspecified(), port), Start: t0, End: t1,
		}
		b := Encode(ev)
		if !json.Valid(b) {
			t.Fatalf("invalid JSON: %s", b)
		}
		d := decodeECS(t, b)
		// The wire's bytes are recoverable: the field unescapes to the
		// name, or to a prefix of it when the name was cut.
		got, err := safetext.Unescape(d.Auditor.SNI)
		if err != nil || !strings.HasPrefix(name, got) || len(name) <= maxString/4 && got != name {
			t.Fatalf("sni %q of %q: unescapes to %q, %v", d.Auditor.SNI, name, got, err)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	ev := sampleEvents()[0]
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendEncode(buf[:0], &ev)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkEncodeJSON is the encoding/json alternative AppendEncode was
// measured against: the same document through tagged structs.
func BenchmarkEncodeJSON(b *testing.B) {
	ev := sampleEvents()[0]
	doc := decodeECS(b, Encode(ev))
	var n int
	b.ReportAllocs()
	for b.Loop() {
		// Filling the document is part of the cost encoding/json would have.
		doc.Source.IP = ev.Src.Addr().String()
		doc.Event.Start = ev.Start.Format("2006-01-02T15:04:05.000000Z07:00")
		out, err := json.Marshal(&doc)
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.SetBytes(int64(n))
}
