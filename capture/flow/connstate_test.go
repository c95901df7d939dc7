package flow

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// step is one packet of a scripted TCP or UDP exchange. Sequence and
// acknowledgement numbers follow the conversation unless set.
type step struct {
	client  bool
	flags   uint8
	n       uint32 // payload bytes
	seq     int64  // -1: next in the sender's sequence space
	ack     int64  // -1: what the other side has sent so far
	zeroWin bool
	bad     bool          // bad checksum
	cut     bool          // payload cut by the snap length
	pause   time.Duration // quiet time before the packet (1 ms apart otherwise)
	tunnel  *Key          // identity of the tunnel the packet came out of (nil: none)
}

// c and s are steps from the client and the server with automatic numbers.
func c(flags uint8, n uint32) step { return step{client: true, flags: flags, n: n, seq: -1, ack: -1} }
func s(flags uint8, n uint32) step { return step{flags: flags, n: n, seq: -1, ack: -1} }

// at overrides a step's sequence number (relative to the sender's ISN).
func (st step) at(rel int64) step { st.seq = rel; return st }

func (st step) acking(rel int64) step { st.ack = rel; return st }

// zw marks a step's window as zero; snapped marks its payload as cut by
// the snap length.
func (st step) zw() step      { st.zeroWin = true; return st }
func (st step) snapped() step { st.cut = true; return st }

// after delays a step by d more.
func (st step) after(d time.Duration) step { st.pause = d; return st }

const (
	clientISN = 1_000_000
	serverISN = 7_000_000
)

// script plays steps between client and server (proto TCP or UDP) and
// returns the ended flows.
func script(t *testing.T, proto uint8, cl, sv string, steps []step) []Flow {
	t.Helper()
	client, server := netip.MustParseAddrPort(cl), netip.MustParseAddrPort(sv)
	var out []Flow
	tab := NewTable(DefaultConfig(), func(f *Flow) { out = append(out, *f) })
	next := map[bool]uint32{true: clientISN, false: serverISN}
	isn := map[bool]uint32{true: clientISN, false: serverISN}
	var now time.Duration
	for _, st := range steps {
		now += st.pause
		src, dst := client, server
		if !st.client {
			src, dst = server, client
		}
		k, d := NewKey(proto, src, dst)
		seq := next[st.client]
		if st.seq >= 0 {
			seq = isn[st.client] + uint32(st.seq)
		}
		var ack uint32
		if st.flags&FlagACK != 0 {
			ack = next[!st.client]
			if st.ack >= 0 {
				ack = isn[!st.client] + uint32(st.ack)
			}
		}
		p := Packet{Key: k, Dir: d, Time: int64(now), WireLen: 60 + st.n, PayloadLen: st.n,
			TCPFlags: st.flags, Seq: seq, Ack: ack, ZeroWindow: st.zeroWin, BadChecksum: st.bad, Cut: st.cut}
		tab.PacketTunneled(&p, nil, st.tunnel)
		now += time.Millisecond
		if proto == ProtoTCP && !st.bad && st.flags&FlagRST == 0 {
			end := seq + st.n
			if st.flags&FlagSYN != 0 {
				end++
			}
			if st.flags&FlagFIN != 0 {
				end++
			}
			if int32(end-next[st.client]) > 0 {
				next[st.client] = end
			}
		}
	}
	tab.Flush(EndFlush)
	return out
}

type connCase struct {
	name     string
	proto    uint8
	cl, sv   string
	steps    []step
	state    ConnState
	history  string
	origIsCl bool
	// seq are the expected sequence-based payload bytes (orig, resp);
	// nil skips the check.
	seq []uint64
}

const (
	cli   = "10.0.0.1:40000"
	https = "10.0.0.2:443"  // a likely server port (Zeek's ssl)
	sips  = "10.0.0.2:5061" // not a likely server port
	fin   = FlagFIN | FlagACK
	psh   = FlagPSH | FlagACK
	rsta  = FlagRST | FlagACK
)

func runConnCases(t *testing.T, cases []connCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			proto := tc.proto
			if proto == 0 {
				proto = ProtoTCP
			}
			cl, sv := tc.cl, tc.sv
			if cl == "" {
				cl = cli
			}
			if sv == "" {
				sv = https
			}
			out := script(t, proto, cl, sv, tc.steps)
			if len(out) != 1 {
				t.Fatalf("%d flows, want 1", len(out))
			}
			f := &out[0]
			if f.ConnState() != tc.state || f.State() != tc.state.String() || f.History() != tc.history {
				t.Errorf("state %s history %q, want %s %q", f.ConnState(), f.History(), tc.state, tc.history)
			}
			if got := f.Src() == netip.MustParseAddrPort(cl); got != tc.origIsCl {
				t.Errorf("originator %v, want client=%v", f.Src(), tc.origIsCl)
			}
			if tc.seq != nil {
				o, r := f.SeqBytes()
				if o != tc.seq[0] || r != tc.seq[1] {
					t.Errorf("sequence bytes %d/%d, want %d/%d", o, r, tc.seq[0], tc.seq[1])
				}
			}
		})
	}
}

var (
	syn3 = []step{c(FlagSYN, 0), s(FlagSYN|FlagACK, 0), c(FlagACK, 0)}
)

func with(steps ...[]step) []step {
	var all []step
	for _, s := range steps {
		all = append(all, s...)
	}
	return all
}

