package parquetout

// Metadata keys under which a flows file records the SIP tracker's limit
// counters over the span it covers (a capture window, or a whole replay):
// what was refused or dropped at the tracker's bounds, by reason, as
// decimal counts. The compliance report sums them in its capture section.
const (
	// MetaSIPCallsRefused counts INVITEs not tracked: the concurrent-call
	// cap was reached.
	MetaSIPCallsRefused = "auditor.sip.calls_refused"
	// MetaSIPStreamsDropped counts media streams not followed: past the
	// per-call cap, or m= lines past the SDP parser's per-body cap.
	MetaSIPStreamsDropped = "auditor.sip.streams_dropped"
	// MetaSIPMessagesOversized counts SIP messages dropped for their size.
	MetaSIPMessagesOversized = "auditor.sip.messages_oversized"
)
