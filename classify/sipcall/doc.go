// Package sipcall follows SIP calls and the media they negotiate.
//
// A Tracker holds what every pipeline worker shares: the calls, keyed by
// Call-ID, and the media endpoints their SDP offers and answers announced
// (RTP, RTCP at port+1, a=rtcp or rtcp-mux, and T.38 UDPTL), indexed by
// netip.AddrPort. A pipeline sharded by flow hash puts signalling and its
// media on different workers, so each worker gets a Dissector (from
// Tracker.NewDissector, or a Group's for one pipeline among several): it
// implements capture.Dissector, keeps per-flow state of its own, and
// stages what it sees (messages, media matches, media flow ends) instead
// of changing the Tracker. The pipeline commits the Tracker (it is a
// capture.Shared) at every epoch end with its workers paused, applying
// every worker's events in packet order, so calls and media statistics
// do not depend on how flows were sharded. A new media flow is matched by
// the commit that ends its first epoch, against the calls as they were at
// its first packet, or, failing that, as the epoch left them (media may
// beat the SDP announcing it by milliseconds), so how long epochs are does
// not change the match; one left unmatched is tried again after later
// commits and when it ends.
//
// Signalling is found on the configured SIP ports and, on any port, by a
// first payload that starts with a SIP request or status line; a flow is
// labelled "sip" only once sipinfo.ParseDialog accepted a message of it,
// so SSDP and HTTP never become SIP. UDP datagrams (reassembled from IP
// fragments by the decoder), TCP streams (capture/tcpstream and
// sipinfo.Framer: segments out of order, retransmitted, several messages
// per segment or one message over many), SIP over WebSocket (RFC 7118)
// and SCTP DATA chunks (RFC 4168) are read. SIP over TLS is not.
//
// A media flow that has an expected endpoint on either side (the other
// side may differ: symmetric RTP behind NAT) gets Meta.App "rtp", "rtcp"
// or "udptl" and Meta.CallID; Tracker.MatchMedia answers the verdict
// engine's MediaMatcher. Media recognised by content alone (RTP version 2
// with a steady SSRC and sequence, or RTCP compound packets) is labelled
// with an empty CallID; LooksLikeMedia tells the verdict engine. The media
// path keeps packets, bytes, RFC 3550 sequence loss and interarrival
// jitter per direction without locking or allocating.
//
// A call ends at BYE, a final failure, CANCEL or a timeout; its record
// (Call) is handed to Config.OnCall once its media flows have left the
// flow table, or after Config.MediaLinger, with the media-missing and
// media-one-way findings computed from the streams both sides agreed on,
// other than those that carried early media only (moved before or by the
// answer). An authentication challenge (401/407) and the retried INVITE
// are one call; a re-INVITE that moves a stream starts a new MediaStream,
// one that only changes direction (hold) does not, and a refused
// re-INVITE (488 to T.38) restores the previous streams. A 2xx answering
// from another address than the 18x before it starts a new MediaStream
// that keeps the caller's side of the offer.
package sipcall
