package tlsinfo

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Upgrade protocols: cleartext protocols that hand their TCP connection
// over to TLS part way through, either by asking the server to start TLS
// (STARTTLS and its relatives) or by asking a proxy to open a tunnel, in
// which the client usually starts TLS with the target.
type UpgradeProto uint8

// The protocols ScanUpgrade follows.
const (
	UpgradeNone UpgradeProto = iota
	// UpgradeMailBanner is a flow that began with a "220" banner: SMTP
	// (STARTTLS, RFC 3207) or FTP (AUTH TLS, RFC 4217). The client's
	// command tells which; ScanUpgrade then reports UpgradeSMTP or
	// UpgradeFTP.
	UpgradeMailBanner
	UpgradeSMTP
	UpgradeFTP
	UpgradeIMAP        // STARTTLS, RFC 9051 section 6.2.1
	UpgradePOP3        // STLS, RFC 2595 section 4
	UpgradeLDAP        // StartTLS extended operation, RFC 4511 section 4.14
	UpgradeXMPP        // <starttls/> and <proceed/>, RFC 6120 section 5
	UpgradePostgreSQL  // SSLRequest, PostgreSQL protocol 53.2.10
	UpgradeMySQL       // SSL request: CLIENT_SSL in the handshake response
	UpgradeRDP         // X.224 negotiation selecting PROTOCOL_SSL or HYBRID, MS-RDPBCGR 2.2.1.2
	UpgradeHTTPConnect // CONNECT through an explicit proxy, RFC 9110 section 9.3.6
	UpgradeSOCKS4      // SOCKS4 and 4a CONNECT
	UpgradeSOCKS5      // SOCKS5 CONNECT, RFC 1928 (username/password auth, RFC 1929)
)

var upgradeNames = [...]string{
	UpgradeNone: "", UpgradeMailBanner: "smtp", UpgradeSMTP: "smtp", UpgradeFTP: "ftp",
	UpgradeIMAP: "imap", UpgradePOP3: "pop3", UpgradeLDAP: "ldap", UpgradeXMPP: "xmpp",
	UpgradePostgreSQL: "postgresql", UpgradeMySQL: "mysql", UpgradeRDP: "rdp",
	UpgradeHTTPConnect: "http-connect", UpgradeSOCKS4: "socks4", UpgradeSOCKS5: "socks5",
}

// String is the protocol's application label ("smtp", "http-connect").
func (p UpgradeProto) String() string {
	if int(p) < len(upgradeNames) {
		return upgradeNames[p]
	}
	return fmt.Sprintf("upgrade(%d)", uint8(p))
}

var upgradeTLSNames = [...]string{
	UpgradeSMTP: "smtp+tls", UpgradeFTP: "ftp+tls", UpgradeIMAP: "imap+tls", UpgradePOP3: "pop3+tls",
	UpgradeLDAP: "ldap+tls", UpgradeXMPP: "xmpp+tls", UpgradePostgreSQL: "postgresql+tls",
	UpgradeMySQL: "mysql+tls", UpgradeRDP: "rdp+tls", UpgradeHTTPConnect: "http-connect+tls",
	UpgradeSOCKS4: "socks4+tls", UpgradeSOCKS5: "socks5+tls",
}

// TLSApp is the application label of a flow that went from the protocol to
// TLS: the protocol's label with "+tls" ("smtp+tls"); "tls" for
// UpgradeNone.
func (p UpgradeProto) TLSApp() string {
	if int(p) < len(upgradeTLSNames) && upgradeTLSNames[p] != "" {
		return upgradeTLSNames[p]
	}
	return "tls"
}

// Proxy reports the tunnelling protocols, which name a target.
func (p UpgradeProto) Proxy() bool {
	return p == UpgradeHTTPConnect || p == UpgradeSOCKS4 || p == UpgradeSOCKS5
}

// ErrNoUpgrade means the cleartext dialogue will not hand over to TLS: the
// server refused, or the client went on in cleartext.
var ErrNoUpgrade = errors.New("tlsinfo: no upgrade to TLS")

// MaxUpgradeCleartext bounds the cleartext each direction may send before
// the hand-over. SMTP's EHLO reply and an XMPP stream's features are the
// longest usual preambles, well under 4 KiB.
const MaxUpgradeCleartext = 16 << 10

