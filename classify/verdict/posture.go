package verdict

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/classify/sipcall"
	"github.com/ccaudit/auditor/classify/tlsinfo"
)

// minTLS is the lowest version accepted on any flow: RFC 8996 deprecates
// TLS 1.0 and 1.1, RFC 7568 SSL 3.0.
const minTLS = tlsinfo.VersionTLS12

const (
	reasonUnexpectedMedia       = "RTP/RTCP/UDPTL recognised by content, with no SIP/SDP signalling seen for it; no catalog entry allows this port between these hosts"
	reasonUnexpectedMediaFailed = "RTP/RTCP/UDPTL recognised by content, with no SIP/SDP signalling seen for it, answered by ICMP unreachable; no catalog entry allows it between these hosts"
	reasonOutsidePortOnly       = "port-only (no inventory): negotiated media on a port outside every media range the selected vendors document"
	reasonTLSBelowMinimum       = "a TLS version below TLS 1.2 (RFC 8996)"
)

// encryptedInside reports apps whose catalog "tls: required" does not mean
// a TLS handshake in the first payload: SMB 3 encrypts inside SMB, RDP
// starts TLS after an X.224 exchange. The plaintext check skips them.
func encryptedInside(app string) bool { return app == "smb" || app == "rdp" }

// plainHTTPPort reports the ports documents list for the plain-HTTP
// variant of an https entry (MS Teams signalling "443, 80", CUCM AXL
// "8443, 8080"): plain HTTP there is what the document says.
func plainHTTPPort(p uint16) bool { return p == 80 || p == 8080 }

// isTLSApp reports the labels of a flow that carried a TLS (or QUIC)
// handshake: "tls", "quic", and a cleartext protocol upgraded to TLS
// ("smtp+tls", "http-connect+tls").
func isTLSApp(app string) bool {
	return app == "tls" || app == "quic" || strings.HasSuffix(app, "+tls")
}

// baseApp is the protocol of an upgraded label ("imap" for "imap+tls"),
// which is what catalog entries name.
func baseApp(app string) string { return strings.TrimSuffix(app, "+tls") }

// oldTLS is the reason text for one version below a minimum.
type oldTLS struct {
	version             uint16
	negotiated, offered string
}

// tooOldReasons lists the reasons for every version a flow may show below
// min; want names the requirement ("" for the global minimum).
func tooOldReasons(min uint16, want string) []oldTLS {
	if want == "" {
		want = "the TLS 1.2 minimum (RFC 8996 deprecates TLS 1.0 and 1.1)"
	}
	var out []oldTLS
	for _, v := range [...]uint16{tlsinfo.VersionSSL20, tlsinfo.VersionSSL30, tlsinfo.VersionTLS10, tlsinfo.VersionTLS11,
		tlsinfo.VersionTLS12, tlsinfo.VersionDTLS10, tlsinfo.VersionDTLS12} {
		if tlsRank(v) >= min {
			continue
		}
		name := tlsinfo.VersionName(v)
		out = append(out, oldTLS{version: v,
			negotiated: name + " negotiated: below " + want,
			offered:    "the client offered at most " + name + " and no ServerHello was seen: below " + want,
		})
	}
	return out
}

func tooOldReason(reasons []oldTLS, v uint16, offered bool) string {
	for i := range reasons {
		if reasons[i].version == v {
			if offered {
				return reasons[i].offered
			}
			return reasons[i].negotiated
		}
	}
	return reasonTLSBelowMinimum
}

// tlsRank maps DTLS versions, whose wire values count down, onto the TLS
// version they derive from, so that versions compare with <.
func tlsRank(v uint16) uint16 {
	switch v {
	case tlsinfo.VersionDTLS10:
		return tlsinfo.VersionTLS11
	case tlsinfo.VersionDTLS12:
		return tlsinfo.VersionTLS12
	case tlsinfo.VersionDTLS13:
		return tlsinfo.VersionTLS13
	}
	return v
}

// versionByName inverts tlsinfo.VersionName for the versions it names;
// 0 for anything else.
func versionByName(name string) uint16 {
	switch name {
	case "SSL 2.0":
		return tlsinfo.VersionSSL20
	case "SSL 3.0":
		return tlsinfo.VersionSSL30
	case "TLS 1.0":
		return tlsinfo.VersionTLS10
	case "TLS 1.1":
		return tlsinfo.VersionTLS11
	case "TLS 1.2":
		return tlsinfo.VersionTLS12
	case "TLS 1.3":
		return tlsinfo.VersionTLS13
	case "DTLS 1.0":
		return tlsinfo.VersionDTLS10
	case "DTLS 1.2":
		return tlsinfo.VersionDTLS12
	case "DTLS 1.3":
		return tlsinfo.VersionDTLS13
	}
	return 0
}

