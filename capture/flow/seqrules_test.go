package flow

import (
	"testing"
	"time"
)

// seqAbs and ackAbs set a step's sequence and acknowledgement numbers to
// absolute values, for rules that depend on where a number lies in the
// 32-bit space rather than on its distance from the sender's ISN.
func (st step) seqAbs(v uint32) step {
	st.seq = int64(v - isnOf(st.client))
	return st
}

func (st step) ackAbs(v uint32) step {
	st.ack = int64(v - isnOf(!st.client))
	return st
}

// ackOfZero is a handshake with a server ISN of isn whose data the
// capture missed, then a client ACK of 0.
func ackOfZero(isn uint32) []step {
	return []step{c(FlagSYN, 0), s(FlagSYN|FlagACK, 0).seqAbs(isn), c(FlagACK, 0).ackAbs(isn + 1), c(FlagACK, 0).ackAbs(0)}
}

func isnOf(client bool) uint32 {
	if client {
		return clientISN
	}
	return serverISN
}

// TestSequenceRules pins the rules by which Zeek trusts or distrusts a
// sequence or acknowledgement number (TCPSessionAdapter's
// update_last_seq and update_ack_seq, Process's "don't trust ack's in RST
// packets", TCP_Endpoint::Size's half-open abort). Each changes
// orig_bytes/resp_bytes (seq_bytes_out/in), and through REJ's "no data
// either way" sometimes the state. The expected values are Zeek's for the
// same packets, worked out from those functions; docs/conn-state.md names
// the mutation each case catches.
func TestSequenceRules(t *testing.T) {
	const (
		// tooLarge is Zeek's TOO_LARGE_SEQ_DELTA, spelled out so that a
		// change of the constant in the code fails here.
		tooLarge = 1_048_576
		// A server ISN just past 2^31, whose distance to 0 is a large
		// positive delta: an acknowledgement of 0 from the client is then
		// one Zeek calls broken.
		highISN = 2_150_000_000
		// A server ISN 1000 below the wrap, so that 999 bytes end on 0.
		wrapISN = 1<<32 - 1000
		gb3     = 3_000_000_000
	)
	runConnCases(t, []connCase{
		// update_last_seq: a SYN or RST more than TOO_LARGE_SEQ_DELTA
		// from the sender's last number does not move it.
		//
		// The client's RST lies 2,000,000 past its SYN: its number is not
		// trusted, so both sides sent nothing and the two RSTs are a
		// rejection. Trusted, the client would have sent 1,999,999 bytes
		// and the state would be RSTR.
		{name: "RST far past a SYN is not trusted: REJ", steps: []step{c(FlagSYN, 0), c(FlagRST, 0).at(2_000_000), s(rsta, 0)},
			state: StateREJ, history: "SRr", origIsCl: true, seq: []uint64{0, 0}},
		// After 100 bytes (last = ISN+101), a RST exactly TOO_LARGE_SEQ_DELTA
		// ahead is still trusted; one octet further it is not.
		{name: "RST at the largest trusted delta", steps: with(syn3, []step{c(psh, 100), c(FlagRST, 0).at(101 + tooLarge)}),
			state: StateRSTO, history: "ShADR", origIsCl: true, seq: []uint64{100 + tooLarge, 0}},
		{name: "RST one past the largest trusted delta", steps: with(syn3, []step{c(psh, 100), c(FlagRST, 0).at(101 + tooLarge + 1)}),
			state: StateRSTO, history: "ShADR", origIsCl: true, seq: []uint64{100, 0}},
		// The same below: a RST carrying data at or below the last number
		// is a retransmission (t) unless it lies more than
		// TOO_LARGE_SEQ_DELTA below (at takes the 32-bit offset).
		{name: "RST with data at the largest trusted delta below is t", steps: with(syn3, []step{c(psh, 100), c(FlagRST, 10).at(1<<32 + 101 - tooLarge)}),
			state: StateRSTO, history: "ShADRT", origIsCl: true, seq: []uint64{100, 0}},
		{name: "RST with data further below is no t", steps: with(syn3, []step{c(psh, 100), c(FlagRST, 10).at(1<<32 + 101 - tooLarge - 1)}),
			state: StateRSTO, history: "ShADR", origIsCl: true, seq: []uint64{100, 0}},
		// A SYN-ACK from a responder that already closed (CLOSED does not
		// re-base its numbers) 2,000,000 ahead: not trusted, so the
		// responder sent nothing. Trusted: 1,999,999 bytes.
		{name: "SYN-ACK far ahead after the responder's FIN is not trusted", steps: with(syn3, []step{s(fin, 0), s(FlagSYN|FlagACK, 0).at(2_000_000)}),
			state: StateS3, history: "ShAfh", origIsCl: true, seq: []uint64{0, 0}},

		// Process: "Don't trust ack's in RST packets". The server's RST
		// acknowledges 5,000,000 octets the client never sent; the
		// client's size stays its 100 bytes.
		{name: "ACK in a RST is not trusted", steps: with(syn3, []step{c(psh, 100), s(rsta, 0).acking(5_000_000)}),
			state: StateRSTR, history: "ShADr", origIsCl: true, seq: []uint64{100, 0}},
		// Both reset with no data either way is REJ; trusting the RST's
		// ACK would give the client 4,999,999 bytes and RSTR.
		{name: "ACK in a RST after the peer's RST: REJ", steps: with(syn3, []step{c(FlagRST, 0), s(rsta, 0).acking(5_000_000)}),
			state: StateREJ, history: "ShARr", origIsCl: true, seq: []uint64{0, 0}},

		// update_ack_seq: an ACK of 0 more than TOO_LARGE_SEQ_DELTA ahead
		// is "more likely a broken ack than a large connection that
		// happens to land on 0": it does not move the acknowledged
		// number, so the server's size stays its 50 bytes (it would be
		// 2^32-2,150,000,000-2 = 2,144,967,294). The ACK still acknowledges
		// past what arrived, so the reassembler reports a gap (g), as
		// Zeek's AckReceived does with the relative number.
		{name: "broken ACK of 0 is not trusted", steps: []step{
			c(FlagSYN, 0), s(FlagSYN|FlagACK, 0).seqAbs(highISN), c(FlagACK, 0), s(psh, 50), c(psh, 100),
			c(FlagACK, 0).ackAbs(0), s(fin, 0), c(fin, 0), s(FlagACK, 0),
		}, state: StateSF, history: "ShAdDgfFa", origIsCl: true, seq: []uint64{100, 50}},
		// An ACK of 0 within TOO_LARGE_SEQ_DELTA is an ordinary wrap: the
		// server's 999 bytes (not captured) end exactly on 0.
		{name: "ACK of 0 after a wrap is trusted", steps: ackOfZero(wrapISN), state: StateS1, history: "ShAg", origIsCl: true, seq: []uint64{0, 999}},
		// The guard's bound: an ACK of 0 exactly TOO_LARGE_SEQ_DELTA past
		// the acknowledged number is trusted, one octet further it is not.
		{name: "ACK of 0 at the largest trusted delta", steps: ackOfZero(1<<32 - tooLarge - 1),
			state: StateS1, history: "ShAg", origIsCl: true, seq: []uint64{0, tooLarge}},
		{name: "ACK of 0 one past the largest trusted delta", steps: ackOfZero(1<<32 - tooLarge - 2),
			state: StateS1, history: "ShAg", origIsCl: true, seq: []uint64{0, 0}},

		// TCP_Endpoint::Size: an endpoint that went from SYN_SENT to RESET,
		// whose peer stayed INACTIVE and yet acknowledged data, is a
		// half-open connection discovered and aborted: size 0.
		//
		// The server answers the SYN with a challenge ACK for an old
		// connection (a bare ACK keeps it INACTIVE); the client resets
		// at the acknowledged number.
		{name: "half-open abort counts no bytes", steps: []step{c(FlagSYN, 0), s(FlagACK, 0).acking(500_000), c(FlagRST, 0).at(500_000)},
			state: StateRSTOS0, history: "SaR", origIsCl: true, seq: []uint64{0, 0}},
		// The ACK acknowledges only the SYN octet (NoDataAcked): the RST's
		// number counts.
		{name: "RST after an ACK of the SYN counts its number", steps: []step{c(FlagSYN, 0), s(FlagACK, 0), c(FlagRST, 0).at(500_000)},
			state: StateRSTOS0, history: "SaR", origIsCl: true, seq: []uint64{499_999, 0}},
		// Nothing acknowledged at all (NoDataAcked's other half).
		{name: "RST after an unanswered SYN counts its number", steps: []step{c(FlagSYN, 0), c(FlagRST, 0).at(500_000)},
			state: StateRSTOS0, history: "SR", origIsCl: true, seq: []uint64{499_999, 0}},
		// The peer reset too, so it is not INACTIVE: the rule does not
		// apply, the client has 499,999 bytes, and the two RSTs are RSTR,
		// not REJ.
		{name: "half-open abort answered by a RST counts", steps: []step{c(FlagSYN, 0), s(FlagACK, 0).acking(500_000), c(FlagRST, 0).at(500_000), s(FlagRST, 0)},
			state: StateRSTR, history: "SaRr", origIsCl: true, seq: []uint64{499_999, 0}},
		// Only a RESET endpoint: one that closed from SYN_SENT after the
		// same challenge ACK counts up to the acknowledged number (less the
		// SYN and FIN octets).
		{name: "FIN after a challenge ACK counts", steps: []step{c(FlagSYN, 0), s(FlagACK, 0).acking(500_000), c(fin, 0)},
			state: StateSH, history: "SaF", origIsCl: true, seq: []uint64{499_998, 0}},
		// The client closed before it reset (previous state CLOSED, not
		// SYN_SENT): the rule does not apply; 500,000 less the SYN and FIN
		// octets.
		{name: "reset after a FIN is no half-open abort", steps: []step{c(FlagSYN, 0), s(FlagACK, 0).acking(500_000), c(fin, 0), c(FlagRST, 0).at(500_000)},
			state: StateOTH, history: "SaFR", origIsCl: true, seq: []uint64{499_998, 0}},

		// update_last_seq: a FIN moves the last number even backwards in
		// 32-bit terms while only the SYN was seen ("> 2 GB connections
		// for which we've only seen the SYN and the FIN"). A SYN/FIN-only
		// capture of a 3 GB upload: the FIN lies 3,000,000,001 past the
		// SYN, a negative 32-bit delta.
		{name: "FIN 3 GB past the SYN counts", steps: []step{c(FlagSYN, 0), s(FlagSYN|FlagACK, 0), c(fin, 0).at(1 + gb3), s(fin, 0).acking(2 + gb3)},
			state: StateSF, history: "ShFf", origIsCl: true, seq: []uint64{gb3, 0}},
		// Once data was seen the last number is past the SYN: the FIN
		// that far ahead does not move it (100 bytes less the FIN octet).
		{name: "FIN 3 GB past data does not count", steps: with(syn3, []step{c(psh, 100), c(fin, 0).at(101 + gb3), s(fin, 0).acking(102 + gb3)}),
			state: StateSF, history: "ShADFf", origIsCl: true, seq: []uint64{99, 0}},
	})
}