// Upgrade is where a flow's TLS starts, found by ScanUpgrade.
type Upgrade struct {
	Proto UpgradeProto
	// ClientOff and ServerOff are the offsets in each direction's byte
	// stream where the cleartext ends and TLS (or, for a proxy, the
	// tunnelled stream) begins.
	ClientOff, ServerOff int
	// Target is the host:port a proxy was asked to connect to, the host
	// as the client sent it: its bytes are the wire's, not necessarily
	// UTF-8, and the sinks escape them like every string from the wire.
	// Its length is bounded by the request's: the stream the caller
	// buffered for CONNECT, 255 bytes of name for SOCKS.
	Target string
}

// UpgradeCandidate tells from the first payload of a TCP flow whether it may
// be one of the upgrade protocols, and which. fromClient says whether the
// originator sent it (SMTP, FTP, IMAP, POP3 and MySQL servers speak first).
// It reads a few bytes and does not allocate: every TCP flow that does not
// start with TLS passes here.
func UpgradeCandidate(b []byte, fromClient bool) UpgradeProto {
	if len(b) < 3 {
		return UpgradeNone
	}
	if !fromClient {
		switch {
		case hasPrefixFold(b, "220 ") || hasPrefixFold(b, "220-"):
			return UpgradeMailBanner
		case hasPrefixFold(b, "* OK") || hasPrefixFold(b, "* PREAUTH"):
			return UpgradeIMAP
		case hasPrefixFold(b, "+OK"):
			return UpgradePOP3
		case mysqlGreeting(b):
			return UpgradeMySQL
		}
		return UpgradeNone
	}
	switch b[0] {
	case 'C', 'c':
		if hasPrefixFold(b, "CONNECT ") {
			return UpgradeHTTPConnect
		}
	case '<':
		if bytes.HasPrefix(b, []byte("<?xml")) || bytes.HasPrefix(b, []byte("<stream:stream")) {
			return UpgradeXMPP
		}
	case 0x30:
		if ldapRequest(b) {
			return UpgradeLDAP
		}
	case 0x00:
		if len(b) >= 8 && (bytes.Equal(b[:8], pgSSLRequest) || bytes.Equal(b[:8], pgGSSENCRequest)) {
			return UpgradePostgreSQL
		}
	case 0x03:
		// TPKT version 3, reserved 0, then an X.224 Connection Request.
		if len(b) >= 7 && b[1] == 0 && b[5]&0xf0 == 0xe0 {
			return UpgradeRDP
		}
	case 0x04:
		if b[1] == 1 && len(b) >= 9 { // CONNECT: port, address, user ID
			return UpgradeSOCKS4
		}
	case 0x05:
		// Version, then 1 to a few authentication methods.
		if n := int(b[1]); n >= 1 && n <= 16 && len(b) >= 2+n {
			return UpgradeSOCKS5
		}
	}
	return UpgradeNone
}

// pgSSLRequest is PostgreSQL's SSLRequest: length 8, code 80877103;
// pgGSSENCRequest its GSSENCRequest, code 80877104, which libpq sends
// first when it holds a Kerberos ticket (gssencmode=prefer, the default).
var (
	pgSSLRequest    = []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}
	pgGSSENCRequest = []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30}
)

// mysqlGreeting matches the start of a MySQL protocol 10 initial handshake:
// a 3-byte length, sequence 0, protocol version 10, then a printable
// server version.
func mysqlGreeting(b []byte) bool {
	if len(b) < 6 || b[3] != 0 || b[4] != 10 {
		return false
	}
	n := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
	return n >= 20 && n < 1<<10 && b[5] >= '0' && b[5] <= '9'
}

// ScanUpgrade looks for the hand-over in the cleartext each side sent so
// far: client and server are each direction's stream from its first byte.
// It returns nil with u filled in once both sides passed the hand-over,
// ErrNeedMore while the dialogue may still lead there, and ErrNoUpgrade
// when it will not. Calling it again with longer streams is always safe.
func ScanUpgrade(p UpgradeProto, client, server []byte, u *Upgrade) error {
	*u = Upgrade{Proto: p}
	if p == UpgradeMailBanner || p == UpgradeSMTP || p == UpgradeFTP || p == UpgradeIMAP || p == UpgradePOP3 {
		return scanLineUpgrade(client, server, u)
	}
	var err error
	switch p {
	case UpgradeXMPP:
		err = scanXMPP(client, server, u)
	case UpgradeLDAP:
		err = scanLDAP(client, server, u)
	case UpgradePostgreSQL:
		err = scanPostgreSQL(client, server, u)
	case UpgradeMySQL:
		err = scanMySQL(client, server, u)
	case UpgradeRDP:
		err = scanRDP(client, server, u)
	case UpgradeHTTPConnect:
		err = scanHTTPConnect(client, server, u)
	case UpgradeSOCKS4:
		err = scanSOCKS4(client, server, u)
	case UpgradeSOCKS5:
		err = scanSOCKS5(client, server, u)
	default:
		return ErrNoUpgrade
	}
	return bound(err, client, server)
}

