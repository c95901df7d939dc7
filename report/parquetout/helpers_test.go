package parquetout

import (
	"bytes"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
)

// packet is one packet of a test conversation, from src to dst.
type packet struct {
	at       int64 // unix ns
	src, dst string
	flags    uint8
	payload  uint32
	seq      uint32
	vlan     uint16
}

// endedFlows runs the packets of one protocol through a flow table and
// returns copies of the flows it ends.
func endedFlows(t testing.TB, proto uint8, pkts ...packet) []flow.Flow {
	t.Helper()
	var flows []flow.Flow
	tab := flow.NewTable(flow.Config{}, func(f *flow.Flow) { flows = append(flows, *f) })
	for _, p := range pkts {
		src, dst := netip.MustParseAddrPort(p.src), netip.MustParseAddrPort(p.dst)
		k, d := flow.NewKey(proto, src, dst)
		fp := flow.Packet{
			Key: k, Dir: d, Time: p.at, WireLen: 54 + p.payload, PayloadLen: p.payload,
			TCPFlags: p.flags, Seq: p.seq, VLAN: p.vlan,
		}
		tab.Packet(&fp)
	}
	tab.Flush(flow.EndFlush)
	return flows
}

// flowsOf runs the packets of one protocol through a flow table and returns
// the rows FromFlow makes of the flows it ends, with meta attached to every
// flow when non-nil.
func flowsOf(t testing.TB, proto uint8, meta *flow.Meta, pkts ...packet) []FlowRow {
	t.Helper()
	var rows []FlowRow
	for _, f := range endedFlows(t, proto, pkts...) {
		f.Meta = meta
		var r FlowRow
		FromFlow(&f, &r)
		rows = append(rows, r)
	}
	return rows
}

const t0 = int64(1_700_000_000_123_456_789) // 2023-11-14T22:13:20.123456789Z

// sipCall is a TCP SIP conversation: handshake, request, response, close.
// Its endpoints are the Community ID specification's TCP example, whose
// hash is known.
func sipCall(tb testing.TB) FlowRow {
	const c, s = "128.232.110.120:34855", "66.35.250.204:80"
	syn, ack, psh, fin := flow.FlagSYN, flow.FlagACK, flow.FlagPSH, flow.FlagFIN
	rows := flowsOf(tb, flow.ProtoTCP, &flow.Meta{App: "sip", CallID: "a84b4c76e66710@pc33.example.com"},
		packet{at: t0, src: c, dst: s, flags: syn, seq: 100},
		packet{at: t0 + 1_000, src: s, dst: c, flags: syn | ack, seq: 900},
		packet{at: t0 + 2_000, src: c, dst: s, flags: ack, seq: 101},
		packet{at: t0 + 3_000, src: c, dst: s, flags: psh | ack, payload: 400, seq: 101},
		packet{at: t0 + 4_000, src: s, dst: c, flags: psh | ack, payload: 300, seq: 901},
		packet{at: t0 + 5_000, src: c, dst: s, flags: fin | ack, seq: 501},
		packet{at: t0 + 6_999, src: s, dst: c, flags: fin | ack, seq: 1201},
	)
	if len(rows) != 1 {
		tb.Fatalf("sip call made %d flows, want 1", len(rows))
	}
	return rows[0]
}

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// sameFooter compares the footers of a file an own encoder wrote and the
// file parquet-go wrote for the same rows: schema, key-value metadata,
// creator, row counts, row groups, and per column chunk its path, value
// and null counts and min/max statistics.
func sameFooter(t *testing.T, ours, theirs string) {
	t.Helper()
	fa, fb := openFile(t, ours), openFile(t, theirs)
	if fa.Schema().String() != fb.Schema().String() {
		t.Errorf("schema\n%s\nparquet-go's\n%s", fa.Schema(), fb.Schema())
	}
	ma, mb := fa.Metadata(), fb.Metadata()
	if !reflect.DeepEqual(ma.KeyValueMetadata, mb.KeyValueMetadata) || ma.CreatedBy != mb.CreatedBy || ma.NumRows != mb.NumRows {
		t.Errorf("metadata %v %q %d, parquet-go's %v %q %d", ma.KeyValueMetadata, ma.CreatedBy, ma.NumRows, mb.KeyValueMetadata, mb.CreatedBy, mb.NumRows)
	}
	if len(ma.RowGroups) != len(mb.RowGroups) {
		t.Fatalf("%d row groups, parquet-go %d", len(ma.RowGroups), len(mb.RowGroups))
	}
	for g := range ma.RowGroups {
		ra, rb := &ma.RowGroups[g], &mb.RowGroups[g]
		if ra.NumRows != rb.NumRows || len(ra.Columns) != len(rb.Columns) {
			t.Fatalf("row group %d: %d rows %d columns, parquet-go %d %d", g, ra.NumRows, len(ra.Columns), rb.NumRows, len(rb.Columns))
		}
		for c := range ra.Columns {
			ca, cb := &ra.Columns[c].MetaData, &rb.Columns[c].MetaData
			sa, sb := ca.Statistics, cb.Statistics
			if !slices.Equal(ca.PathInSchema, cb.PathInSchema) || ca.NumValues != cb.NumValues || sa.NullCount != sb.NullCount ||
				!bytes.Equal(sa.MinValue, sb.MinValue) || !bytes.Equal(sa.MaxValue, sb.MaxValue) {
				t.Errorf("row group %d, %s: values %d nulls %d min %q max %q; parquet-go %s %d %d %q %q",
					g, strings.Join(ca.PathInSchema, "."), ca.NumValues, sa.NullCount, sa.MinValue, sa.MaxValue,
					strings.Join(cb.PathInSchema, "."), cb.NumValues, sb.NullCount, sb.MinValue, sb.MaxValue)
			}
		}
	}
}