// TestConnStates pins every conn_state Zeek defines, each with the exact
// history Zeek writes for the same packets (worked out from
// TCPSessionAdapter's state machine and Conn::conn_state;
// docs/conn-state.md).
func TestConnStates(t *testing.T) {
	runConnCases(t, []connCase{
		{name: "S0 SYN unanswered, retransmitted", steps: []step{c(FlagSYN, 0), c(FlagSYN, 0).at(0)}, state: StateS0, history: "S", origIsCl: true},
		{name: "REJ SYN answered by RST", steps: []step{c(FlagSYN, 0), s(rsta, 0)}, state: StateREJ, history: "Sr", origIsCl: true},
		// A stealth-scan answer: the SYN-ACK sender stays originator and
		// the RST rejects it.
		// Both sides reset with no data either way (sequence sizes 0): REJ.
		{name: "REJ both reset without data", steps: with(syn3, []step{c(FlagRST, 0), s(FlagRST, 0)}), state: StateREJ, history: "ShARr", origIsCl: true},
		// The same after data both ways: the sizes are not 0, so RSTR.
		{name: "RSTR both reset after data", steps: with(syn3, []step{c(psh, 10), s(psh, 10), c(FlagRST, 0), s(FlagRST, 0)}),
			state: StateRSTR, history: "ShADdRr", origIsCl: true, seq: []uint64{10, 10}},
		{name: "REJ SYN-ACK answered by RST", sv: sips, steps: []step{s(FlagSYN|FlagACK, 0), c(FlagRST, 0)}, state: StateREJ, history: "Hr", origIsCl: false},
		{name: "S1 established", steps: syn3, state: StateS1, history: "ShA", origIsCl: true},
		{name: "SF normal", steps: with(syn3, []step{c(psh, 10), s(psh, 20), c(fin, 0), s(fin, 0), c(FlagACK, 0)}),
			state: StateSF, history: "ShADdFf", origIsCl: true, seq: []uint64{10, 20}},
		{name: "S2 only originator FIN", steps: with(syn3, []step{c(fin, 0)}), state: StateS2, history: "ShAF", origIsCl: true},
		{name: "S3 only responder FIN", steps: with(syn3, []step{s(fin, 0)}), state: StateS3, history: "ShAf", origIsCl: true},
		{name: "RSTO originator aborts", steps: with(syn3, []step{c(FlagRST, 0)}), state: StateRSTO, history: "ShAR", origIsCl: true},
		{name: "RSTR responder aborts", steps: with(syn3, []step{s(FlagRST, 0)}), state: StateRSTR, history: "ShAr", origIsCl: true},
		{name: "RSTOS0 SYN then own RST", steps: []step{c(FlagSYN, 0), c(FlagRST, 0)}, state: StateRSTOS0, history: "SR", origIsCl: true},
		{name: "RSTOS0 SYN, ACK then RST", steps: []step{c(FlagSYN, 0), s(FlagACK, 0), c(FlagRST, 0)}, state: StateRSTOS0, history: "SaR", origIsCl: true},
		// Zeek's /^?S[^HAFGIQ]*R/: an ACK from the originator between its
		// SYN and RST is not a bare attempt.
		{name: "OTH SYN, own ACK then RST", steps: []step{c(FlagSYN, 0), c(FlagACK, 0), c(FlagRST, 0)}, state: StateOTH, history: "SAR", origIsCl: true},
		{name: "OTH SYN, FIN then RST", steps: []step{c(FlagSYN, 0), s(FlagACK, 0), c(fin, 0), c(FlagRST, 0)}, state: StateOTH, history: "SaFR", origIsCl: true},
		{name: "RSTRH SYN-ACK from a server port then RST", steps: []step{s(FlagSYN|FlagACK, 0), s(FlagRST, 0)}, state: StateRSTRH, history: "^hr", origIsCl: true},
		{name: "RSTRH midstream data answered by RST", steps: []step{c(psh, 100), s(FlagRST, 0)}, state: StateRSTRH, history: "Dr", origIsCl: true},
		{name: "SH SYN then FIN", steps: []step{c(FlagSYN, 0), c(fin, 0)}, state: StateSH, history: "SF", origIsCl: true},
		{name: "SHR SYN-ACK then FIN", steps: []step{s(FlagSYN|FlagACK, 0), s(fin, 0)}, state: StateSHR, history: "^hf", origIsCl: true},
		{name: "OTH midstream", steps: []step{c(psh, 10), s(FlagACK, 0)}, state: StateOTH, history: "Da", origIsCl: true},
		{name: "OTH lone SYN-ACK from a port Zeek does not know", sv: sips, steps: []step{s(FlagSYN|FlagACK, 0)}, state: StateOTH, history: "H", origIsCl: false},
		{name: "OTH lone RST", steps: []step{c(FlagRST, 0)}, state: StateOTH, history: "R", origIsCl: true},
	})
}

