package sipcall

import (
	"bytes"
	"encoding/binary"
	"errors"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/tcpstream"
	"github.com/ccaudit/auditor/classify/sdp"
	"github.com/ccaudit/auditor/classify/sipinfo"
)

// Limits on how long a flow is followed before it proves itself.
const (
	// sipMisses is how many payloads of a flow on a SIP port may fail to
	// parse before the flow is dropped, unless one already parsed.
	sipMisses = 16
	// tcpJunk is how many bytes a TCP flow on a SIP port may discard while
	// looking for a start line before it is dropped.
	tcpJunk = 8 << 10
	// mediaProbes is how many packets a UDP flow its first commit left
	// unmatched gets to prove itself RTP or RTCP.
	mediaProbes = 16
	// rtpConfirm is how many consecutive packets of one direction must
	// agree on SSRC and sequence before an unmatched flow counts as RTP.
	rtpConfirm = 3
	// maxUpgrade bounds the WebSocket opening handshake.
	maxUpgrade = 16 << 10
)

// Dissector follows the flows of one pipeline worker: SIP signalling,
// which it parses and hands to the shared Tracker, and media, whose
// per-packet statistics it keeps locally so the RTP path takes no lock
// and allocates nothing. It implements capture.Dissector and is not safe
// for concurrent use; give each worker its own.
type Dissector struct {
	t *Tracker
	// A followed flow's *sipFlow or *mediaFlow hangs off its Meta.SIP
	// until End, so the per-packet path makes no map lookup; followed
	// counts them. A TCP flow that Start wanted and that has neither is
	// waiting for its first payload (probePacket): its state is that
	// absence, so the many TCP flows that never carry SIP cost no map
	// insert, lookup or delete.
	followed int
	sess     sdp.Session
	log      []event // staged for the tracker's next Commit
	raw      []byte  // the skimmed messages of log (stageSkimmed)
	// New media flows, matched by the tracker's next Commit.
	pending []pendingMatch
}

type pendingMatch struct {
	key     flow.Key
	ordinal uint64
	mf      *mediaFlow
}

// NewDissector returns a Dissector of t's default Group. What it sees
// reaches t when t commits (list t in capture.Config.Shared).
func (t *Tracker) NewDissector() *Dissector { return t.def.NewDissector() }

func newDissector(t *Tracker) *Dissector {
	return &Dissector{t: t}
}

type sipFlow struct {
	tcp       bool
	confirmed bool // a message parsed: the flow is SIP
	misses    int
	callID    string      // first INVITE's Call-ID on the flow
	side      [2]*tcpSide // by flow.Dir
	sctp      [2][]byte   // SCTP user message being reassembled, by flow.Dir
}

type tcpSide struct {
	buf    tcpstream.Buffer
	framer *sipinfo.Framer
	gaps   int

	modeKnown, ws, upgraded, dead bool
	wsMsg                         []byte
}

type mediaFlow struct {
	bound bool
	b     binding
	// pending: the flow waits for the commit that ends its first epoch,
	// which matches it (see startMedia); ended: it left the table before
	// that, and its end matched it.
	pending, ended bool
	// unsure: not media-like, followed only in case its first commit
	// matches it; drop: that commit did not.
	unsure, drop bool
	tried        uint64 // the tracker's commit count when matching last failed
	looked       uint8  // kindRTP or kindRTCP once the content proved it
	probes       int
	dir          [2]streamStats // by flow.Dir
	lastPT       uint8
	lastClk      uint32
	havePTCl     bool
}

// Start decides whether a flow is worth following: UDP and TCP flows on
// SIP ports, UDP flows whose first payload is a SIP start line, TCP flows
// until their first payload shows what they carry, and UDP flows that an
// SDP announced or that start like RTP/RTCP. A UDP flow between
// unprivileged ports that is neither is followed until the next commit,
// in case an SDP of the same epoch announced it (T.38, for one, does not
// look like RTP).
func (d *Dissector) Start(f *flow.Flow, p *decode.Packet) bool {
	switch f.Key.Proto() {
	case flow.ProtoUDP, flow.ProtoSCTP:
		if d.t.sipKey(f.Key) || sipinfo.Looks(p.Payload) {
			d.follow(f, &sipFlow{})
			return true
		}
		if f.Key.Proto() == flow.ProtoUDP {
			return d.startMedia(f, p)
		}
	case flow.ProtoTCP:
		if d.t.sipKey(f.Key) {
			d.follow(f, &sipFlow{tcp: true})
		}
		// Otherwise the flow is probed: see Packet.
		return true
	}
	return false
}

