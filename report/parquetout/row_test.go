package parquetout

import (
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/ccaudit/auditor/capture/flow"
)

func TestFromFlow(t *testing.T) {
	tests := []struct {
		name  string
		proto uint8
		meta  *flow.Meta
		pkts  []packet
		want  FlowRow
	}{
		{
			name:  "udp one way tagged",
			proto: flow.ProtoUDP,
			pkts: []packet{
				{at: t0, src: "10.1.1.5:16384", dst: "10.2.2.9:20000", payload: 172, vlan: 30},
				{at: t0 + 20_000_000, src: "10.1.1.5:16384", dst: "10.2.2.9:20000", payload: 172, vlan: 30},
			},
			want: FlowRow{
				FirstSeen: time.Date(2023, 11, 14, 22, 13, 20, 123_456_000, time.UTC),
				LastSeen:  time.Date(2023, 11, 14, 22, 13, 20, 143_456_000, time.UTC),
				Proto:     "udp", SrcIP: "10.1.1.5", SrcPort: 16384, DstIP: "10.2.2.9", DstPort: 20000,
				PacketsOut: 2, BytesOut: 2 * (54 + 172), PayloadOut: 2 * 172, SeqBytesOut: 2 * 172,
				State: "S0", History: "D", VLAN: 30,
				CommunityID: flow.CommunityID(flow.ProtoUDP,
					mustAddrPort("10.1.1.5:16384"), mustAddrPort("10.2.2.9:20000"), 0),
				EndReason: "flush",
			},
		},
		{
			// The first packet is the server's answer: the table flips it
			// so the originator is the client, and out stays client->server.
			name:  "ipv6 dns reply first",
			proto: flow.ProtoUDP,
			meta:  &flow.Meta{App: "dns", ServerName: "sip.example.net"},
			pkts: []packet{
				{at: t0, src: "[2001:db8::53]:53", dst: "[2001:db8::1:2]:53124", payload: 80},
				{at: t0 + 1_000, src: "[2001:db8::1:2]:53124", dst: "[2001:db8::53]:53", payload: 40},
			},
			want: FlowRow{
				FirstSeen: time.Date(2023, 11, 14, 22, 13, 20, 123_456_000, time.UTC),
				LastSeen:  time.Date(2023, 11, 14, 22, 13, 20, 123_457_000, time.UTC),
				Proto:     "udp", SrcIP: "2001:db8::1:2", SrcPort: 53124, DstIP: "2001:db8::53", DstPort: 53,
				PacketsOut: 1, BytesOut: 54 + 40, PayloadOut: 40, SeqBytesOut: 40,
				PacketsIn: 1, BytesIn: 54 + 80, PayloadIn: 80, SeqBytesIn: 80,
				State: "SF", History: "^dD",
				CommunityID: flow.CommunityID(flow.ProtoUDP,
					mustAddrPort("[2001:db8::1:2]:53124"), mustAddrPort("[2001:db8::53]:53"), 0),
				EndReason: "flush",
				App:       "dns", ServerName: "sip.example.net",
			},
		},
		{
			name:  "unknown protocol number",
			proto: 47,
			pkts:  []packet{{at: t0, src: "192.0.2.1:0", dst: "192.0.2.2:0", payload: 1400}},
			want: FlowRow{
				FirstSeen: time.Date(2023, 11, 14, 22, 13, 20, 123_456_000, time.UTC),
				LastSeen:  time.Date(2023, 11, 14, 22, 13, 20, 123_456_000, time.UTC),
				Proto:     "47", SrcIP: "192.0.2.1", DstIP: "192.0.2.2",
				PacketsOut: 1, BytesOut: 1454, PayloadOut: 1400, SeqBytesOut: 1400,
				// Zeek's conn_state is OTH for any transport but TCP and
				// UDP, and no analyzer of such a protocol writes history.
				State: "OTH", History: "",
				CommunityID: flow.CommunityID(47,
					mustAddrPort("192.0.2.1:0"), mustAddrPort("192.0.2.2:0"), 0),
				EndReason: "flush",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := flowsOf(t, tt.proto, tt.meta, tt.pkts...)
			if len(rows) != 1 {
				t.Fatalf("got %d flows, want 1", len(rows))
			}
			if !reflect.DeepEqual(rows[0], tt.want) {
				t.Errorf("row mismatch:\n got %+v\nwant %+v", rows[0], tt.want)
			}
		})
	}
}

