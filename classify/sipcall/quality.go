package sipcall

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/sdp"
	"github.com/ccaudit/auditor/classify/voice"
)

// FindingPoorVoiceQuality: a stream's estimated MOS (the E-model of
// ITU-T G.107, package voice) was below Config.PoorMOS.
const FindingPoorVoiceQuality = "poor-voice-quality"

// DefaultPoorMOS is the MOS below which a call is reported: 3.6, the
// lower bound of "satisfied" users in G.107 Annex B (R 70).
const DefaultPoorMOS = 3.6

// QualityInterval is the span over which the worst part of a stream is
// rated, so that a minute of heavy loss in a long call is not averaged
// away.
const QualityInterval = 10 * time.Second

// minIntervalPackets is the fewest expected packets an interval needs to
// be rated: a stream's short tail says too little.
const minIntervalPackets = 10

// qualityInterval follows the current interval of one RTP direction and
// remembers the worst one: the one with the highest loss.
type qualityInterval struct {
	end                      int64 // when the current interval ends (unix ns); 0 before the first packet
	expected, lost, bursts   uint64
	worstPct, worstBurstR    float64
	worstExpected, worstLost uint64
	rated                    bool
}

// rollInterval closes the running interval at t (a packet's time) and
// starts the next one.
func (s *streamStats) rollInterval(t int64) {
	s.closeInterval()
	iv := &s.interval
	iv.end = t + int64(QualityInterval)
	iv.expected, iv.lost, iv.bursts = s.expected(), lostCount(s.lost()), s.lossBursts
}

// closeInterval rates the running interval against the worst so far.
func (s *streamStats) closeInterval() {
	iv := &s.interval
	if iv.end == 0 {
		return
	}
	exp := s.expected() - iv.expected
	lost := lostCount(s.lost()) - min(lostCount(s.lost()), iv.lost)
	if exp < minIntervalPackets || lost > exp {
		return
	}
	pct := 100 * float64(lost) / float64(exp)
	if !iv.rated || pct > iv.worstPct {
		iv.rated = true
		iv.worstPct = pct
		iv.worstExpected, iv.worstLost = exp, lost
		iv.worstBurstR = voice.BurstR(exp-lost, lost, s.lossBursts-iv.bursts)
	}
}

func lostCount(n int64) uint64 {
	if n < 0 {
		return 0
	}
	return uint64(n)
}

// rtcpReports is what the RTCP packets of one direction said, and the
// sender reports it sent, kept to measure the round trip (RFC 3550
// section 6.4.1): a receiver report's LSR names the middle 32 bits of the
// NTP time of the last SR it got, DLSR the time it held it; the tap sees
// both packets, so the round trip is their capture-time difference less
// DLSR, whatever the endpoints' clocks say.
type rtcpReports struct {
	blocks       uint64 // report blocks read
	fractionLost uint8  // the highest fraction lost reported (1/256ths)
	cumLost      int32  // the highest cumulative loss reported (duplicates make it negative: 0)
	jitter       uint32 // the highest interarrival jitter reported, timestamp units

	srMid  [4]uint32 // middle 32 bits of the NTP time of the last SRs
	srAt   [4]int64  // when each was captured
	srNext uint8

	rttSum int64 // round trips measured, ns
	rttN   uint32
}

// maxRTT bounds a believable round trip; longer means an LSR matched an
// unrelated SR.
const maxRTT = 10 * time.Second

// rtcpPacket reads the sender and receiver reports of an RTCP compound
// packet sent in direction dir. It allocates nothing and stops at the
// first part that does not fit.
func (mf *mediaFlow) rtcpPacket(b []byte, t int64, dir flow.Dir) {
	st, peer := &mf.dir[dir&1].reports, &mf.dir[(dir+1)&1].reports
	for len(b) >= 8 && b[0]>>6 == 2 {
		n := 4 * (int(binary.BigEndian.Uint16(b[2:])) + 1)
		if n > len(b) {
			return
		}
		part, rc := b[:n], int(b[0]&0x1f)
		var blocks []byte
		switch part[1] {
		case 200: // SR: SSRC, NTP (8), RTP timestamp, packet and octet counts
			if len(part) < 28 {
				return
			}
			st.srMid[st.srNext] = binary.BigEndian.Uint32(part[10:])
			st.srAt[st.srNext] = t
			st.srNext = (st.srNext + 1) % uint8(len(st.srMid))
			blocks = part[28:]
		case 201: // RR: SSRC
			blocks = part[8:]
		}
		for i := 0; i < rc && len(blocks) >= 24; i++ {
			st.reportBlock(blocks[:24], t, peer)
			blocks = blocks[24:]
		}
		b = b[n:]
	}
}

