package alerts

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// maxDatagram bounds a UDP syslog message: the largest IPv4 UDP payload.
// Events are bounded well below it (maxString, maxHostPairs).
const maxDatagram = 65507

// syslogSink sends RFC 5424 messages whose MSG is the JSON event:
//
//	<PRI>1 TIMESTAMP HOSTNAME auditor PROCID MSGID - {"@timestamp":...}
//
// PRI is facility*8 + the severity mapped from the finding's; MSGID is the
// finding kind. Over TCP each message is prefixed with its length (octet
// counting, RFC 6587 3.4.1), so receivers need not scan for newlines.
//
// TCP syslog has no acknowledgements: a batch written just as the receiver
// vanishes may be lost without an error. Before each batch the sink checks
// whether the receiver has closed the connection and reconnects, which
// catches a receiver restarted between batches.
type syslogSink struct {
	name        string
	network     string
	addr        string
	facility    int
	hostname    string
	procID      string
	dialTimeout time.Duration
	conn        net.Conn
	buf         []byte
}

func newSyslogSink(d Dest, o Options) (*syslogSink, error) {
	s := &syslogSink{
		name: d.String(), network: "tcp", addr: d.Addr, facility: o.Facility,
		hostname: headerField(o.Hostname, 255), procID: strconv.Itoa(os.Getpid()),
		dialTimeout: o.DialTimeout,
	}
	if d.Kind == DestSyslogUDP {
		s.network = "udp"
		// Connecting a UDP socket sends nothing; it resolves the host now,
		// so a misspelt name fails at start.
		if err := s.dial(context.Background()); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *syslogSink) Name() string { return s.name }

func (s *syslogSink) dial(ctx context.Context) error {
	d := net.Dialer{Timeout: s.dialTimeout}
	c, err := d.DialContext(ctx, s.network, s.addr)
	if err != nil {
		return fmt.Errorf("syslog %s: %w", s.addr, err)
	}
	s.conn = c
	return nil
}

func (s *syslogSink) drop() {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
}

func (s *syslogSink) Write(ctx context.Context, batch []Record) error {
	if s.conn != nil && s.network == "tcp" && !peerOpen(s.conn) {
		s.drop()
	}
	if s.conn == nil {
		if err := s.dial(ctx); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	s.conn.SetWriteDeadline(deadline)
	if s.network == "udp" {
		for _, r := range batch {
			s.buf = s.appendMessage(s.buf[:0], r)
			if len(s.buf) > maxDatagram {
				return permanent(fmt.Errorf("syslog %s: message of %d bytes exceeds a UDP datagram", s.addr, len(s.buf)))
			}
			if _, err := s.conn.Write(s.buf); err != nil {
				s.drop()
				return fmt.Errorf("syslog %s: %w", s.addr, err)
			}
		}
		return nil
	}
	s.buf = s.buf[:0]
	for _, r := range batch {
		// Octet counting needs the length first: write the message, then
		// move it right behind its length.
		at := len(s.buf)
		s.buf = s.appendMessage(s.buf, r)
		n := len(s.buf) - at
		var lenBuf [8]byte
		prefix := append(strconv.AppendInt(lenBuf[:0], int64(n), 10), ' ')
		s.buf = append(s.buf, prefix...)
		copy(s.buf[at+len(prefix):], s.buf[at:at+n])
		copy(s.buf[at:], prefix)
	}
	if _, err := s.conn.Write(s.buf); err != nil {
		s.drop()
		return fmt.Errorf("syslog %s: %w", s.addr, err)
	}
	return nil
}

// appendMessage appends one RFC 5424 message: the header, no structured
// data, and the JSON event as MSG (without a BOM, which many receivers
// would keep as part of the JSON).
func (s *syslogSink) appendMessage(b []byte, r Record) []byte {
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(s.facility*8+syslogSeverity(r.Severity)), 10)
	b = append(b, ">1 "...)
	b = r.Created.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	b = append(b, ' ')
	host := s.hostname
	if r.Host != "" {
		host = headerField(r.Host, 255)
	}
	b = append(b, host...)
	b = append(b, " auditor "...)
	b = append(b, s.procID...)
	b = append(b, ' ')
	b = append(b, headerField(string(r.Kind), 32)...)
	b = append(b, " - "...)
	return append(b, r.JSON...)
}

// headerField makes s a valid RFC 5424 header field: printable US-ASCII
// without spaces, at most max bytes, "-" when empty.
func headerField(s string, max int) string {
	if s == "" {
		return "-"
	}
	ok := len(s) <= max
	for i := 0; ok && i < len(s); i++ {
		ok = s[i] > 32 && s[i] < 127
	}
	if ok {
		return s
	}
	b := make([]byte, 0, min(len(s), max))
	for i := 0; i < len(s) && len(b) < max; i++ {
		if c := s[i]; c > 32 && c < 127 {
			b = append(b, c)
		} else {
			b = append(b, '_')
		}
	}
	return string(b)
}

func (s *syslogSink) Close() error {
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	if err != nil {
		return fmt.Errorf("close syslog %s: %w", s.addr, err)
	}
	return nil
}