// TestConnStateRules pins the rules behind the states, each against the
// mutation that would break it.
func TestConnStateRules(t *testing.T) {
	runConnCases(t, []connCase{
		// A RST once both sides closed changes nothing (Zeek's
		// UpdateClosedState): not RSTO/RSTR.
		{name: "RST after both FINs stays SF", steps: with(syn3, []step{c(psh, 5), s(psh, 5), c(fin, 0), s(fin, 0), c(FlagRST, 0)}),
			state: StateSF, history: "ShADdFfR", origIsCl: true},
		{name: "responder RST after both FINs stays SF", steps: with(syn3, []step{c(fin, 0), s(fin, 0), s(FlagRST, 0)}),
			state: StateSF, history: "ShAFfr", origIsCl: true},
		// A RST after only the originator's FIN is an abort by the responder.
		{name: "RST after one FIN is RSTR", steps: with(syn3, []step{c(fin, 0), s(FlagRST, 0)}),
			state: StateRSTR, history: "ShAFr", origIsCl: true},
		// The peer's FIN then RST, then our FIN: a normal termination.
		{name: "FIN, RST then the other FIN is SF", steps: with(syn3, []step{c(fin, 0), c(FlagRST, 0), s(fin, 0)}),
			state: StateSF, history: "ShAFRf", origIsCl: true},
		// Seen from its SYN-ACK: flipped at once for a server port, then
		// an ordinary connection.
		{name: "from SYN-ACK, both FINs: SF", steps: []step{s(FlagSYN|FlagACK, 0), c(FlagACK, 0), c(psh, 10), s(psh, 10), c(fin, 0), s(fin, 0)},
			state: StateSF, history: "^hADdFf", origIsCl: true, seq: []uint64{10, 10}},
		{name: "from SYN-ACK, open: S1", steps: []step{s(FlagSYN|FlagACK, 0), c(FlagACK, 0)}, state: StateS1, history: "^hA", origIsCl: true},
		// A port Zeek does not know: the SYN-ACK sender stays originator
		// until productive traffic, then the late flip rewrites "H" to
		// "^h"; the client is then partial.
		{name: "late flip from SYN-ACK, both FINs: SF", sv: sips, steps: []step{s(FlagSYN|FlagACK, 0), c(FlagACK, 0), c(psh, 10), s(psh, 10), c(fin, 0), s(fin, 0)},
			state: StateSF, history: "^hADdFf", origIsCl: true},
		{name: "late flip from SYN-ACK, open: OTH", sv: sips, steps: []step{s(FlagSYN|FlagACK, 0), c(FlagACK, 0), c(psh, 10), s(psh, 10)},
			state: StateOTH, history: "^hADd", origIsCl: true},
		{name: "late flip on the SYN-ACK sender's own ACK", sv: sips, steps: []step{s(FlagSYN|FlagACK, 0), s(FlagACK, 0), s(fin, 0)},
			state: StateSHR, history: "^haf", origIsCl: true},
		// Midstream, both FINs: both endpoints closed, so SF.
		{name: "midstream closing both ways", steps: []step{c(psh, 10), s(FlagACK, 0), c(fin, 0), s(fin, 0), c(FlagACK, 0)},
			state: StateSF, history: "DaFfA", origIsCl: true},
		// The SYN-ACK was not captured but the responder talked: partial,
		// never S0 (which the classifier reports as blocked).
		{name: "SYN-ACK lost, responder sends data: OTH", steps: []step{c(FlagSYN, 0), c(FlagACK, 0).acking(1), c(psh, 20).acking(1), s(psh, 30)},
			state: StateOTH, history: "SADd", origIsCl: true, seq: []uint64{20, 30}},
		{name: "SYN-ACK lost, both FINs: SF", steps: []step{c(FlagSYN, 0), c(FlagACK, 0).acking(1), c(psh, 20).acking(1), s(psh, 30), c(fin, 0), s(fin, 0)},
			state: StateSF, history: "SADdFf", origIsCl: true},
		// Zeek keeps S0 when the responder only ACKs the SYN ("some
		// eccentric TCPs ack an initial SYN before replying").
		{name: "SYN answered by a bare ACK stays S0", steps: []step{c(FlagSYN, 0), s(FlagACK, 0)}, state: StateS0, history: "Sa", origIsCl: true},
		// A SYN-ACK captured before its SYN: the SYN, with the number the
		// SYN-ACK acknowledged, is no reuse (Zeek's IsReuse); it reverses
		// the roles and establishes both sides.
		{name: "SYN after its SYN-ACK reverses the roles", sv: sips, steps: []step{s(FlagSYN|FlagACK, 0).acking(1), c(FlagSYN, 0).at(0), c(FlagACK, 0)},
			state: StateS1, history: "Hs^A", origIsCl: true},
	})
}

