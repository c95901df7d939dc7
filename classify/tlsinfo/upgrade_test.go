package tlsinfo

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// hello is the start of a TLS handshake record, what follows every
// hand-over in these tests.
const hello = "\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00"

func TestUpgradeCandidate(t *testing.T) {
	for _, tc := range []struct {
		name       string
		b          string
		fromClient bool
		want       UpgradeProto
	}{
		{"SMTP banner", "220 mx.example ESMTP\r\n", false, UpgradeMailBanner},
		{"FTP multi-line banner", "220-welcome\r\n", false, UpgradeMailBanner},
		{"banner from the client", "220 mx.example ESMTP\r\n", true, UpgradeNone},
		{"IMAP", "* OK IMAP4rev1 ready\r\n", false, UpgradeIMAP},
		{"IMAP preauth", "* PREAUTH ready\r\n", false, UpgradeIMAP},
		{"POP3", "+OK POP3 ready\r\n", false, UpgradePOP3},
		{"MySQL greeting", "\x4a\x00\x00\x00\x0a8.0.36\x00", false, UpgradeMySQL},
		{"MySQL greeting from the client", "\x4a\x00\x00\x00\x0a8.0.36\x00", true, UpgradeNone},
		{"HTTP CONNECT", "CONNECT example.com:443 HTTP/1.1\r\n", true, UpgradeHTTPConnect},
		{"HTTP GET", "GET / HTTP/1.1\r\n", true, UpgradeNone},
		{"XMPP", "<?xml version='1.0'?><stream:stream to='x'>", true, UpgradeXMPP},
		{"XMPP without declaration", "<stream:stream to='x'>", true, UpgradeXMPP},
		{"PostgreSQL SSLRequest", "\x00\x00\x00\x08\x04\xd2\x16\x2f", true, UpgradePostgreSQL},
		{"PostgreSQL startup", "\x00\x00\x00\x08\x00\x03\x00\x00", true, UpgradeNone},
		{"PostgreSQL GSSENCRequest", "\x00\x00\x00\x08\x04\xd2\x16\x30", true, UpgradePostgreSQL},
		{"RDP connection request", "\x03\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00\x01\x00\x08\x00\x03\x00\x00\x00", true, UpgradeRDP},
		{"TPKT data", "\x03\x00\x00\x13\x02\xf0\x80", true, UpgradeNone},
		{"SOCKS4", "\x04\x01\x01\xbb\x7f\x00\x00\x01\x00", true, UpgradeSOCKS4},
		{"SOCKS4 BIND", "\x04\x02\x01\xbb\x7f\x00\x00\x01\x00", true, UpgradeNone},
		{"SOCKS5", "\x05\x01\x00", true, UpgradeSOCKS5},
		{"SOCKS5 no methods", "\x05\x00\x00", true, UpgradeNone},
		{"LDAP StartTLS", ldapStartTLS, true, UpgradeLDAP},
		{"LDAP bind first", ldapBind, true, UpgradeLDAP},
		{"LDAP root DSE search first", ldapRootDSE, true, UpgradeLDAP},
		{"LDAP StartTLS, four length octets", adStartTLS, true, UpgradeLDAP},
		{"LDAP StartTLS, header only", adStartTLS[:10], true, UpgradeLDAP},
		{"LDAP response from the client", ldapStartTLSOK, true, UpgradeNone},
		{"BER indefinite length", "\x30\x80\x02\x01\x01\x77\x00", true, UpgradeNone},
		{"TLS", hello, true, UpgradeNone},
		{"short", "22", false, UpgradeNone},
	} {
		if got := UpgradeCandidate([]byte(tc.b), tc.fromClient); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// ldapStartTLS is an LDAPMessage: messageID 1, ExtendedRequest with the
// StartTLS OID; ldapStartTLSOK the success response.
const (
	ldapStartTLS   = "\x30\x1d\x02\x01\x01\x77\x18\x80\x16" + ldapStartTLSOID
	ldapStartTLSOK = "\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x00\x04\x00\x04\x00"
	ldapRefused    = "\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x34\x04\x00\x04\x00" // unavailable

	// An anonymous simple bind, messageID 1.
	ldapBind = "\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00"

	// Active Directory writes every length in four octets (0x84), as
	// testssl.sh and haproxy met it: the StartTLS request as a Windows
	// client sends it, and the domain controller's success response, both
	// messageID 1.
	adStartTLS   = "\x30\x84\x00\x00\x00\x25\x02\x01\x01\x77\x84\x00\x00\x00\x1c\x80\x84\x00\x00\x00\x16" + ldapStartTLSOID
	adStartTLSOK = "\x30\x84\x00\x00\x00\x28\x02\x01\x01\x78\x84\x00\x00\x00\x1f\x0a\x01\x00\x04\x00\x04\x00\x8a\x16" + ldapStartTLSOID
)

// ldapRootDSE searches the root DSE for supportedExtension (messageID 1).
var ldapRootDSE = ldapMsg(1, 0x63, "\x04\x00\x0a\x01\x00\x0a\x01\x00\x02\x01\x00\x02\x01\x00\x01\x01\x00"+
	"\x87\x0bobjectClass"+"\x30\x14\x04\x12supportedExtension")

// ldapMsg is an LDAPMessage with messageID id and the protocolOp op
// holding contents, in short-form lengths.
func ldapMsg(id, op byte, contents string) string {
	inner := "\x02\x01" + string([]byte{id, op, byte(len(contents))}) + contents
	return "\x30" + string([]byte{byte(len(inner))}) + inner
}

func TestScanUpgrade(t *testing.T) {
	smtpServer := "220 mx ESMTP\r\n250-mx\r\n250-STARTTLS\r\n250 OK\r\n220 go ahead\r\n"
	smtpClient := "EHLO me\r\nSTARTTLS\r\n"
	socks5Req := "\x05\x01\x00\x03\x0bexample.com\x01\xbb"
	socks5Rep := "\x05\x00\x00\x01\x0a\x00\x00\x01\x01\xbb"
	rdpCR := "\x03\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00\x01\x00\x08\x00\x03\x00\x00\x00"
	rdpCC := func(proto byte) string {
		return "\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x00\x08\x00" + string([]byte{proto}) + "\x00\x00\x00"
	}
	mysqlGreet := "\x0b\x00\x00\x00\x0a8.0.36\x00abc"
	mysqlSSL := "\x20\x00\x00\x01\x05\xae\x0f\x00" + strings.Repeat("\x00", 28)
	for _, tc := range []struct {
		name           string
		proto          UpgradeProto
		client, server string
		want           error
		wantProto      UpgradeProto
		target         string
	}{
		{"SMTP STARTTLS", UpgradeMailBanner, smtpClient + hello, smtpServer + hello, nil, UpgradeSMTP, ""},
		{"SMTP waiting for the reply", UpgradeMailBanner, smtpClient, "220 mx ESMTP\r\n250 OK\r\n", ErrNeedMore, UpgradeSMTP, ""},
		{"SMTP reply without TLS yet", UpgradeMailBanner, smtpClient, smtpServer, ErrNeedMore, UpgradeSMTP, ""},
		{"SMTP refused", UpgradeMailBanner, smtpClient + "QUIT\r\n", "220 mx\r\n250 OK\r\n454 no\r\n221 bye\r\n", ErrNoUpgrade, UpgradeSMTP, ""},
		{"SMTP mail in cleartext", UpgradeMailBanner, "EHLO me\r\nMAIL FROM:<a@b>\r\n", "220 mx\r\n", ErrNoUpgrade, UpgradeMailBanner, ""},
		{"FTP AUTH TLS", UpgradeMailBanner, "AUTH TLS\r\n" + hello, "220 ftp\r\n234 AUTH TLS ok\r\n" + hello, nil, UpgradeFTP, ""},
		{"FTP AUTH TLS answered 220 is not SMTP", UpgradeMailBanner, "AUTH TLS\r\n" + hello, "220 ftp\r\n220 hm\r\n" + hello, ErrNoUpgrade, UpgradeFTP, ""},
		{"FTP login", UpgradeMailBanner, "USER anonymous\r\n", "220 ftp\r\n", ErrNoUpgrade, UpgradeMailBanner, ""},
		{"IMAP STARTTLS", UpgradeIMAP, "a1 CAPABILITY\r\na2 STARTTLS\r\n" + hello, "* OK ready\r\n* CAPABILITY IMAP4rev1 STARTTLS\r\na1 OK done\r\na2 OK Begin TLS\r\n" + hello, nil, UpgradeIMAP, ""},
		{"IMAP untagged OK is no answer", UpgradeIMAP, "a2 STARTTLS\r\n" + hello, "* OK ready\r\n" + hello, ErrNoUpgrade, UpgradeIMAP, ""},
		{"IMAP login", UpgradeIMAP, "a1 LOGIN user pass\r\n", "* OK ready\r\n", ErrNoUpgrade, UpgradeIMAP, ""},
		{"POP3 STLS", UpgradePOP3, "CAPA\r\nSTLS\r\n" + hello, "+OK ready\r\n+OK\r\nSTLS\r\n.\r\n+OK Begin TLS\r\n" + hello, nil, UpgradePOP3, ""},
		{"POP3 USER", UpgradePOP3, "USER me\r\n", "+OK ready\r\n", ErrNoUpgrade, UpgradePOP3, ""},
		{"XMPP", UpgradeXMPP, "<stream:stream to='x'><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>" + hello,
			"<stream:stream><stream:features><starttls/></stream:features><proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>" + hello, nil, UpgradeXMPP, ""},
		{"XMPP failure", UpgradeXMPP, "<stream:stream to='x'><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
			"<stream:stream><failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", ErrNoUpgrade, UpgradeXMPP, ""},
		{"XMPP SASL in cleartext", UpgradeXMPP, "<stream:stream to='x'><auth mechanism='PLAIN'>", "", ErrNoUpgrade, UpgradeXMPP, ""},
		{"LDAP StartTLS", UpgradeLDAP, ldapStartTLS + hello, ldapStartTLSOK + hello, nil, UpgradeLDAP, ""},
		{"LDAP refused", UpgradeLDAP, ldapStartTLS, ldapRefused, ErrNoUpgrade, UpgradeLDAP, ""},
		{"LDAP response split", UpgradeLDAP, ldapStartTLS, ldapStartTLSOK[:5], ErrNeedMore, UpgradeLDAP, ""},
		{"LDAP StartTLS, Active Directory", UpgradeLDAP, adStartTLS + hello, adStartTLSOK + hello, nil, UpgradeLDAP, ""},
		{"LDAP StartTLS after a root DSE search", UpgradeLDAP, ldapRootDSE + ldapMsg(2, 0x77, "\x80\x16"+ldapStartTLSOID) + hello,
			ldapMsg(1, 0x64, "\x04\x00\x30\x00") + ldapMsg(1, 0x65, "\x0a\x01\x00\x04\x00\x04\x00") + ldapMsg(2, 0x78, "\x0a\x01\x00\x04\x00\x04\x00") + hello,
			nil, UpgradeLDAP, ""},
		{"LDAP StartTLS after a bind", UpgradeLDAP, ldapBind + ldapMsg(2, 0x77, "\x80\x16"+ldapStartTLSOID) + hello,
			ldapMsg(1, 0x61, "\x0a\x01\x00\x04\x00\x04\x00") + ldapMsg(2, 0x78, "\x0a\x01\x00\x04\x00\x04\x00") + hello,
			nil, UpgradeLDAP, ""},
		// The success of an earlier extended operation (Who am I?) is not
		// StartTLS's: the response is matched by messageID.
		{"LDAP StartTLS refused after another extended operation", UpgradeLDAP,
			ldapMsg(1, 0x77, "\x80\x17"+"1.3.6.1.4.1.4203.1.11.3") + ldapMsg(2, 0x77, "\x80\x16"+ldapStartTLSOID),
			ldapMsg(1, 0x78, "\x0a\x01\x00\x04\x00\x04\x00") + ldapMsg(2, 0x78, "\x0a\x01\x34\x04\x00\x04\x00"),
			ErrNoUpgrade, UpgradeLDAP, ""},
		{"LDAP StartTLS response not yet seen", UpgradeLDAP,
			ldapMsg(1, 0x77, "\x80\x17"+"1.3.6.1.4.1.4203.1.11.3") + ldapMsg(2, 0x77, "\x80\x16"+ldapStartTLSOID),
			ldapMsg(1, 0x78, "\x0a\x01\x00\x04\x00\x04\x00"), ErrNeedMore, UpgradeLDAP, ""},
		{"LDAP session without StartTLS so far", UpgradeLDAP, ldapBind + ldapRootDSE + ldapMsg(3, 0x42, ""), "", ErrNeedMore, UpgradeLDAP, ""},
		{"LDAP session without StartTLS in its first four requests", UpgradeLDAP,
			ldapBind + ldapRootDSE + ldapRootDSE + ldapRootDSE + ldapMsg(5, 0x77, "\x80\x16"+ldapStartTLSOID) + hello,
			ldapMsg(5, 0x78, "\x0a\x01\x00\x04\x00\x04\x00") + hello, ErrNoUpgrade, UpgradeLDAP, ""},
		{"LDAP StartTLS as the fourth request", UpgradeLDAP,
			ldapBind + ldapRootDSE + ldapRootDSE + ldapMsg(4, 0x77, "\x80\x16"+ldapStartTLSOID) + hello,
			ldapMsg(4, 0x78, "\x0a\x01\x00\x04\x00\x04\x00") + hello, nil, UpgradeLDAP, ""},
		// A password in clear before StartTLS: the session is not protected.
		{"LDAP simple bind with a password, then StartTLS", UpgradeLDAP,
			ldapMsg(1, 0x60, "\x02\x01\x03\x04\x02cn\x80\x07Secret!") + ldapMsg(2, 0x77, "\x80\x16"+ldapStartTLSOID) + hello,
			ldapMsg(1, 0x61, "\x0a\x01\x00\x04\x00\x04\x00") + ldapMsg(2, 0x78, "\x0a\x01\x00\x04\x00\x04\x00") + hello, ErrNoUpgrade, UpgradeLDAP, ""},
		{"LDAP SASL PLAIN bind, then StartTLS", UpgradeLDAP,
			ldapMsg(1, 0x60, "\x02\x01\x03\x04\x00\xa3\x12\x04\x05PLAIN\x04\x09\x00u\x00secret") + ldapMsg(2, 0x77, "\x80\x16"+ldapStartTLSOID) + hello,
			ldapMsg(1, 0x61, "\x0a\x01\x00\x04\x00\x04\x00") + ldapMsg(2, 0x78, "\x0a\x01\x00\x04\x00\x04\x00") + hello, ErrNoUpgrade, UpgradeLDAP, ""},
		{"LDAP SASL bind, then StartTLS", UpgradeLDAP,
			ldapMsg(1, 0x60, "\x02\x01\x03\x04\x00\xa3\x0a\x04\x08EXTERNAL") + ldapMsg(2, 0x77, "\x80\x16"+ldapStartTLSOID) + hello,
			ldapMsg(1, 0x61, "\x0a\x01\x00\x04\x00\x04\x00") + ldapMsg(2, 0x78, "\x0a\x01\x00\x04\x00\x04\x00") + hello, nil, UpgradeLDAP, ""},
		{"PostgreSQL S", UpgradePostgreSQL, string(pgSSLRequest) + hello, "S" + hello, nil, UpgradePostgreSQL, ""},
		{"PostgreSQL N", UpgradePostgreSQL, string(pgSSLRequest), "N", ErrNoUpgrade, UpgradePostgreSQL, ""},
		// libpq with a Kerberos ticket asks for GSSAPI encryption first.
		{"PostgreSQL GSSENC refused, then SSL", UpgradePostgreSQL, string(pgGSSENCRequest) + string(pgSSLRequest) + hello, "NS" + hello, nil, UpgradePostgreSQL, ""},
		{"PostgreSQL GSSENC refused, SSL refused", UpgradePostgreSQL, string(pgGSSENCRequest) + string(pgSSLRequest), "NN", ErrNoUpgrade, UpgradePostgreSQL, ""},
		{"PostgreSQL GSSENC accepted", UpgradePostgreSQL, string(pgGSSENCRequest), "G", ErrNoUpgrade, UpgradePostgreSQL, ""},
		{"PostgreSQL GSSENC refused, startup in clear", UpgradePostgreSQL, string(pgGSSENCRequest) + "\x00\x00\x00\x08\x00\x03\x00\x00", "N", ErrNoUpgrade, UpgradePostgreSQL, ""},
		{"MySQL SSL request", UpgradeMySQL, mysqlSSL + hello, mysqlGreet + hello, nil, UpgradeMySQL, ""},
		{"MySQL login without SSL", UpgradeMySQL, "\x40\x00\x00\x01\x05\xa6\x0f\x00" + strings.Repeat("u", 64), mysqlGreet, ErrNoUpgrade, UpgradeMySQL, ""},
		{"RDP TLS", UpgradeRDP, rdpCR + hello, rdpCC(1) + hello, nil, UpgradeRDP, ""},
		{"RDP CredSSP", UpgradeRDP, rdpCR + hello, rdpCC(2) + hello, nil, UpgradeRDP, ""},
		{"RDP standard security", UpgradeRDP, rdpCR, rdpCC(0), ErrNoUpgrade, UpgradeRDP, ""},
		{"CONNECT", UpgradeHTTPConnect, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n" + hello,
			"HTTP/1.1 200 Connection established\r\n\r\n" + hello, nil, UpgradeHTTPConnect, "example.com:443"},
		{"CONNECT after 407", UpgradeHTTPConnect,
			"CONNECT a.example:443 HTTP/1.1\r\n\r\nCONNECT a.example:443 HTTP/1.1\r\nProxy-Authorization: Basic eDp5\r\n\r\n" + hello,
			"HTTP/1.1 407 Auth\r\nContent-Length: 4\r\n\r\nnope" + "HTTP/1.1 200 OK\r\n\r\n" + hello, nil, UpgradeHTTPConnect, "a.example:443"},
		{"CONNECT refused", UpgradeHTTPConnect, "CONNECT a.example:443 HTTP/1.1\r\n\r\n", "HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n", ErrNoUpgrade, UpgradeHTTPConnect, "a.example:443"},
		// Hostile targets keep their wire bytes: the sinks escape them
		// once, as every string from the wire (report/safetext).
		{"CONNECT hostile target", UpgradeHTTPConnect, "CONNECT a\xba\xad\\x5C\x01:443 HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n", nil, UpgradeHTTPConnect, "a\xba\xad\\x5C\x01:443"},
		{"SOCKS4", UpgradeSOCKS4, "\x04\x01\x01\xbb\x0a\x00\x00\x02user\x00" + hello, "\x00\x5a\x01\xbb\x0a\x00\x00\x02" + hello, nil, UpgradeSOCKS4, "10.0.0.2:443"},
		{"SOCKS4a", UpgradeSOCKS4, "\x04\x01\x20\xfb\x00\x00\x00\x01\x00example.org\x00", "\x00\x5a\x00\x00\x00\x00\x00\x00", nil, UpgradeSOCKS4, "example.org:8443"},
		{"SOCKS4a hostile name", UpgradeSOCKS4, "\x04\x01\x20\xfb\x00\x00\x00\x01\x00ev\xba\\x\x7f \x00", "\x00\x5a\x00\x00\x00\x00\x00\x00", nil, UpgradeSOCKS4, "ev\xba\\x\x7f :8443"},
		{"SOCKS4 rejected", UpgradeSOCKS4, "\x04\x01\x01\xbb\x0a\x00\x00\x02\x00", "\x00\x5b\x00\x00\x00\x00\x00\x00", ErrNoUpgrade, UpgradeSOCKS4, "10.0.0.2:443"},
		{"SOCKS5", UpgradeSOCKS5, "\x05\x01\x00" + socks5Req + hello, "\x05\x00" + socks5Rep + hello, nil, UpgradeSOCKS5, "example.com:443"},
		{"SOCKS5 hostile name", UpgradeSOCKS5, "\x05\x01\x00" + "\x05\x01\x00\x03\x07\xc3\x28\\\x00\x1b.t\x01\xbb", "\x05\x00" + socks5Rep, nil, UpgradeSOCKS5, "\xc3\x28\\\x00\x1b.t:443"},
		{"SOCKS5 user/pass", UpgradeSOCKS5, "\x05\x02\x00\x02" + "\x01\x01u\x02pw" + "\x05\x01\x00\x04" + strings.Repeat("\x00", 15) + "\x01\x20\xfb",
			"\x05\x02" + "\x01\x00" + socks5Rep, nil, UpgradeSOCKS5, "[::1]:8443"},
		{"SOCKS5 auth failed", UpgradeSOCKS5, "\x05\x01\x02\x01\x01u\x02pw", "\x05\x02\x01\x01", ErrNoUpgrade, UpgradeSOCKS5, ""},
		{"SOCKS5 no acceptable method", UpgradeSOCKS5, "\x05\x01\x00", "\x05\xff", ErrNoUpgrade, UpgradeSOCKS5, ""},
		{"SOCKS5 refused", UpgradeSOCKS5, "\x05\x01\x00" + socks5Req, "\x05\x00\x05\x05\x00\x01\x00\x00\x00\x00\x00\x00", ErrNoUpgrade, UpgradeSOCKS5, "example.com:443"},
		{"SOCKS5 UDP ASSOCIATE", UpgradeSOCKS5, "\x05\x01\x00\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00", "\x05\x00", ErrNoUpgrade, UpgradeSOCKS5, ""},
	} {
		var u Upgrade
		err := ScanUpgrade(tc.proto, []byte(tc.client), []byte(tc.server), &u)
		switch {
		case tc.want == nil && err != nil:
			t.Errorf("%s: %v", tc.name, err)
			continue
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			continue
		}
		if u.Proto != tc.wantProto || u.Target != tc.target {
			t.Errorf("%s: proto %v target %q, want %v %q", tc.name, u.Proto, u.Target, tc.wantProto, tc.target)
		}
		if err != nil {
			continue
		}
		// The offsets point at the first TLS byte (or the end of what the
		// tunnel test sent).
		if c := tc.client[u.ClientOff:]; c != "" && c != hello {
			t.Errorf("%s: client TLS starts at %d: %q", tc.name, u.ClientOff, c)
		}
		if s := tc.server[u.ServerOff:]; s != "" && s != hello {
			t.Errorf("%s: server TLS starts at %d: %q", tc.name, u.ServerOff, s)
		}
		// Every shorter stream waits or is refused; none succeeds early.
		for n := range u.ClientOff {
			if ScanUpgrade(tc.proto, []byte(tc.client[:n]), []byte(tc.server), &u) == nil {
				t.Errorf("%s: upgrade found with client prefix %d", tc.name, n)
			}
		}
		for n := range tc.server[:len(tc.server)-len(hello)*boolInt(strings.HasSuffix(tc.server, hello))] {
			if ScanUpgrade(tc.proto, []byte(tc.client), []byte(tc.server[:n]), &u) == nil && n < u.ServerOff {
				t.Errorf("%s: upgrade found with server prefix %d", tc.name, n)
			}
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// The cleartext before a hand-over is bounded: a banner followed by more
// than MaxUpgradeCleartext bytes without an upgrade ends the wait.
func TestScanUpgradeBound(t *testing.T) {
	client := strings.Repeat("NOOP\r\n", 10)
	server := "220 mx\r\n" + strings.Repeat("x", MaxUpgradeCleartext)
	var u Upgrade
	if err := ScanUpgrade(UpgradeMailBanner, []byte(client), []byte(server), &u); !errors.Is(err, ErrNoUpgrade) {
		t.Errorf("after %d bytes without a line: %v, want ErrNoUpgrade", len(server), err)
	}
	if err := ScanUpgrade(UpgradeHTTPConnect, []byte("CONNECT "+strings.Repeat("a", MaxUpgradeCleartext)), nil, &u); !errors.Is(err, ErrNoUpgrade) {
		t.Errorf("endless CONNECT head: %v, want ErrNoUpgrade", err)
	}
	if err := ScanUpgrade(UpgradeMailBanner, []byte(strings.Repeat("NOOP\r\n", maxLines+1)), nil, &u); !errors.Is(err, ErrNoUpgrade) {
		t.Errorf("%d commands without STARTTLS: %v, want ErrNoUpgrade", maxLines+1, err)
	}
}

func TestUpgradeLabels(t *testing.T) {
	for p := UpgradeNone; p <= UpgradeSOCKS5; p++ {
		if p == UpgradeNone {
			if p.TLSApp() != "tls" {
				t.Errorf("UpgradeNone.TLSApp() = %q", p.TLSApp())
			}
			continue
		}
		if p.String() == "" || p.TLSApp() != p.String()+"+tls" && p != UpgradeMailBanner {
			t.Errorf("%d: label %q, TLS label %q", p, p, p.TLSApp())
		}
	}
	if !UpgradeHTTPConnect.Proxy() || !UpgradeSOCKS4.Proxy() || !UpgradeSOCKS5.Proxy() || UpgradeSMTP.Proxy() {
		t.Error("Proxy() wrong")
	}
}

func FuzzUpgradeCandidate(f *testing.F) {
	for _, s := range []string{"220 mx\r\n", "CONNECT a:1 HTTP/1.1\r\n", ldapStartTLS, adStartTLS, ldapBind, string(pgSSLRequest), string(pgGSSENCRequest),
		"\x05\x01\x00", "\x04\x01\x00\x50\x00\x00\x00\x01\x00"} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, fromClient bool) {
		UpgradeCandidate(b, fromClient)
	})
}

// FuzzScanUpgrade: any streams, any protocol, never a panic, offsets
// within the streams when an upgrade is reported, and a proxy target
// whose host is either an address or bytes the client sent as they are
// (the sinks escape them, once).
func FuzzScanUpgrade(f *testing.F) {
	f.Add(uint8(UpgradeMailBanner), []byte("EHLO a\r\nSTARTTLS\r\n"), []byte("220 a\r\n220 go\r\n\x16"))
	f.Add(uint8(UpgradeLDAP), []byte(adStartTLS), []byte(adStartTLSOK))
	f.Add(uint8(UpgradeLDAP), []byte(ldapBind+ldapStartTLS), []byte(ldapStartTLSOK))
	f.Add(uint8(UpgradePostgreSQL), append(append([]byte{}, pgGSSENCRequest...), pgSSLRequest...), []byte("NS"))
	f.Add(uint8(UpgradeLDAP), []byte(ldapStartTLS), []byte(ldapStartTLSOK))
	f.Add(uint8(UpgradeXMPP), []byte("<starttls/>"), []byte("<proceed/>"))
	f.Add(uint8(UpgradeRDP), []byte("\x03\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00\x01\x00\x08\x00\x03\x00\x00\x00"), []byte("\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x00\x08\x00\x01\x00\x00\x00"))
	f.Add(uint8(UpgradeHTTPConnect), []byte("CONNECT a:1 HTTP/1.1\r\n\r\n"), []byte("HTTP/1.1 407 x\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n\r\n"))
	f.Add(uint8(UpgradeSOCKS4), []byte("\x04\x01\x00\x50\x00\x00\x00\x01\x00a\x00"), []byte("\x00\x5a\x00\x00\x00\x00\x00\x00"))
	f.Add(uint8(UpgradeSOCKS5), []byte("\x05\x01\x02\x01\x01u\x01p\x05\x01\x00\x01\x01\x02\x03\x04\x00\x50"), []byte("\x05\x02\x01\x00\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00"))
	f.Add(uint8(UpgradeMySQL), []byte("\x20\x00\x00\x01\x05\xae\x0f\x00"), []byte("\x0a\x00\x00\x00\x0a8.0.36\x00abc"))
	f.Add(uint8(UpgradePostgreSQL), pgSSLRequest, []byte("S"))
	f.Add(uint8(UpgradeHTTPConnect), []byte("CONNECT a\xba\\x\x01:443 HTTP/1.1\r\n\r\n"), []byte("HTTP/1.1 200 OK\r\n\r\n"))
	f.Add(uint8(UpgradeSOCKS5), []byte("\x05\x01\x00\x05\x01\x00\x03\x03\xff\\\x1b\x01\xbb"), []byte("\x05\x00\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, p uint8, client, server []byte) {
		var u Upgrade
		if ScanUpgrade(UpgradeProto(p%uint8(UpgradeSOCKS5+2)), client, server, &u) == nil {
			if u.ClientOff < 0 || u.ClientOff > len(client) || u.ServerOff < 0 || u.ServerOff > len(server) {
				t.Fatalf("offsets %d/%d outside streams of %d/%d", u.ClientOff, u.ServerOff, len(client), len(server))
			}
		}
		// CONNECT's target is the request's as it is; SOCKS builds
		// host:port from an address or a name.
		if u.Target != "" && !bytes.Contains(client, []byte(u.Target)) {
			i := strings.LastIndexByte(u.Target, ':')
			if i < 0 {
				t.Fatalf("target %q is not in the client's bytes", u.Target)
			}
			host := u.Target[:i]
			if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err != nil && !bytes.Contains(client, []byte(host)) {
				t.Fatalf("target host %q is not in the client's bytes", host)
			}
		}
	})
}