// bound turns a wait that outgrew the cleartext budget into ErrNoUpgrade.
func bound(err error, client, server []byte) error {
	if errors.Is(err, ErrNeedMore) && (len(client) > MaxUpgradeCleartext || len(server) > MaxUpgradeCleartext) {
		return fmt.Errorf("%w: more than %d bytes of cleartext", ErrNoUpgrade, MaxUpgradeCleartext)
	}
	return err
}

// maxLines bounds the command and reply lines read before a hand-over.
const maxLines = 64

// nextLine returns the line at off (without its line ending) and the
// offset after it; ok is false when the line is not complete.
func nextLine(b []byte, off int) (line []byte, end int, ok bool) {
	i := bytes.IndexByte(b[off:], '\n')
	if i < 0 {
		return nil, off, false
	}
	line = b[off : off+i]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, off + i + 1, true
}

// lineCommand sorts a client line of the line-based protocols: the upgrade
// command (and the protocol it proves), a command that only makes sense in
// cleartext after no upgrade (credentials, mail), or anything else.
func lineCommand(p UpgradeProto, line []byte) (upgrade UpgradeProto, stop bool) {
	cmd := line
	if p == UpgradeIMAP {
		// "tag STARTTLS"
		i := bytes.IndexByte(line, ' ')
		if i < 0 {
			return UpgradeNone, false
		}
		cmd = line[i+1:]
	}
	cmd = bytes.TrimRight(cmd, " \t")
	switch p {
	case UpgradeMailBanner, UpgradeSMTP, UpgradeFTP:
		switch {
		case equalFold(cmd, "STARTTLS"):
			return UpgradeSMTP, false
		case equalFold(cmd, "AUTH TLS"), equalFold(cmd, "AUTH SSL"), equalFold(cmd, "AUTH TLS-C"), equalFold(cmd, "AUTH TLS-P"):
			return UpgradeFTP, false
		}
		for _, c := range []string{"MAIL ", "RCPT ", "DATA", "AUTH ", "USER ", "PASS ", "RETR ", "STOR ", "LIST", "PASV", "QUIT"} {
			if hasPrefixFold(cmd, c) {
				return UpgradeNone, true
			}
		}
	case UpgradeIMAP:
		if equalFold(cmd, "STARTTLS") {
			return UpgradeIMAP, false
		}
		for _, c := range []string{"LOGIN ", "AUTHENTICATE ", "SELECT ", "LOGOUT"} {
			if hasPrefixFold(cmd, c) {
				return UpgradeNone, true
			}
		}
	case UpgradePOP3:
		if equalFold(cmd, "STLS") {
			return UpgradePOP3, false
		}
		for _, c := range []string{"USER ", "PASS ", "APOP ", "AUTH ", "RETR ", "QUIT"} {
			if hasPrefixFold(cmd, c) {
				return UpgradeNone, true
			}
		}
	}
	return UpgradeNone, false
}

// positiveReply reports the server's yes to the upgrade command.
func positiveReply(p UpgradeProto, line []byte) bool {
	switch p {
	case UpgradeSMTP:
		return hasPrefixFold(line, "220")
	case UpgradeFTP:
		return hasPrefixFold(line, "234")
	case UpgradePOP3:
		return hasPrefixFold(line, "+OK")
	case UpgradeIMAP:
		i := bytes.IndexByte(line, ' ')
		return i > 0 && line[0] != '*' && hasPrefixFold(line[i+1:], "OK")
	}
	return false
}

