package parquetout

import (
	"net/netip"
	"strings"
	"time"

	"github.com/ccaudit/auditor/classify/sipcall"
)

// CallsSchema names the calls.parquet schema; it follows the same
// versioning rule as SchemaVersion.
const CallsSchema = "calls/1"

// CallRow is one row of calls.parquet: a SIP INVITE dialog and the media
// it negotiated. Times are NULL when the event was not seen (no answer).
type CallRow struct {
	CallID    string `parquet:"call_id"`
	FromURI   string `parquet:"from_uri"`
	ToURI     string `parquet:"to_uri"`
	CallerUA  string `parquet:"caller_user_agent,optional,dict"`
	CalleeUA  string `parquet:"callee_user_agent,optional,dict"`
	CallerIP  string `parquet:"caller_ip,dict"`
	CallerPrt int32  `parquet:"caller_port"`
	CalleeIP  string `parquet:"callee_ip,dict"`
	CalleePrt int32  `parquet:"callee_port"`
	Transport string `parquet:"transport,dict"`

	Start  time.Time `parquet:"start_time,timestamp(microsecond:utc),optional"`
	Answer time.Time `parquet:"answer_time,timestamp(microsecond:utc),optional"`
	End    time.Time `parquet:"end_time,timestamp(microsecond:utc),optional"`

	FinalStatus    int32  `parquet:"final_status"`
	EndReason      string `parquet:"end_reason,dict"`
	Reinvites      int32  `parquet:"reinvites"`
	Codecs         string `parquet:"codecs,optional,dict"`
	Findings       string `parquet:"findings,optional,dict"`
	StreamsDropped int32  `parquet:"streams_dropped"`

	// The worst audio direction's E-model rating; NULL when no RTP was rated.
	MOS     *float64 `parquet:"mos,optional"`
	RFactor *float64 `parquet:"r_factor,optional"`

	Media []CallMediaRow `parquet:"media,list"`

	Sensor string `parquet:"sensor,optional,dict"`
}

// CallMediaRow is one negotiated media stream (an m= line) of a call.
type CallMediaRow struct {
	Index           int32   `parquet:"index"`
	Type            string  `parquet:"type"`
	Proto           string  `parquet:"proto"`
	CallerRTP       string  `parquet:"caller_rtp,optional"`
	CallerRTCP      string  `parquet:"caller_rtcp,optional"`
	CalleeRTP       string  `parquet:"callee_rtp,optional"`
	CalleeRTCP      string  `parquet:"callee_rtcp,optional"`
	CallerDirection string  `parquet:"caller_direction,optional"`
	CalleeDirection string  `parquet:"callee_direction,optional"`
	Codecs          string  `parquet:"codecs,optional"`
	Observed        string  `parquet:"observed,optional"` // observed flows: "app caller<->callee", "; "-separated
	Flows           int32   `parquet:"flows"`
	Packets         int64   `parquet:"packets"`
	Bytes           int64   `parquet:"bytes"`
	Lost            int64   `parquet:"lost"`
	JitterMillis    float64 `parquet:"jitter_ms"`
	Missing         bool    `parquet:"missing"`
	OneWay          bool    `parquet:"one_way"`

	PoorQuality bool `parquet:"poor_quality"`
	// Voice quality of what each party sent (what the other heard);
	// NULL when the direction carried no RTP to rate.
	CallerToCallee *CallQualityRow `parquet:"caller_to_callee,optional"`
	CalleeToCaller *CallQualityRow `parquet:"callee_to_caller,optional"`
}

// CallQualityRow is the rating of one direction of an audio stream.
type CallQualityRow struct {
	Expected         int64   `parquet:"expected"`
	Lost             int64   `parquet:"lost"`
	LossPercent      float64 `parquet:"loss_pct"`
	BurstR           float64 `parquet:"burst_r"`
	RFactor          float64 `parquet:"r_factor"`
	MOS              float64 `parquet:"mos"`
	WorstLossPercent float64 `parquet:"worst_10s_loss_pct"`
	WorstMOS         float64 `parquet:"worst_10s_mos"`
	RTCPReports      int64   `parquet:"rtcp_reports"`
	RTCPLossPercent  float64 `parquet:"rtcp_loss_pct"`
	RTCPLost         int64   `parquet:"rtcp_lost"`
	RTCPJitterMillis float64 `parquet:"rtcp_jitter_ms"`
	// RTTMillis is NULL when no SR/RR pair gave a round trip; the MOS
	// then assumes G.107's default delay.
	RTTMillis *float64 `parquet:"rtt_ms,optional"`
}

