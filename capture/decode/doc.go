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
// 229, picked by the version nibble), NFLOG (239, whose TLVs are searched
// by hand for the packet), PPP (9, and 50 with HDLC-like or Cisco framing),
// Cisco HDLC (104), IEEE 802.11 (105) and radiotap (127). Over those it
// follows 802.1Q and 802.1ad tags to any depth, MPLS label stacks (IP, or
// Ethernet behind a pseudowire control word), PPPoE sessions, VN-Tag,
// 802.1ah PBB, Cisco FabricPath, LLC/SNAP, IPv4, IPv6 with its Hop-by-Hop,
// Routing, Destination and Fragment headers, then TCP, UDP, SCTP ports,
// ICMP and ICMPv6. Application layers are not decoded. The encapsulations
// gopacket lacks or decodes with allocations are hand-written layers
// (encap.go); docs/encapsulations.md lists them all with their sources.
//
// Frames of the common shape (Ethernet, at most one VLAN tag, IPv4 without
// options or IPv6 without extension headers, a whole TCP or UDP header) are
// read by a hand-written fast path first, which halves the cost; the fuzz
// target holds it to the parser's results for every input.
//
// # Tunnels
//
// GRE (IP, Ethernet by Transparent Ethernet Bridging, ERSPAN I/II/III,
// PPP as PPTP's enhanced GRE carries it, 802.11 from Aruba access points),
// IP-in-IP (protocols 4 and 41), and on UDP VXLAN (4789), Geneve (6081),
// GTP-U (2152), Teredo (3544, or any port when the IPv6 inside uses the
// Teredo prefix), AYIYA (5072) and GRE-in-UDP (4754) are opened, and the
// packet is keyed by its innermost 5-tuple: that is the conversation
// between the hosts. The innermost tunnel and the outer flow that carried
// the packet are kept in Packet.Tunnel, Packet.OuterKey and
// Packet.OuterDir (the tunnel's originator), and the decoder counts every
// tunnel level's packets for Tunnels (tunnels.parquet). A tunnel's own
// packet that carries nothing (a Teredo bubble, an AYIYA heartbeat, a PPTP
// acknowledgment) is counted there too and skipped as tunnel-control: it
// makes no flow. So is a frame inside an opened tunnel that is not IP (ARP,
// STP, LLDP, PPP or 802.11 control), skipped as not-ip, or that cannot be
// read (MPPE, protected 802.11), skipped as encrypted: neither it nor the
// datagram carrying it becomes a flow. A UDP datagram on a tunnel port that
// is not that tunnel, or whose inner frame is damaged, stays a UDP flow. A
// tunnel whose header names a payload the decoder cannot open is skipped as
// tunnel-unsupported.
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
