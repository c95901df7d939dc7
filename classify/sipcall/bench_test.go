package sipcall

import (
	"testing"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
)

// mediaSetup returns a harness with a negotiated call and a bound media
// flow, and a packet on that flow ready to be replayed.
func mediaSetup(tb testing.TB) (*harness, *flow.Flow, *decode.Packet) {
	h := newHarness(tb, Config{})
	c := h.newCall("bench")
	c.invite(t0, sdpBody("10.0.0.1", 4000))
	c.respond(t0+ms, 200, sdpBody("10.0.0.2", 6000))
	h.rtpRun("10.0.0.1:4000", "10.0.0.2:6000", t0+2*ms, 3, 1)
	f := h.flowOf("10.0.0.1:4000", "10.0.0.2:6000")
	if _, mf := stateOf(f); mf == nil || !mf.bound {
		tb.Fatal("media flow not bound")
	}
	p := &decode.Packet{Payload: rtp(0, 3, 480, 1, 160)}
	p.Key, p.Dir, p.PayloadLen = f.Key, f.OrigDir, 172
	return h, f, p
}

// TestRTPPathAllocs proves the per-packet media path allocates nothing.
func TestRTPPathAllocs(t *testing.T) {
	h, f, p := mediaSetup(t)
	seq := uint16(3)
	allocs := testing.AllocsPerRun(1000, func() {
		seq++
		p.Payload[2], p.Payload[3] = byte(seq>>8), byte(seq)
		p.Time += 20 * ms
		h.d.Packet(f, p, true)
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per RTP packet", allocs)
	}
}

func BenchmarkRTPPacket(b *testing.B) {
	h, f, p := mediaSetup(b)
	b.SetBytes(int64(len(p.Payload)))
	b.ReportAllocs()
	seq := uint16(3)
	for b.Loop() {
		seq++
		p.Payload[2], p.Payload[3] = byte(seq>>8), byte(seq)
		p.Time += 20 * ms
		h.d.Packet(f, p, true)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

// BenchmarkSIPMessage parses an INVITE with SDP, stages it and commits it
// to the tracker, each iteration a new call.
func BenchmarkSIPMessage(b *testing.B) {
	h := newHarness(b, Config{})
	msgs := make([][]byte, 1024)
	for i := range msgs {
		msgs[i] = sipMsg("INVITE sip:bob@example.com SIP/2.0", "bench-"+string(rune('a'+i%26))+itoaTest(i), "ft", "", 1, "INVITE", sdpBody("10.0.0.1", 4000+2*i))
	}
	h.udp("10.0.0.1:5060", "10.0.0.2:5060", t0, msgs[0])
	f := h.flowOf("10.0.0.1:5060", "10.0.0.2:5060")
	p := &decode.Packet{}
	p.Key, p.Dir = f.Key, f.OrigDir
	b.SetBytes(int64(len(msgs[0])))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p.Payload = msgs[i%len(msgs)]
		p.Time = t0 + int64(i)*ms
		h.d.Packet(f, p, true)
		h.tr.Commit(p.Time)
		i++
		if i%len(msgs) == 0 {
			b.StopTimer()
			h.tr.Flush()
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func itoaTest(i int) string {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(b[n:])
		}
	}
}

// BenchmarkRegisterMessage follows the messages of a registration (the
// REGISTER, its challenge, the retry and its 200) on a flow already
// confirmed as SIP, each staged and committed.
func BenchmarkRegisterMessage(b *testing.B) {
	h := newHarness(b, Config{})
	phone, pbx := "10.0.0.3:5060", "10.0.0.1:5060"
	h.udp(phone, pbx, t0, sipMsg("OPTIONS sip:pbx@example.com SIP/2.0", "ka", "k", "", 1, "OPTIONS", ""))
	f := h.flowOf(phone, pbx)
	auth := `Authorization: Digest username="1116", realm="example.local", nonce="a0fd1c6f8cd1c9c3", uri="sip:10.10.1.10", response="de1e9a01d38be0eb41fe0f5e29490bd9", algorithm=MD5`
	msgs := [][]byte{
		sipMsg("REGISTER sip:pbx@example.com SIP/2.0", "reg", "r", "", 1, "REGISTER", "", "Max-Forwards: 70", "Contact: <sip:1116@10.0.0.3:5060;transport=udp>", "Expires: 3600", "User-Agent: Phone"),
		sipMsg("SIP/2.0 401 Unauthorized", "reg", "r", "x", 1, "REGISTER", "", "Server: PBX", `WWW-Authenticate: Digest realm="example.local", nonce="a0fd1c6f8cd1c9c3", algorithm=MD5, qop="auth"`),
		sipMsg("REGISTER sip:pbx@example.com SIP/2.0", "reg", "r", "", 2, "REGISTER", "", "Max-Forwards: 70", "Contact: <sip:1116@10.0.0.3:5060;transport=udp>", "Expires: 3600", auth, "User-Agent: Phone"),
		sipMsg("SIP/2.0 200 OK", "reg", "r", "y", 2, "REGISTER", "", "Contact: <sip:1116@10.0.0.3:5060;transport=udp>;expires=3600", "Server: PBX"),
	}
	p := &decode.Packet{}
	p.Key = f.Key
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p.Payload = msgs[i%len(msgs)]
		p.Dir = f.OrigDir
		if i%2 == 1 {
			p.Dir = f.OrigDir.Flip()
		}
		p.Time = t0 + int64(i)*ms
		h.d.Packet(f, p, p.Dir == f.OrigDir)
		h.tr.Commit(p.Time)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
