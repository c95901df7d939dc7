// Package decode turns captured frames into flow packets: the 5-tuple key,
// direction, lengths, TCP flags and sequence number, VLAN, and the payload
// for the protocol parsers.
//
// # Decoding
//
// A Decoder runs gopacket's DecodingLayerParser over layer structs it
// reuses, so the steady state allocates nothing per packet. It reads
// Ethernet, Linux cooked capture v1 and v2, BSD loopback (link types 0 and
// 108, family in either byte order), raw IP (link types 101, 12, 14, 228,
// 229, picked by the version nibble) and NFLOG (239, whose TLVs are
// searched by hand for the packet). Over those it follows 802.1Q and
// 802.1ad tags to any depth, MPLS label stacks (IP, or Ethernet behind a
// pseudowire control word), IPv4, IPv6 with its Hop-by-Hop, Routing,
// Destination and Fragment headers, then TCP, UDP, SCTP ports, ICMP and
// ICMPv6. Application layers are not decoded.
//
// Frames of the common shape (Ethernet, at most one VLAN tag, IPv4 without
// options or IPv6 without extension headers, a whole TCP or UDP header) are
// read by a hand-written fast path first, which halves the cost; the fuzz
// target holds it to the parser's results for every input.
//
// # Tunnels
//
// GRE (IP, or Ethernet by Transparent Ethernet Bridging and ERSPAN I/II),
// VXLAN on UDP 4789 and IP-in-IP (protocols 4 and 41) are opened, and the
// packet is keyed by its innermost 5-tuple: that is the conversation
// between the hosts, the one tshark lists too. The outermost tunnel and the
// outer flow that carried the packet are kept in Packet.Tunnel and
// Packet.OuterKey. tshark also lists the carrier UDP conversation of VXLAN;
// a caller who wants it counts OuterKey. Teredo (UDP 3544) and Geneve are
// not opened: their packets are UDP flows between the outer addresses.
// A tunnel whose payload the decoder cannot open (GRE carrying PPP, say) is
// skipped as tunnel-unsupported.
//
// # VLAN
//
// Packet.VLAN is the innermost 802.1Q tag's VLAN ID, the customer VLAN of a
// QinQ stack; 0 when untagged or priority-tagged. In a tunnel it is the
// innermost tag seen on either side of it.
//
// # Fragments
//
// IPv4 and IPv6 fragments are reassembled by the decoder (not gopacket's
// ip4defrag/ip6defrag, which keep the caller's layers by pointer, hold any
// number of datagrams and, for IPv6, time them by the wall clock). At most
// Options.MaxFragDatagrams datagrams are held, each up to 64 KiB, and one
// whose fragments stop arriving for Options.FragTimeout of packet time is
// dropped; both drops are counted in Stats. Overlapping fragments drop
// their datagram (fragment-error), as receivers do.
//
// Every fragment but the one completing a datagram returns
// fragment-pending. The completing one yields one flow packet for the
// whole datagram, as tshark counts it in its conversation tables, but with
// WireLen set to the sum of all its fragments' frame lengths, so that flow
// byte counts match what crossed the wire; Packet.Fragments says how many
// frames it was built from. IPv6 atomic fragments are not held. A first
// fragment cut by the snap length, which can never be rebuilt, is decoded
// as it stands, as tshark does.
//
// # Truncation and malformed frames
//
// A frame cut by the snap length still becomes a flow packet when the IP
// header and the transport ports are complete (for TCP the first 14 bytes,
// which hold the flags): gopacket rejects such a TCP header, so the ports,
// sequence number and flags are read by hand and Packet.Truncated is set.
// PayloadLen is always the length the IP header announces, Payload only
// what was captured. Anything shorter, or malformed, is skipped with a
// Reason (truncated, bad-ip-header, bad-l4-header, ...) that Decode returns
// as its error and counts; no input makes Decode panic.
package decode
