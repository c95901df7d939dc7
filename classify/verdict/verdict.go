package verdict

import (
	"fmt"
	"strings"

	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/classify/sipcall"
)

// Verdict is the judgement of one flow against the catalog and inventory.
type Verdict uint8

const (
	// Unclassified: the catalog has no terms for the flow. ICMP error
	// messages (they are judged through the flow they quote, which carries
	// ICMPUnreach) and ICMPv6 neighbour discovery and multicast listener
	// traffic (link plumbing every IPv6 host sends) land here, so they
	// neither count as allowed nor flood the unexpected findings.
	Unclassified Verdict = iota
	// Expected: a catalog entry (or a site allow rule) covers the flow.
	Expected
	// Negotiated: media whose ports were set up by signalling (the
	// MediaMatcher said so).
	Negotiated
	// Unexpected: nothing in the catalog and inventory allows the flow,
	// including flows opened in the wrong direction.
	Unexpected
	// Blocked: an attempt the catalog allows that failed: TCP S0 or SH
	// with no sign of an answer, REJ, or UDP answered only by ICMP
	// unreachable.
	Blocked
	// Ignored: an inventory ignore rule silences the flow.
	Ignored

	// NumVerdicts is the number of verdicts, for arrays indexed by Verdict.
	NumVerdicts
)

var verdictNames = [NumVerdicts]string{"unclassified", "expected", "negotiated", "unexpected", "blocked", "ignored"}

func (v Verdict) String() string {
	if v < NumVerdicts {
		return verdictNames[v]
	}
	return fmt.Sprintf("Verdict(%d)", uint8(v))
}

// MarshalText writes the verdict name.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// ParseVerdict is the inverse of Verdict.String.
func ParseVerdict(s string) (Verdict, error) {
	for i, n := range verdictNames {
		if strings.EqualFold(s, n) {
			return Verdict(i), nil
		}
	}
	return 0, fmt.Errorf("verdict %q: want one of %s", s, strings.Join(verdictNames[:], ", "))
}

// Evidence says how a verdict was reached, weakest first, so a reader
// knows how much to trust it.
type Evidence uint8

const (
	// ByNone: no entry was involved (unexpected, ignored, unclassified).
	ByNone Evidence = iota
	// ByPort: the transport and port alone matched; no inventory roles.
	ByPort
	// ByCatalog: the port and the inventory roles of both hosts matched an
	// entry, or the destination lies in an entry's cloud CIDRs.
	ByCatalog
	// ByName: a DNS answer or TLS SNI name matched an entry's FQDNs or an
	// inventory host listed by name.
	ByName
	// ByParser: a protocol parser confirmed the entry's application on the
	// flow (Meta.App equals the entry's app).
	ByParser
	// BySDP: the SIP/SDP signalling negotiated this media flow.
	BySDP
)

var evidenceNames = [...]string{"", "port", "catalog", "name", "parser", "sdp"}

func (e Evidence) String() string {
	if int(e) < len(evidenceNames) {
		return evidenceNames[e]
	}
	return fmt.Sprintf("Evidence(%d)", uint8(e))
}

// MarshalText writes the evidence name ("" for ByNone).
func (e Evidence) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// Kind is the kind of a finding.
type Kind string

// The finding kinds this package produces. Later analyses add their own
// kinds with the same Finding type.
const (
	KindUnexpected     Kind = "unexpected"
	KindWrongDirection Kind = "wrong-direction"
	KindBlocked        Kind = "blocked"
	KindMissing        Kind = "missing"
	// KindUnobservable: a required entry the auditor cannot see on the
	// wire (no port stated, or media negotiated in signalling the auditor
	// does not follow). Reported instead of calling it missing.
	KindUnobservable Kind = "unobservable"

	// KindUnexpectedMedia: RTP, RTCP or UDPTL recognised by its content,
	// with no signalling seen for it, that nothing in the catalog allows.
	// It replaces KindUnexpected for such flows.
	KindUnexpectedMedia Kind = "unexpected-media"
	// KindMediaOutsideRange: media negotiated in signalling on a port
	// outside the range the vendor documents for that host's role: a
	// firewall built from the documents would drop it. The verdict stays
	// Negotiated.
	KindMediaOutsideRange Kind = "media-outside-documented-range"
	// KindMediaMissing and KindMediaOneWay come from SIP call records
	// (CallFindings), not from a single flow.
	KindMediaMissing Kind = sipcall.FindingMediaMissing
	KindMediaOneWay  Kind = sipcall.FindingMediaOneWay
	// KindPoorVoiceQuality: a call's audio rated below the MOS threshold
	// (the E-model of ITU-T G.107; sipcall.Config.PoorMOS).
	KindPoorVoiceQuality Kind = sipcall.FindingPoorVoiceQuality

	// TLS posture. These are set on flows the catalog allows, whose
	// verdict stays Expected or Negotiated.

	// KindTLSTooOld: the flow negotiated (or, without a ServerHello,
	// offered at most) a version below TLS 1.2, or below the version the
	// entry's document states.
	KindTLSTooOld Kind = "tls-version-too-old"
	// KindPlaintextOnTLSPort: a TCP flow that exchanged data without a
	// TLS handshake, where every matching entry requires TLS.
	KindPlaintextOnTLSPort Kind = "plaintext-on-tls-port"
	// KindNotTLSOnHTTPSPort: the same on an https entry whose document
	// allows plain HTTP too.
	KindNotTLSOnHTTPSPort Kind = "not-tls-on-https-port"
	// KindSNINotInCatalog: a TLS flow allowed by a cloud entry's address
	// ranges whose SNI names a service the catalog does not list there.
	KindSNINotInCatalog Kind = "sni-not-in-catalog"
	// KindDNSFailure: lookups of a name the catalog needs failed
	// (Findings.DNSFailures).
	KindDNSFailure Kind = "dns-failure"
)