// reportBlock reads one report block (RFC 3550 section 6.4.1). peer holds
// the SRs of the direction the block reports on.
func (r *rtcpReports) reportBlock(blk []byte, t int64, peer *rtcpReports) {
	r.blocks++
	r.fractionLost = max(r.fractionLost, blk[4])
	// cumulative number of packets lost: 24-bit signed
	cum := int32(binary.BigEndian.Uint32(blk[4:])<<8) >> 8
	r.cumLost = max(r.cumLost, cum)
	r.jitter = max(r.jitter, binary.BigEndian.Uint32(blk[12:]))
	lsr, dlsr := binary.BigEndian.Uint32(blk[16:]), binary.BigEndian.Uint32(blk[20:])
	if lsr == 0 {
		return
	}
	for i, mid := range peer.srMid {
		if mid != lsr || peer.srAt[i] == 0 {
			continue
		}
		rtt := t - peer.srAt[i] - int64(dlsr)*int64(time.Second)/65536
		if rtt >= 0 && rtt < int64(maxRTT) {
			r.rttSum += rtt
			r.rttN++
		}
		return
	}
}

// partyQuality gathers, over a stream's flows, what one party sent (RTP
// sequence accounting) and what that party's RTCP reported of what it
// received.
type partyQuality struct {
	expected, lost, bursts uint64
	worstPct, worstBurstR  float64
	worstRated             bool

	reportBlocks uint64
	fractionLost uint8
	cumLost      int64
	jitter       uint32
	rttSum       int64
	rttN         uint32
}

// addRTP folds the RTP accounting of what the party sent on one flow.
func (q *partyQuality) addRTP(s *streamStats) {
	if !s.ssrcSet {
		return
	}
	s.closeInterval()
	q.expected += s.expected()
	q.lost += lostCount(s.lost())
	q.bursts += s.lossBursts
	if iv := &s.interval; iv.rated && (!q.worstRated || iv.worstPct > q.worstPct) {
		q.worstRated, q.worstPct, q.worstBurstR = true, iv.worstPct, iv.worstBurstR
	}
}

// addRTCP folds the reports the party sent on one flow.
func (q *partyQuality) addRTCP(r *rtcpReports) {
	if r.blocks == 0 {
		return
	}
	q.reportBlocks += r.blocks
	q.fractionLost = max(q.fractionLost, r.fractionLost)
	q.cumLost = max(q.cumLost, int64(r.cumLost))
	q.jitter = max(q.jitter, r.jitter)
	q.rttSum += r.rttSum
	q.rttN += r.rttN
}

// Quality is the voice-quality rating of one direction of a stream: what
// the listener on the other side heard.
type Quality struct {
	Rated bool // there was RTP to rate

	Expected, Lost uint64
	LossPercent    float64
	BurstR         float64
	RFactor, MOS   float64

	// The worst QualityInterval: its loss, and the MOS it rates.
	WorstLossPercent float64
	WorstMOS         float64

	// What the receiver's RTCP said (0 without RTCP): the highest
	// fraction lost (percent), its cumulative count and the highest
	// jitter; RTTMillis is the mean round trip measured from SR/RR
	// pairs, and DelayFromRTT says it set the E-model's delay.
	RTCPReports      uint64
	RTCPLossPercent  float64
	RTCPLost         int64
	RTCPJitterMillis float64
	RTTMillis        float64
	DelayFromRTT     bool
}

