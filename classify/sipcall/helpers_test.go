package sipcall

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
)

// harness drives one Dissector the way capture.Pipeline does, without a
// capture file: Start on a flow's first packet, Packet while wanted, End
// when the test ends the flows. Every packet is an epoch of its own: the
// tracker commits after each, so tests see its effect at once.
type harness struct {
	t       testing.TB
	tr      *Tracker
	d       *Dissector
	calls   []*Call
	flows   map[flow.Key]*hflow
	ended   []*flow.Flow
	ordinal uint64
	now     int64
	// batch: send does not commit; the test commits, so that several
	// packets share an epoch.
	batch bool
}

type hflow struct {
	f            *flow.Flow
	seen, wanted bool
	seq          [2]uint32
}

func newHarness(t testing.TB, cfg Config) *harness {
	h := &harness{t: t, flows: map[flow.Key]*hflow{}}
	cfg.OnCall = func(c *Call) { h.calls = append(h.calls, c) }
	h.tr = NewTracker(cfg)
	h.d = h.tr.NewDissector()
	return h
}

// send delivers one packet from src to dst at time ts (unix ns).
func (h *harness) send(proto uint8, src, dst string, ts int64, payload []byte) {
	s, d := netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst)
	key, dir := flow.NewKey(proto, s, d)
	hf := h.flows[key]
	if hf == nil {
		hf = &hflow{f: &flow.Flow{Key: key, OrigDir: dir, First: ts}}
		h.flows[key] = hf
	}
	f := hf.f
	f.Last = ts
	p := &decode.Packet{Payload: payload, Ordinal: h.ordinal}
	h.ordinal++
	h.now = max(h.now, ts)
	p.Key, p.Dir, p.Time, p.PayloadLen = key, dir, ts, uint32(len(payload))
	if proto == flow.ProtoTCP {
		p.TCPFlags = flow.FlagACK | flow.FlagPSH
		p.Seq = 1000 + hf.seq[dir]
		hf.seq[dir] += uint32(len(payload))
	}
	if dir == f.OrigDir {
		f.Orig.Packets++
	} else {
		f.Resp.Packets++
	}
	if !hf.seen {
		hf.seen = true
		hf.wanted = h.d.Start(f, p)
	}
	if hf.wanted {
		hf.wanted = h.d.Packet(f, p, dir == f.OrigDir)
	}
	if !h.batch {
		h.tr.Commit(h.now)
	}
}

func (h *harness) udp(src, dst string, ts int64, payload []byte) {
	h.send(flow.ProtoUDP, src, dst, ts, payload)
}

// endFlows ends every flow, as the flow table does at the end of input.
func (h *harness) endFlows() {
	for k, hf := range h.flows {
		h.d.End(hf.f)
		h.ended = append(h.ended, hf.f)
		delete(h.flows, k)
	}
	h.tr.Commit(h.now)
}

func (h *harness) finish() {
	h.endFlows()
	h.tr.Flush()
}

func (h *harness) flowOf(a, b string) *flow.Flow {
	k, _ := flow.NewKey(flow.ProtoUDP, netip.MustParseAddrPort(a), netip.MustParseAddrPort(b))
	if hf := h.flows[k]; hf != nil {
		return hf.f
	}
	for _, f := range h.ended {
		if f.Key == k {
			return f
		}
	}
	return nil
}

// sipMsg builds a SIP message. first is the start line; hdrs are extra
// header lines; body is an SDP or empty.
func sipMsg(first, callID, fromTag, toTag string, cseq int, method string, body string, hdrs ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK%d%s\r\n", first, cseq, method)
	fmt.Fprintf(&b, "From: <sip:alice@example.com>;tag=%s\r\n", fromTag)
	if toTag != "" {
		fmt.Fprintf(&b, "To: <sip:bob@example.com>;tag=%s\r\n", toTag)
	} else {
		b.WriteString("To: <sip:bob@example.com>\r\n")
	}
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d %s\r\n", callID, cseq, method)
	for _, x := range hdrs {
		b.WriteString(x + "\r\n")
	}
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return []byte(b.String())
}

func sdpBody(addr string, port int, extra ...string) string {
	fam := "IP4"
	if strings.Contains(addr, ":") {
		fam = "IP6"
	}
	s := fmt.Sprintf("v=0\r\no=- 1 1 IN %s %s\r\ns=-\r\nc=IN %s %s\r\nt=0 0\r\nm=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n", fam, addr, fam, addr, port)
	for _, x := range extra {
		s += x + "\r\n"
	}
	return s
}

// call is a scripted dialog between a caller at 10.0.0.1:5060 and a
// callee at 10.0.0.2:5060.
type call struct {
	h      *harness
	id     string
	caller string
	callee string
}

func (h *harness) newCall(id string) *call {
	return &call{h: h, id: id, caller: "10.0.0.1:5060", callee: "10.0.0.2:5060"}
}

const ms = int64(1e6)

func (c *call) invite(ts int64, body string) {
	c.h.udp(c.caller, c.callee, ts, sipMsg("INVITE sip:bob@example.com SIP/2.0", c.id, "ft", "", 1, "INVITE", body, "User-Agent: PhoneA"))
}

func (c *call) respond(ts int64, code int, body string) {
	c.h.udp(c.callee, c.caller, ts, sipMsg(fmt.Sprintf("SIP/2.0 %d Reason", code), c.id, "ft", "tt", 1, "INVITE", body, "Server: PBX"))
}

func (c *call) ack(ts int64) {
	c.h.udp(c.caller, c.callee, ts, sipMsg("ACK sip:bob@example.com SIP/2.0", c.id, "ft", "tt", 1, "ACK", ""))
}

func (c *call) bye(ts int64) {
	c.h.udp(c.caller, c.callee, ts, sipMsg("BYE sip:bob@example.com SIP/2.0", c.id, "ft", "tt", 2, "BYE", ""))
	c.h.udp(c.callee, c.caller, ts+ms, sipMsg("SIP/2.0 200 OK", c.id, "ft", "tt", 2, "BYE", ""))
}

// rtp builds an RTP packet.
func rtp(pt uint8, seq uint16, ts, ssrc uint32, payload int) []byte {
	b := make([]byte, 12+payload)
	b[0] = 0x80
	b[1] = pt
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	return b
}

// rtpRun sends n packets of 20 ms PCMU from src to dst starting at t0.
func (h *harness) rtpRun(src, dst string, t0 int64, n int, ssrc uint32) {
	for i := range n {
		h.udp(src, dst, t0+int64(i)*20*ms, rtp(0, uint16(i), uint32(i*160), ssrc, 160))
	}
}

func mustAP(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