// scanLineUpgrade follows SMTP, FTP, IMAP and POP3: the client's upgrade
// command ends its cleartext; the server's ends after a positive reply that
// TLS bytes follow (earlier replies, the banner and capabilities, are
// followed by more lines).
func scanLineUpgrade(client, server []byte, u *Upgrade) error {
	off, cOff := 0, -1
	for range maxLines {
		line, end, ok := nextLine(client, off)
		if !ok {
			return bound(ErrNeedMore, client, server)
		}
		up, stop := lineCommand(u.Proto, line)
		if stop {
			return fmt.Errorf("%w: %s client went on in cleartext", ErrNoUpgrade, u.Proto)
		}
		if up != UpgradeNone {
			u.Proto, cOff = up, end
			break
		}
		off = end
	}
	if cOff < 0 {
		return fmt.Errorf("%w: no upgrade command in %d lines", ErrNoUpgrade, maxLines)
	}
	if cOff < len(client) && client[cOff] != recordHandshake {
		// A refused upgrade: the client carries on in cleartext.
		return fmt.Errorf("%w: cleartext after %s's upgrade command", ErrNoUpgrade, u.Proto)
	}
	off = 0
	for range maxLines {
		line, end, ok := nextLine(server, off)
		if !ok {
			if off < len(server) && server[off] == recordHandshake {
				return fmt.Errorf("%w: %s server started TLS without agreeing", ErrNoUpgrade, u.Proto)
			}
			return bound(ErrNeedMore, client, server)
		}
		if positiveReply(u.Proto, line) {
			if end == len(server) {
				return ErrNeedMore
			}
			if server[end] == recordHandshake || server[end] == recordAlert {
				u.ClientOff, u.ServerOff = cOff, end
				return nil
			}
		}
		off = end
	}
	return fmt.Errorf("%w: no hand-over in %d server lines", ErrNoUpgrade, maxLines)
}

// scanXMPP finds <starttls .../> from the client and <proceed .../> from the
// server (RFC 6120 section 5.4.2).
func scanXMPP(client, server []byte, u *Upgrade) error {
	cOff, err := xmlElementEnd(client, "<starttls", "</starttls>", "<auth")
	if err != nil {
		return err
	}
	sOff, err := xmlElementEnd(server, "<proceed", "</proceed>", "<failure")
	if err != nil {
		return err
	}
	u.ClientOff, u.ServerOff = cOff, sOff
	return nil
}

// xmlElementEnd returns the offset after the element that starts with open
// (self-closed, or closed by close). A stop element found first means no
// upgrade.
func xmlElementEnd(b []byte, open, close, stop string) (int, error) {
	i := bytes.Index(b, []byte(open))
	if s := bytes.Index(b, []byte(stop)); s >= 0 && (i < 0 || s < i) {
		return 0, fmt.Errorf("%w: %s before %s", ErrNoUpgrade, stop, open)
	}
	if i < 0 {
		return 0, ErrNeedMore
	}
	j := bytes.IndexByte(b[i:], '>')
	if j < 0 {
		return 0, ErrNeedMore
	}
	end := i + j + 1
	if b[end-2] == '/' {
		return end, nil
	}
	k := bytes.Index(b[end:], []byte(close))
	if k < 0 {
		return 0, ErrNeedMore
	}
	return end + k + len(close), nil
}

// ldapStartTLSOID is the StartTLS extended operation's requestName.
const ldapStartTLSOID = "1.3.6.1.4.1.1466.20037"

// ldapMessage reads the BER LDAPMessage at the start of b: its messageID,
// its protocolOp tag and contents, and its total length. err is
// ErrNeedMore when b holds less than the whole message, and wraps
// ErrNoUpgrade when b cannot be an LDAPMessage.
func ldapMessage(b []byte) (id []byte, op byte, body []byte, n int, err error) {
	r := berReader{b: b}
	seq, ok := r.element(0x30)
	if !ok {
		return nil, 0, nil, 0, r.err()
	}
	n = r.off
	m := berReader{b: seq}
	if id, ok = m.element(0x02); !ok { // messageID
		return nil, 0, nil, 0, fmt.Errorf("%w: LDAP messageID", ErrNoUpgrade)
	}
	if m.off >= len(m.b) {
		return nil, 0, nil, 0, fmt.Errorf("%w: LDAP message without operation", ErrNoUpgrade)
	}
	op = m.b[m.off]
	body, ok = m.element(op)
	if !ok {
		return nil, 0, nil, 0, fmt.Errorf("%w: LDAP operation", ErrNoUpgrade)
	}
	return id, op, body, n, nil
}

// ldapRequestOps are the protocolOp tags a client sends (RFC 4511 4.2 to
// 4.14): bind, unbind, search, modify, add, delete, modify DN, compare,
// abandon and extended requests.
var ldapRequestOps = [256]bool{0x60: true, 0x42: true, 0x63: true, 0x66: true, 0x68: true,
	0x4a: true, 0x6c: true, 0x6e: true, 0x50: true, 0x77: true}