// TestHistoryLetters pins each history letter and its repetition rule.
func TestHistoryLetters(t *testing.T) {
	rexmit := func(n int) []step {
		st := with(syn3, []step{c(psh, 100)})
		for range n {
			st = append(st, c(psh, 100).at(1))
		}
		return st
	}
	zeroWin := func(n int) []step {
		st := append([]step(nil), syn3...)
		for range n {
			w := s(FlagACK, 0)
			w.zeroWin = true
			st = append(st, w)
		}
		return st
	}
	badSum := func(n int, client bool) []step {
		var st []step
		for range n {
			x := c(FlagSYN, 0)
			if !client {
				x = s(FlagSYN|FlagACK, 0)
			}
			x.bad = true
			st = append(st, x)
		}
		return st
	}
	udp := func(client bool, bad bool) step {
		st := step{client: client, n: 40, seq: -1, ack: -1, bad: bad}
		return st
	}
	runConnCases(t, []connCase{
		{name: "T once", steps: rexmit(1), state: StateS1, history: "ShADT", origIsCl: true, seq: []uint64{100, 0}},
		{name: "T at the 10th", steps: rexmit(10), state: StateS1, history: "ShADTT", origIsCl: true},
		{name: "T not yet at the 9th", steps: rexmit(9), state: StateS1, history: "ShADT", origIsCl: true},
		{name: "T at the 100th", steps: rexmit(100), state: StateS1, history: "ShADTTT", origIsCl: true},
		{name: "T not yet at the 999th", steps: rexmit(999), state: StateS1, history: "ShADTTT", origIsCl: true},
		{name: "T at the 1000th", steps: rexmit(1000), state: StateS1, history: "ShADTTTT", origIsCl: true},
		{name: "T not yet at the 9999th", steps: rexmit(9999), state: StateS1, history: "ShADTTTT", origIsCl: true},
		{name: "T at the 10000th", steps: rexmit(10000), state: StateS1, history: "ShADTTTTT", origIsCl: true},
		{name: "w zero window", steps: zeroWin(1), state: StateS1, history: "ShAaw", origIsCl: true},
		{name: "w at the 10th", steps: zeroWin(10), state: StateS1, history: "ShAaww", origIsCl: true},
		{name: "w not yet at the 9th", steps: zeroWin(9), state: StateS1, history: "ShAaw", origIsCl: true},
		// No w once the peer sent its FIN, nor after the sender's own RST
		// (Zeek's update_window).
		{name: "zero window after the peer's FIN is not w", steps: with(syn3, []step{c(fin, 0), s(FlagACK, 0).zw()}), state: StateS2, history: "ShAFa", origIsCl: true},
		{name: "zero window after the own RST is not w", steps: with(syn3, []step{s(FlagRST, 0), s(FlagACK, 0).zw()}), state: StateRSTR, history: "ShAra", origIsCl: true},
		{name: "zero window with RST is not w", steps: with(syn3, []step{{flags: FlagRST, seq: -1, ack: -1, zeroWin: true}}), state: StateRSTR, history: "ShAr", origIsCl: true},
		{name: "C bad checksum SYN", steps: badSum(1, true), state: StateOTH, history: "C", origIsCl: true},
		{name: "C at the 10th", steps: badSum(10, true), state: StateOTH, history: "CC", origIsCl: true},
		{name: "c from the responder", steps: with([]step{c(FlagSYN, 0)}, badSum(1, false)), state: StateS0, history: "Sc", origIsCl: true},
		{name: "UDP C and c", proto: ProtoUDP, sv: "10.0.0.2:5004", steps: []step{udp(true, true), udp(false, true)}, state: StateOTH, history: "Cc", origIsCl: true},
		{name: "UDP good after bad", proto: ProtoUDP, sv: "10.0.0.2:5004", steps: []step{udp(true, true), udp(true, false), udp(false, false)}, state: StateSF, history: "CDd", origIsCl: true},
		// Data 1-100 and 201-300 arrive, 101-200 never does; the ACK of 301
		// reveals the hole: one G.
		{name: "G content gap", steps: with(syn3, []step{c(psh, 100), c(psh, 100).at(201), s(FlagACK, 0).acking(301)}),
			state: StateS1, history: "ShADaG", origIsCl: true, seq: []uint64{300, 0}},
		{name: "g gap in the responder's data", steps: with(syn3, []step{s(psh, 50), c(FlagACK, 0).acking(101)}),
			state: StateS1, history: "ShAdg", origIsCl: true},
		// Payload the snap length cut never arrived: its acknowledgement is
		// a gap.
		{name: "G for payload cut by the snap length", steps: with(syn3, []step{c(psh, 100).snapped(), s(FlagACK, 0)}),
			state: StateS1, history: "ShADaG", origIsCl: true},
		// Gaps only while both endpoints are established or closing
		// cleanly (Zeek's is_clean): here the originator closed from
		// SYN_SENT, so the hole in the responder's data is no g.
		{name: "no gap when an endpoint closed before establishing", steps: []step{c(FlagSYN, 0), c(fin, 0), s(FlagSYN|FlagACK, 0).acking(1), s(psh, 50), c(FlagACK, 0).acking(101)},
			state: StateS2, history: "SFhdA", origIsCl: true},
		// A RST acknowledging past a hole: the sender is reset, so no G.
		{name: "no gap when the acknowledging peer reset", steps: with(syn3, []step{c(psh, 100), c(psh, 100).at(201), s(rsta, 0).acking(301)}),
			state: StateRSTR, history: "ShADr", origIsCl: true},
		// A partial connection whose first acknowledgement points two
		// octets past the faked start (the pure ACK seen before its SYN
		// was a keep-alive): not a gap (Zeek's Undelivered). The SYN has
		// the faked start's number, so Zeek does not take it for reuse.
		{name: "no gap in a partial connection's first two octets", steps: []step{c(FlagACK, 0).at(1), c(FlagSYN, 0).at(0), s(FlagSYN|FlagACK, 0).acking(1), s(FlagACK, 0).acking(2)},
			state: StateS1, history: "ASha", origIsCl: true},
		// Past them it is one.
		{name: "gap in a partial connection past its first two octets", steps: []step{c(FlagACK, 0).at(1), c(FlagSYN, 0).at(0), s(FlagSYN|FlagACK, 0).acking(1), s(FlagACK, 0).acking(3)},
			state: StateS1, history: "AShaG", origIsCl: true},
		{name: "hole filled later is no gap", steps: with(syn3, []step{c(psh, 100), c(psh, 100).at(201), c(psh, 100).at(101), s(FlagACK, 0).acking(301)}),
			state: StateS1, history: "ShADTa", origIsCl: true},
		{name: "no gap before the handshake completes", steps: []step{c(psh, 10), s(FlagACK, 0).acking(500)}, state: StateOTH, history: "Da", origIsCl: true},
		// Out-of-order: the later segment first keeps D; the earlier one,
		// below the highest sequence seen, counts as a retransmission.
		{name: "out-of-order first data keeps D", steps: with(syn3, []step{c(psh, 100).at(101), c(psh, 100).at(1)}),
			state: StateS1, history: "ShADT", origIsCl: true},
		{name: "I FIN+RST", steps: with(syn3, []step{c(FlagFIN|FlagRST, 0)}), state: StateRSTO, history: "ShAI", origIsCl: true},
		// FIN+RST is a reset, not a close: the peer's FIN does not turn
		// it into a normal termination.
		{name: "FIN+RST then the peer's FIN stays RSTO", steps: with(syn3, []step{c(FlagFIN|FlagRST, 0), s(fin, 0)}), state: StateRSTO, history: "ShAIf", origIsCl: true},
		{name: "Q SYN+FIN", steps: []step{c(FlagSYN|FlagFIN, 0)}, state: StateSH, history: "Q", origIsCl: true},
		// A retransmitted SYN (same number) does not re-base: the data
		// sent before it stays below the highest sequence, so its
		// retransmission is a T.
		{name: "retransmitted SYN keeps the sequence space", steps: []step{c(FlagSYN, 0), c(psh, 10), c(FlagSYN, 0).at(0), c(psh, 10).at(1)},
			state: StateS0, history: "SDT", origIsCl: true, seq: []uint64{10, 0}},
		// A reset endpoint re-bases on a SYN only if the RST was the first
		// thing it sent: a SYN-ACK after an established side's RST keeps
		// the sequence space (a new h, the data still counted).
		{name: "SYN-ACK after an established RST keeps the sequence space", steps: with(syn3, []step{s(psh, 10), s(FlagRST, 0), s(FlagSYN|FlagACK, 0).at(5000)}),
			state: StateRSTR, history: "ShAdrh", origIsCl: true, seq: []uint64{0, 10}},
		// A SYN-ACK after a FIN is no reuse in Zeek (a fresh SYN would be):
		// it is not re-based, so a new number is a new h.
		{name: "h repeats after a FIN", steps: []step{c(FlagSYN, 0), s(FlagSYN|FlagACK, 0), s(fin, 0), s(FlagSYN|FlagACK, 0).at(5000)}, state: StateS3, history: "Shfh", origIsCl: true},
		{name: "F once for a retransmitted FIN", steps: with(syn3, []step{c(fin, 0), c(fin, 0).at(1)}), state: StateS2, history: "ShAF", origIsCl: true},
		// A FIN's number is the one after its data: the FIN repeated
		// alone after it is the same F.
		{name: "F once for a FIN with data repeated alone", steps: with(syn3, []step{c(FlagFIN|FlagPSH|FlagACK, 10), c(fin, 0).at(11)}),
			state: StateS2, history: "ShAF", origIsCl: true, seq: []uint64{10, 0}},
		{name: "F repeats for a new sequence number", steps: with(syn3, []step{c(fin, 0), c(fin, 0).at(6)}), state: StateS2, history: "ShAFF", origIsCl: true},
		{name: "R once for a retransmitted RST", steps: []step{c(psh, 10), s(FlagRST, 0), s(FlagRST, 0)}, state: StateRSTRH, history: "Dr", origIsCl: true},
		{name: "R repeats for a new sequence number", steps: []step{c(psh, 10), s(FlagRST, 0), s(FlagRST, 0).at(9999)}, state: StateRSTRH, history: "Drr", origIsCl: true},
		{name: "data with FIN is not D", steps: with(syn3, []step{c(FlagFIN|FlagPSH|FlagACK, 10)}), state: StateS2, history: "ShAF", origIsCl: true, seq: []uint64{10, 0}},
	})
}

