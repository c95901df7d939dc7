package flow

// ConnState is Zeek's conn_state: how far a connection got, judged from
// both endpoints' TCP states (or, for UDP, from which sides sent). The
// String form is Zeek's name, which flows.parquet writes.
type ConnState uint8

const (
	StateOTH    ConnState = iota // no SYN seen, just midstream traffic; every non-TCP/UDP flow
	StateS0                      // connection attempt seen, no reply
	StateS1                      // established, not terminated
	StateSF                      // normal establishment and termination (UDP: both sides sent)
	StateREJ                     // connection attempt rejected
	StateS2                      // established, close attempt by originator only
	StateS3                      // established, close attempt by responder only
	StateRSTO                    // established, originator aborted (sent a RST)
	StateRSTR                    // responder sent a RST
	StateRSTOS0                  // originator sent a SYN then a RST, no SYN-ACK seen
	StateRSTRH                   // responder sent a SYN-ACK then a RST, no SYN seen
	StateSH                      // originator sent a SYN then a FIN, no SYN-ACK seen
	StateSHR                     // responder sent a SYN-ACK then a FIN, no SYN seen (UDP: only the responder sent)
	numConnStates
)

var connStateNames = [numConnStates]string{
	StateOTH: "OTH", StateS0: "S0", StateS1: "S1", StateSF: "SF", StateREJ: "REJ",
	StateS2: "S2", StateS3: "S3", StateRSTO: "RSTO", StateRSTR: "RSTR",
	StateRSTOS0: "RSTOS0", StateRSTRH: "RSTRH", StateSH: "SH", StateSHR: "SHR",
}

func (s ConnState) String() string {
	if s < numConnStates {
		return connStateNames[s]
	}
	return "OTH"
}

// ParseConnState reads a Zeek conn_state name.
func ParseConnState(name string) (ConnState, bool) {
	for i, n := range connStateNames {
		if n == name {
			return ConnState(i), true
		}
	}
	return StateOTH, false
}

// connState is Zeek's Conn::conn_state function
// (scripts/base/protocols/conn/main.zeek) over the endpoint states this
// package tracks.
func (f *Flow) connState() ConnState {
	switch f.Key.proto {
	case ProtoTCP:
		if f.tcp == nil {
			return f.ended.state
		}
		return f.tcp.connState(&f.history)
	case ProtoUDP:
		o, r := f.udpActive&udpOrigActive != 0, f.udpActive&udpRespActive != 0
		switch {
		case o && r:
			return StateSF
		case o:
			return StateS0
		case r:
			return StateSHR
		}
		return StateOTH
	}
	// ICMP and every other IP protocol: Zeek's function answers OTH for
	// any transport but TCP and UDP.
	return StateOTH
}

func (c *tcpConn) connState(h *history) ConnState {
	os, rs := c.origEP(), c.respEP()
	oInactive := os.state == epInactive || os.state == epPartial
	rInactive := rs.state == epInactive || rs.state == epPartial
	switch {
	case rs.state == epReset:
		switch {
		case os.state == epSynSent || os.state == epSynAckSent ||
			(os.state == epReset && os.size(rs) == 0 && rs.size(os) == 0):
			return StateREJ
		case oInactive:
			return StateRSTRH
		}
		return StateRSTR
	case os.state == epReset:
		if rInactive {
			if h.matchesRSTOS0() {
				return StateRSTOS0
			}
			return StateOTH
		}
		return StateRSTO
	case rs.state == epClosed && os.state == epClosed:
		return StateSF
	case os.state == epClosed:
		if rInactive {
			return StateSH
		}
		return StateS2
	case rs.state == epClosed:
		if oInactive {
			return StateSHR
		}
		return StateS3
	case os.state == epSynSent && rs.state == epInactive:
		return StateS0
	case os.state == epEstablished && rs.state == epEstablished:
		return StateS1
	}
	return StateOTH
}

// matchesRSTOS0 is Zeek's /^\^?S[^HAFGIQ]*R.*/ over the history: the
// originator's SYN, then its RST, with no handshake answer, ACK, FIN, gap
// or odd flags from it in between.
func (h *history) matchesRSTOS0() bool {
	b := h.buf[:h.n]
	if len(b) > 0 && b[0] == '^' {
		b = b[1:]
	}
	if len(b) == 0 || b[0] != 'S' {
		return false
	}
	for _, c := range b[1:] {
		switch c {
		case 'R':
			return true
		case 'H', 'A', 'F', 'G', 'I', 'Q':
			return false
		}
	}
	return false
}
