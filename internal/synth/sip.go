package synth

import (
	"fmt"
	"strings"
	"time"
)

// sipParty is one end of a SIP dialog: where it signals, where its media
// goes (the CIC server signals but the media server plays the audio), and
// the identity it puts in its headers.
type sipParty struct {
	sig     *host
	port    uint16
	media   *host
	rtp     uint16
	user    string
	name    string
	ua      string
	tag     string
	sessID  uint64
	sessVer uint64
	server  bool // the contact center's side: re-INVITEs come from here
}

func hostString(h *host) string {
	if h.addr.Is6() {
		return "[" + h.addr.String() + "]"
	}
	return h.addr.String()
}

func (p *sipParty) hostport() string { return fmt.Sprintf("%s:%d", hostString(p.sig), p.port) }

// callOpts select a call's variations; each SIP scenario sets one.
type callOpts struct {
	transport string // "UDP" or "TCP"
	coalesce  bool
	fragment  bool
	ipv6      bool
	early     bool
	reinvite  bool
	hold      bool
	t38       bool
	cancel    bool
	fail      bool
	sinch     bool // PSTN gateway to the Sinch SIP Bridge, media to the MRS
}

// dialog is one call's signalling state.
type dialog struct {
	c              *conv
	opts           callOpts
	caller, callee *sipParty
	callID         string
	cseq           map[*sipParty]int
	tcp            *tcpConn
	pt             uint8
	rtcpMux        bool
	rtcpAttr       uint16 // caller's a=rtcp port, 0 when absent
}

// sipReq is what a response needs to echo from its request.
type sipReq struct {
	method   string
	from, to *sipParty
	cseq     int
	branch   string
	toTag    bool
}

func (d *dialog) other(p *sipParty) *sipParty {
	if p == d.caller {
		return d.callee
	}
	return d.caller
}

func (d *dialog) branch() string {
	return fmt.Sprintf("z9hG4bK%08x%04x", d.c.g.rng.Uint32(), d.c.g.rng.IntN(1<<16))
}

func (d *dialog) transportParam() string { return strings.ToLower(d.opts.transport) }

// request renders a request from one party to the other inside the dialog.
func (d *dialog) request(method string, from *sipParty, cseq int, branch string, body []byte, extra ...string) ([]byte, sipReq) {
	to := d.other(from)
	r := sipReq{method: method, from: from, to: to, cseq: cseq, branch: branch, toTag: to.tag != ""}
	var b strings.Builder
	fmt.Fprintf(&b, "%s sip:%s@%s SIP/2.0\r\n", method, to.user, to.hostport())
	d.commonHeaders(&b, r)
	fmt.Fprintf(&b, "Max-Forwards: 70\r\n")
	if method == "INVITE" || method == "REGISTER" {
		fmt.Fprintf(&b, "Contact: <sip:%s@%s;transport=%s>\r\n", from.user, from.hostport(), d.transportParam())
	}
	if method == "INVITE" {
		b.WriteString("Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY\r\nSupported: replaces, timer\r\n")
	}
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	fmt.Fprintf(&b, "User-Agent: %s\r\n", from.ua)
	return finish(&b, body), r
}

func (d *dialog) commonHeaders(b *strings.Builder, r sipReq) {
	fmt.Fprintf(b, "Via: SIP/2.0/%s %s;branch=%s;rport\r\n", d.opts.transport, r.from.hostport(), r.branch)
	fmt.Fprintf(b, "From: \"%s\" <sip:%s@%s>;tag=%s\r\n", r.from.name, r.from.user, hostString(r.from.sig), r.from.tag)
	fmt.Fprintf(b, "To: <sip:%s@%s>", r.to.user, hostString(r.to.sig))
	if r.toTag {
		fmt.Fprintf(b, ";tag=%s", r.to.tag)
	}
	fmt.Fprintf(b, "\r\nCall-ID: %s\r\nCSeq: %d %s\r\n", d.callID, r.cseq, r.method)
}