// TestUDPAndOtherStates pins the non-TCP states and the likely-server-port
// flip.
func TestUDPAndOtherStates(t *testing.T) {
	u := func(client bool) step { return step{client: client, n: 48, seq: -1, ack: -1} }
	runConnCases(t, []connCase{
		{name: "UDP one way S0", proto: ProtoUDP, sv: "10.0.0.2:5004", steps: []step{u(true)}, state: StateS0, history: "D", origIsCl: true},
		{name: "UDP both ways SF", proto: ProtoUDP, sv: "10.0.0.2:5004", steps: []step{u(true), u(false), u(true)}, state: StateSF, history: "Dd", origIsCl: true},
		{name: "DNS answer first flips: SHR", proto: ProtoUDP, sv: "10.0.0.2:53", steps: []step{u(false)}, state: StateSHR, history: "^d", origIsCl: true},
		{name: "DHCP server to client flips", proto: ProtoUDP, cl: "10.0.0.1:68", sv: "10.0.0.2:67", steps: []step{u(false), u(true)}, state: StateSF, history: "^dD", origIsCl: true},
		{name: "DHCP to broadcast does not flip", proto: ProtoUDP, cl: "255.255.255.255:68", sv: "10.0.0.2:67", steps: []step{u(false)}, state: StateS0, history: "D", origIsCl: false},
		{name: "NTP both on 123 does not flip", proto: ProtoUDP, cl: "10.0.0.1:123", sv: "10.0.0.2:123", steps: []step{u(false)}, state: StateS0, history: "D", origIsCl: false},
		{name: "media high to high does not flip", proto: ProtoUDP, cl: "10.0.0.1:20000", sv: "10.0.0.2:30000", steps: []step{u(false)}, state: StateS0, history: "D", origIsCl: false},
		{name: "SIP 5060 to an ephemeral port flips", proto: ProtoUDP, sv: "10.0.0.2:5060", steps: []step{u(false)}, state: StateSHR, history: "^d", origIsCl: true},
		{name: "UDP empty datagram still D", proto: ProtoUDP, sv: "10.0.0.2:5004", steps: []step{{client: true, seq: -1, ack: -1}}, state: StateS0, history: "D", origIsCl: true},
		{name: "ICMP is OTH without letters", proto: ProtoICMP, cl: "10.0.0.1:8", sv: "10.0.0.2:0", steps: []step{u(true), u(false)}, state: StateOTH, history: "", origIsCl: true},
		{name: "other protocol is OTH", proto: 47, cl: "10.0.0.1:0", sv: "10.0.0.2:0", steps: []step{u(true)}, state: StateOTH, history: "", origIsCl: true},
		// A SYN names its sender the originator whatever the ports.
		{name: "TCP SYN from a server port keeps its sender", steps: []step{s(FlagSYN, 0)}, state: StateS0, history: "S", origIsCl: false},
		// TCP from a likely server port to one that is not flips at once.
		{name: "TCP midstream from 443 flips", steps: []step{s(psh, 10), c(FlagACK, 0)}, state: StateOTH, history: "^dA", origIsCl: true},
		// Both likely server ports: the lower port is the server unless
		// the packet is a SYN-ACK.
		{name: "TCP both likely ports, lower sends data: flip", cl: "10.0.0.1:8080", sv: "10.0.0.2:80", steps: []step{s(psh, 10)}, state: StateOTH, history: "^d", origIsCl: true},
		{name: "TCP both likely ports, SYN-ACK does not flip", cl: "10.0.0.1:8080", sv: "10.0.0.2:80", steps: []step{s(FlagSYN|FlagACK, 0)}, state: StateOTH, history: "H", origIsCl: false},
	})
}