func qualityRow(q *sipcall.Quality) *CallQualityRow {
	if !q.Rated {
		return nil
	}
	r := &CallQualityRow{
		Expected: toInt64(q.Expected), Lost: toInt64(q.Lost), LossPercent: q.LossPercent, BurstR: q.BurstR,
		RFactor: q.RFactor, MOS: q.MOS, WorstLossPercent: q.WorstLossPercent, WorstMOS: q.WorstMOS,
		RTCPReports: toInt64(q.RTCPReports), RTCPLossPercent: q.RTCPLossPercent, RTCPLost: q.RTCPLost,
		RTCPJitterMillis: q.RTCPJitterMillis,
	}
	if q.DelayFromRTT {
		rtt := q.RTTMillis
		r.RTTMillis = &rtt
	}
	return r
}

func optionalFloat(v float64) *float64 {
	if v == 0 {
		return nil
	}
	return &v
}

// CreateCalls opens calls.parquet for writing.
func CreateCalls(path string, opts Options) (*TableWriter[CallRow], error) {
	return NewTableWriter[CallRow](path, CallsSchema, opts)
}

// ReadCalls reads a calls.parquet file back.
func ReadCalls(path string) ([]CallRow, error) {
	return ReadTable[CallRow](path, CallsSchema)
}

// FromCall fills row from a call record, overwriting every field. Calls end
// far less often than packets arrive, so this allocates freely.
func FromCall(c *sipcall.Call, row *CallRow) {
	*row = CallRow{
		CallID: c.CallID, FromURI: c.From, ToURI: c.To, CallerUA: c.CallerUA, CalleeUA: c.CalleeUA,
		CallerIP: addrString(c.Caller.Addr()), CallerPrt: int32(c.Caller.Port()),
		CalleeIP: addrString(c.Callee.Addr()), CalleePrt: int32(c.Callee.Port()),
		Transport: c.Transport,
		Start:     optionalTime(c.Start), Answer: optionalTime(c.Answer), End: optionalTime(c.End),
		FinalStatus: int32(c.FinalStatus), EndReason: string(c.EndReason), Reinvites: int32(c.Reinvites),
		Codecs: strings.Join(c.Codecs, ","), Findings: strings.Join(c.Findings, ","),
		StreamsDropped: int32(c.StreamsDropped),
		MOS:            optionalFloat(c.MOS), RFactor: optionalFloat(c.RFactor),
		Media: make([]CallMediaRow, len(c.Media)),
	}
	for i := range c.Media {
		m := &c.Media[i]
		observed := make([]string, len(m.Flows))
		for j, f := range m.Flows {
			observed[j] = f.App + " " + f.Caller.String() + "<->" + f.Callee.String()
		}
		row.Media[i] = CallMediaRow{
			Index: int32(m.Index), Type: m.Type, Proto: m.Proto,
			CallerRTP: endpointString(m.CallerRTP), CallerRTCP: endpointString(m.CallerRTCP),
			CalleeRTP: endpointString(m.CalleeRTP), CalleeRTCP: endpointString(m.CalleeRTCP),
			CallerDirection: m.CallerDirection, CalleeDirection: m.CalleeDirection,
			Codecs: strings.Join(m.Codecs, ","), Observed: strings.Join(observed, "; "),
			Flows: int32(len(m.Flows) + m.FlowsDropped), Packets: toInt64(m.Packets), Bytes: toInt64(m.Bytes),
			Lost: m.Lost, JitterMillis: m.JitterMillis, Missing: m.Missing, OneWay: m.OneWay,
			PoorQuality: m.PoorQuality, CallerToCallee: qualityRow(&m.CallerToCallee), CalleeToCaller: qualityRow(&m.CalleeToCaller),
		}
	}
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func endpointString(ap netip.AddrPort) string {
	if !ap.IsValid() {
		return ""
	}
	return ap.String()
}

// optionalTime maps "not seen" (0) to the zero time, which the optional
// timestamp columns store as NULL.
func optionalTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return unixMicro(ns)
}