// ldapRequest reports whether b starts with an LDAPMessage carrying a
// client operation: its header, messageID and operation tag, as far as b
// goes (the first segment may hold only part of a large request). RFC
// 4513 3.1.1 lets a client send StartTLS at any time, after a search of
// the root DSE for supportedExtension or after a bind too, so the first
// request need not be StartTLS itself.
func ldapRequest(b []byte) bool {
	r := berReader{b: b}
	if _, ok := r.header(0x30); !ok {
		return false
	}
	if _, ok := r.element(0x02); !ok {
		return false
	}
	return r.off < len(b) && ldapRequestOps[b[r.off]]
}

// ldapMaxBeforeStartTLS bounds the client messages read for a StartTLS
// request: clients send it first, or after a search of the root DSE for
// supportedExtension or a bind, and a plain LDAP session (every directory
// lookup on 389) must not hold a handshake slot for long.
const ldapMaxBeforeStartTLS = 4

// scanLDAP finds the client's StartTLS request among its first messages,
// and the server's ExtendedResponse ([APPLICATION 24]) to it, matched by
// messageID, with resultCode success. Responses to earlier operations
// (search results, a bind response, another extended operation's) are
// passed over. A simple bind with a password before StartTLS is no
// upgrade: the credentials went in clear, and the session is not the
// protected one the ldap+tls label would claim.
func scanLDAP(client, server []byte, u *Upgrade) error {
	cOff := -1
	var reqID []byte
	for off, i := 0, 0; cOff < 0; i++ {
		if i == ldapMaxBeforeStartTLS {
			return fmt.Errorf("%w: no LDAP StartTLS in the first %d requests", ErrNoUpgrade, ldapMaxBeforeStartTLS)
		}
		id, op, body, n, err := ldapMessage(client[off:])
		if err != nil {
			return err
		}
		off += n
		switch op {
		case 0x60:
			if ldapPasswordInClear(body) {
				return fmt.Errorf("%w: LDAP bind with a password in clear before StartTLS", ErrNoUpgrade)
			}
		case 0x77:
			r := berReader{b: body}
			if name, ok := r.element(0x80); ok && string(name) == ldapStartTLSOID {
				cOff, reqID = off, id
			}
		}
	}
	for off, i := 0, 0; i < maxLines; i++ {
		id, op, body, n, err := ldapMessage(server[off:])
		if err != nil {
			return err
		}
		off += n
		if op != 0x78 || !bytes.Equal(id, reqID) {
			continue
		}
		r := berReader{b: body}
		code, ok := r.element(0x0a) // resultCode ENUMERATED
		if !ok || len(code) != 1 || code[0] != 0 {
			return fmt.Errorf("%w: LDAP StartTLS refused", ErrNoUpgrade)
		}
		u.ClientOff, u.ServerOff = cOff, off
		return nil
	}
	return fmt.Errorf("%w: no LDAP ExtendedResponse to StartTLS", ErrNoUpgrade)
}

// ldapPasswordInClear reports whether a BindRequest's contents carry a
// password in clear: simple authentication ([0], RFC 4511 4.2) with a
// non-empty password (an empty one is an anonymous or unauthenticated
// bind), or SASL ([3]) PLAIN (RFC 4616) with credentials. Other SASL
// mechanisms (GSSAPI, EXTERNAL, DIGEST-MD5) send no password.
func ldapPasswordInClear(body []byte) bool {
	r := berReader{b: body}
	if _, ok := r.element(0x02); !ok { // version
		return false
	}
	if _, ok := r.element(0x04); !ok { // name
		return false
	}
	if r.off >= len(r.b) {
		return false
	}
	switch r.b[r.off] {
	case 0x80, 0xa0: // simple, primitive as RFC 4511 5.1 wants or not
		pw, ok := r.element(r.b[r.off])
		return ok && len(pw) > 0
	case 0xa3:
		sasl, ok := r.element(0xa3)
		if !ok {
			return false
		}
		s := berReader{b: sasl}
		mech, ok := s.element(0x04)
		if !ok || !strings.EqualFold(string(mech), "PLAIN") {
			return false
		}
		cred, ok := s.element(0x04)
		return ok && len(cred) > 0
	}
	return false
}

// berReader reads BER definite-length elements.
type berReader struct {
	b    []byte
	off  int
	bad  bool // the encoding is wrong, not just short
	need bool // the element is incomplete
}

func (r *berReader) err() error {
	if r.bad {
		return fmt.Errorf("%w: BER encoding", ErrNoUpgrade)
	}
	return ErrNeedMore
}