// tlsVersionOf returns the flow's negotiated TLS version, or the highest
// one its client offered when no ServerHello was seen (offered set); 0
// when the flow shows none.
func tlsVersionOf(m *flow.Meta) (v uint16, offered bool) {
	switch {
	case m == nil:
		return 0, false
	case m.TLSVersion != "":
		return versionByName(m.TLSVersion), false
	}
	return m.TLSOfferedMax, m.TLSOfferedMax != 0
}

// statedTLS returns the lowest "TLS 1.x" version an entry's component name
// or notes state ("UCX Console to CTI Server (TLS 1.2)"); 0 when none. The
// catalog has no field for it: the documents say it in prose.
func statedTLS(e *catalog.Entry) uint16 {
	var min uint16
	for _, s := range [...]string{e.Component, e.Notes} {
		for {
			i := strings.Index(s, "TLS 1.")
			if i < 0 {
				break
			}
			s = s[i+len("TLS 1."):]
			if len(s) > 0 && s[0] >= '0' && s[0] <= '3' {
				if v := tlsinfo.VersionTLS10 + uint16(s[0]-'0'); min == 0 || v < min {
					min = v
				}
			}
		}
	}
	return min
}

// posture precomputes the reasons of the posture findings for e.
func (in *entryInfo) posture(e *catalog.Entry, flowDesc string) {
	in.fromRange = !e.FromPorts.IsZero() && !e.FromPorts.IsAny() && len(e.FromPorts.Ranges) > 0
	in.encryptedInside = encryptedInside(e.App)
	if e.TLS != catalog.TLSNone {
		if v := statedTLS(e); v != 0 {
			in.tlsMin = max(v, minTLS)
			in.tooOld = tooOldReasons(in.tlsMin, fmt.Sprintf("%s, which %s requires (%s)", tlsinfo.VersionName(in.tlsMin), e.Component, e.ID))
		}
	}
	if e.Transport.Matches(flow.ProtoTCP) {
		in.plaintext = flowDesc + ": TLS required, but the connection exchanged data without a TLS handshake"
		if e.App == "https" {
			in.notTLS = flowDesc + ": HTTPS, but the connection exchanged data without a TLS handshake (the document allows plain HTTP too)"
		}
	}
	if len(e.CIDRs) > 0 {
		if len(e.FQDNs) > 0 {
			in.sniMismatch = flowDesc + ": destination in the entry's cloud addresses, but the TLS SNI is none of its names (" + strings.Join(e.FQDNs, ", ") + ")"
			in.cloudLiteral = flowDesc + " (destination in the entry's cloud addresses, reached by address: no TLS SNI or DNS name seen for it)"
		} else {
			in.sniMismatch = flowDesc + ": destination in the entry's cloud addresses, but the TLS SNI is a name no catalog entry lists"
		}
	}
	if e.Transport.Matches(flow.ProtoUDP) {
		if sipcall.IsMediaApp(e.App) {
			const note = "; media without signalling seen (sdp-unobservable: its SIP may run over TLS, or was not captured; judged against the documented range)"
			in.unsignalled, in.unsignalledPortOnly = in.expected+note, in.portOnly+note
		}
		if sipcall.IsMediaApp(e.App) && len(in.ports.Ranges) > 0 {
			const outside = "negotiated media on a port outside the range %s documents for %s: %s (%s); a firewall built from the document would drop it"
			// The range only: "dynamic" is what the flow did.
			in.outsideTo = fmt.Sprintf(outside, e.Component, in.to, portsLabel(catalog.UDP, catalog.PortSet{Ranges: in.ports.Ranges}), e.ID)
			if in.fromRange {
				in.outsideFrom = fmt.Sprintf(outside, e.Component, in.from, portsLabel(catalog.UDP, e.FromPorts), e.ID)
			}
		}
	}
}

