package flow

// Zeek compares each packet's encapsulation with its connection's
// (Connection::CheckEncapsulation, called for every packet of an existing
// connection before the packet is analyzed). Every difference is a tunnel
// change, including a packet without a tunnel after tunnelled ones and
// the reverse; the first maxTunnelChanges changes raise tunnel_changed
// events, and the next change instead adds 'X' (analyzer limit reached)
// to the history, once per connection. The packet's own letters follow
// the 'X'.
//
// The flow keeps the current tunnel's identity in its Meta (tunnelled
// flows only) and the count and whether a tunnel is current in one byte
// (encap), so an untunnelled packet of an untunnelled flow costs a few
// predictable tests and no memory.

// maxTunnelChanges is Zeek's Tunnel::max_changes_per_connection (default
// 5, scripts/base/init-bare.zeek).
const maxTunnelChanges = 5

// histLimit is Zeek's HIST_ANALYZER_LIMIT_REACHED: one 'X' per connection,
// whichever side's packet reached the limit.
const histLimit uint32 = 1 << 15

// encapOn in Flow.encap: the flow's last packet came out of a tunnel,
// whose identity is *Meta.tunnel. The low bits count the changes.
const encapOn uint8 = 0x80

// AddrPair is k without ports and protocol: the identity Zeek gives an
// IP-level tunnel (IP-in-IP, and GRE in all its forms, also GRE in UDP),
// which its IPTunnel analyzer keys by the unordered outer address pair.
// A UDP tunnel (VXLAN, Geneve, GTP-U, Teredo, AYIYA) is its outer UDP
// connection, the whole key: the two directions of a VXLAN conversation
// that use different source ports are two tunnels.
func (k Key) AddrPair() Key {
	return Key{addrA: k.addrA, addrB: k.addrB, is4: k.is4}
}

// enterTunnel sets the tunnel of a new flow's first packet.
func (f *Flow) enterTunnel(tunnel *Key) {
	f.setTunnel(tunnel)
	f.encap = encapOn
}

// setTunnel records the identity of the flow's current tunnel.
func (f *Flow) setTunnel(tunnel *Key) {
	m := f.MetaOrNew()
	if m.tunnel == nil {
		m.tunnel = new(Key)
	}
	*m.tunnel = *tunnel
}

// checkEncap compares a packet's tunnel (nil: none) with the flow's, for a
// packet that has one or a flow that had one.
func (f *Flow) checkEncap(tunnel *Key) {
	switch {
	case tunnel == nil:
		f.encap &^= encapOn
	case f.encap&encapOn != 0 && *f.Meta.tunnel == *tunnel:
		return
	default:
		f.setTunnel(tunnel)
		f.encap |= encapOn
	}
	if f.encap&^encapOn >= maxTunnelChanges {
		f.history.check(histLimit, 'X')
		return
	}
	f.encap++
}
