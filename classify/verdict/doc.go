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
//   - With an inventory, the roles of both hosts come from a
//     catalog.Scope resolved once by NewClassifier: vendor-scoped roles
//     (an entry of vendor V matches only roles of V; site allow rules name
//     roles of any vendor), implied roles added, numbered so the per-flow
//     match compares integers. A responder the inventory does not list by
//     address is looked up by the TLS SNI and DNS name a parser learnt
//     (RolesOfName, evidence "name"). An entry matches when a source role
//     is in its from-roles and a destination role in its to-roles, or, for
//     direction "both", the reverse. FromRole and ToRole show a role
//     without its vendor unless two vendors' roles of that name have
//     hosts at the site. Site overrides and area parameters apply through the site
//     index (Inventory.EffectivePorts); allow rules are entries of vendor
//     "site". A one-way entry that states from_ports fits only a flow
//     whose opener's port is one of them (the source port; the
//     destination port of a flow read as a reply): a flow opened from
//     another port is unexpected, its reason naming the entry and the
//     ports. The wrong way round the source port is the other side's, so
//     such a flow is a wrong direction whatever its port.
//   - Wrong direction: only the reverse orientation of a one-way entry
//     fits (the "to" side opened a connection to the "from" side's service
//     port). Verdict Unexpected, finding kind wrong-direction, naming the
//     first such entry on the port (for ICMP, the first ICMP entry). The
//     reason of an unexpected flow names its nearest miss: a wrong
//     direction first, then an opener's port outside from_ports, then a
//     host without a role, then an entry on the port for other roles.
//   - UDP flows, and TCP flows whose SYN was not seen, have no reliable
//     originator: when nothing matches the destination port, the source
//     port is tried with the roles reversed (the service side was seen
//     first). A TCP flow with a SYN is never turned around.
//   - Cloud entries match by destination address in their CIDRs (evidence
//     "catalog") or by an SNI/DNS name matching their FQDNs (evidence
//     "name"), with the port and the source's from-role.
//   - Media negotiated in signalling: when the Config's MediaMatcher
//     vouches for a UDP flow its verdict is Negotiated (evidence "sdp").
//     With an inventory it carries, first, each media entry (app rtp,
//     rtcp, udptl) whose documented range holds the port of the host on
//     the entry's To side while the peer plays its From side (responder's
//     side first: a phone's model range, a Sinch MRS area), then the
//     dynamic entries between the two hosts' roles; each counts the flow
//     as working. A dynamic entry that states the document's usual range
//     also matches by that range and the roles without signalling. In
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
// the 4-tuple, so they are one flow) or SH (the originator gave up with a
// FIN) with nothing showing an answer (no packet from the responder, no
// ACK from the originator), in REJ (answered by RST), or when UDP got ICMP
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
// Posture findings are aggregated the same way; flows whose Result.Kind
// is set on an expected or negotiated verdict count there (see Posture).
//
// Missing is judged per (entry, from-host, to-host), hosts being the
// inventory's items (address, CIDR or name). Every entry required at the
// site (catalog.Scope.Required: required, and its required_when holds for
// the site's options; optionally narrowed by Config.Expect) gets the pairs
// of distinct hosts of the same address family between its from- and
// to-roles, except pairs with a standby host. A pair works when an
// expected or negotiated flow of the entry that was Established (TCP
// handshake, or a UDP/ICMP reply) ran between its hosts, either way;
// one-way UDP (traps, syslog) therefore proves nothing. Two hosts that
// both hold a role of both sides are peers: each needs one working pair
// with another peer, standby hosts excused (Peers "any": standby hosts
// stay required; "all": the full mesh). "any-from" makes each to-host
// need one working flow from any from-host. Entries of one OneOf group are judged together under the
// first in scope: a pair is missing only when no alternative worked. One
// finding per entry lists the silent pairs (HostPairs, at most eight) and
// its reason how many of how many worked, so one host's silence is never
// hidden by another's traffic. Entries with no port number, or
// dynamic-only entries without a MediaMatcher, cannot be seen on the
// wire: they are reported as kind unobservable instead.
//
// # Media
//
// unexpected-media: a UDP flow the SIP analysis recognised as RTP, RTCP or
// UDPTL by content (Meta.App set, Meta.CallID empty: sipcall.LooksLikeMedia)
// that nothing allows gets this kind instead of unexpected, with the same
// severity. If a catalog range allows it (a fixed entry, or with an
// inventory the documented usual range of a dynamic entry) it stays
// expected and its reason adds "media without signalling seen": signalling
// over TLS, which the auditor cannot read, is the common cause.
//
// media-outside-documented-range: negotiated media (the MediaMatcher said
// yes) with a port outside the range the documents give that host's role:
// the verdict stays Negotiated and Result.Kind carries the finding.
// With an inventory each side is checked against the media entries (app
// rtp, rtcp or udptl) between its role and the peer's: an entry's ports
// are its To side's range (the Genesys media server's 16384-32767, Sinch
// MRS areas from the site's parameters), stated FromPorts its From side's
// (Imagicle's server ">= 5000"). An entry that leaves the To side's port
// to signalling without a range, or a site allow rule covering the port,
// lets any port through; a side no entry states a range for is not
// judged. The finding's Dst is the host whose port is outside (the flow's
// originator when only its port is); its vendor and entry are those of the
// entry whose range the port missed, which its reason cites
// (Result.FindingEntry), even when that entry does not allow the flow (the
// Sinch MRS prompt area) or the flow is credited to the other side's entry.
// Severity medium. Without an
// inventory the ports are checked against the union of every media range
// of the vendors in scope, severity low, and not at all when one of those
// entries leaves its ports to signalling without a range (Genesys phone
// to SIP gateway): without roles any port could be that entry's.
//
// media-missing and media-one-way come from SIP call records, not flows:
// CallFindings turns a sipcall.Call into findings and Findings.Raise
// aggregates them by the same key as flows (caller RTP host, callee RTP
// host and port), counting calls. media-one-way is high (the capture saw
// one direction, so it is on the path: the other was most likely
// dropped), media-missing medium (the media may bypass the capture).
//
// # Posture
//
// Flows the catalog allows (expected, negotiated) are also judged for
// posture. A Result holds one Kind, so the most severe applies:
//
//   - tls-version-too-old (high): the negotiated version (Meta.TLSVersion),
//     or the highest offered (Meta.TLSOfferedMax) when no ServerHello was
//     seen, is below TLS 1.2, or below the version an entry's document
//     states. The catalog has no field for that: it is read from "TLS
//     1.x" in the entry's component name or notes (Imagicle CTI "(TLS
//     1.2)"). An old version is a finding on any flow: on unexpected ones
//     Findings.Observe counts it as a second finding, without an entry.
//   - plaintext-on-tls-port (high): a TCP connection whose handshake the
//     capture saw and whose originator sent data, without a "tls" or
//     "quic" label, where every matching entry requires TLS. It needs
//     Config.TLSInspected: the TLS dissector reads every TCP flow's first
//     payload, so only then is a missing label evidence; a flow whose
//     first data the snap length cut away (Meta.PayloadCut) is not.
//     Entries whose encryption does not start with a TLS record (smb,
//     rdp) are skipped.
//   - not-tls-on-https-port (medium): the same where the entry is https
//     with TLS optional or unset, except on 80 and 8080, the ports
//     documents list for the plain variant.
//   - sni-not-in-catalog (low): a flow matched by a cloud entry's CIDRs
//     whose SNI is none of that entry's FQDNs, or, for an entry with
//     addresses only (MS Teams media), that no entry in scope lists: the
//     address rule lets more through than the document meant. A flow to
//     a cloud entry with names that has neither SNI nor DNS name gets a
//     note in its reason ("reached by address"), not a finding.
//
// dns-failure: Findings.DNSFailures raises one finding per failed name a
// catalog entry in scope needs (FQDNs, wildcards included), medium for a
// required entry, low otherwise. Other failed names are not findings.
//
// # Tests
//
// The package's tests pin the rules above. These pin the rules where a
// changed condition could go unseen (rulepins_test.go), each with the
// mutation it fails for:
//
//   - TestOpenerPorts: from_ports ignored or inverted, for a flow and
//     for one read as a reply; judged the wrong way round too; its
//     reason dropped; the first entry on the port not named; a source
//     port miss outranking a wrong direction.
//   - TestWrongDirectionEntry: the last wrong-way entry named instead of
//     the first, for TCP and for ICMP.
//   - TestHandshakeOrdersFlow: a TCP flow with a SYN read backwards (its
//     source port taken as the service port), with an inventory and in
//     port-only mode.
//   - TestCloudNeedsFromRole: an entry naming its destination by address
//     or name matching any originator, not only its From side.
//   - TestNameRolesOnlyUnlisted: the TLS or DNS name's roles replacing
//     the roles of a responder the inventory lists by address.
//   - TestICMPUnexpectedSeverity: an unexpected ICMP flow medium when a
//     host has no role (TCP, UDP and ICMP share the severity rule).
//   - TestOneWayReasonCountsMedia: RTCP packets counted as media in the
//     media-one-way reason.
package verdict
