// Package verdict judges each flow against the vendor catalog and the site
// inventory, and aggregates the problems into findings: the auditor's
// purpose.
//
// A [Classifier] is a pure function of (flow, catalog, inventory, media
// matcher). [Classifier.Classify] allocates nothing and takes well under a
// microsecond (BenchmarkClassify); it is not safe for concurrent use, so
// each worker takes a [Classifier.Clone]. [Findings] aggregates the results
// and, at the end of each capture window ([Findings.Finish]), reports the
// required flows never seen working.
//
// # Matching rules
//
// The originator is flow.Src() (the SYN sender for TCP, the first sender
// otherwise); the service port is the responder's, because an entry's
// ports are the listening ports of its "to" side.
//
//   - Ignore rules of the inventory are tested first: verdict Ignored.
//   - With an inventory, the roles of both hosts come from RolesOf; a
//     responder the inventory does not list by address is looked up by the
//     TLS SNI and DNS name a parser learnt (RolesOfName, evidence "name").
//     An entry matches when a source role is in its from-roles and a
//     destination role in its to-roles, or, for direction "both", the
//     reverse. Site overrides and area parameters apply through the site
//     index (Inventory.EffectivePorts); allow rules are entries of vendor
//     "site". One-way entries that state from_ports also require the
//     source port in them.
//   - Wrong direction: only the reverse orientation of a one-way entry
//     fits (the "to" side opened a connection to the "from" side's service
//     port). Verdict Unexpected, finding kind wrong-direction.
//   - UDP flows, and TCP flows whose SYN was not seen, have no reliable
//     originator: when nothing matches the destination port, the source
//     port is tried with the roles reversed (the service side was seen
//     first). A TCP flow with a SYN is never turned around.
//   - Cloud entries match by destination address in their CIDRs (evidence
//     "catalog") or by an SNI/DNS name matching their FQDNs (evidence
//     "name"), with the port and the source's from-role.
//   - Dynamic entries (media negotiated in signalling) match when the
//     Config's MediaMatcher vouches for the flow (verdict Negotiated,
//     evidence "sdp"). With an inventory, a dynamic entry that states the
//     document's usual range also matches by that range and the roles. In
//     port-only mode dynamic entries never match by port: their ranges span
//     thousands of ports and without roles any high-port UDP would look
//     like media.
//   - Port-only mode (no inventory): any entry of the selected vendors
//     whose port set covers the port matches, direction unjudged, Result
//     PortOnly set and the reason saying so. Ranges wider than half the
//     port space ("UDP >= 1025", "any") are skipped there: they match
//     everything. No missing findings, as they need the inventory's hosts.
//   - ICMP: echo and other informational messages match entries of
//     transport icmp by roles (port-only: any icmp entry). ICMP error
//     messages and ICMPv6 neighbour discovery are Unclassified: an error is
//     judged through the flow it quotes (flow.ICMPUnreach).
//   - Other IP protocols are Unexpected: no catalog entry uses them.
//
// # Blocked
//
// An attempt fails when TCP ends in S0 (SYN never answered; retries share
// the 4-tuple, so they are one flow), REJ (answered by RST), RSTOS0 or SH
// (the originator gave up before any answer), or when UDP got ICMP
// destination unreachable and no reply. A failed attempt the catalog
// allows is Blocked (severity high for a required entry, medium
// otherwise or in port-only mode); a failed attempt nothing allows stays
// Unexpected, its reason saying it failed.
//
// # Findings
//
// Unexpected, wrong-direction and blocked flows aggregate by (kind,
// protocol, source host, destination host, destination port, entry),
// counting flows with first and last seen. Severity: blocked high (medium
// for optional entries and in port-only mode); wrong-direction medium;
// unexpected medium between two inventory hosts, low when a host is
// unknown or without inventory; missing medium, high when attempts were
// seen and all failed; unobservable info.
//
// Missing: every required entry in scope (optionally narrowed by
// Config.Expect) whose from- and to-roles both have hosts in the
// inventory, forming at least one pair of distinct hosts of the same
// address family, with no working flow in the window: an expected or
// negotiated flow that was Established (TCP handshake, or a UDP/ICMP
// reply). One-way UDP (traps, syslog) therefore proves nothing. Entries
// with no port number, or dynamic-only entries without a MediaMatcher,
// cannot be seen on the wire: they are reported as kind unobservable
// instead.
package verdict
