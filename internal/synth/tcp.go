package synth

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// tcpConn is one TCP connection inside a conversation, seen from a capture
// point near the client: the server's answers come one round trip after
// the client's segments.
type tcpConn struct {
	c            *conv
	cli, srv     *host
	cport, sport uint16
	cseq, sseq   uint32 // next sequence number each side sends
	rtt          time.Duration
}

const mss = 1460

func (c *conv) dial(cli, srv *host, sport uint16) *tcpConn {
	g := c.g
	rtt := g.jitter(150*time.Microsecond, 900*time.Microsecond)
	if cli.wan || srv.wan {
		rtt = g.jitter(12*time.Millisecond, 45*time.Millisecond)
	}
	return &tcpConn{c: c, cli: cli, srv: srv, cport: cli.ephemeral(), sport: sport,
		cseq: g.rng.Uint32(), sseq: g.rng.Uint32(), rtt: rtt}
}

func (t *tcpConn) seg(fromClient bool, flags uint8, data []byte) {
	g := t.c.g
	if fromClient {
		g.tcp(t.cli, t.srv, t.cport, t.sport, t.cseq, t.sseq, flags, 1026, data)
		t.cseq += uint32(len(data))
		if flags&(syn|fin) != 0 {
			t.cseq++
		}
		return
	}
	g.tcp(t.srv, t.cli, t.sport, t.cport, t.sseq, t.cseq, flags, 2053, data)
	t.sseq += uint32(len(data))
	if flags&(syn|fin) != 0 {
		t.sseq++
	}
}

// connect is the three-way handshake.
func (t *tcpConn) connect() {
	t.c.g.tcp(t.cli, t.srv, t.cport, t.sport, t.cseq, 0, syn, 64240, nil)
	t.cseq++
	t.c.wait(t.rtt)
	t.c.g.tcp(t.srv, t.cli, t.sport, t.cport, t.sseq, t.cseq, syn|ack, 65535, nil)
	t.sseq++
	t.c.wait(t.c.g.jitter(40*time.Microsecond, 200*time.Microsecond))
	t.seg(true, ack, nil)
}

// send writes data from one side in MSS-sized segments, back to back.
func (t *tcpConn) send(fromClient bool, data []byte) {
	for off := 0; off < len(data); off += mss {
		end := min(off+mss, len(data))
		flags := uint8(ack)
		if end == len(data) {
			flags |= psh
		}
		if off > 0 {
			t.c.wait(t.c.g.jitter(10*time.Microsecond, 60*time.Microsecond))
		}
		t.seg(fromClient, flags, data[off:end])
	}
}

// ack is a pure acknowledgement.
func (t *tcpConn) ack(fromClient bool) { t.seg(fromClient, ack, nil) }

// exchange is a request and its response: the server answers after a
// round trip plus think time, and the client acknowledges.
func (t *tcpConn) exchange(req, resp []byte, think time.Duration) {
	t.send(true, req)
	t.c.wait(t.rtt + think)
	t.send(false, resp)
	t.c.wait(t.c.g.jitter(100*time.Microsecond, 40*time.Millisecond))
	t.ack(true)
}

// close is the FIN exchange, started by the client or the server.
func (t *tcpConn) close(fromClient bool) {
	t.seg(fromClient, fin|ack, nil)
	t.c.wait(t.rtt)
	t.seg(!fromClient, fin|ack, nil)
	t.c.wait(t.c.g.jitter(30*time.Microsecond, 300*time.Microsecond))
	t.seg(fromClient, ack, nil)
}

func (c *conv) pick(hs []*host) *host { return hs[c.g.rng.IntN(len(hs))] }

func (c *conv) flow(kind string) { c.g.stats.Flows[kind]++ }

// flowOnce counts a UDP flow the first time the conversation uses its
// 5-tuple in either direction: both directions of a call's RTP are one
// flow.
func (c *conv) flowOnce(kind string, a, b *host, pa, pb uint16) {
	if b.addr.Less(a.addr) || a.addr == b.addr && pb < pa {
		a, b, pa, pb = b, a, pb, pa
	}
	k := flowTuple{a.addr, b.addr, pa, pb}
	if c.seen == nil {
		c.seen = map[flowTuple]bool{}
	}
	if !c.seen[k] {
		c.seen[k] = true
		c.flow(kind)
	}
}

type flowTuple struct {
	a, b   netip.Addr
	pa, pb uint16
}