func (d *Dissector) startMedia(f *flow.Flow, p *decode.Packet) bool {
	// The match waits for the commit that ends the flow's first epoch: a
	// flow often starts within milliseconds of the SDP (or re-INVITE)
	// that announced it, which may not be committed yet, and matching on
	// the state before it would bind the flow to the stream it replaced.
	unsure := !looksRTP(p.Payload) && !looksRTCP(p.Payload)
	if unsure && (f.Key.A().Port() < 1024 || f.Key.B().Port() < 1024) {
		return false
	}
	mf := &mediaFlow{pending: true, unsure: unsure}
	d.follow(f, mf)
	d.pending = append(d.pending, pendingMatch{key: f.Key, ordinal: p.Ordinal, mf: mf})
	return true
}

// retryMatch matches a flow its first commit left unmatched, once per
// later commit: the SDP may come after the media it announces (early
// media, a late answer).
func (d *Dissector) retryMatch(mf *mediaFlow, f *flow.Flow, p *decode.Packet) {
	gen := d.t.gen.Load()
	if gen == mf.tried {
		return
	}
	mf.tried = gen
	if b, ok := d.t.matchBinding(f.Key); ok {
		mf.b, mf.bound, mf.havePTCl = b, true, false
		d.stageBind(p.Ordinal, p.Time, f.Key, b)
	}
}

// follow attaches the dissector's state st (*sipFlow or *mediaFlow) to f.
func (d *Dissector) follow(f *flow.Flow, st any) {
	m := f.MetaOrNew()
	if m.SIP == nil {
		d.followed++
	}
	m.SIP = st
}

// unfollow detaches the dissector's state from f.
func (d *Dissector) unfollow(f *flow.Flow) {
	if f.Meta != nil && f.Meta.SIP != nil {
		f.Meta.SIP = nil
		d.followed--
	}
}

// stateOf returns the flow's signalling or media state (nil, nil: none).
func stateOf(f *flow.Flow) (*sipFlow, *mediaFlow) {
	if f.Meta == nil {
		return nil, nil
	}
	switch st := f.Meta.SIP.(type) {
	case *mediaFlow:
		return nil, st
	case *sipFlow:
		return st, nil
	}
	return nil, nil
}

// Packet follows one packet of a wanted flow.
func (d *Dissector) Packet(f *flow.Flow, p *decode.Packet, fromOrig bool) bool {
	sf, mf := stateOf(f)
	if mf != nil {
		return d.mediaPacket(mf, f, p)
	}
	if sf != nil {
		return d.sipPacket(sf, f, p)
	}
	if f.Key.Proto() == flow.ProtoTCP {
		// Start wants every TCP flow, and Packet is called only while
		// the flow is wanted: one without state is still probed.
		return d.probePacket(f, p)
	}
	return false
}

// End labels the flow: Meta.App "sip" for confirmed signalling, and
// "rtp", "rtcp" or "udptl" for media, with Meta.CallID when signalling
// negotiated it.
func (d *Dissector) End(f *flow.Flow) {
	sf, mf := stateOf(f)
	d.unfollow(f)
	if sf != nil {
		if sf.confirmed {
			m := f.MetaOrNew()
			m.App = "sip"
			if m.CallID == "" {
				m.CallID = sf.callID
			}
		}
		return
	}
	if mf != nil {
		d.endMedia(f, mf)
	}
}

// IsMediaApp reports whether app is a label End gives media: "rtp",
// "rtcp" or "udptl". Catalog entries name the same protocols in their
// App, so the verdict engine and the compliance report ask this too.
func IsMediaApp(app string) bool {
	return app == kindNames[kindRTP] || app == kindNames[kindRTCP] || app == kindNames[kindUDPTL]
}

func (d *Dissector) endMedia(f *flow.Flow, mf *mediaFlow) {
	mf.ended = true
	if !mf.bound {
		// The SDP may have arrived after the flow started, or in its
		// first epoch.
		if mf.b, mf.bound = d.t.matchBinding(f.Key); mf.bound {
			d.stageBind(0, f.Last, f.Key, mf.b)
		}
	}
	app := mf.app()
	if !mf.bound {
		if app == "" {
			return
		}
		d.t.stats.MediaUnexpected.Add(1)
		m := f.MetaOrNew()
		if m.App == "" {
			m.App = app
		}
		return
	}
	m := f.MetaOrNew()
	m.App, m.CallID = app, mf.b.callID
	d.stageEnded(f.Key, mf.b, app, &mf.dir, f.Last)
}

