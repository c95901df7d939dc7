package decode

import "sync/atomic"

// Reason says why a frame did not become a flow packet. It is the error
// Decode returns: a Reason converts to an error without allocating, and
// callers count skips with errors.As(err, &reason).
type Reason uint8

const (
	// ReasonUnsupportedLinkType: the capture's link type is not one the
	// decoder reads.
	ReasonUnsupportedLinkType Reason = iota
	// ReasonNotIP: the frame carries something other than IP (ARP, LLDP,
	// STP, IPX, ...). Normal on any LAN: counted, not alarming. Inside a
	// tunnel the decoder opened it also counts in the tunnel's row of the
	// tunnels table.
	ReasonNotIP
	// ReasonTruncated: the snap length cut the frame before the IP header
	// and the transport ports were complete.
	ReasonTruncated
	// ReasonBadLinkHeader: a malformed link-layer or label header (SLL
	// address length, loopback family, NFLOG TLVs, MPLS stack).
	ReasonBadLinkHeader
	// ReasonBadIPHeader: an IPv4 or IPv6 header (or IPv6 extension header)
	// that no host would accept: header length below 20 or beyond the
	// packet, options overrunning the header, ...
	ReasonBadIPHeader
	// ReasonBadIPVersion: the version nibble does not match the EtherType
	// or link type that announced the packet.
	ReasonBadIPVersion
	// ReasonBadL4Header: a TCP, UDP or ICMP header that is malformed rather
	// than cut (TCP data offset below 5, UDP length below 8, ...).
	ReasonBadL4Header
	// ReasonFragmentPending: an IP fragment held for reassembly. Not an
	// error: the datagram is delivered with its last fragment.
	ReasonFragmentPending
	// ReasonFragmentError: a fragment that cannot be reassembled (overlap,
	// beyond the datagram's end, cut by the snap length, nested
	// fragmentation); the datagram it belongs to is dropped.
	ReasonFragmentError
	// ReasonTunnelUnsupported: the innermost IP header carries a tunnel
	// (GRE, IP-in-IP, ...) whose header names a payload the decoder cannot
	// open. A frame reached inside an opened tunnel is never this.
	ReasonTunnelUnsupported
	// ReasonEncrypted: the frame's payload is encrypted or compressed at
	// the link layer (a protected 802.11 data frame, a PPP datagram
	// compressed or encrypted by CCP/ECP, MPPE in PPTP): its flows cannot
	// be seen. Inside a tunnel it counts in the tunnel's row.
	ReasonEncrypted
	// ReasonTunnelControl: a tunnel's own packet that carries no inner
	// packet (a Teredo bubble, an AYIYA heartbeat, a PPTP acknowledgment).
	// It is counted in its tunnel's row of the tunnels table, as tunnel
	// traffic; no flow.
	ReasonTunnelControl
	// ReasonAMSDUSubframe: a subframe of an 802.11 A-MSDU after the
	// first. A frame becomes one packet, so of an aggregate only the first
	// subframe is decoded; each further one is counted here, once per
	// subframe, while the frame itself counts as whatever its first gave.
	ReasonAMSDUSubframe
	// ReasonInternal: a decoder bug turned into a skip instead of a crash.
	ReasonInternal

	// NumReasons is the number of reasons, for arrays indexed by Reason.
	NumReasons
)

var reasonNames = [NumReasons]string{
	ReasonUnsupportedLinkType: "unsupported-linktype",
	ReasonNotIP:               "not-ip",
	ReasonTruncated:           "truncated",
	ReasonBadLinkHeader:       "bad-link-header",
	ReasonBadIPHeader:         "bad-ip-header",
	ReasonBadIPVersion:        "bad-ip-version",
	ReasonBadL4Header:         "bad-l4-header",
	ReasonFragmentPending:     "fragment-pending",
	ReasonFragmentError:       "fragment-error",
	ReasonTunnelUnsupported:   "tunnel-unsupported",
	ReasonEncrypted:           "encrypted",
	ReasonTunnelControl:       "tunnel-control",
	ReasonAMSDUSubframe:       "a-msdu-subframe",
	ReasonInternal:            "internal-error",
}

func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "reason-" + itoa(int(r))
}

// Error makes a Reason the error Decode returns.
func (r Reason) Error() string { return "decode: skipped: " + r.String() }

// Normal reports whether the reason is part of ordinary traffic (non-IP
// frames, fragments waiting for the rest of their datagram, a tunnel's
// keepalives) rather than a sign of damaged or unreadable input.
func (r Reason) Normal() bool {
	return r == ReasonNotIP || r == ReasonFragmentPending || r == ReasonTunnelControl
}

// Stats is a snapshot of a decoder's counters.
type Stats struct {
	// Skipped counts Decode calls that returned each Reason.
	Skipped [NumReasons]uint64
	// Truncated counts flow packets produced from frames cut inside the
	// transport header (ports and flags parsed by hand).
	Truncated uint64
	// Reassembled counts datagrams rebuilt from fragments.
	Reassembled uint64
	// Tunneled counts flow packets taken from inside a tunnel.
	Tunneled uint64
	// TunnelsDropped counts tunnelled packets whose tunnel was not
	// recorded because the tunnel table was full (their inner flows were
	// still decoded).
	TunnelsDropped uint64
	// FragExpired and FragEvicted count incomplete datagrams dropped
	// because their fragments stopped arriving, or to make room for new
	// ones. Their fragments were counted as fragment-pending.
	FragExpired, FragEvicted uint64
	// FragPending is the number of datagrams held right now.
	FragPending uint64
}

// counters are written by the decoder's goroutine and read by a metrics
// reader, hence atomic.
type counters struct {
	skipped                  [NumReasons]atomic.Uint64
	truncated                atomic.Uint64
	reassembled              atomic.Uint64
	tunneled                 atomic.Uint64
	tunnelsDropped           atomic.Uint64
	fragExpired, fragEvicted atomic.Uint64
	fragPending              atomic.Uint64
}

func (c *counters) snapshot() Stats {
	var s Stats
	for i := range c.skipped {
		s.Skipped[i] = c.skipped[i].Load()
	}
	s.Truncated = c.truncated.Load()
	s.Reassembled = c.reassembled.Load()
	s.Tunneled = c.tunneled.Load()
	s.TunnelsDropped = c.tunnelsDropped.Load()
	s.FragExpired = c.fragExpired.Load()
	s.FragEvicted = c.fragEvicted.Load()
	s.FragPending = c.fragPending.Load()
	return s
}

func itoa(v int) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := v < 0
	if neg {
		v = -v
	}
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