// tlsSession is an HTTPS-like session: handshake, a few request/response
// pairs, close.
func (c *conv) tlsSession(cli, srv *host, port uint16, sni string, alpn []string, tls13 bool, requests int) {
	g := c.g
	c.flow("tls")
	t := c.dial(cli, srv, port)
	t.connect()
	c.wait(g.jitter(100*time.Microsecond, 2*time.Millisecond))
	hello, sid := clientHello(g.rng, sni, alpn, tls13)
	chosen := ""
	if len(alpn) > 0 {
		chosen = alpn[0]
	}
	t.send(true, hello)
	c.wait(t.rtt + g.jitter(200*time.Microsecond, 3*time.Millisecond))
	t.send(false, serverFlight(g.rng, sid, tls13, chosen))
	c.wait(g.jitter(300*time.Microsecond, 2*time.Millisecond))
	fin := clientFinish(g.rng, tls13)
	if tls13 {
		t.send(true, append(fin, appData(g.rng, 300+g.rng.IntN(500))...))
	} else {
		t.send(true, fin)
		c.wait(t.rtt)
		t.send(false, serverFinish(g.rng))
		c.wait(g.jitter(100*time.Microsecond, time.Millisecond))
		t.send(true, appData(g.rng, 300+g.rng.IntN(500)))
	}
	for i := range requests {
		if i > 0 {
			c.wait(g.jitter(50*time.Millisecond, 2*time.Second))
			t.send(true, appData(g.rng, 200+g.rng.IntN(600)))
		}
		c.wait(t.rtt + g.jitter(time.Millisecond, 30*time.Millisecond))
		t.send(false, appData(g.rng, 200+g.rng.IntN(6000)))
		c.wait(g.jitter(100*time.Microsecond, 40*time.Millisecond))
		t.ack(true)
	}
	c.wait(g.jitter(100*time.Millisecond, 5*time.Second))
	t.close(true)
}

func runTLS(c *conv) {
	g := c.g
	cloud := g.site.cloud[g.rng.IntN(len(g.site.cloud))]
	c.tlsSession(c.pick(g.site.workstations), cloud.host, 443, cloud.name, []string{"h2", "http/1.1"}, g.rng.IntN(5) > 0, 1+g.rng.IntN(3))
}

func runSIPTLS(c *conv) {
	g := c.g
	c.tlsSession(g.site.proxy, g.site.carrierSig, 5061, "sbc.carrier.example", nil, g.rng.IntN(2) == 0, 2)
}

// catalogSession is a TCP service the site's inventory expects.
type catalogSession struct {
	port    uint16
	client  func(s *site, c *conv) *host
	server  func(s *site) *host
	request func(c *conv) []byte
	respond func(c *conv) []byte
}

// catalogSessions: SMB to the file server, TDS from the CIC server to SQL
// Server, CIC Session Manager (3952) and ICWS (8018) from agent
// workstations, and the media server's Notifier link (5597, TLS) to the
// CIC server.
var catalogSessions = [...]catalogSession{
	{445, func(s *site, c *conv) *host { return c.pick(s.workstations) }, func(s *site) *host { return s.files }, smbRequest, smbResponse},
	{1433, func(s *site, c *conv) *host { return s.cic }, func(s *site) *host { return s.sql }, tdsRequest, tdsResponse},
	{3952, func(s *site, c *conv) *host { return c.pick(s.workstations) }, func(s *site) *host { return s.cic }, opaqueMessage, opaqueMessage},
	{5597, func(s *site, c *conv) *host { return s.media }, func(s *site) *host { return s.cic }, opaqueMessage, opaqueMessage},
	{8018, func(s *site, c *conv) *host { return c.pick(s.workstations) }, func(s *site) *host { return s.cic }, icwsRequest, icwsResponse},
}

func runTCP(c *conv) {
	g := c.g
	cs := &catalogSessions[g.rng.IntN(len(catalogSessions))]
	if cs.port == 5597 {
		// The Notifier link from the media server must be TLS (the
		// catalog's notifier-tls entry): a TLS session, named after the
		// CIC server.
		c.tlsSession(cs.client(g.site, c), cs.server(g.site), cs.port, "cic01.example.local", nil, g.rng.IntN(2) == 0, 1+g.rng.IntN(3))
		return
	}
	c.flow("tcp")
	t := c.dial(cs.client(g.site, c), cs.server(g.site), cs.port)
	t.connect()
	for i := range 1 + g.rng.IntN(4) {
		if i > 0 {
			c.wait(g.jitter(10*time.Millisecond, 3*time.Second))
		}
		t.exchange(cs.request(c), cs.respond(c), g.jitter(100*time.Microsecond, 20*time.Millisecond))
	}
	c.wait(g.jitter(10*time.Millisecond, 2*time.Second))
	t.close(g.rng.IntN(2) == 0)
}

// smbRequest and smbResponse are SMB 3 encrypted messages over NetBIOS
// session framing: the 52-byte transform header (protocol id 0xFD 'SMB',
// MS-SMB2 2.2.41) and the ciphertext, as a site enforcing SMB encryption
// shows.
func smbRequest(c *conv) []byte  { return smb3(c, 80+c.g.rng.IntN(200)) }
func smbResponse(c *conv) []byte { return smb3(c, 120+c.g.rng.IntN(4000)) }