// TestFromFlowTCP checks a full TCP conversation against values fixed by
// outside definitions: Zeek's conn_state and history, and the Community ID
// specification's example hash.
func TestFromFlowTCP(t *testing.T) {
	got := sipCall(t)
	want := FlowRow{
		FirstSeen: time.Date(2023, 11, 14, 22, 13, 20, 123_456_000, time.UTC),
		LastSeen:  time.Date(2023, 11, 14, 22, 13, 20, 123_463_000, time.UTC), // +6999ns, truncated
		Proto:     "tcp", SrcIP: "128.232.110.120", SrcPort: 34855, DstIP: "66.35.250.204", DstPort: 80,
		PacketsOut: 4, BytesOut: 4*54 + 400, PayloadOut: 400, SeqBytesOut: 400,
		PacketsIn: 3, BytesIn: 3*54 + 300, PayloadIn: 300, SeqBytesIn: 300,
		State: "SF", History: "ShADdFf",
		CommunityID: "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
		EndReason:   "flush",
		App:         "sip", CallID: "a84b4c76e66710@pc33.example.com",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("row mismatch:\n got %+v\nwant %+v", got, want)
	}
}

// TestFromFlowClearsRow guards the reuse contract: a row filled from a
// labelled, classified flow and then from a bare one keeps nothing of the
// first.
func TestFromFlowClearsRow(t *testing.T) {
	row := sipCall(t)
	row.Verdict, row.Vendor, row.Sensor = "allowed", "genesys", "s1"
	var bare flow.Flow
	bare.Key, _ = flow.NewKey(flow.ProtoUDP, mustAddrPort("10.0.0.1:1"), mustAddrPort("10.0.0.2:2"))
	FromFlow(&bare, &row)
	if row.App != "" || row.CallID != "" || row.Verdict != "" || row.Vendor != "" || row.Sensor != "" {
		t.Errorf("stale fields survived FromFlow: %+v", row)
	}
}

func TestFromFlowSaturates(t *testing.T) {
	var f flow.Flow
	f.Key, f.OrigDir = flow.NewKey(flow.ProtoTCP, mustAddrPort("10.0.0.1:1"), mustAddrPort("10.0.0.2:2"))
	f.Orig.Bytes = math.MaxUint64
	f.ICMPUnreach = math.MaxUint32
	var row FlowRow
	FromFlow(&f, &row)
	if row.BytesOut != math.MaxInt64 || row.ICMPUnreach != math.MaxInt32 {
		t.Errorf("bytes_out %d icmp_unreach %d, want saturated", row.BytesOut, row.ICMPUnreach)
	}
}

func TestUnixMicro(t *testing.T) {
	tests := []struct {
		ns   int64
		want time.Time
	}{
		{0, time.Unix(0, 0).UTC()},
		{1_999, time.Unix(0, 1_000).UTC()},
		{-1, time.Unix(0, -1_000).UTC()}, // floor, as the file's integer microseconds
		{-1_000, time.Unix(0, -1_000).UTC()},
		{t0, time.Date(2023, 11, 14, 22, 13, 20, 123_456_000, time.UTC)},
	}
	for _, tt := range tests {
		if got := unixMicro(tt.ns); !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("unixMicro(%d) = %v, want %v UTC", tt.ns, got, tt.want)
		}
	}
}

// TestFromFlowAllocs bounds FromFlow's allocations: the two address
// strings, the history string, and two for the Community ID (its base64
// text and the "1:" prefix).
func TestFromFlowAllocs(t *testing.T) {
	const want = 5
	f := endedFlows(t, flow.ProtoTCP,
		packet{at: t0, src: "10.0.0.1:40000", dst: "10.0.0.2:5060", flags: flow.FlagSYN},
		packet{at: t0 + 1, src: "10.0.0.2:5060", dst: "10.0.0.1:40000", flags: flow.FlagSYN | flow.FlagACK},
	)[0]
	f.Meta = &flow.Meta{App: "sip"}
	var row FlowRow
	allocs := testing.AllocsPerRun(1000, func() { FromFlow(&f, &row) })
	if row.History == "" {
		t.Fatal("test flow has no history: the allocation count would miss it")
	}
	if allocs > want {
		t.Errorf("FromFlow allocates %.1f times, want <= %d", allocs, want)
	}
}

// TestFromFlowProxyTarget: the proxy target a TLS dissector found reaches
// its column, and a reused row loses it.
func TestFromFlowProxyTarget(t *testing.T) {
	var f flow.Flow
	f.Key, _ = flow.NewKey(flow.ProtoTCP, mustAddrPort("10.0.0.1:50000"), mustAddrPort("10.0.0.2:8080"))
	f.Meta = &flow.Meta{App: "http-connect+tls", SNI: "apache.org", ProxyTarget: "apache.org:443"}
	var row FlowRow
	FromFlow(&f, &row)
	if row.ProxyTarget != "apache.org:443" || row.App != "http-connect+tls" {
		t.Errorf("proxy_target %q app %q, want apache.org:443 http-connect+tls", row.ProxyTarget, row.App)
	}
	var w flowWire
	row.wire(&w, new(wireArena))
	if w.ProxyTarget == nil || *w.ProxyTarget != "apache.org:443" {
		t.Errorf("wire proxy_target %v", w.ProxyTarget)
	}
	f.Meta = nil
	FromFlow(&f, &row)
	if row.ProxyTarget != "" {
		t.Errorf("stale proxy_target %q", row.ProxyTarget)
	}
}