// TestFINEndingAtStartAck pins the ACK handling of a FIN that ends at its
// endpoint's initial sequence number (a stale or crafted segment): its
// relative end wraps to 0, and the peer's next ACK, even one for no new
// data, still goes through ackReceived, whose clamp to the FIN raises the
// acknowledged point and reports the content gap (G) as before the ACK
// fast path existed.
func TestFINEndingAtStartAck(t *testing.T) {
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC).UnixNano()
	tab, out := collect(Config{})
	ck, cd := NewKey(ProtoTCP, client, server)
	pk := func(fromClient bool, flags uint8, seq, ack uint32, n uint32, at int) {
		d := cd
		if !fromClient {
			d = cd.Flip()
		}
		tab.Packet(&Packet{Key: ck, Dir: d, Time: base + int64(at)*int64(time.Millisecond), WireLen: 60 + n, PayloadLen: n, TCPFlags: flags, Seq: seq, Ack: ack})
	}
	pk(true, syn, 1000, 0, 0, 1)
	pk(false, synack, 5000, 1001, 0, 2)
	pk(true, ack, 1001, 5001, 0, 3)
	pk(true, finack, 999, 5001, 0, 4) // ends at the ISN: the FIN's end wraps to 0
	pk(false, ack, 5001, 1001, 0, 5)  // a pure ACK at the trimmed point
	pk(false, pshack, 5001, 1001, 10, 6)
	tab.Flush(EndActive)
	if h := (*out)[0].History(); h != "ShAFaGd" {
		t.Errorf("history %q, want ShAFaGd", h)
	}
}