func smb3(c *conv, size int) []byte {
	const transformHeader = 52
	msg := make([]byte, 4, 4+transformHeader+size)
	binary.BigEndian.PutUint32(msg, uint32(transformHeader+size))
	msg = append(msg, "\xfdSMB"...)
	msg = append(msg, randomBytes(c.g.rng, 16+11)...) // signature, AES-128-CCM nonce
	msg = append(msg, 0, 0, 0, 0, 0)                  // nonce padding
	msg = binary.LittleEndian.AppendUint32(msg, uint32(size))
	msg = binary.LittleEndian.AppendUint16(msg, 0)
	msg = binary.LittleEndian.AppendUint16(msg, 1) // encrypted
	msg = binary.LittleEndian.AppendUint64(msg, c.g.smbSession)
	return append(msg, randomBytes(c.g.rng, size)...)
}

// tdsRequest is a TDS SQL batch (MS-TDS 2.2.6.6): ALL_HEADERS with a
// transaction descriptor, then the query in UTF-16LE.
func tdsRequest(c *conv) []byte {
	queries := [...]string{
		"SELECT TOP 50 InteractionIDKey, StartDateTimeUTC, ConnectedDurationMS FROM InteractionSummary WHERE AssignedWorkGroup = N'Support' ORDER BY StartDateTimeUTC DESC",
		"UPDATE AgentActivityLog SET EndDateTime = GETUTCDATE() WHERE UserId = N'agent%03d' AND EndDateTime IS NULL",
		"EXEC dbo.sp_IC_GetQueueStatistics @WorkgroupName = N'Sales', @IntervalMinutes = 15",
	}
	q := queries[c.g.rng.IntN(len(queries))]
	if strings.Contains(q, "%03d") {
		q = fmt.Sprintf(q, c.g.rng.IntN(300))
	}
	var body []byte
	body = binary.LittleEndian.AppendUint32(body, 22)
	body = binary.LittleEndian.AppendUint32(body, 18)
	body = binary.LittleEndian.AppendUint16(body, 2)
	body = binary.LittleEndian.AppendUint64(body, 0)
	body = binary.LittleEndian.AppendUint32(body, 1)
	for _, r := range q {
		body = binary.LittleEndian.AppendUint16(body, uint16(r))
	}
	return tds(0x01, body)
}

// tdsResponse is a tabular result holding only the DONE token: status
// DONE_COUNT, the row count.
func tdsResponse(c *conv) []byte {
	body := []byte{0xfd}
	body = binary.LittleEndian.AppendUint16(body, 0x0010)
	body = binary.LittleEndian.AppendUint16(body, 0xc1)
	body = binary.LittleEndian.AppendUint64(body, uint64(c.g.rng.IntN(50)))
	return tds(0x04, body)
}

// tds frames a TDS message: type, status EOM, length, SPID, packet id,
// window.
func tds(typ byte, body []byte) []byte {
	msg := make([]byte, 8, 8+len(body))
	msg[0], msg[1] = typ, 0x01
	binary.BigEndian.PutUint16(msg[2:], uint16(8+len(body)))
	binary.BigEndian.PutUint16(msg[4:], 52)
	msg[6] = 1
	return append(msg, body...)
}

func opaqueMessage(c *conv) []byte {
	n := 24 + c.g.rng.IntN(900)
	msg := randomBytes(c.g.rng, n)
	binary.BigEndian.PutUint32(msg, uint32(n-4))
	return msg
}

func icwsRequest(c *conv) []byte {
	return fmt.Appendf(nil, "GET /icws/%d/messaging/messages HTTP/1.1\r\nHost: cic01.example.local:8018\r\nAccept: application/vnd.inin.icws+JSON\r\nAccept-Language: en-us\r\nICWS-CSRF-Token: %016x\r\nCookie: icws_%d=%016x\r\n\r\n",
		100000+c.g.rng.IntN(900000), c.g.rng.Uint64(), 100000+c.g.rng.IntN(900000), c.g.rng.Uint64())
}