// TestCloseWithSilentPeer pins when a TCP connection ends, as Zeek's
// ConnectionClosed decides: a FIN while the peer had sent nothing
// completes the close, so packets after the close delay (tcp_close_delay,
// the table's 5 s linger) start a new connection; a FIN the peer can still
// answer does not. The first timelines are those of Zeek's Teredo test
// capture (core.tunnels.teredo conn.log). The last cases pin which SYNs
// start a new connection at once (Zeek's IsReuse).
func TestCloseWithSilentPeer(t *testing.T) {
	rstFromServer := s(rsta, 0)
	for _, tc := range []struct {
		name  string
		steps []step
		want  []string // state and history of each flow, in the order they end
	}{
		{"server FIN first, client FIN 7 s later",
			[]step{s(fin, 0), c(FlagACK, 0), c(fin, 0).after(7 * time.Second), s(FlagACK, 0), rstFromServer.after(16 * time.Second)},
			[]string{"SHR ^fA", "SH Fa", "RSTRH ^r"}},
		{"server FIN first, client RST 10 s later",
			[]step{s(fin, 0), c(FlagACK, 0), c(rsta, 0).after(10 * time.Second), rstFromServer.after(16 * time.Second)},
			[]string{"SHR ^fA", "OTH R", "RSTRH ^r"}},
		{"server FIN first, client FIN within the delay",
			[]step{s(fin, 0), c(FlagACK, 0), c(fin, 0).after(3 * time.Second), s(FlagACK, 0)},
			[]string{"SF ^fAFa"}},
		{"FIN after the handshake waits for the peer",
			with(syn3, []step{c(fin, 0), s(psh, 10).after(10 * time.Second)}),
			[]string{"S2 ShAFd"}},
		// A partial peer has sent something: the close waits for it.
		{"FIN answering midstream data waits for the peer",
			[]step{c(psh, 10), s(fin, 0), c(psh, 10).after(10 * time.Second)},
			[]string{"SHR Df"}},
		// The close is complete, so a fresh SYN is a new connection.
		{"SYN, FIN, then a new SYN",
			[]step{c(FlagSYN, 0), c(fin, 0), c(FlagSYN, 0).at(5000)},
			[]string{"SH SF", "S0 S"}},
		// Zeek's IsReuse: a SYN whose number is not the first SYN's starts
		// a new connection even while the first is open; a retransmission
		// does not.
		{"SYN retried with a new ISN",
			[]step{c(FlagSYN, 0), c(FlagSYN, 0).at(0), c(FlagSYN, 0).at(5000)},
			[]string{"S0 S", "S0 S"}},
		// So does a simultaneous open's answering SYN: the client's ACK
		// then answers the server's attempt.
		{"simultaneous open",
			[]step{c(FlagSYN, 0), s(FlagSYN, 0), c(FlagACK, 0)},
			[]string{"S0 S", "S0 Sa"}},
		// After either side's FIN any SYN is a new connection, even one
		// with the first SYN's number.
		{"SYN with the first number after a FIN",
			with(syn3, []step{s(fin, 0), c(FlagSYN, 0).at(0)}),
			[]string{"S3 ShAf", "S0 S"}},
		// A SYN-ACK is a reuse only while the originator sent nothing.
		// Here it re-bases the responder's sequence space (Zeek's
		// init_endpoint), so it is the same h.
		{"SYN-ACK with a new number after the originator's SYN",
			[]step{c(FlagSYN, 0), s(FlagSYN|FlagACK, 0), s(FlagSYN|FlagACK, 0).at(5000)},
			[]string{"S1 Sh"}},
		{"SYN-ACK retransmitted in a half connection",
			[]step{s(FlagSYN|FlagACK, 0), s(FlagSYN|FlagACK, 0).at(0)},
			[]string{"OTH ^h"}},
		{"SYN-ACK with a new number in an open half connection",
			[]step{s(FlagSYN|FlagACK, 0), s(FlagSYN|FlagACK, 0).at(5000)},
			[]string{"OTH ^h", "OTH ^h"}},
		{"SYN-ACK with a new number in a half connection",
			[]step{s(FlagSYN|FlagACK, 0), s(FlagRST, 0), s(FlagSYN|FlagACK, 0).at(5000)},
			[]string{"RSTRH ^hr", "OTH ^h"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, f := range script(t, ProtoTCP, cli, https, tc.steps) {
				got = append(got, f.State()+" "+f.History())
			}
			if strings.Join(got, ", ") != strings.Join(tc.want, ", ") {
				t.Errorf("flows %q, want %q", got, tc.want)
			}
		})
	}
}

// TestConnStateNames checks the names flows.parquet writes.
func TestConnStateNames(t *testing.T) {
	want := "OTH S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0 RSTRH SH SHR"
	var got []string
	for s := StateOTH; s < numConnStates; s++ {
		got = append(got, s.String())
		if p, ok := ParseConnState(s.String()); !ok || p != s {
			t.Errorf("ParseConnState(%s) = %v %v", s, p, ok)
		}
	}
	if strings.Join(got, " ") != want {
		t.Errorf("names %v", got)
	}
	if _, ok := ParseConnState("XX"); ok {
		t.Error("XX parsed")
	}
}

