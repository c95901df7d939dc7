// Package names labels flows with the names their clients used: the TLS
// server name and fingerprints from the handshake, and the DNS name the
// client resolved before connecting. It glues the pure parsers of
// classify/tlsinfo and classify/dnsinfo into the packet pipeline as three
// capture.Dissectors:
//
//   - TLS follows every TCP flow until its first payload says whether it is
//     a TLS (or SSLv2) handshake, detected by content on any port, and UDP
//     port 443 for QUIC Initials. It reassembles each direction with a
//     bounded tcpstream.Buffer, only while the handshake is being parsed,
//     and stops inspecting the flow once both hellos are known. Besides
//     names and fingerprints it records what TLS posture checks need: the
//     versions offered and negotiated, the cipher suite chosen, JA3S and
//     the server certificate. Since it reads the first payload of every
//     TCP flow, and labels "tls" even a handshake it could not finish
//     parsing, a TCP flow with data but no label did not start with TLS:
//     the verdict engine relies on that (verdict.Config.TLSInspected).
//     A flow whose first payload starts a protocol that can hand over to
//     TLS later (STARTTLS, database SSL requests, RDP, HTTP CONNECT,
//     SOCKS) is followed through its cleartext phase too, and labelled
//     "<protocol>+tls" when TLS starts (docs/tls.md).
//   - DNS parses every DNS message on port 53 (UDP and TCP), 5353 (mDNS)
//     and 5355 (LLMNR), counts queries, responses and failures, and stages
//     the answers for a shared dnsinfo.Cache, which learns them when the
//     pipeline commits it at an epoch end.
//   - ServerNamer looks the flow's endpoints up in that cache when the flow
//     starts (the answer precedes the connection) and sets Meta.ServerName,
//     and again when it ends, once the answers of the flow's own epoch are
//     committed, for the name its client had when the flow began. It never
//     inspects packets. Put it last in the dissector list.
//
// # Concurrency
//
// A dissector keeps per-flow state and parse scratch space and, like the
// capture.Pipeline that calls it, is not safe for concurrent use. When the
// capture is sharded over several pipeline workers, give each worker its
// own TLS, DNS and ServerNamer, all built on one dnsinfo.Cache, and list
// the cache in capture.Config.Shared: a DNS answer seen by one worker then
// names the flows of the others, the same way whatever the sharding.
// Stats counters are atomic and may be read at any time.
//
// # Memory
//
// State exists only for flows in the middle of a handshake (TLS) or of a
// DNS-over-TCP conversation, is bounded in number and size, is recycled
// through a free list, and is released when the flow stops being inspected
// or ends. Flows that are not TLS cost one map lookup on their first
// payload packet; flows done with cost nothing, because the pipeline stops
// calling a dissector once Packet returned false.
package names