// header reads the identifier and length octets of an element with tag,
// leaving r at its contents, and returns the contents' length. The length
// may take the long form with any number of octets (X.690 8.1.3.5: Active
// Directory writes four, 0x84, whatever the value); a length beyond what
// an upgrade's cleartext may hold is taken for a bad encoding.
func (r *berReader) header(tag byte) (int, bool) {
	b := r.b[r.off:]
	if len(b) < 2 {
		r.need = true
		return 0, false
	}
	if b[0] != tag {
		r.bad = true
		return 0, false
	}
	n, hdr := int(b[1]), 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k == 0x7f { // indefinite, or the reserved 0xff
			r.bad = true
			return 0, false
		}
		if len(b) < 2+k {
			r.need = true
			return 0, false
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			if n = n<<8 | int(c); n > MaxUpgradeCleartext {
				r.bad = true
				return 0, false
			}
		}
		hdr += k
	}
	if n > MaxUpgradeCleartext {
		r.bad = true
		return 0, false
	}
	r.off += hdr
	return n, true
}

// element reads an element with tag and returns its contents.
func (r *berReader) element(tag byte) ([]byte, bool) {
	start := r.off
	n, ok := r.header(tag)
	if !ok {
		return nil, false
	}
	if len(r.b)-r.off < n {
		r.off, r.need = start, true
		return nil, false
	}
	r.off += n
	return r.b[r.off-n : r.off], true
}

// scanPostgreSQL: the client's SSLRequest, the server's one-byte 'S'
// (willing) or 'N' (not). A GSSENCRequest may come first (PostgreSQL
// protocol 53.2.11): refused with 'N', the client goes on with its
// SSLRequest on the same connection; accepted with 'G', the connection is
// GSSAPI-encrypted, not TLS.
func scanPostgreSQL(client, server []byte, u *Upgrade) error {
	if len(client) >= 8 && bytes.Equal(client[:8], pgGSSENCRequest) {
		if len(server) == 0 {
			return ErrNeedMore
		}
		if server[0] != 'N' {
			return fmt.Errorf("%w: PostgreSQL server answered GSSENCRequest %q", ErrNoUpgrade, server[0])
		}
		if len(client) < 16 {
			return ErrNeedMore
		}
		if err := scanPostgreSQL(client[8:], server[1:], u); err != nil {
			return err
		}
		u.ClientOff, u.ServerOff = u.ClientOff+8, u.ServerOff+1
		return nil
	}
	if len(client) < 8 || !bytes.Equal(client[:8], pgSSLRequest) {
		return fmt.Errorf("%w: no PostgreSQL SSLRequest", ErrNoUpgrade)
	}
	if len(server) == 0 {
		return ErrNeedMore
	}
	if server[0] != 'S' {
		return fmt.Errorf("%w: PostgreSQL server answered %q", ErrNoUpgrade, server[0])
	}
	u.ClientOff, u.ServerOff = 8, 1
	return nil
}

// scanMySQL: after the server's greeting, a client that sets CLIENT_SSL
// sends a 32-byte SSL request (capabilities, max packet, charset, filler)
// instead of the full handshake response, and both sides start TLS.
func scanMySQL(client, server []byte, u *Upgrade) error {
	const clientSSL = 0x800
	if len(server) < 4 {
		return ErrNeedMore
	}
	greeting := 4 + (int(server[0]) | int(server[1])<<8 | int(server[2])<<16)
	if len(client) < 8 {
		return ErrNeedMore
	}
	n := int(client[0]) | int(client[1])<<8 | int(client[2])<<16
	caps := uint32(client[4]) | uint32(client[5])<<8 | uint32(client[6])<<16 | uint32(client[7])<<24
	if client[3] != 1 || caps&clientSSL == 0 || n != 32 {
		return fmt.Errorf("%w: MySQL handshake response without SSL request", ErrNoUpgrade)
	}
	if len(client) < 4+n || len(server) < greeting {
		return ErrNeedMore
	}
	u.ClientOff, u.ServerOff = 4+n, greeting
	return nil
}

// scanRDP: the client's X.224 Connection Request, the server's Connection
// Confirm with an RDP_NEG_RSP selecting PROTOCOL_SSL (1), PROTOCOL_HYBRID
// (2) or PROTOCOL_HYBRID_EX (8): TLS follows both TPKTs. Standard RDP
// security (0) or an RDP_NEG_FAILURE keeps RDP's own encryption.
func scanRDP(client, server []byte, u *Upgrade) error {
	cn, err := tpkt(client, 0xe0)
	if err != nil {
		return err
	}
	sn, err := tpkt(server, 0xd0)
	if err != nil {
		return err
	}
	// TPKT (4), X.224 CC (7), then RDP_NEG_RSP: type 2, flags, length 8,
	// selectedProtocol (little-endian).
	neg := server[11:sn]
	if len(neg) < 8 || neg[0] != 2 {
		return fmt.Errorf("%w: RDP without TLS negotiation", ErrNoUpgrade)
	}
	switch proto := uint32(neg[4]) | uint32(neg[5])<<8 | uint32(neg[6])<<16 | uint32(neg[7])<<24; proto {
	case 1, 2, 8:
	default:
		return fmt.Errorf("%w: RDP selected protocol %d", ErrNoUpgrade, proto)
	}
	u.ClientOff, u.ServerOff = cn, sn
	return nil
}

