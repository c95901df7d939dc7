package capture

import (
	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
)

// tunnelIdentity is the identity the flow table compares between a
// flow's packets to count tunnel changes as Zeek does (its
// EncapsulatingConn equality): nil for a packet not tunnelled; the outer
// UDP flow for a tunnel Zeek opens from a UDP connection (VXLAN, Geneve,
// GTP-U, Teredo, AYIYA), so each outer 5-tuple is a tunnel of its own;
// the unordered outer address pair for the tunnels Zeek's IPTunnel
// analyzer keys by it (IP-in-IP and every GRE form, GRE in UDP included).
// Only the innermost tunnel is compared: the decoder keeps no outer
// levels per packet, so a change in an outer level alone goes unseen.
// scratch holds the address pair.
func tunnelIdentity(pkt *decode.Packet, scratch *flow.Key) *flow.Key {
	switch pkt.Tunnel {
	case decode.TunnelNone:
		return nil
	case decode.TunnelVXLAN, decode.TunnelGeneve, decode.TunnelGTPU, decode.TunnelTeredo, decode.TunnelAYIYA:
		return &pkt.OuterKey
	}
	*scratch = pkt.OuterKey.AddrPair()
	return scratch
}