// The builder's cached address texts and shared Community ID buffer give
// the rows FromFlow gives, IPv4, IPv6 and zoned, across slot collisions
// and reuse, and a row's Community ID stays its own while later rows are
// built.
func TestFlowRowBuilderMatchesFromFlow(t *testing.T) {
	var b FlowRowBuilder
	var ids, wantIDs []string
	for i := range 20_000 {
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 40000)
		dst := netip.MustParseAddrPort("10.0.0.2:5060")
		switch i % 5 {
		case 1:
			src = netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)}), 40000)
			dst = netip.MustParseAddrPort("[2001:db8::1]:5060")
		case 2:
			src = netip.AddrPortFrom(netip.AddrFrom16([16]byte{0xfe, 0x80, 15: byte(i)}).WithZone(fmt.Sprint("eth", i%3)), 40000)
			dst = netip.MustParseAddrPort("[fe80::1%eth0]:5060")
		case 3: // an IPv4-mapped IPv6 address is not its IPv4 address
			src = netip.AddrPortFrom(netip.AddrFrom16(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}).As16()), 40000)
			dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 5060)
		}
		f := endedFlows(t, flow.ProtoUDP, packet{at: t0, src: src.String(), dst: dst.String(), payload: 10})[0]
		var got, want FlowRow
		b.Fill(&f, &got)
		FromFlow(&f, &want)
		if got != want {
			t.Fatalf("flow %d:\n got %+v\nwant %+v", i, got, want)
		}
		ids, wantIDs = append(ids, got.CommunityID), append(wantIDs, want.CommunityID)
	}
	for i := range ids {
		if ids[i] != wantIDs[i] {
			t.Fatalf("flow %d: community_id became %q, want %q", i, ids[i], wantIDs[i])
		}
	}
}

// Addresses that share 16 bytes (an IPv4 address and its IPv4-mapped
// IPv6 form, zoned and unzoned) keep their own texts in the cache.
func TestAddrCacheKeepsTexts(t *testing.T) {
	var c addrCache
	for range 2 {
		for _, s := range []string{"10.0.0.2", "::ffff:10.0.0.2", "fe80::1", "fe80::1%eth0", "fe80::1%eth1", "2001:db8::1"} {
			a := netip.MustParseAddr(s)
			if got := c.text(a); got != s {
				t.Errorf("text(%s) = %q", s, got)
			}
		}
	}
	if got := c.text(netip.Addr{}); got != (netip.Addr{}).String() {
		t.Errorf("text of the zero address = %q", got)
	}
}

// The builder's recent histories give each row its flow's own history,
// whichever slot a history lands in, and a history seen before shares
// the string given before (the dictionary recognizes it by address).
func TestFlowRowBuilderHistories(t *testing.T) {
	const a, b = "10.0.0.1:40000", "10.0.0.2:443"
	scripts := [][]packet{
		{{src: a, dst: b, flags: flow.FlagSYN}},
		{{src: a, dst: b, flags: flow.FlagSYN}, {src: b, dst: a, flags: flow.FlagSYN | flow.FlagACK}},
		{{src: a, dst: b, flags: flow.FlagSYN}, {src: b, dst: a, flags: flow.FlagRST | flow.FlagACK}},
		{{src: a, dst: b, flags: flow.FlagSYN}, {src: b, dst: a, flags: flow.FlagSYN | flow.FlagACK},
			{src: a, dst: b, flags: flow.FlagACK, seq: 1}, {src: a, dst: b, flags: flow.FlagACK | flow.FlagPSH, payload: 10, seq: 1}},
		{{src: b, dst: a, flags: flow.FlagSYN | flow.FlagACK}},
		{{src: a, dst: b, flags: flow.FlagACK, payload: 5}},
		{{src: a, dst: b, flags: flow.FlagFIN | flow.FlagACK}},
	}
	var rb FlowRowBuilder
	first := map[string]string{}
	for round := range 3 {
		for i, s := range scripts {
			for j := range s {
				s[j].at = t0 + int64(round*100+i*10+j)
			}
			f := endedFlows(t, flow.ProtoTCP, s...)[0]
			var got FlowRow
			rb.Fill(&f, &got)
			if want := f.History(); got.History != want {
				t.Fatalf("script %d: history %q, want %q", i, got.History, want)
			}
			if prev, ok := first[got.History]; ok && unsafe.StringData(prev) != unsafe.StringData(got.History) {
				t.Errorf("script %d: history %q not shared with its earlier row", i, got.History)
			}
			first[got.History] = got.History
		}
	}
	if len(first) < 5 {
		t.Fatalf("only %d distinct histories: %v", len(first), first)
	}
}
