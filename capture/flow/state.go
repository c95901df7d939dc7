package flow

// tcpState records which handshake and teardown events each side sent, in
// the terms Zeek's conn_state is defined by.
type tcpState uint16

const (
	origSYN    tcpState = 1 << iota // originator sent SYN without ACK
	respSYNACK                      // responder sent SYN+ACK
	respSYN                         // responder sent SYN without ACK (simultaneous open)
	origFIN
	respFIN
	origRST
	respRST
)

func (s tcpState) has(b tcpState) bool { return s&b != 0 }

// closed reports whether the connection is over: both FINs or any RST.
func (s tcpState) closed() bool {
	return s.has(origRST) || s.has(respRST) || (s.has(origFIN) && s.has(respFIN))
}

// observe folds one packet's flags, sent by the originator or not, into the state.
func (s *tcpState) observe(fromOrig bool, flags uint8) {
	syn, ack := flags&FlagSYN != 0, flags&FlagACK != 0
	fin, rst := flags&FlagFIN != 0, flags&FlagRST != 0
	if fromOrig {
		if syn && !ack {
			*s |= origSYN
		}
		if fin {
			*s |= origFIN
		}
		if rst {
			*s |= origRST
		}
		return
	}
	switch {
	case syn && ack:
		*s |= respSYNACK
	case syn:
		*s |= respSYN
	}
	if fin {
		*s |= respFIN
	}
	if rst {
		*s |= respRST
	}
}

// state derives Zeek's conn_state. The names and meanings follow Zeek's
// conn.log documentation so that analysts read them without a legend:
//
//	S0     SYN seen, no reply            REJ    SYN answered by RST
//	S1     established, not closed       SF     established and closed normally
//	S2/S3  established, only orig/resp FIN
//	RSTO   established, orig reset       RSTR   established, resp reset
//	RSTOS0 orig SYN then RST, no SYN-ACK RSTRH  resp SYN-ACK then RST, no SYN seen
//	SH     orig SYN then FIN, no SYN-ACK SHR    resp SYN-ACK then FIN, no SYN seen
//	OTH    no SYN seen: midstream traffic
//
// UDP, ICMP and other protocols have no handshake: S0 when only the
// originator sent, SF when both sides did, OTH when only the responder did.
func (f *Flow) state() string {
	if f.Key.proto != ProtoTCP {
		switch {
		case f.Orig.Packets > 0 && f.Resp.Packets > 0:
			return "SF"
		case f.Orig.Packets > 0:
			return "S0"
		}
		// Only the responder was seen (a reply from a service port whose
		// request was not captured): nothing was attempted that we saw.
		return "OTH"
	}
	s := f.tcp
	syn, synack := s.has(origSYN), s.has(respSYNACK) || s.has(respSYN)
	switch {
	case syn && !synack:
		switch {
		case s.has(origRST):
			return "RSTOS0"
		case s.has(respRST):
			return "REJ"
		case s.has(origFIN):
			return "SH"
		case f.Resp.Packets == 0:
			return "S0"
		}
		// The responder answered but its SYN-ACK was not captured (capture
		// loss, asymmetric routing): judge the rest as an established flow.
	case !syn && synack:
		switch {
		case s.has(respRST):
			return "RSTRH"
		case s.has(respFIN):
			return "SHR"
		}
		return "OTH"
	case !syn && !synack:
		return "OTH"
	}
	switch {
	case s.has(origRST):
		return "RSTO"
	case s.has(respRST):
		return "RSTR"
	case s.has(origFIN) && s.has(respFIN):
		return "SF"
	case s.has(origFIN):
		return "S2"
	case s.has(respFIN):
		return "S3"
	}
	return "S1"
}

// history is Zeek's history string, bounded: each letter appears at most
// once per direction, so 16 bytes hold every combination the table writes.
type history struct {
	buf  [16]byte
	n    uint8
	seen uint64 // bit per letter already written
}

func (h *history) add(c byte) {
	bit := historyBit(c)
	if h.seen&bit != 0 || int(h.n) == len(h.buf) {
		return
	}
	h.seen |= bit
	h.buf[h.n] = c
	h.n++
}

// historyBit gives lower-case letters bits 0-25, upper-case 26-51, '^' 52.
func historyBit(c byte) uint64 {
	switch {
	case c >= 'a' && c <= 'z':
		return 1 << (c - 'a')
	case c >= 'A' && c <= 'Z':
		return 1 << (26 + c - 'A')
	}
	return 1 << 52
}

func (h *history) String() string { return string(h.buf[:h.n]) }

// observeHistory adds the letters for one packet.
func (f *Flow) observeHistory(fromOrig bool, flags uint8, payload uint32, retrans bool) {
	letter := func(c byte) {
		if fromOrig {
			c -= 'a' - 'A'
		}
		f.history.add(c)
	}
	if f.Key.proto != ProtoTCP {
		if payload > 0 {
			letter('d')
		}
		return
	}
	syn, ack := flags&FlagSYN != 0, flags&FlagACK != 0
	switch {
	case syn && ack:
		letter('h')
	case syn:
		letter('s')
	case flags&FlagRST != 0:
	case flags&FlagFIN != 0:
	case payload == 0 && ack:
		letter('a')
	}
	if payload > 0 {
		if retrans {
			letter('t')
		} else {
			letter('d')
		}
	}
	if flags&FlagFIN != 0 {
		letter('f')
	}
	if flags&FlagRST != 0 {
		letter('r')
	}
}