// app names what the flow carried: the content when it proved itself,
// else what the SDP announced.
func (mf *mediaFlow) app() string {
	switch {
	case mf.bound && mf.b.kind == kindUDPTL:
		return "udptl"
	case mf.looked != kindNone:
		return kindNames[mf.looked]
	case mf.bound:
		return kindNames[mf.b.kind]
	}
	return ""
}

// mediaPacket is the per-packet media path: no lock, no allocation.
func (d *Dissector) mediaPacket(mf *mediaFlow, f *flow.Flow, p *decode.Packet) bool {
	if !mf.bound {
		if mf.drop {
			// Not media-like, and its first commit matched nothing.
			d.unfollow(f)
			return false
		}
		if !mf.pending {
			d.retryMatch(mf, f, p)
		}
	}
	st := &mf.dir[p.Dir&1]
	st.packets++
	st.bytes += uint64(p.PayloadLen)
	if st.first == 0 {
		st.first = p.Time
	}
	st.last = p.Time
	b := p.Payload
	switch {
	case mf.bound && mf.b.kind == kindUDPTL:
	case looksRTP(b):
		st.rtpPacket(b, p.Time, mf.clock(b[1]&0x7f, p.Dir))
	case looksRTCP(b):
		st.rtcp++
		mf.rtcpPacket(b, p.Time, p.Dir)
	}
	if mf.looked != kindNone {
		return true
	}
	switch {
	case st.probe >= rtpConfirm:
		mf.looked = kindRTP
	case st.rtcp > 0 && st.probe == 0:
		mf.looked = kindRTCP
	}
	if mf.looked != kindNone {
		return true
	}
	mf.probes++
	// A flow waiting for its first commit is kept: that commit decides
	// whether it is a call's media, and letting it go sooner would make
	// the answer depend on how many packets came before the commit (a
	// T.38 stream sends more than mediaProbes in a one-second epoch).
	if !mf.bound && !mf.pending && mf.probes >= mediaProbes {
		d.unfollow(f)
		return false
	}
	return true
}

// clock returns the RTP clock rate of payload type pt as sent in
// direction dir: the SDP of the receiving side maps dynamic types (the
// receiver's SDP says what it accepts), the static table the rest.
func (mf *mediaFlow) clock(pt uint8, dir flow.Dir) uint32 {
	if mf.havePTCl && pt == mf.lastPT {
		return mf.lastClk
	}
	c := staticClock(pt)
	if mf.bound {
		recv := 1 - mf.b.partyA // receiver of packets A sends
		if dir == flow.DirBA {
			recv = mf.b.partyA
		}
		for _, cl := range [2][]ptClock{mf.b.clocks[recv], mf.b.clocks[1-recv]} {
			if v, ok := findClock(cl, pt); ok {
				c = v
				break
			}
		}
	}
	mf.lastPT, mf.lastClk, mf.havePTCl = pt, c, true
	return c
}

func findClock(cl []ptClock, pt uint8) (uint32, bool) {
	for _, c := range cl {
		if c.pt == pt {
			return c.clock, true
		}
	}
	return 0, false
}

// probePacket waits for the first payload of a TCP flow on a port that is
// not a SIP port, and keeps the flow if it starts SIP or a WebSocket
// upgrade for the "sip" subprotocol (RFC 7118).
func (d *Dissector) probePacket(f *flow.Flow, p *decode.Packet) bool {
	if len(p.Payload) == 0 {
		return true
	}
	if !sipinfo.Looks(p.Payload) && !isSIPUpgrade(p.Payload) && !partialStartLine(p.Payload) {
		return false
	}
	sf := &sipFlow{tcp: true}
	d.follow(f, sf)
	return d.sipPacket(sf, f, p)
}

// partialStartLine reports whether b may be the beginning of a start line
// cut by a segment boundary: short, unterminated, and led by an upper-case
// letter as every method and "SIP/2.0" are. The framer then decides, and
// a flow that never frames a message is dropped after tcpJunk bytes.
func partialStartLine(b []byte) bool {
	return len(b) < 1024 && bytes.IndexByte(b, '\n') < 0 && b[0] >= 'A' && b[0] <= 'Z'
}