// TestEndedFlowKeepsTCPVerdict checks that the end callback's copy of a
// flow keeps its state after the table recycles the flow, and its TCP
// block, into a new connection.
func TestEndedFlowKeepsTCPVerdict(t *testing.T) {
	var out []Flow
	tab := NewTable(DefaultConfig(), func(f *Flow) { out = append(out, *f) })
	a, b := netip.MustParseAddrPort(cli), netip.MustParseAddrPort(https)
	send := func(src, dst netip.AddrPort, flags uint8, seq, ack, n uint32) {
		k, d := NewKey(ProtoTCP, src, dst)
		tab.Packet(&Packet{Key: k, Dir: d, TCPFlags: flags, Seq: seq, Ack: ack, PayloadLen: n})
	}
	send(a, b, FlagSYN, 100, 0, 0)
	send(b, a, FlagSYN|FlagACK, 500, 101, 0)
	send(a, b, psh, 101, 501, 10)
	send(a, b, fin, 111, 501, 0)
	send(b, a, fin, 501, 112, 0)
	tab.Flush(EndFlush)
	// A new connection takes the recycled flow and TCP block.
	other := netip.MustParseAddrPort("10.0.0.9:40001")
	send(other, b, FlagSYN, 1, 0, 0)
	send(b, other, FlagRST|FlagACK, 0, 2, 0)
	if len(out) != 1 {
		t.Fatalf("%d flows ended", len(out))
	}
	first := out[0]
	if first.State() != "SF" || !first.Established() || first.History() != "ShDFf" {
		t.Errorf("ended copy: %s %q established=%v", first.State(), first.History(), first.Established())
	}
	if o, r := first.SeqBytes(); o != 10 || r != 0 {
		t.Errorf("ended copy seq bytes %d/%d", o, r)
	}
}

// TestKernelCountedTCPStates pins the state of flows only the eBPF sensor
// counted: the union of each side's flags, replayed in handshake order.
func TestKernelCountedTCPStates(t *testing.T) {
	a, b := netip.MustParseAddrPort(cli), netip.MustParseAddrPort(https)
	tests := []struct {
		name           string
		origFl, respFl uint8
		state          ConnState
		established    bool
	}{
		{"handshake and both FINs", FlagSYN | FlagACK | FlagFIN, FlagSYN | FlagACK | FlagFIN, StateSF, true},
		{"handshake, open", FlagSYN | FlagACK, FlagSYN | FlagACK, StateS1, true},
		{"SYN only", FlagSYN, 0, StateS0, false},
		{"rejected", FlagSYN, FlagRST | FlagACK, StateREJ, false},
		{"responder reset after handshake", FlagSYN | FlagACK, FlagSYN | FlagACK | FlagRST, StateRSTR, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out []Flow
			tab := NewTable(DefaultConfig(), func(f *Flow) { out = append(out, *f) })
			k, d := NewKey(ProtoTCP, a, b)
			tab.AddCounters(k, d, 3, 180, 0, tt.origFl, 1, 2)
			if tt.respFl != 0 {
				tab.AddCounters(k, d.Flip(), 2, 120, 0, tt.respFl, 1, 2)
			}
			tab.Flush(EndFlush)
			f := &out[0]
			if f.ConnState() != tt.state || f.Established() != tt.established || f.History() != "" {
				t.Errorf("state %s established %v history %q, want %s %v \"\"", f.ConnState(), f.Established(), f.History(), tt.state, tt.established)
			}
		})
	}
}

// TestKernelCountedFINIsNoSilentClose checks that kernel-counted flags,
// replayed one side before the other, do not count the originator's FIN
// as a close the responder never answered: the responder's counters,
// read later, still join the flow.
func TestKernelCountedFINIsNoSilentClose(t *testing.T) {
	var out []Flow
	tab := NewTable(DefaultConfig(), func(f *Flow) { out = append(out, *f) })
	a, b := netip.MustParseAddrPort(cli), netip.MustParseAddrPort(https)
	k, d := NewKey(ProtoTCP, a, b)
	all := uint8(FlagSYN | FlagACK | FlagFIN)
	tab.AddCounters(k, d, 3, 180, 0, all, 1, 2)
	tab.AddCounters(k, d.Flip(), 2, 120, 0, all, 1, int64(10*time.Second))
	tab.Flush(EndFlush)
	if len(out) != 1 || out[0].State() != "SF" {
		t.Fatalf("%d flows, first %s; want one SF", len(out), out[0].State())
	}
}

// TestSequenceBytesAcrossWraps checks Zeek's byte count where sequence
// numbers wrap: a connection starting just below 2^32, and one sending
// more than 4 GiB, counting each byte once despite a retransmission.
func TestSequenceBytesAcrossWraps(t *testing.T) {
	a, b := netip.MustParseAddrPort(cli), netip.MustParseAddrPort(https)
	for _, tc := range []struct {
		name  string
		isn   uint32
		segs  int
		chunk uint32
	}{
		{"wrap at the start", 0xffffff00, 10, 1000},
		{"five GiB", 12345, 80 * 1024, 65536},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out []Flow
			tab := NewTable(DefaultConfig(), func(f *Flow) { out = append(out, *f) })
			send := func(src, dst netip.AddrPort, flags uint8, seq, ack, n uint32) {
				k, d := NewKey(ProtoTCP, src, dst)
				tab.Packet(&Packet{Key: k, Dir: d, TCPFlags: flags, Seq: seq, Ack: ack, PayloadLen: n})
			}
			send(a, b, FlagSYN, tc.isn, 0, 0)
			send(b, a, FlagSYN|FlagACK, 500, tc.isn+1, 0)
			seq := tc.isn + 1
			for i := range tc.segs {
				send(a, b, psh, seq, 501, tc.chunk)
				if i == 3 {
					send(a, b, psh, seq, 501, tc.chunk) // a retransmission
				}
				seq += tc.chunk
				send(b, a, FlagACK, 501, seq, 0)
			}
			send(a, b, fin, seq, 501, 0)
			send(b, a, fin, 501, seq+1, 0)
			tab.Flush(EndFlush)
			f := &out[0]
			want := uint64(tc.segs) * uint64(tc.chunk)
			if o, r := f.SeqBytes(); o != want || r != 0 {
				t.Errorf("sequence bytes %d/%d, want %d/0", o, r, want)
			}
			if f.State() != "SF" || f.History() != "ShDaTFf" {
				t.Errorf("state %s history %q", f.State(), f.History())
			}
		})
	}
}