// posture refines the result of a flow the catalog judged: unexpected
// media, and the posture findings of allowed flows, in order of severity
// (a Result carries one Kind).
func (c *Classifier) posture(f *flow.Flow, r *Result, proto uint8, sa, da netip.Addr, sp, dp uint16, fail failure) {
	media := proto == flow.ProtoUDP && sipcall.LooksLikeMedia(f)
	if r.Verdict == Unexpected {
		if media {
			unexpectedMedia(r, fail)
		}
		return
	}
	if r.Verdict != Expected && r.Verdict != Negotiated {
		return
	}
	in := c.shared.infoOf(r.Entry)
	if media && r.Verdict == Expected {
		unsignalledMedia(r, in)
	}
	if c.tlsTooOld(f, r, in) {
		return
	}
	if proto == flow.ProtoTCP && c.shared.tlsInspected && c.plaintext(f, r, dp) {
		return
	}
	if r.byAddr && c.sniNotInCatalog(f, r, in) {
		return
	}
	if r.Verdict == Negotiated {
		c.mediaRange(r, sa, da, sp, dp)
	}
}

// infoOf is e's judging state; nil for no entry.
func (s *shared) infoOf(e *catalog.Entry) *entryInfo {
	if e == nil {
		return nil
	}
	return s.info[e]
}

// unexpectedMedia words a flow found unexpected that looks like RTP as
// unexpected media: no SDP announced it.
func unexpectedMedia(r *Result, fail failure) {
	if r.Kind != KindUnexpected {
		return
	}
	r.Kind, r.Reason = KindUnexpectedMedia, reasonUnexpectedMedia
	if fail != noFailure {
		r.Reason = reasonUnexpectedMediaFailed
	}
}

// unsignalledMedia notes that media the catalog allows by port was seen
// without the signalling that would have announced it, when the entry has
// a word for it.
func unsignalledMedia(r *Result, in *entryInfo) {
	if in == nil || in.unsignalled == "" {
		return
	}
	r.Reason = in.unsignalled
	if r.PortOnly {
		r.Reason = in.unsignalledPortOnly
	}
}

// tlsTooOld raises tls-too-old when the handshake's version is below the
// entry's minimum (or the global one).
func (c *Classifier) tlsTooOld(f *flow.Flow, r *Result, in *entryInfo) bool {
	v, offered := tlsVersionOf(f.Meta)
	if v == 0 {
		return false
	}
	min, reasons := minTLS, c.shared.tooOld
	if in != nil && in.tooOld != nil {
		min, reasons = in.tlsMin, in.tooOld
	}
	if tlsRank(v) >= min {
		return false
	}
	r.Kind, r.Severity, r.Reason = KindTLSTooOld, High, tooOldReason(reasons, v, offered)
	return true
}

// plaintext raises plaintext-on-tls-port or not-tls-on-https-port for a
// TCP connection whose handshake the capture saw and whose originator sent
// data, but which the TLS dissector did not label: it reads the first
// payload of every TCP flow, so no label means no TLS handshake, unless
// the snap length cut that payload away (Meta.PayloadCut).
func (c *Classifier) plaintext(f *flow.Flow, r *Result, dp uint16) bool {
	if len(r.Matches) == 0 || f.Orig.Flags&flow.FlagSYN == 0 || !f.Established() || f.Orig.Payload == 0 {
		return false
	}
	if m := f.Meta; m != nil && (isTLSApp(m.App) || m.PayloadCut) {
		return false
	}
	s := c.shared
	allRequired, plainAllowed := true, false
	var https *catalog.Entry
	for _, e := range r.Matches {
		switch {
		case e.TLS == catalog.TLSRequired && !s.info[e].encryptedInside:
		case e.TLS != catalog.TLSRequired && e.App == "https":
			allRequired = false
			if https == nil {
				https = e
			}
		default:
			// Plain is what this entry documents, or its encryption is
			// not visible in the first payload.
			allRequired, plainAllowed = false, true
		}
	}
	switch {
	case allRequired:
		r.Kind, r.Severity, r.Reason = KindPlaintextOnTLSPort, High, s.info[r.Entry].plaintext
	case https != nil && !plainAllowed && !plainHTTPPort(dp):
		r.Kind, r.Severity, r.Reason = KindNotTLSOnHTTPSPort, Medium, s.info[https].notTLS
	default:
		return false
	}
	return true
}

