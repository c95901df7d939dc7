package decode

import (
	"github.com/gopacket/gopacket/layers"

	"github.com/ccaudit/auditor/capture/flow"
)

// Packet is one decoded packet. Payload aliases the decoder's buffers (or
// the frame): it is valid until the next call to Decode.
type Packet struct {
	flow.Packet

	// Payload is the transport payload as captured (may be shorter than the
	// packet's real payload when the frame was cut by the snap length).
	Payload []byte

	// Quoted is set for an ICMP/ICMPv6 error (destination unreachable, time
	// exceeded, ...): the flow of the packet the error quotes, and the ICMP
	// type and code. The ICMP packet itself is still a flow of its own.
	Quoted             bool
	QuotedKey          flow.Key
	ICMPType, ICMPCode uint8
	Reassembled        bool // built from IP fragments
	Truncated          bool // frame cut by the snap length inside the headers used

	// Fragments is the number of frames a reassembled datagram was built
	// from; WireLen is then the sum of their wire lengths.
	Fragments uint16

	// Tunnel is the innermost tunnel the packet was taken out of (the
	// parent Zeek's conn.log names in tunnel_parents), and OuterKey the
	// flow of the IP header that carried it (with the UDP ports for UDP
	// tunnels, no ports for GRE and IP-in-IP). The flow itself (Key) is
	// always the innermost one.
	Tunnel   Tunnel
	OuterKey flow.Key
	// OuterDir says which endpoint of OuterKey originated the tunnel
	// (sent its first packet the decoder saw), so every flow of a tunnel
	// names it alike; the packet's own direction when the tunnel table
	// was full.
	OuterDir flow.Dir

	// Ordinal is the packet's position among the packets the pipeline
	// decoded, from 0. Dissectors stamp the changes they stage to shared
	// state with it, so commits apply them in capture order whichever
	// worker staged them.
	Ordinal uint64

	// Frame is the captured frame the packet was decoded from, of link
	// type LinkType, for dissectors that keep packets (evidence). The
	// pipeline sets it only when its Config.KeepFrames is set; it is valid
	// while the packet is handled.
	Frame    []byte
	LinkType layers.LinkType

	// A transport checksum whose payload part FinishChecksum still has to
	// add: the sum so far.
	csumAcc     uint64
	csumPending bool
}