// response renders the answer to r from its recipient.
func (d *dialog) response(r sipReq, code int, reason string, body []byte) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	r.toTag = code != 100 && r.to.tag != ""
	d.commonHeaders(&b, r)
	if r.method == "INVITE" && code > 100 && code < 300 {
		fmt.Fprintf(&b, "Contact: <sip:%s@%s;transport=%s>\r\n", r.to.user, r.to.hostport(), d.transportParam())
	}
	fmt.Fprintf(&b, "Server: %s\r\n", r.to.ua)
	return finish(&b, body)
}

func finish(b *strings.Builder, body []byte) []byte {
	if len(body) > 0 {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(b, "Content-Length: %d\r\n\r\n", len(body))
	return append([]byte(b.String()), body...)
}

// mediaDesc is what a party's SDP says about its media.
type mediaDesc struct {
	dir      string // sendrecv, sendonly, recvonly
	t38      bool
	port     uint16
	offer    bool
	big      bool // many codecs and crypto lines: pushes an INVITE past 1500 bytes
	rtcpMux  bool
	rtcpPort uint16
}

// sdp renders a session description (RFC 8866) for p.
func (d *dialog) sdp(p *sipParty, m mediaDesc) []byte {
	p.sessVer++
	family := "IP4"
	if p.media.addr.Is6() {
		family = "IP6"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "v=0\r\no=- %d %d IN %s %s\r\ns=call\r\nc=IN %s %s\r\nt=0 0\r\n",
		p.sessID, p.sessVer, family, p.media.addr, family, p.media.addr)
	if m.t38 {
		fmt.Fprintf(&b, "m=image %d udptl t38\r\na=T38FaxVersion:0\r\na=T38MaxBitRate:14400\r\na=T38FaxRateManagement:transferredTCF\r\na=T38FaxMaxBuffer:262\r\na=T38FaxMaxDatagram:176\r\na=T38FaxUdpEC:t38UDPRedundancy\r\n", m.port)
		return []byte(b.String())
	}
	switch {
	case m.big:
		fmt.Fprintf(&b, "m=audio %d RTP/AVP 0 8 9 18 96 97 98 101\r\n", m.port)
		b.WriteString("a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:9 G722/8000\r\na=rtpmap:18 G729/8000\r\na=fmtp:18 annexb=no\r\n")
		b.WriteString("a=rtpmap:96 opus/48000/2\r\na=fmtp:96 maxplaybackrate=16000;sprop-maxcapturerate=16000;useinbandfec=1\r\na=rtpmap:97 iLBC/8000\r\na=fmtp:97 mode=30\r\na=rtpmap:98 AMR-WB/16000\r\na=fmtp:98 octet-align=1\r\n")
		for i := 1; i <= 4; i++ {
			fmt.Fprintf(&b, "a=crypto:%d AES_CM_128_HMAC_SHA1_80 inline:%x|2^31\r\n", i, randomBytes(d.c.g.rng, 30))
		}
	case m.offer:
		fmt.Fprintf(&b, "m=audio %d RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n", m.port)
	default:
		fmt.Fprintf(&b, "m=audio %d RTP/AVP %d 101\r\n", m.port, d.pt)
		if d.pt == ptPCMU {
			b.WriteString("a=rtpmap:0 PCMU/8000\r\n")
		} else {
			b.WriteString("a=rtpmap:8 PCMA/8000\r\n")
		}
	}
	b.WriteString("a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\n")
	if m.rtcpMux {
		b.WriteString("a=rtcp-mux\r\n")
	}
	if m.rtcpPort != 0 {
		fmt.Fprintf(&b, "a=rtcp:%d\r\n", m.rtcpPort)
	}
	fmt.Fprintf(&b, "a=%s\r\n", m.dir)
	return []byte(b.String())
}

// send puts a SIP message on the wire from p.
func (d *dialog) send(p *sipParty, msg []byte) {
	g := d.c.g
	to := d.other(p)
	switch {
	case d.tcp != nil:
		fromClient := p == d.caller
		d.tcp.send(fromClient, msg)
		d.c.wait(g.jitter(200*time.Microsecond, time.Millisecond))
		d.tcp.ack(!fromClient)
	case d.opts.fragment && len(msg) > 1500-28:
		g.udpFragmented(p.sig, to.sig, p.port, to.port, tosSignalling, msg)
	default:
		g.udp(p.sig, to.sig, p.port, to.port, tosSignalling, msg)
	}
}

// delay is the time between a message and the other party's reaction as
// seen at the capture point: a LAN hop or the carrier's round trip.
func (d *dialog) delay() time.Duration {
	if d.caller.sig.wan || d.callee.sig.wan {
		return d.c.g.jitter(15*time.Millisecond, 40*time.Millisecond)
	}
	return d.c.g.jitter(500*time.Microsecond, 4*time.Millisecond)
}

// offlinePhones are never in calls: udp-unreachable sends them OPTIONS.
const offlinePhones = 40

// newDialog picks the call's parties: a phone calling the CIC server, the
// CIC server delivering an ACD call to a phone, or the carrier's SBC
// bringing an inbound call to the SIP proxy. Media on the site's side is on
// a media server in 16384-32767.
func (c *conv) newDialog(o callOpts) *dialog {
	g, s := c.g, c.site()
	phones, cic, media := s.phones[:len(s.phones)-offlinePhones], s.cic, s.media
	if o.ipv6 {
		phones, cic, media = s.phones6, s.cic6, s.media6
	}
	phone := c.pick(phones)
	ext := 1000 + int(phone.addr.As16()[15])
	phoneParty := &sipParty{sig: phone, port: 5060, media: phone, user: fmt.Sprint(ext), name: fmt.Sprintf("Agent %d", ext), ua: "Polycom/6.4.3.5018 PolycomVVX-VVX_450-UA/6.4.3.5018"}
	cicParty := &sipParty{sig: cic, port: 5060, media: media, user: "cic", name: "CIC ACD", ua: "ININ-TsServer/2025.R4", server: true}
	d := &dialog{c: c, opts: o, cseq: map[*sipParty]int{}, pt: ptPCMU}
	if o.sinch {
		ss := &s.sinch
		d.caller = &sipParty{sig: ss.gateway, port: 5060, media: ss.gateway, user: fmt.Sprintf("+4930%07d", g.rng.IntN(10_000_000)), name: "Caller", ua: "PSTN-GW 7.2"}
		d.callee = &sipParty{sig: ss.bridge, port: 5060, media: ss.mrs, user: "+498005550100", name: "Sinch Contact Center", ua: "Sinch-SIPBridge/SP09", server: true}
		d.pt = ptPCMA
		return d.finishDialog()
	}
	topology := g.rng.IntN(10)
	if o.ipv6 || o.transport == "TCP" {
		topology %= 7
	}
	switch {
	case topology < 4:
		d.caller, d.callee = phoneParty, cicParty
		cicParty.user = fmt.Sprintf("+1555%07d", g.rng.IntN(10_000_000))
	case topology < 7:
		d.caller, d.callee = cicParty, phoneParty
	default:
		carrier := &sipParty{sig: s.carrierSig, port: 5060, media: s.carrierMedia, user: fmt.Sprintf("+1312%07d", g.rng.IntN(10_000_000)), name: "Caller", ua: "Carrier-SBC 4.2"}
		proxy := &sipParty{sig: s.proxy, port: 5060, media: media, user: "+18005550100", name: "Contact Center", ua: "ININ-SIPProxy/2025.R4", server: true}
		d.caller, d.callee = carrier, proxy
		d.pt = ptPCMA
	}
	if g.rng.IntN(3) == 0 {
		d.pt ^= ptPCMU ^ ptPCMA
	}
	return d.finishDialog()
}

// finishDialog draws the session ids, media ports, tag, Call-ID and RTCP
// style of a dialog whose parties are set.
func (d *dialog) finishDialog() *dialog {
	g := d.c.g
	for _, p := range []*sipParty{d.caller, d.callee} {
		p.sessID = 1e9 + g.rng.Uint64N(9e9)
		p.sessVer = p.sessID % 1000
		p.rtp = p.media.mediaPort()
	}
	d.caller.tag = fmt.Sprintf("%08x", g.rng.Uint32())
	d.callID = fmt.Sprintf("%016x%08x@%s", g.rng.Uint64(), g.rng.Uint32(), hostString(d.caller.sig))
	switch n := g.rng.IntN(20); {
	case n < 5:
		d.rtcpMux = true
	case n < 8:
		// RFC 3605: RTCP on a port other than RTP+1, inside the caller's
		// media range (fixed-range phones could not use another).
		d.rtcpAttr = d.caller.media.altRTCPPort(d.caller.rtp)
	}
	return d
}

func (c *conv) site() *site { return c.g.site }

// countSIPFlow counts the signalling flow once per 5-tuple: UDP SIP between
// two hosts always uses 5060 both ways, so many calls share one flow.
func (d *dialog) countSIPFlow() {
	if d.tcp != nil {
		d.c.flow("sip")
		return
	}
	d.c.g.countSIP(d.caller.sig, d.callee.sig)
}

// countSIP reports whether the pair's SIP flow is new.
func (g *gen) countSIP(a, b *host) bool {
	if b.addr.Less(a.addr) {
		a, b = b, a
	}
	k := [2]*host{a, b}
	if _, ok := g.sipFlows[k]; ok {
		return false
	}
	g.sipFlows[k] = struct{}{}
	g.stats.Flows["sip"]++
	return true
}

// media is one party's running media: RTP out, RTCP out.
type media struct {
	out  *rtpStream
	rtcp *rtcpSession
}

// rtcpPorts: RTP port + 1 (RFC 3550), the a=rtcp port (RFC 3605), or the
// RTP port itself with rtcp-mux (RFC 5761).
func (d *dialog) rtcpPort(p *sipParty) uint16 {
	switch {
	case d.rtcpMux:
		return p.rtp
	case p == d.caller && d.rtcpAttr != 0:
		return d.rtcpAttr
	}
	return p.rtp + 1
}

func (d *dialog) startMedia(p *sipParty, at time.Duration) *media {
	to := d.other(p)
	return &media{out: d.c.startRTP(p.media, to.media, p.rtp, to.rtp, d.pt, at)}
}

func (d *dialog) startRTCP(p *sipParty, m, peer *media) {
	to := d.other(p)
	m.rtcp = d.c.startRTCP(p.media, to.media, d.rtcpPort(p), d.rtcpPort(to), m.out, peer.out, p.user+"@"+hostString(p.media))
}

func (m *media) stop(at int64) {
	m.out.stop(at)
	if m.rtcp != nil {
		m.rtcp.stop(at)
	}
}

// runCall is a whole call: INVITE transaction, media, mid-call changes,
// BYE.
func (c *conv) runCall(o callOpts) {
	g := c.g
	d := c.newDialog(o)
	g.stats.Calls++
	if o.transport == "TCP" {
		d.tcp = c.dial(d.caller.sig, d.callee.sig, 5060)
		d.tcp.connect()
		c.wait(g.jitter(100*time.Microsecond, time.Millisecond))
	}
	d.countSIPFlow()
	caller, callee := d.caller, d.callee

	d.cseq[caller] = 1 + g.rng.IntN(100)
	offer := mediaDesc{dir: "sendrecv", port: caller.rtp, offer: true, big: o.fragment, rtcpMux: d.rtcpMux, rtcpPort: d.rtcpAttr}
	var extra []string
	if o.fragment {
		// Large INVITEs come from B2BUAs that stack routing and identity
		// headers on top of a many-codec offer.
		for i := range 6 {
			extra = append(extra, fmt.Sprintf("Record-Route: <sip:10.10.1.30:5060;lr;ftag=%s;did=%03x.%x>", caller.tag, i, g.rng.Uint32()))
		}
		extra = append(extra,
			fmt.Sprintf("P-Asserted-Identity: \"%s\" <sip:%s@%s>", caller.name, caller.user, hostString(caller.sig)),
			fmt.Sprintf("Diversion: <sip:%s@%s>;reason=unconditional;counter=1;privacy=off", callee.user, hostString(callee.sig)),
			"Session-Expires: 1800;refresher=uac", "Min-SE: 90",
			"Allow-Events: talk, hold, conference, refer, check-sync, presence, dialog, message-summary")
	}
	inviteBranch := d.branch()
	invite, inviteReq := d.request("INVITE", caller, d.cseq[caller], inviteBranch, d.sdp(caller, offer), extra...)
	d.send(caller, invite)

	c.wait(g.jitter(200*time.Microsecond, 3*time.Millisecond))
	trying := d.response(inviteReq, 100, "Trying", nil)
	callee.tag = fmt.Sprintf("%08x", g.rng.Uint32())
	ringing := func() []byte { return d.response(inviteReq, 180, "Ringing", nil) }
	if o.coalesce {
		d.send(callee, append(trying, ringing()...))
	} else {
		d.send(callee, trying)
	}

	switch {
	case o.fail:
		c.wait(g.jitter(5*time.Millisecond, 300*time.Millisecond))
		codes := [...]struct {
			code   int
			reason string
		}{{486, "Busy Here"}, {404, "Not Found"}, {480, "Temporarily Unavailable"}, {403, "Forbidden"}}
		f := codes[g.rng.IntN(len(codes))]
		d.send(callee, d.response(inviteReq, f.code, f.reason, nil))
		c.wait(d.delay())
		d.sendACK(inviteReq, inviteBranch)
		c.closeTCP(d)
		return
	case o.cancel:
		c.wait(g.jitter(20*time.Millisecond, 150*time.Millisecond))
		if !o.coalesce {
			d.send(callee, ringing())
		}
		c.wait(g.jitter(2*time.Second, 12*time.Second))
		cancel, cancelReq := d.request("CANCEL", caller, inviteReq.cseq, inviteBranch, nil)
		cancel = withoutToTag(cancel, callee.tag)
		d.send(caller, cancel)
		c.wait(d.delay())
		cancelReq.toTag = false
		d.send(callee, d.response(cancelReq, 200, "OK", nil))
		c.wait(g.jitter(100*time.Microsecond, 2*time.Millisecond))
		d.send(callee, d.response(inviteReq, 487, "Request Terminated", nil))
		c.wait(d.delay())
		d.sendACK(inviteReq, inviteBranch)
		c.closeTCP(d)
		return
	}

	answer := mediaDesc{dir: "sendrecv", port: callee.rtp, rtcpMux: d.rtcpMux}
	var calleeMedia *media
	if o.early {
		c.wait(g.jitter(20*time.Millisecond, 200*time.Millisecond))
		d.send(callee, d.response(inviteReq, 183, "Session Progress", d.sdp(callee, answer)))
		calleeMedia = d.startMedia(callee, g.jitter(5*time.Millisecond, 30*time.Millisecond))
		c.wait(g.jitter(2*time.Second, 8*time.Second))
	} else {
		if !o.coalesce {
			c.wait(g.jitter(20*time.Millisecond, 150*time.Millisecond))
			d.send(callee, ringing())
		}
		c.wait(g.jitter(time.Second, 8*time.Second))
	}
	d.send(callee, d.response(inviteReq, 200, "OK", d.sdp(callee, answer)))
	if calleeMedia == nil {
		calleeMedia = d.startMedia(callee, g.jitter(5*time.Millisecond, 40*time.Millisecond))
	}
	c.wait(d.delay())
	d.sendACK(inviteReq, d.branch())
	callerMedia := d.startMedia(caller, g.jitter(5*time.Millisecond, 40*time.Millisecond))
	d.startRTCP(caller, callerMedia, calleeMedia)
	d.startRTCP(callee, calleeMedia, callerMedia)

	talk := g.jitter(g.opts.CallDuration/2, g.opts.CallDuration*3/2)
	srv, far := callee, caller
	srvMedia, farMedia := calleeMedia, callerMedia
	if caller.server {
		srv, far, srvMedia, farMedia = caller, callee, callerMedia, calleeMedia
	}
	switch {
	case o.reinvite:
		// The CIC server moves the call to the other media server.
		c.wait(talk * 2 / 5)
		talk -= talk * 2 / 5
		if srv.media == c.site().media {
			srv.media = c.site().media2
		}
		srv.rtp = srv.media.mediaPort()
		req := d.reinvite(srv, mediaDesc{dir: "sendrecv", port: srv.rtp, rtcpMux: d.rtcpMux})
		srvMedia.stop(c.now)
		c.wait(d.delay())
		d.send(far, d.response(req, 200, "OK", d.sdp(far, mediaDesc{dir: "sendrecv", port: far.rtp, rtcpMux: d.rtcpMux})))
		farMedia.stop(c.now)
		srvMedia = d.startMedia(srv, g.jitter(5*time.Millisecond, 30*time.Millisecond))
		farMedia = d.startMedia(far, g.jitter(5*time.Millisecond, 30*time.Millisecond))
		c.wait(d.delay())
		d.sendACK(req, d.branch())
		d.startRTCP(srv, srvMedia, farMedia)
		d.startRTCP(far, farMedia, srvMedia)
	case o.hold:
		// The agent holds the caller: the server streams music on hold
		// (a=sendonly), the held party stops sending and only reports.
		c.wait(talk / 3)
		req := d.reinvite(srv, mediaDesc{dir: "sendonly", port: srv.rtp, rtcpMux: d.rtcpMux})
		c.wait(d.delay())
		d.send(far, d.response(req, 200, "OK", d.sdp(far, mediaDesc{dir: "recvonly", port: far.rtp, rtcpMux: d.rtcpMux})))
		farMedia.out.stop(c.now)
		farMedia.rtcp.sending = nil
		c.wait(d.delay())
		d.sendACK(req, d.branch())
		hold := talk / 3
		c.wait(hold)
		req = d.reinvite(srv, mediaDesc{dir: "sendrecv", port: srv.rtp, rtcpMux: d.rtcpMux})
		c.wait(d.delay())
		d.send(far, d.response(req, 200, "OK", d.sdp(far, mediaDesc{dir: "sendrecv", port: far.rtp, rtcpMux: d.rtcpMux})))
		farMedia.out = c.resume(farMedia.out, g.jitter(5*time.Millisecond, 30*time.Millisecond))
		farMedia.rtcp.sending = farMedia.out
		srvMedia.rtcp.receiving = farMedia.out
		c.wait(d.delay())
		d.sendACK(req, d.branch())
		talk -= 2 * talk / 3
	case o.t38:
		// Fax tone detected: the server switches the call to T.38 on a
		// new port; audio stops.
		c.wait(talk / 3)
		talk -= talk / 3
		srv.rtp = srv.media.mediaPort()
		req := d.reinvite(srv, mediaDesc{t38: true, port: srv.rtp})
		c.wait(d.delay())
		d.send(far, d.response(req, 200, "OK", d.sdp(far, mediaDesc{t38: true, port: far.rtp})))
		srvMedia.stop(c.now)
		farMedia.stop(c.now)
		c.wait(d.delay())
		d.sendACK(req, d.branch())
		end := c.now + int64(talk)
		c.startUDPTL(far.media, srv.media, far.rtp, srv.rtp, true, end)
		c.startUDPTL(srv.media, far.media, srv.rtp, far.rtp, false, end)
	}
	c.wait(talk)

	byer := far
	if g.rng.IntN(3) == 0 {
		byer = srv
	}
	d.cseq[byer]++
	if d.cseq[byer] == 1 {
		d.cseq[byer] = 1 + g.rng.IntN(100)
	}
	bye, byeReq := d.request("BYE", byer, d.cseq[byer], d.branch(), nil)
	d.send(byer, bye)
	callerMedia.stop(c.now)
	calleeMedia.stop(c.now)
	srvMedia.stop(c.now)
	farMedia.stop(c.now)
	c.wait(d.delay())
	d.send(d.other(byer), d.response(byeReq, 200, "OK", nil))
	c.closeTCP(d)
}

// reinvite sends a re-INVITE from p with its new SDP and returns the
// request for the answer.
func (d *dialog) reinvite(p *sipParty, m mediaDesc) sipReq {
	d.cseq[p]++
	if d.cseq[p] == 1 {
		d.cseq[p] = 1 + d.c.g.rng.IntN(100)
	}
	msg, req := d.request("INVITE", p, d.cseq[p], d.branch(), d.sdp(p, m))
	d.send(p, msg)
	return req
}

// sendACK acknowledges the final response to an INVITE. A non-2xx ACK
// reuses the INVITE's branch (RFC 3261 17.1.1.3); a 2xx ACK is a new
// transaction.
func (d *dialog) sendACK(invite sipReq, branch string) {
	msg, _ := d.request("ACK", invite.from, invite.cseq, branch, nil)
	d.send(invite.from, msg)
}

// withoutToTag strips the To tag: a CANCEL must carry the To header of
// the INVITE it cancels, which had none.
func withoutToTag(msg []byte, tag string) []byte {
	return []byte(strings.Replace(string(msg), ">;tag="+tag+"\r\nCall-ID", ">\r\nCall-ID", 1))
}

func (c *conv) closeTCP(d *dialog) {
	if d.tcp == nil {
		return
	}
	c.wait(c.g.jitter(50*time.Millisecond, 2*time.Second))
	d.tcp.close(true)
}

func runSIPUDP(c *conv)          { c.runCall(callOpts{transport: "UDP"}) }
func runSIPTCP(c *conv)          { c.runCall(callOpts{transport: "TCP"}) }
func runSIPTCPCoalesced(c *conv) { c.runCall(callOpts{transport: "TCP", coalesce: true}) }
func runSIPFragmented(c *conv)   { c.runCall(callOpts{transport: "UDP", fragment: true}) }
func runSIPReinvite(c *conv)     { c.runCall(callOpts{transport: "UDP", reinvite: true}) }
func runSIPHold(c *conv)         { c.runCall(callOpts{transport: "UDP", hold: true}) }
func runSIPT38(c *conv)          { c.runCall(callOpts{transport: "UDP", t38: true}) }
func runSIPIPv6(c *conv)         { c.runCall(callOpts{transport: "UDP", ipv6: true}) }
func runSIPEarlyMedia(c *conv)   { c.runCall(callOpts{transport: "UDP", early: true}) }
func runSIPCancel(c *conv)       { c.runCall(callOpts{transport: "UDP", cancel: true}) }
func runSIPFailure(c *conv)      { c.runCall(callOpts{transport: "UDP", fail: true}) }

// runSIPRegister is a phone registering with the CIC server: challenged
// once, then accepted.
func runSIPRegister(c *conv) {
	g, s := c.g, c.site()
	phone := c.pick(s.phones[:len(s.phones)-offlinePhones])
	ext := fmt.Sprint(1000 + int(phone.addr.As16()[15]))
	p := &sipParty{sig: phone, port: 5060, media: phone, user: ext, name: "Agent " + ext, ua: "Polycom/6.4.3.5018 PolycomVVX-VVX_450-UA/6.4.3.5018", tag: fmt.Sprintf("%08x", g.rng.Uint32())}
	registrar := &sipParty{sig: s.cic, port: 5060, media: s.cic, user: ext, ua: "ININ-TsServer/2025.R4"}
	d := &dialog{c: c, opts: callOpts{transport: "UDP"}, caller: p, callee: registrar,
		callID: fmt.Sprintf("%016x@%s", g.rng.Uint64(), phone.addr)}
	g.countSIP(phone, s.cic)
	cseq := 1 + g.rng.IntN(1000)
	msg, req := d.request("REGISTER", p, cseq, d.branch(), nil, "Expires: 3600")
	d.send(p, msg)
	c.wait(d.delay())
	nonce := fmt.Sprintf("%016x", g.rng.Uint64())
	registrar.tag = fmt.Sprintf("%08x", g.rng.Uint32())
	d.send(registrar, withHeader(d.response(req, 401, "Unauthorized", nil),
		fmt.Sprintf("WWW-Authenticate: Digest realm=\"example.local\", nonce=\"%s\", algorithm=MD5, qop=\"auth\"", nonce)))
	registrar.tag = ""
	c.wait(d.delay())
	msg, req = d.request("REGISTER", p, cseq+1, d.branch(), nil, "Expires: 3600",
		fmt.Sprintf("Authorization: Digest username=\"%s\", realm=\"example.local\", nonce=\"%s\", uri=\"sip:%s\", response=\"%016x%016x\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"%08x\"",
			ext, nonce, hostString(s.cic), g.rng.Uint64(), g.rng.Uint64(), g.rng.Uint32()))
	d.send(p, msg)
	c.wait(d.delay())
	registrar.tag = fmt.Sprintf("%08x", g.rng.Uint32())
	d.send(registrar, withHeader(d.response(req, 200, "OK", nil),
		fmt.Sprintf("Contact: <sip:%s@%s;transport=udp>;expires=3600", ext, p.hostport())))
}

// withHeader inserts a header line before Content-Length.
func withHeader(msg []byte, h string) []byte {
	return []byte(strings.Replace(string(msg), "Content-Length:", h+"\r\nContent-Length:", 1))
}

// runUDPUnreachable is the CIC server pinging a phone that is switched off
// with SIP OPTIONS; the phone's stack answers ICMP port unreachable.
func runUDPUnreachable(c *conv) {
	g, s := c.g, c.site()
	phone := s.phones[len(s.phones)-offlinePhones+c.index%offlinePhones]
	ext := fmt.Sprint(1000 + int(phone.addr.As16()[15]))
	from := &sipParty{sig: s.cic, port: 5060, media: s.cic, user: "ping", name: "CIC", ua: "ININ-TsServer/2025.R4", tag: fmt.Sprintf("%08x", g.rng.Uint32())}
	to := &sipParty{sig: phone, port: 5060, media: phone, user: ext}
	d := &dialog{c: c, opts: callOpts{transport: "UDP"}, caller: from, callee: to, callID: fmt.Sprintf("%016x@%s", g.rng.Uint64(), s.cic.addr)}
	if g.countSIP(s.cic, phone) {
		c.flow("icmp")
	}
	msg, _ := d.request("OPTIONS", from, 1, d.branch(), nil, "Accept: application/sdp")
	g.udp(s.cic, phone, 5060, 5060, tosSignalling, msg)
	c.wait(g.jitter(200*time.Microsecond, 2*time.Millisecond))
	g.portUnreachable(s.cic, phone, 5060, 5060, tosSignalling, msg)
}