// isSIPUpgrade recognises a WebSocket opening request that offers the SIP
// subprotocol. The request may span segments; the first must hold the
// request line and, in practice, the headers.
func isSIPUpgrade(b []byte) bool {
	if !bytes.HasPrefix(b, []byte("GET ")) {
		return false
	}
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !bytes.EqualFold(bytes.TrimSpace(name), []byte("sec-websocket-protocol")) {
			continue
		}
		for proto := range bytes.SplitSeq(value, []byte(",")) {
			if bytes.EqualFold(bytes.TrimSpace(proto), []byte("sip")) {
				return true
			}
		}
	}
	return false
}

func (d *Dissector) sipPacket(sf *sipFlow, f *flow.Flow, p *decode.Packet) bool {
	switch {
	case sf.tcp:
		d.tcpPacket(sf, f, p)
	case f.Key.Proto() == flow.ProtoSCTP:
		d.sctpPacket(sf, f, p)
	case len(p.Payload) > 0:
		if sipinfo.Looks(p.Payload) {
			d.message(sf, f, p, p.Payload, "udp")
		} else if !isKeepAlive(p.Payload) {
			sf.misses++
		}
	}
	return sf.confirmed || sf.misses < sipMisses
}

// isKeepAlive matches the CRLF keep-alives of RFC 5626 and the NAT
// keep-alive datagrams some phones send (a single zero or space byte).
func isKeepAlive(b []byte) bool {
	if len(b) > 4 {
		return false
	}
	for _, c := range b {
		if c != '\r' && c != '\n' && c != 0 && c != ' ' {
			return false
		}
	}
	return true
}

func (d *Dissector) tcpPacket(sf *sipFlow, f *flow.Flow, p *decode.Packet) {
	side := sf.side[p.Dir&1]
	if side == nil {
		side = &tcpSide{framer: sipinfo.NewFramer(d.t.cfg.MaxMessage)}
		side.buf.Init(d.t.cfg.MaxMessage)
		sf.side[p.Dir&1] = side
	}
	if side.dead {
		return
	}
	side.buf.Add(p.Seq, p.TCPFlags, p.Payload)
	if g := side.buf.Gaps(); g != side.gaps {
		side.gaps = g
		side.framer.Reset()
		d.t.stats.FramingErrors.Add(1)
		if side.ws {
			// WebSocket frames cannot be found again after a hole.
			side.dead = true
			return
		}
	}
	data := side.buf.Bytes()
	if len(data) == 0 {
		return
	}
	if !side.modeKnown {
		side.modeKnown = true
		side.ws = bytes.HasPrefix(data, []byte("GET ")) || bytes.HasPrefix(data, []byte("HTTP/1.1 101"))
	}
	if side.ws {
		d.webSocket(sf, side, f, p)
		return
	}
	for msg, err := range side.framer.Push(data) {
		if err != nil {
			d.t.stats.FramingErrors.Add(1)
			if errors.Is(err, sipinfo.ErrTooLarge) || errors.Is(err, sipinfo.ErrBufferFull) {
				d.t.stats.MessagesOversized.Add(1)
			}
			continue
		}
		d.message(sf, f, p, msg, "tcp")
	}
	side.buf.Consume(len(data))
	if !sf.confirmed && side.framer.JunkBytes > tcpJunk {
		side.dead = true
	}
}

func (d *Dissector) webSocket(sf *sipFlow, side *tcpSide, f *flow.Flow, p *decode.Packet) {
	data := side.buf.Bytes()
	if !side.upgraded {
		rest, ok := sipinfo.SkipUpgrade(data)
		if !ok {
			if len(data) > maxUpgrade {
				side.dead = true
			}
			return
		}
		side.buf.Consume(len(data) - len(rest))
		side.upgraded = true
		data = side.buf.Bytes()
	}
	for len(data) > 0 {
		msg, n, err := sipinfo.UnwrapWebSocket(side.wsMsg[:0], data)
		if errors.Is(err, sipinfo.ErrNeedMore) {
			return
		}
		side.buf.Consume(n)
		data = side.buf.Bytes()
		switch {
		case err == nil:
			side.wsMsg = msg
			if sipinfo.Looks(msg) {
				d.message(sf, f, p, msg, "ws")
			}
		case errors.Is(err, sipinfo.ErrWebSocketClosed):
			side.dead = true
			return
		default:
			d.t.stats.FramingErrors.Add(1)
			if errors.Is(err, sipinfo.ErrTooLarge) {
				d.t.stats.MessagesOversized.Add(1)
			}
			if n == 0 {
				side.dead = true
				return
			}
		}
	}
}

