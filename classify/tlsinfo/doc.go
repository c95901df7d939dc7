// Package tlsinfo parses the cleartext part of TLS handshakes seen on the
// wire: the ClientHello, the ServerHello and, for TLS 1.2 and older, the
// server's Certificate message. It also computes the JA3, JA3S and JA4
// fingerprints and extracts the ClientHello carried in QUIC Initial packets.
//
// The package is pure: it knows nothing about packets or flows. The caller
// buffers one direction of a TCP stream, in order, from a record boundary
// (normally the first payload byte of the connection) and hands the bytes to
// ParseClientHello or ParseServerHello. When the bytes end before the message
// is complete the parsers return ErrNeedMore; the caller appends the next
// segment and calls again with the longer buffer. Any prefix of a valid
// handshake yields ErrNeedMore, so retrying is always safe. Bytes that cannot
// start a TLS stream yield ErrNotTLS at once, so a caller can stop buffering
// after the first segment of a non-TLS flow.
//
// A handshake message may be split over several records and a record over
// several segments; both are reassembled, up to MaxHandshakeLen bytes.
//
// For QUIC, ParseQUICInitial takes client datagrams one at a time, opens the
// Initial packets (RFC 9001 for v1, RFC 9369 for v2, drafts 27 to 34) with
// keys from the client's first Destination Connection ID, reassembles the
// CRYPTO frames and parses the same ClientHello, with Transport set to
// TransportQUIC so that JA4 starts with "q". QUICInitial.ServerDatagram
// sees the server's Retry, the one event that changes the keys. DTLS is not
// parsed yet.
//
// TLS that starts after a cleartext phase (STARTTLS and its relatives,
// database SSL requests, RDP negotiation, HTTP CONNECT and SOCKS proxies)
// is found by UpgradeCandidate, from a flow's first payload, and
// ScanUpgrade, which returns where each direction's TLS begins.
//
// # Memory
//
// ParseClientHello does not allocate when the same *ClientHello is reused:
// its slices are truncated and refilled, and byte fields such as ServerName
// and ALPN are views, either into the caller's buffer or, when the hello
// spanned several records, into reassembly storage owned by the ClientHello.
// Views are valid until the caller changes its buffer or the ClientHello is
// parsed into again; copy them (ClientHello.SNI does) to keep them longer.
// AppendJA3, AppendJA4 and JA3 also run without allocating.
//
// ParseServerHello allocates for the certificate (crypto/x509), which happens
// once per connection.
//
// A ClientHello or ServerHello is not safe for concurrent use: the
// fingerprint methods use scratch space inside it.
package tlsinfo
