package sipcall

import "net/netip"

// Findings a call record can carry; the names are the finding kinds the
// report uses.
const (
	// FindingMediaMissing: the call was answered and a stream was
	// negotiated on both sides, but no media flow of it was seen. A
	// stream moved before or by the answer carried early media only and
	// raises neither finding.
	FindingMediaMissing = "media-missing"
	// FindingMediaOneWay: media of a stream flowed in one direction only,
	// although both SDPs said sendrecv.
	FindingMediaOneWay = "media-one-way"
)

// EndReason says why a call record was emitted.
type EndReason string

const (
	EndBye       EndReason = "bye"       // BYE (plus the grace period)
	EndCancelled EndReason = "cancelled" // CANCEL or 487 before an answer
	EndRejected  EndReason = "rejected"  // a final failure response (3xx-6xx)
	EndTimeout   EndReason = "timeout"   // no signalling or media for the configured time
	EndFlush     EndReason = "flush"     // end of input with the call still up
)

// Call is one INVITE dialog, emitted once when it ends. Times are unix
// nanoseconds, 0 when the event was not seen.
type Call struct {
	CallID   string
	From, To string // URIs of the initial INVITE
	CallerUA string // User-Agent of the caller
	CalleeUA string // Server or User-Agent of the callee

	// Caller and Callee are the signalling endpoints of the first INVITE
	// seen: its sender and its receiver (a proxy, if the tap sees one).
	Caller, Callee netip.AddrPort
	Transport      string // udp, tcp or ws: how the first INVITE travelled

	Start  int64 // first INVITE
	Answer int64 // first 2xx to it
	End    int64 // BYE, final failure, CANCEL, or the last activity

	// FinalStatus is the final response to the initial INVITE (200, 486,
	// 487, ...), 0 when none was seen.
	FinalStatus int
	EndReason   EndReason
	Reinvites   int // re-INVITEs and UPDATEs that carried SDP

	// Codecs are the encoding names of the negotiated streams, from the
	// answer where there is one, in preference order, without repeats.
	Codecs []string

	// Media holds one entry per negotiated stream. A re-INVITE that moves
	// a stream starts a new entry; one that only changes its direction
	// (hold) does not.
	Media []MediaStream

	// Findings lists FindingMediaMissing and FindingMediaOneWay when a
	// stream triggered them.
	Findings []string

	// StreamsDropped counts streams not kept: new streams beyond the
	// per-call bound (each once, however many SDPs describe it), and each
	// m= line position beyond sdp.MaxMedia that an SDP of the call had.
	StreamsDropped int

	// MOS and RFactor rate the worst direction of the worst audio stream
	// (ITU-T G.107, package voice); 0 when no RTP was seen to rate.
	MOS, RFactor float64
}

// MediaStream is one negotiated media stream (an m= line) of a call.
type MediaStream struct {
	Index int    // position of the m= line in the SDP
	Type  string // audio, video, image, ...
	Proto string // RTP/AVP, udptl, ...

	// Where each side said it receives, from its latest SDP for this
	// stream (zero when that side sent none or gave no usable address).
	CallerRTP, CallerRTCP netip.AddrPort
	CalleeRTP, CalleeRTCP netip.AddrPort
	CallerDirection       string // sendrecv, sendonly, recvonly, inactive
	CalleeDirection       string
	Codecs                []string // the callee's list, else the caller's

	// Flows are the media flows matched to this stream (at most
	// maxFlowsPerStream; FlowsDropped counts the rest, which are still in
	// the totals).
	Flows        []MediaFlow
	FlowsDropped int

	// Totals over Flows: packets and bytes both ways, RTP loss, and the
	// largest interarrival jitter of any direction, in milliseconds.
	Packets, Bytes uint64
	Lost           int64
	JitterMillis   float64

	Missing     bool // FindingMediaMissing applies
	OneWay      bool // FindingMediaOneWay applies
	PoorQuality bool // FindingPoorVoiceQuality applies

	// Voice quality of each direction of an audio stream, and the worse
	// of the two (0: not rated). QualityReason explains a poor rating.
	CallerToCallee, CalleeToCaller Quality
	MOS                            float64
	QualityReason                  string
}

// MediaFlow is one observed flow of a stream.
type MediaFlow struct {
	App string // rtp, rtcp or udptl

	// Caller and Callee are the flow's endpoints on each side. With NAT or
	// symmetric RTP one of them may differ from the negotiated address.
	Caller, Callee netip.AddrPort

	FromCaller, FromCallee DirStats
}

// DirStats is what one side of a media flow sent.
type DirStats struct {
	Packets, Bytes uint64
	First, Last    int64

	// RTP only: the last SSRC and payload type, how often the SSRC
	// changed, packets expected from the sequence numbers and lost (RFC
	// 3550 A.3; negative when duplicates outnumber losses), and the
	// interarrival jitter (A.8) in milliseconds.
	SSRC         uint32
	PayloadType  uint8
	SSRCChanges  uint32
	Expected     uint64
	Lost         int64
	JitterMillis float64
}

func dirStats(s *streamStats, rtp bool) DirStats {
	d := DirStats{Packets: s.packets, Bytes: s.bytes, First: s.first, Last: s.last}
	if rtp && s.ssrcSet {
		d.SSRC, d.PayloadType, d.SSRCChanges = s.ssrc, s.pt, s.ssrcChanges
		d.Expected, d.Lost, d.JitterMillis = s.expected(), s.lost(), s.jitterMillis()
	}
	return d
}
