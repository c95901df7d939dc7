// Package parquetout writes the auditor's tables to Parquet files and reads
// them back.
//
// Every table goes through [TableWriter]: rows are written to a temporary
// file next to the final one and renamed into place only by a successful
// [TableWriter.Close], so a crash, a kill or a full disk never leaves a
// truncated file under the final name for DuckDB or a report to trip on.
// Each file carries key/value metadata naming its schema (auditor.schema),
// the program version (auditor.version) and what wrote it
// (auditor.created_by); readers refuse a file of another schema.
//
// # flows.parquet (schema "flows/1")
//
// One row per flow, written when the flow leaves the flow table. "Out" is
// originator to responder, "in" is responder to originator. Columns marked
// optional are NULL when unknown (an empty Go string writes NULL, NULL reads
// back as ""); the others are always set.
//
//	column         type                          meaning
//	first_seen     TIMESTAMP(MICROS, UTC)        time of the first packet
//	last_seen      TIMESTAMP(MICROS, UTC)        time of the last packet
//	proto          STRING                        tcp, udp, icmp, icmp6, sctp, or the IP protocol number
//	src_ip         STRING                        originator address (IPv4 dotted, IPv6 RFC 5952)
//	src_port       INT32                         originator port; ICMP: message type
//	dst_ip         STRING                        responder address
//	dst_port       INT32                         responder port; ICMP: counterpart type (echo) or code
//	packets_out    INT64                         packets sent by the originator
//	bytes_out      INT64                         frame bytes (on-wire length) sent by the originator
//	packets_in     INT64                         packets sent by the responder
//	bytes_in       INT64                         frame bytes sent by the responder
//	payload_out    INT64                         transport payload bytes sent by the originator
//	payload_in     INT64                         transport payload bytes sent by the responder
//	state          STRING                        Zeek conn_state: S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0 RSTRH SH SHR OTH
//	history        STRING                        Zeek history: upper case originator, lower case responder, ^ = flipped
//	vlan           INT32                         innermost 802.1Q VLAN ID of the first packet, 0 = untagged
//	community_id   STRING                        Community ID v1 (seed 0), joins with Zeek/Suricata records
//	end_reason     STRING                        why the flow ended: idle closed evicted reused flush active
//	icmp_unreach   INT32                         ICMP destination-unreachable messages that quoted this flow
//	app            STRING optional               application protocol a parser confirmed (sip, rtp, tls, dns, ...)
//	verdict        STRING optional               audit verdict for the flow
//	vendor         STRING optional               vendor whose catalog entry matched
//	entry_id       STRING optional               id of the matched catalog entry
//	reason         STRING optional               why the verdict was given
//	classified_by  STRING optional               what decided the classification (port, parser, ...)
//	from_role      STRING optional               role of the originator (agent, sbc, media, ...)
//	to_role        STRING optional               role of the responder
//	sni            STRING optional               TLS server name indication
//	server_name    STRING optional               DNS name whose answer to the originator gave the responder's address
//	                                             (for DNS flows too: the resolver's name, not the name asked; see dns_query)
//	alpn           STRING optional               TLS ALPN protocol
//	tls_version    STRING optional               negotiated TLS version
//	ja4            STRING optional               JA4 TLS client fingerprint
//	ja3            STRING optional               JA3 TLS client fingerprint
//	call_id        STRING optional               SIP Call-ID the flow belongs to
//	sensor         STRING optional               name of the sensor that captured the flow
//	tunnel         STRING optional               innermost tunnel the flow came out of: kind, outer source -> destination
//	                                             ("gre 10.0.0.1->10.0.0.2", "vxlan 10.0.0.1:51000->10.0.0.2:4789");
//	                                             the tunnels themselves are in tunnels.parquet
//	proxy_target   STRING optional               host:port asked of an explicit proxy (HTTP CONNECT, SOCKS4/4a/5)
//	seq_bytes_out  INT64                         payload bytes the originator sent as Zeek's orig_bytes counts them (see below)
//	seq_bytes_in   INT64                         payload bytes the responder sent as Zeek's resp_bytes counts them
//
// payload_out/payload_in count every frame's payload, retransmissions
// included, and nothing the capture missed. seq_bytes_out/seq_bytes_in are
// Zeek's conn.log orig_bytes/resp_bytes: for TCP, the span of sequence
// space each side used (the highest sequence sent or acknowledged, less
// the first, less the SYN and FIN octets), so a retransmission counts once
// and a hole the capture missed counts as sent; for other protocols they
// equal payload_out/payload_in. docs/conn-state.md has the details.
//
//	dns_query      STRING optional               DNS flows: the first query name the flow carried
//	dns_rcode      STRING optional               DNS flows: response code of that query's answer (NOERROR, NXDOMAIN, ...)
//
// DuckDB reads the types as TIMESTAMP WITH TIME ZONE, VARCHAR, INTEGER and
// BIGINT. Duration is not stored: it is last_seen - first_seen. The low-cardinality
// strings are dictionary encoded, the times delta encoded and every column
// is zstd compressed, so a repeated value costs a few bits per row.
//
// flows.parquet, the one table written at packet rate, is encoded by the
// package's own column encoder, whose files hold what parquet-go writes for
// the same rows (see flowcols.go); the other tables go through parquet-go.
//
// # tunnels.parquet (schema "tunnels/1")
//
// One row per outer tunnel connection the decoder opened (GRE, PPTP,
// ERSPAN, Aruba, IP-in-IP, VXLAN, Geneve, GTP-U, Teredo, AYIYA, GRE in
// UDP), as Zeek's tunnel.log: the tunnels' own packets do not become
// flows, and are counted both here and in the inner flows they carried;
// those that carry no inner packet (Teredo bubbles, AYIYA heartbeats,
// GTP-U echoes) or a frame that is not IP (ARP in VXLAN or ERSPAN) are
// counted here only. A packet inside nested tunnels
// counts in each. The originator is the
// sender of the tunnel's first packet.
//
//	column         type                          meaning
//	first_seen     TIMESTAMP(MICROS, UTC)        first packet through the tunnel
//	last_seen      TIMESTAMP(MICROS, UTC)        last packet through the tunnel
//	kind           STRING                        gre pptp erspan aruba ipip vxlan geneve gtpu teredo ayiya gre-udp
//	proto          STRING                        outer IP protocol: udp for UDP tunnels, gre, or the IP-in-IP number
//	src_ip         STRING                        outer originator address
//	src_port       INT32                         outer originator UDP port, 0 for IP-level tunnels
//	dst_ip         STRING                        outer responder address
//	dst_port       INT32                         outer responder UDP port, 0 for IP-level tunnels
//	packets_out    INT64                         tunnelled packets from the originator
//	bytes_out      INT64                         their frame bytes (on-wire length)
//	packets_in     INT64                         tunnelled packets from the responder
//	bytes_in       INT64                         their frame bytes
//	tunnel         STRING                        the flows' tunnel value for this tunnel (join key)
//	sensor         STRING optional               name of the sensor that captured it
//
// # Strings from the wire
// Every STRING column of every table holds valid UTF-8, whatever bytes a
// packet put in a name, a URI or an ALPN value: the writers escape each
// value with package safetext, reversibly. A value that is valid UTF-8
// without a backslash is written as it is (checked without allocating,
// once per distinct value in a dictionary column); otherwise each byte that
// is not part of a UTF-8 character is written as \xHH (upper-case hex) and
// each backslash as \\. safetext.Unescape gives the original bytes back;
// the readers return the escaped form. Unescaped, a single ClientHello
// offering ALPN bytes 0xBA 0xAD would make the whole file unreadable to
// DuckDB, which checks every STRING value.
// # dns.parquet (schema "dns/1")
// One row per DNS query/response transaction; docs/schema-dns.md lists the
// columns, the pairing rules and DuckDB examples. [FromDNS] fills a row
// from a dnsinfo.Transaction.
//
// # One declaration per table
//
// A table's row struct (FlowRow, FindingRow, CallRow, TunnelRow, DNSRow)
// is the one place its columns are declared: name, order, type, encoding
// and nullability are its fields' parquet tags, and a wire tag states a
// NULL rule other than "an optional column's zero value is NULL"
// (internal/schemagen lists them). From it, go generate writes the wire
// form parquet-go writes (wire_gen.go, see wire.go) and the columns of
// the flows and dns encoders (flowcols_gen.go, dnscols_gen.go), with the
// code that adds a row to them; TestGeneratedCodeUpToDate fails
// when they are stale, and TestDocTablesMatchRows when this file's tables,
// docs/schema.md or docs/schema-dns.md give a column another name, place,
// type or nullability than the schema in the file the table's writer
// writes (this file spells the types as Parquet does, the docs as DuckDB's
// DESCRIBE does).
//
// # Adding a table
//
// A new table is a row struct with parquet tags, a schema name constant,
// its name in schemagen.Tables, go generate, a column table in the docs,
// and one constructor line, as [Create] is for flows:
//
//	func CreateFindings(path string, opts Options) (*TableWriter[FindingRow], error) {
//		return NewTableWriter[FindingRow](path, FindingsSchema, opts)
//	}
package parquetout

//go:generate go run ./internal/schemagen/cmd