func icwsResponse(c *conv) []byte {
	body := fmt.Appendf(nil, `[{"__type":"urn:inin.com:status:userStatusMessage","isDelta":true,"userStatusList":[{"userId":"agent%03d","statusId":"Available"}]}]`, c.g.rng.IntN(300))
	return append(fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.inin.icws+JSON; charset=utf-8\r\nContent-Length: %d\r\n\r\n", len(body)), body...)
}

// synPorts are the catalog services a client tries on a host that is down
// (syn-unanswered) or not listening (syn-rst). The first entries are the
// demo's.
var synPorts = [...]uint16{3952, 8018, 1433, 445, 5597}

func runSYNUnanswered(c *conv) {
	g := c.g
	c.flow("tcp")
	t := c.dial(c.pick(g.site.workstations), g.site.cicBackup, synPorts[c.index%len(synPorts)])
	// Windows retransmits the same SYN (same ISN) after 1 s and 2 s more.
	g.tcp(t.cli, t.srv, t.cport, t.sport, t.cseq, 0, syn, 64240, nil)
	c.wait(time.Second)
	g.tcp(t.cli, t.srv, t.cport, t.sport, t.cseq, 0, syn, 64240, nil)
	c.wait(2 * time.Second)
	g.tcp(t.cli, t.srv, t.cport, t.sport, t.cseq, 0, syn, 64240, nil)
}

func runSYNRejected(c *conv) {
	g := c.g
	c.flow("tcp")
	targets := [...]*host{g.site.sql, g.site.cic, g.site.media}
	port := [...]uint16{1433, 8018, 5597}
	i := c.index % len(targets)
	t := c.dial(c.pick(g.site.workstations), targets[i], port[i])
	g.tcp(t.cli, t.srv, t.cport, t.sport, t.cseq, 0, syn, 64240, nil)
	c.wait(t.rtt)
	g.tcp(t.srv, t.cli, t.sport, t.cport, 0, t.cseq+1, rst|ack, 0, nil)
}

// runUnexpected is a flow no vendor catalog allows: telnet from a
// workstation to an IP phone, or SSH to the SQL server.
func runUnexpected(c *conv) {
	g := c.g
	c.flow("tcp")
	ws := c.pick(g.site.workstations)
	if c.index%2 == 0 {
		t := c.dial(ws, c.pick(g.site.phones), 23)
		t.connect()
		t.send(false, []byte("\xff\xfd\x18\xff\xfd\x20\xff\xfd\x23\xff\xfd\x27"))
		c.wait(g.jitter(time.Millisecond, 5*time.Millisecond))
		t.send(true, []byte("\xff\xfc\x18\xff\xfc\x20\xff\xfc\x23\xff\xfc\x27"))
		c.wait(t.rtt)
		t.send(false, []byte("\r\nIP Phone login: "))
		c.wait(g.jitter(2*time.Second, 4*time.Second))
		t.exchange([]byte("admin\r\n"), []byte("admin\r\nPassword: "), time.Millisecond)
		c.wait(g.jitter(time.Second, 3*time.Second))
		t.exchange([]byte("admin\r\n"), []byte("\r\nLogin incorrect\r\n"), 2*time.Second)
		t.close(false)
		return
	}
	t := c.dial(ws, g.site.sql, 22)
	t.connect()
	t.send(false, []byte("SSH-2.0-OpenSSH_for_Windows_9.5\r\n"))
	c.wait(g.jitter(time.Millisecond, 3*time.Millisecond))
	t.send(true, []byte("SSH-2.0-PuTTY_Release_0.81\r\n"))
	c.wait(t.rtt)
	t.exchange(randomBytes(g.rng, 1200), randomBytes(g.rng, 1100), time.Millisecond)
	t.exchange(randomBytes(g.rng, 48), randomBytes(g.rng, 600), 5*time.Millisecond)
	c.wait(g.jitter(2*time.Second, 8*time.Second))
	t.close(true)
}

// runWrongDirection is an allowed flow opened from the wrong side: the
// catalog lets the CIC server connect to SQL Server on 1433, and here the
// SQL server connects to port 1433 on the CIC server (a linked-server or
// replication job pointed the wrong way), and something answers.
func runWrongDirection(c *conv) {
	g := c.g
	c.flow("tcp")
	t := c.dial(g.site.sql, g.site.cic, 1433)
	t.connect()
	t.exchange(randomBytes(g.rng, 120), randomBytes(g.rng, 240), time.Millisecond)
	c.wait(g.jitter(100*time.Millisecond, 400*time.Millisecond))
	t.close(true)
}

// runSinch is the Sinch Contact Center beside the Genesys site: see the
// Sinch scenario.
func runSinch(c *conv) {
	g, ss := c.g, &c.site().sinch
	var t *tcpConn
	switch c.index % 4 {
	case 0:
		c.runCall(callOpts{transport: "UDP", sinch: true})
		return
	case 1:
		t = c.dial(c.pick(ss.agents), ss.server, 21002)
	case 2:
		t = c.dial(ss.mrs, ss.server, 21018)
	default:
		t = c.dial(c.pick(ss.agents), g.site.cic, 3952)
	}
	c.flow("tcp")
	t.connect()
	t.exchange(randomBytes(g.rng, 180), randomBytes(g.rng, 420), time.Millisecond)
	c.wait(g.jitter(100*time.Millisecond, 600*time.Millisecond))
	t.close(true)
}