// tpkt returns the length of the TPKT (RFC 1006) at the start of b, which
// must carry an X.224 TPDU of the given code.
func tpkt(b []byte, code byte) (int, error) {
	if len(b) < 6 {
		return 0, ErrNeedMore
	}
	n := int(b[2])<<8 | int(b[3])
	if b[0] != 3 || b[1] != 0 || n < 11 || b[5]&0xf0 != code {
		return 0, fmt.Errorf("%w: not an X.224 TPDU %#x", ErrNoUpgrade, code)
	}
	if len(b) < n {
		return 0, ErrNeedMore
	}
	return n, nil
}

// maxProxyRounds bounds the CONNECT requests on one connection: a client
// answered 407 asks again with credentials.
const maxProxyRounds = 4

// scanHTTPConnect pairs CONNECT requests with responses until one succeeds
// (2xx); TLS, or whatever the tunnel carries, starts after both heads.
func scanHTTPConnect(client, server []byte, u *Upgrade) error {
	cOff, sOff := 0, 0
	for range maxProxyRounds {
		head, err := httpHead(client[cOff:])
		if err != nil {
			return err
		}
		line, _, _ := nextLine(head, 0)
		f := bytes.Fields(line)
		if len(f) != 3 || !equalFold(f[0], "CONNECT") || !hasPrefixFold(f[2], "HTTP/") {
			return fmt.Errorf("%w: not a CONNECT request", ErrNoUpgrade)
		}
		u.Target = string(f[1])
		cOff += len(head)
		resp, err := httpHead(server[sOff:])
		if err != nil {
			return err
		}
		line, _, _ = nextLine(resp, 0)
		f = bytes.Fields(line)
		if len(f) < 2 || !hasPrefixFold(f[0], "HTTP/") || len(f[1]) != 3 {
			return fmt.Errorf("%w: not an HTTP response", ErrNoUpgrade)
		}
		sOff += len(resp)
		if f[1][0] == '2' {
			u.ClientOff, u.ServerOff = cOff, sOff
			return nil
		}
		// A refusal: its body, then possibly another request.
		n, ok := contentLength(resp)
		if !ok {
			return fmt.Errorf("%w: CONNECT refused (%s)", ErrNoUpgrade, f[1])
		}
		if len(server) < sOff+n {
			return ErrNeedMore
		}
		sOff += n
	}
	return fmt.Errorf("%w: %d CONNECT requests", ErrNoUpgrade, maxProxyRounds)
}

// httpHead returns the message head at the start of b, through the empty
// line that ends it.
func httpHead(b []byte) ([]byte, error) {
	if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
		return b[:i+4], nil
	}
	if i := bytes.Index(b, []byte("\n\n")); i >= 0 {
		return b[:i+2], nil
	}
	return nil, ErrNeedMore
}

// contentLength reads a response head's Content-Length.
func contentLength(head []byte) (int, bool) {
	for off := 0; ; {
		line, end, ok := nextLine(head, off)
		if !ok {
			return 0, false
		}
		if hasPrefixFold(line, "Content-Length:") {
			n, err := strconv.Atoi(string(bytes.TrimSpace(line[len("Content-Length:"):])))
			return n, err == nil && n >= 0 && n <= MaxUpgradeCleartext
		}
		off = end
	}
}

// scanSOCKS4: VN 4, CD 1, DSTPORT, DSTIP, USERID NUL and, for SOCKS4a
// (DSTIP 0.0.0.x, x != 0), the host name NUL; the reply is 8 bytes,
// CD 90 granted.
func scanSOCKS4(client, server []byte, u *Upgrade) error {
	if len(client) < 9 {
		return ErrNeedMore
	}
	if client[0] != 4 || client[1] != 1 {
		return fmt.Errorf("%w: not a SOCKS4 CONNECT", ErrNoUpgrade)
	}
	port := int(client[2])<<8 | int(client[3])
	ip := netip.AddrFrom4([4]byte(client[4:8]))
	end, err := nulString(client, 8)
	if err != nil {
		return err
	}
	host := ip.String()
	if client[4] == 0 && client[5] == 0 && client[6] == 0 && client[7] != 0 {
		start := end
		if end, err = nulString(client, start); err != nil {
			return err
		}
		host = string(client[start : end-1])
	}
	u.Target = joinHostPort(host, port)
	if len(server) < 8 {
		return ErrNeedMore
	}
	if server[1] != 90 {
		return fmt.Errorf("%w: SOCKS4 request rejected (%d)", ErrNoUpgrade, server[1])
	}
	u.ClientOff, u.ServerOff = end, 8
	return nil
}