// FuzzTCPStateMachine feeds arbitrary segments to one connection: nothing
// panics, the state is one of Zeek's, the history stays within its bound.
func FuzzTCPStateMachine(f *testing.F) {
	f.Add([]byte{0x02, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x12, 0x80, 0, 0, 1, 0, 0, 0, 2, 0, 10, 0x11, 0, 0, 0, 9, 0, 0, 0, 3, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		a, b := netip.MustParseAddrPort(cli), netip.MustParseAddrPort(https)
		var out []Flow
		tab := NewTable(DefaultConfig(), func(f *Flow) { out = append(out, *f) })
		// Each 11 bytes are a segment: TCP flags; a control byte (top bit:
		// from the server; bits 0-2: zero window, bad checksum, cut); the
		// sequence number (4 bytes), the acknowledgement (3) and the
		// payload length (2).
		for len(data) >= 11 {
			flags, ctl := data[0], data[1]
			seq := uint32(data[2])<<24 | uint32(data[3])<<16 | uint32(data[4])<<8 | uint32(data[5])
			ack := uint32(data[6])<<16 | uint32(data[7])<<8 | uint32(data[8])
			n := uint32(data[9])<<8 | uint32(data[10])
			src, dst := a, b
			if ctl&0x80 != 0 {
				src, dst = b, a
			}
			k, d := NewKey(ProtoTCP, src, dst)
			tab.Packet(&Packet{Key: k, Dir: d, TCPFlags: flags, Seq: seq, Ack: ack, PayloadLen: n,
				ZeroWindow: ctl&1 != 0, BadChecksum: ctl&2 != 0, Cut: ctl&4 != 0})
			data = data[11:]
		}
		tab.Flush(EndFlush)
		for i := range out {
			if _, ok := ParseConnState(out[i].State()); !ok {
				t.Fatalf("state %q", out[i].State())
			}
			if len(out[i].History()) > 32 {
				t.Fatalf("history %q", out[i].History())
			}
			out[i].SeqBytes()
		}
	})
}

// TestTCPPacketAllocatesNothing keeps the TCP state machine off the heap:
// data, ACKs, retransmissions, holes and a closed connection's reuse by a
// recycled flow.
func TestTCPPacketAllocatesNothing(t *testing.T) {
	tab := NewTable(DefaultConfig(), nil)
	a, b := netip.MustParseAddrPort(cli), netip.MustParseAddrPort(https)
	ka, da := NewKey(ProtoTCP, a, b)
	kb, db := NewKey(ProtoTCP, b, a)
	var now int64
	seq, i := uint32(1), 0
	exchange := func() {
		now++
		i++
		if i%50 == 0 {
			// Close and reopen: the flow and its TCP block are recycled.
			tab.Packet(&Packet{Key: ka, Dir: da, Time: now, TCPFlags: FlagRST, Seq: seq})
			tab.Packet(&Packet{Key: ka, Dir: da, Time: now, TCPFlags: FlagSYN, Seq: 0})
			tab.Packet(&Packet{Key: kb, Dir: db, Time: now, TCPFlags: FlagSYN | FlagACK, Seq: 0, Ack: 1})
			seq = 1
			return
		}
		if i%7 == 0 {
			seq += 100 // a hole
		}
		tab.Packet(&Packet{Key: ka, Dir: da, Time: now, TCPFlags: psh, Seq: seq, Ack: 1, PayloadLen: 100})
		if i%5 == 0 {
			tab.Packet(&Packet{Key: ka, Dir: da, Time: now, TCPFlags: psh, Seq: seq, Ack: 1, PayloadLen: 100})
		}
		seq += 100
		tab.Packet(&Packet{Key: kb, Dir: db, Time: now, TCPFlags: FlagACK, Seq: 1, Ack: seq, ZeroWindow: i%3 == 0})
	}
	for range 200 {
		exchange()
	}
	if allocs := testing.AllocsPerRun(1000, exchange); allocs != 0 {
		t.Fatalf("%v allocs per exchange", allocs)
	}
}

// TestReversedPairNeedsASilentResponder: IsReuse lets a SYN through as
// the late SYN of a SYN-ACK captured first only while the responder has
// sent nothing. Here the responder answered the SYN-ACK with one of its
// own, so its SYN with the number it started from is a new connection,
// as in Zeek.
func TestReversedPairNeedsASilentResponder(t *testing.T) {
	var got []string
	for _, f := range script(t, ProtoTCP, cli, sips, []step{s(FlagSYN|FlagACK, 0).acking(1), c(FlagSYN|FlagACK, 0), c(FlagSYN, 0).at(0)}) {
		got = append(got, f.State()+" "+f.History())
	}
	if want := "OTH Hh, S0 S"; strings.Join(got, ", ") != want {
		t.Errorf("flows %q, want %s", got, want)
	}
}