// Severity ranks findings. The zero value is Info.
type Severity uint8

const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("Severity(%d)", uint8(s))
}

// MarshalText writes the severity name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Result is the verdict on one flow with its evidence. Classify fills it;
// reuse one Result across calls so its Matches slice is reused too.
type Result struct {
	Verdict      Verdict
	ClassifiedBy Evidence
	// Kind is the finding the flow produces, empty when none. Unexpected
	// flows carry KindUnexpected, KindWrongDirection or
	// KindUnexpectedMedia, blocked ones KindBlocked. Expected and
	// negotiated flows carry a posture finding when they have one (the
	// TLS kinds, KindMediaOutsideRange): the verdict says the catalog
	// allows the flow, the kind says what is still wrong with it.
	Kind Kind
	// Entry is the entry that allows the flow (expected, negotiated,
	// blocked), or for an unexpected flow the entry whose port matched but
	// whose roles or direction do not, so the reader sees what was close.
	// Nil when no entry is involved.
	Entry *catalog.Entry
	// Matches are all the entries that allow the flow, Entry first; each
	// of them counts the flow as working. Owned by the Result.
	Matches []*catalog.Entry
	// Vendor and EntryID are Entry's, empty without one.
	Vendor, EntryID string
	// App is the application a parser confirmed (flow Meta.App), else the
	// allowing entry's app.
	App string
	// FromRole and ToRole are the inventory roles of the originator and
	// responder that the entry matched; for an unexpected flow, all roles
	// of each host (comma-separated, empty when the host is unknown).
	FromRole, ToRole string
	// Reason says why, in words. It is a constant or precomputed per
	// entry: never built per flow.
	Reason string
	// CallID is the SIP Call-ID of negotiated media, or the flow's own
	// when a parser set one.
	CallID string
	// PortOnly: classified without an inventory, by port alone.
	PortOnly bool
	// Severity of the finding (meaningful when Kind is set).
	Severity Severity

	// flip: the finding's destination is the flow's originator (the
	// side whose media port lies outside the documented range).
	flip bool
	// byAddr: matched by a cloud entry's CIDRs.
	byAddr bool
	// judged is the entry whose documented range a
	// media-outside-documented-range finding judged the media against,
	// which the finding names; nil for other kinds, whose finding names
	// Entry.
	judged *catalog.Entry
}

// FindingEntry returns the entry the flow's finding (Kind) is about:
// Entry, except for media outside the documented range, where it is the
// entry whose range the media missed (a fixed-range media entry such as
// the Sinch MRS prompt area, which does not allow the flow and so is not
// its Entry). Nil when the finding concerns no entry.
func (r *Result) FindingEntry() *catalog.Entry {
	if r.judged != nil {
		return r.judged
	}
	return r.Entry
}

// FindingVendor and FindingEntryID are FindingEntry's vendor and id,
// empty without one.
func (r *Result) FindingVendor() string {
	if e := r.FindingEntry(); e != nil {
		return e.Vendor
	}
	return ""
}

// FindingEntryID: see FindingVendor.
func (r *Result) FindingEntryID() string {
	if e := r.FindingEntry(); e != nil {
		return e.ID
	}
	return ""
}

func (r *Result) reset() {
	m := r.Matches[:0]
	*r = Result{Matches: m}
}
