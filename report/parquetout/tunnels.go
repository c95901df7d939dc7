package parquetout

import (
	"time"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
)

// TunnelsSchema names the tunnels.parquet schema; it follows the same
// versioning rule as SchemaVersion.
const TunnelsSchema = "tunnels/1"

// TunnelRow is one row of tunnels.parquet: an outer tunnel connection
// (GRE, VXLAN, Geneve, GTP-U, ...) the decoder took flows out of, as
// Zeek's tunnel.log records it. The tunnel's own packets are not flows:
// every packet it carried is counted here and in the inner flow it
// belongs to. doc.go describes the columns.
type TunnelRow struct {
	FirstSeen time.Time `parquet:"first_seen,timestamp(microsecond:utc)"`
	LastSeen  time.Time `parquet:"last_seen,timestamp(microsecond:utc)"`

	Kind    string `parquet:"kind,dict"`
	Proto   string `parquet:"proto,dict"`
	SrcIP   string `parquet:"src_ip,dict"`
	SrcPort int32  `parquet:"src_port"`
	DstIP   string `parquet:"dst_ip,dict"`
	DstPort int32  `parquet:"dst_port"`

	PacketsOut int64 `parquet:"packets_out"`
	BytesOut   int64 `parquet:"bytes_out"`
	PacketsIn  int64 `parquet:"packets_in"`
	BytesIn    int64 `parquet:"bytes_in"`

	// Tunnel is the value the flows' tunnel column gives the flows of
	// this tunnel whose first packet went from src to dst: the join key.
	Tunnel string `parquet:"tunnel,dict"`
	Sensor string `parquet:"sensor,optional,dict"`
}

// CreateTunnels opens tunnels.parquet for writing.
func CreateTunnels(path string, opts Options) (*TableWriter[TunnelRow], error) {
	return NewTableWriter[TunnelRow](path, TunnelsSchema, opts)
}

// ReadTunnels reads a tunnels.parquet file back.
func ReadTunnels(path string) ([]TunnelRow, error) {
	return ReadTable[TunnelRow](path, TunnelsSchema)
}

// FromTunnel fills row from the decoder's record of a tunnel, overwriting
// every field (sensor is cleared for the caller to set).
func FromTunnel(s *decode.TunnelStats, row *TunnelRow) {
	src, dst := s.Src(), s.Dst()
	*row = TunnelRow{
		FirstSeen:  unixMicro(s.First),
		LastSeen:   unixMicro(s.Last),
		Kind:       s.Kind.String(),
		Proto:      flow.ProtoName(s.Outer.Proto()),
		SrcIP:      src.Addr().String(),
		SrcPort:    int32(src.Port()),
		DstIP:      dst.Addr().String(),
		DstPort:    int32(dst.Port()),
		PacketsOut: toInt64(s.PacketsOut),
		BytesOut:   toInt64(s.BytesOut),
		PacketsIn:  toInt64(s.PacketsIn),
		BytesIn:    toInt64(s.BytesIn),
		Tunnel:     s.Name(),
	}
}