// nulString returns the offset after the NUL-terminated string at off.
func nulString(b []byte, off int) (int, error) {
	const maxLen = 255
	i := bytes.IndexByte(b[off:], 0)
	switch {
	case i > maxLen || i < 0 && len(b)-off > maxLen:
		return 0, fmt.Errorf("%w: SOCKS4 string too long", ErrNoUpgrade)
	case i < 0:
		return 0, ErrNeedMore
	}
	return off + i + 1, nil
}

// scanSOCKS5 follows method selection, username/password authentication
// when chosen, and the CONNECT request and reply (RFC 1928 sections 3-6).
func scanSOCKS5(client, server []byte, u *Upgrade) error {
	if len(client) < 2 {
		return ErrNeedMore
	}
	c := 2 + int(client[1])
	if len(server) < 2 {
		return ErrNeedMore
	}
	if server[0] != 5 {
		return fmt.Errorf("%w: SOCKS5 server version %d", ErrNoUpgrade, server[0])
	}
	s := 2
	switch server[1] {
	case 0: // no authentication
	case 2: // username/password: VER ULEN UNAME PLEN PASSWD, reply VER STATUS
		if len(client) < c+2 {
			return ErrNeedMore
		}
		ulen := int(client[c+1])
		if len(client) < c+2+ulen+1 {
			return ErrNeedMore
		}
		c += 2 + ulen + 1 + int(client[c+2+ulen])
		if len(server) < s+2 {
			return ErrNeedMore
		}
		if server[s+1] != 0 {
			return fmt.Errorf("%w: SOCKS5 authentication failed", ErrNoUpgrade)
		}
		s += 2
	default:
		return fmt.Errorf("%w: SOCKS5 method %d", ErrNoUpgrade, server[1])
	}
	req, target, err := socks5Address(client[min(c, len(client)):])
	if err != nil {
		return err
	}
	if client[c+1] != 1 {
		return fmt.Errorf("%w: SOCKS5 command %d", ErrNoUpgrade, client[c+1])
	}
	u.Target = target
	rep, _, err := socks5Address(server[s:])
	if err != nil {
		return err
	}
	if server[s+1] != 0 {
		return fmt.Errorf("%w: SOCKS5 reply %d", ErrNoUpgrade, server[s+1])
	}
	u.ClientOff, u.ServerOff = c+req, s+rep
	return nil
}

// socks5Address reads a SOCKS5 request or reply (VER, CMD/REP, RSV, ATYP,
// address, port) and returns its length and its address as host:port.
func socks5Address(b []byte) (int, string, error) {
	if len(b) < 5 {
		return 0, "", ErrNeedMore
	}
	if b[0] != 5 {
		return 0, "", fmt.Errorf("%w: SOCKS5 version %d", ErrNoUpgrade, b[0])
	}
	var n int
	switch b[3] {
	case 1:
		n = 4 + 4 + 2
	case 3:
		n = 4 + 1 + int(b[4]) + 2
	case 4:
		n = 4 + 16 + 2
	default:
		return 0, "", fmt.Errorf("%w: SOCKS5 address type %d", ErrNoUpgrade, b[3])
	}
	if len(b) < n {
		return 0, "", ErrNeedMore
	}
	port := int(b[n-2])<<8 | int(b[n-1])
	var host string
	switch b[3] {
	case 1:
		host = netip.AddrFrom4([4]byte(b[4:8])).String()
	case 3:
		host = string(b[5 : n-2])
	case 4:
		host = netip.AddrFrom16([16]byte(b[4:20])).String()
	}
	return n, joinHostPort(host, port), nil
}

func joinHostPort(host string, port int) string {
	if a, err := netip.ParseAddr(host); err == nil && a.Is6() {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

// hasPrefixFold is an ASCII case-insensitive bytes.HasPrefix.
func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && equalFold(b[:len(prefix)], prefix)
}

// equalFold is an ASCII case-insensitive comparison that does not allocate.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