// sniNotInCatalog judges a flow matched by a cloud entry's address ranges
// by the name its client asked for. An entry with names of its own must
// list the SNI; an entry with addresses only (the MS Teams media ranges)
// needs some catalog entry to list it. A flow without any name gets a
// note in its reason.
func (c *Classifier) sniNotInCatalog(f *flow.Flow, r *Result, in *entryInfo) bool {
	sni, server := names(f)
	if sni == "" {
		if server == "" && in.cloudLiteral != "" {
			r.Reason = in.cloudLiteral
		}
		return false
	}
	if len(r.Entry.FQDNs) > 0 {
		for _, e := range r.Matches {
			if e.MatchFQDN(sni) {
				return false
			}
		}
	} else {
		if len(c.matchFQDN(sni)) > 0 {
			return false
		}
	}
	r.Kind, r.Severity, r.Reason = KindSNINotInCatalog, Low, in.sniMismatch
	return true
}

// mediaRange raises media-outside-documented-range for negotiated media.
// With an inventory each side's port is checked against the ranges the
// documents give that host's role towards the peer's role; without one
// against the union of every media range in scope.
func (c *Classifier) mediaRange(r *Result, sa, da netip.Addr, sp, dp uint16) {
	s := c.shared
	if s.inv == nil {
		switch {
		case s.mediaPorts == nil:
			return
		case !s.mediaPorts.has(dp):
		case !s.mediaPorts.has(sp):
			r.flip = true
		default:
			return
		}
		r.Kind, r.Severity, r.Reason = KindMediaOutsideRange, Low, reasonOutsidePortOnly
		return
	}
	srcRoles, dstRoles := s.scope.RolesOf(sa), s.scope.RolesOf(da)
	judged, reason := c.mediaSide(dstRoles, srcRoles, dp)
	if judged == nil {
		if judged, reason = c.mediaSide(srcRoles, dstRoles, sp); judged == nil {
			return
		}
		r.flip = true
	}
	r.Kind, r.Severity, r.Reason = KindMediaOutsideRange, Medium, reason
	r.judged = judged
}

// mediaSide reports whether port, on a host with roles host talking to a
// peer with roles peer, lies outside every range the media entries between
// those roles state for the host's side: it returns the first vendor entry
// whose range it missed, which the finding names and its reason cites, or
// nil when the port is not outside. An entry's ports are its To
// side's range (the media server's 16384-32767, not its callers'), and
// stated FromPorts its From side's (Imagicle's server ">= 5000"): unlike
// signalling, media entries marked both-way do not give the same range to
// both sides. An entry that leaves the To side's port to signalling
// (dynamic, no range) or a site allow rule covering the port lets any port
// through; when no entry states a range for the side, nothing is outside.
func (c *Classifier) mediaSide(host, peer []catalog.RoleID, port uint16) (judged *catalog.Entry, reason string) {
	if len(host) == 0 || len(peer) == 0 {
		return nil, ""
	}
	s := c.shared
	for _, e := range s.mediaEntries {
		in := s.info[e]
		var ps catalog.PortSet
		var why string
		_, _, hostTo := in.sides(peer, host)
		switch {
		case hostTo:
			ps, why = in.ports, in.outsideTo
		case in.fromRange:
			if _, _, hostFrom := in.sides(host, peer); !hostFrom {
				continue
			}
			ps, why = e.FromPorts, in.outsideFrom
		default:
			continue
		}
		if len(ps.Ranges) == 0 {
			if ps.Dynamic {
				return nil, ""
			}
			continue
		}
		if ps.Contains(port) {
			return nil, ""
		}
		if e.Vendor != catalog.SiteVendor && judged == nil && why != "" {
			judged, reason = e, why
		}
	}
	return judged, reason
}

// portBitmap is a set of ports.
type portBitmap [1 << 16 / 64]uint64

func (b *portBitmap) has(p uint16) bool { return b[p>>6]&(1<<(p&63)) != 0 }

// portOnlyMediaPorts is the union of the media ranges in scope, for
// port-only mode (DocumentedMediaPorts, the compliance report's
// documented media ports too). It is nil, and the check off, when there
// is no media range or when an entry leaves its ports to signalling
// without a range (Genesys phone to SIP gateway): without roles any port
// could be that entry's.
func portOnlyMediaPorts(entries []*catalog.Entry) *portBitmap {
	d := DocumentedMediaPorts(entries, nil)
	if d.Signalled != nil || len(d.Ranges) == 0 {
		return nil
	}
	b := new(portBitmap)
	for _, rg := range d.Ranges {
		for p := int(rg.Lo); p <= int(rg.Hi); p++ {
			if rg.Contains(uint16(p)) {
				b[p>>6] |= 1 << (p & 63)
			}
		}
	}
	return b
}