// rate computes a direction's quality. rtt is the stream's mean round
// trip (0: unknown); clock converts RTCP jitter to milliseconds.
func (q *partyQuality) rate(codec voice.Codec, receiver *partyQuality, rtt time.Duration, clock uint32) Quality {
	out := Quality{Expected: q.expected, Lost: min(q.lost, q.expected)}
	if rr := receiver; rr != nil && rr.reportBlocks > 0 {
		out.RTCPReports = rr.reportBlocks
		out.RTCPLossPercent = 100 * float64(rr.fractionLost) / 256
		out.RTCPLost = rr.cumLost
		if clock > 0 {
			out.RTCPJitterMillis = float64(rr.jitter) * 1000 / float64(clock)
		}
	}
	if rtt > 0 {
		out.RTTMillis = float64(rtt) / float64(time.Millisecond)
		out.DelayFromRTT = true
	}
	if q.expected == 0 {
		return out
	}
	out.Rated = true
	out.LossPercent = 100 * float64(out.Lost) / float64(q.expected)
	out.BurstR = voice.BurstR(q.expected-out.Lost, out.Lost, q.bursts)
	// One-way delay: half the measured round trip, else G.107's default.
	r := voice.Rate(voice.Conditions{Codec: codec, LossPercent: out.LossPercent, BurstR: out.BurstR, OneWayDelay: rtt / 2})
	out.RFactor, out.MOS = r.R, r.MOS
	out.WorstLossPercent, out.WorstMOS = out.LossPercent, out.MOS
	if q.worstRated && q.worstPct > out.LossPercent {
		w := voice.Rate(voice.Conditions{Codec: codec, LossPercent: q.worstPct, BurstR: q.worstBurstR, OneWayDelay: rtt / 2})
		out.WorstLossPercent, out.WorstMOS = q.worstPct, w.MOS
	}
	return out
}

// meanRTT is the mean of the round trips either party's reports measured.
func meanRTT(q *[2]partyQuality) time.Duration {
	n := q[0].rttN + q[1].rttN
	if n == 0 {
		return 0
	}
	return time.Duration((q[0].rttSum + q[1].rttSum) / int64(n))
}

// qualityReason describes a poor rating for the finding's reason.
func qualityReason(q Quality, codec string, threshold float64) string {
	s := fmt.Sprintf("estimated MOS %.2f (R %.0f) below %.2f: %s, %.1f%% loss", q.MOS, q.RFactor, threshold, codec, q.LossPercent)
	if q.BurstR > 1.05 {
		s += fmt.Sprintf(" in bursts (BurstR %.1f)", q.BurstR)
	}
	if q.DelayFromRTT {
		s += fmt.Sprintf(", RTCP round trip %.0f ms", q.RTTMillis)
	}
	return s
}

func (q Quality) rfactorOr(def float64) float64 {
	if !q.Rated {
		return def
	}
	return q.RFactor
}

// rate fills ms's voice-quality fields from the stream's accumulators.
// Only audio over RTP is rated: the E-model knows speech codecs.
func (s *stream) rate(ms *MediaStream, poorMOS float64) {
	if s.typ != sdp.MediaAudio || s.proto == sdp.ProtoUDPTL {
		return
	}
	name := "PCMU"
	for _, c := range ms.Codecs {
		// telephone-event and comfort noise ride along the voice codec
		if !strings.EqualFold(c, "telephone-event") && !strings.EqualFold(c, "CN") {
			name = c
			break
		}
	}
	codec := voice.CodecByName(name)
	clock := s.side[callee].firstClock()
	if clock == 0 {
		clock = s.side[caller].firstClock()
	}
	rtt := meanRTT(&s.quality)
	// What the caller sent is reported on by the callee's RTCP.
	ms.CallerToCallee = s.quality[caller].rate(codec, &s.quality[callee], rtt, clock)
	ms.CalleeToCaller = s.quality[callee].rate(codec, &s.quality[caller], rtt, clock)
	worst := Quality{}
	for _, q := range [2]Quality{ms.CallerToCallee, ms.CalleeToCaller} {
		if q.Rated && (!worst.Rated || q.MOS < worst.MOS) {
			worst = q
		}
	}
	if !worst.Rated {
		return
	}
	ms.MOS = worst.MOS
	if poorMOS > 0 && worst.MOS < poorMOS {
		ms.PoorQuality = true
		ms.QualityReason = qualityReason(worst, codec.Name, poorMOS)
	}
}

// firstClock is the RTP clock rate of the side's first mapped payload
// type, 0 when it mapped none.
func (sd *sideSDP) firstClock() uint32 {
	if len(sd.clocks) == 0 {
		return 0
	}
	return sd.clocks[0].clock
}