// sctpPacket reads the DATA chunks of an SCTP packet: each user message
// is one SIP message (RFC 4168). Fragments (B and E flags, RFC 9260
// section 3.3.1) are joined in arrival order, which is TSN order on a
// clean capture; an interleaved or lost fragment costs that message.
func (d *Dissector) sctpPacket(sf *sipFlow, f *flow.Flow, p *decode.Packet) {
	const (
		dataHeader = 16
		flagE      = 0x01
		flagB      = 0x02
	)
	b := p.Payload
	buf := &sf.sctp[p.Dir&1]
	for len(b) >= 4 {
		typ, flags := b[0], b[1]
		n := int(binary.BigEndian.Uint16(b[2:]))
		if n < 4 || n > len(b) {
			return
		}
		if typ == 0 && n > dataHeader {
			data := b[dataHeader:n]
			switch {
			case flags&(flagB|flagE) == flagB|flagE:
				d.sctpMessage(sf, f, p, data)
			case flags&flagB != 0:
				*buf = append((*buf)[:0], data...)
			case len(*buf) == 0:
				// A middle or end fragment without its beginning.
			case len(*buf)+len(data) > d.t.cfg.MaxMessage:
				*buf = (*buf)[:0]
				d.t.stats.FramingErrors.Add(1)
				d.t.stats.MessagesOversized.Add(1)
			default:
				*buf = append(*buf, data...)
				if flags&flagE != 0 {
					d.sctpMessage(sf, f, p, *buf)
					*buf = (*buf)[:0]
				}
			}
		}
		n = (n + 3) &^ 3
		if n > len(b) {
			return
		}
		b = b[n:]
	}
}

func (d *Dissector) sctpMessage(sf *sipFlow, f *flow.Flow, p *decode.Packet, msg []byte) {
	if sipinfo.Looks(msg) {
		d.message(sf, f, p, msg, "sctp")
	} else {
		sf.misses++
	}
}

// message parses one SIP message and hands it to the tracker.
//
// On a flow already confirmed as SIP, a message whose method keeps it out
// of every INVITE dialog (a registration and its challenge, a keep-alive
// OPTIONS, a SUBSCRIBE) is only skimmed for its Call-ID: such a message
// changes a call only when its Call-ID is one (a NOTIFY or INFO within
// the call), which the commit knows and then parses the message. The
// parse is most of a SIP flow's cost, and most such messages belong to no
// call. A message with the Call-ID of the flow's own INVITE is parsed
// here, so in-dialog requests do not load the commit.
func (d *Dissector) message(sf *sipFlow, f *flow.Flow, p *decode.Packet, b []byte, transport string) {
	src, dst := f.Key.Endpoint(p.Dir), f.Key.Endpoint(p.Dir.Flip())
	if sf.confirmed {
		if s, ok := sipinfo.Skim(b); ok && !inviteDialog(s.Method) && string(s.CallID) != sf.callID {
			d.stageSkimmed(p.Ordinal, p.Time, b, s.CallID, src, dst, transport)
			return
		}
	}
	m, sess, ok := d.t.parseMessage(b, &d.sess)
	if !ok {
		sf.misses++
		return
	}
	sf.confirmed = true
	if sf.callID == "" && m.IsRequest && m.Method == "INVITE" {
		sf.callID = m.CallID
	}
	d.stageMessage(p.Ordinal, m, sess, src, dst, p.Time, transport)
}

// parseMessage parses a SIP message and the SDP it carries, into sess,
// and counts the outcome. The session is nil when the message has none.
// The tracker reads no Via, Contact or Request-URI: ParseDialog skips
// them, and accepts the messages ParseMessage accepts.
func (t *Tracker) parseMessage(b []byte, sess *sdp.Session) (*sipinfo.Message, *sdp.Session, bool) {
	m, err := sipinfo.ParseDialog(b)
	if err != nil {
		t.stats.ParseErrors.Add(1)
		return nil, nil, false
	}
	t.stats.Messages.Add(1)
	if len(m.SDP) == 0 {
		return m, nil, true
	}
	if err := sdp.Parse(m.SDP, sess); errors.Is(err, sdp.ErrNotSDP) {
		t.stats.SDPErrors.Add(1)
		return m, nil, true
	}
	return m, sess, true
}
