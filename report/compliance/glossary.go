package compliance

import (
	"slices"
	"strings"

	"github.com/ccaudit/auditor/classify/verdict"
)

// Term is a word the report uses and what it means.
type Term struct {
	Group   string `json:"group"` // verdict, finding, state
	Term    string `json:"term"`
	Meaning string `json:"meaning"`
}

// verdictMeanings explain the flow verdicts (verdict.Verdict).
var verdictMeanings = map[verdict.Verdict]string{
	verdict.Unclassified: "the catalog has no terms for the flow (ICMP errors, IPv6 neighbour discovery, ports no vendor documents when judging by port only)",
	verdict.Expected:     "a catalog entry of a deployed vendor, or a site allow rule, covers the flow between these hosts' roles",
	verdict.Negotiated:   "media whose addresses and ports SIP/SDP signalling set up",
	verdict.Unexpected:   "nothing in the catalog or the inventory allows the flow (including flows opened in the wrong direction)",
	verdict.Blocked:      "an attempt the catalog allows that failed: no answer, a reset, or an ICMP unreachable",
	verdict.Ignored:      "silenced by an ignore rule of the inventory",
}

// kindMeanings explain the finding kinds (verdict.Kind).
var kindMeanings = map[verdict.Kind]string{
	verdict.KindUnexpected:         "flows no catalog entry or site rule allows between these hosts",
	verdict.KindWrongDirection:     "a flow an entry allows, opened by the side the document says only answers",
	verdict.KindBlocked:            "attempts of an allowed flow that failed: a firewall or a down service",
	verdict.KindMissing:            "a flow the deployed vendor requires between these hosts that never worked in the window",
	verdict.KindUnobservable:       "a required entry the auditor cannot see on the wire (no port documented, or signalling it does not follow)",
	verdict.KindUnexpectedMedia:    "RTP, RTCP or T.38 recognised by content with no signalling seen for it",
	verdict.KindMediaOutsideRange:  "media negotiated on a port outside the range the vendor documents for the receiving host's role: a firewall built from the document drops it",
	verdict.KindMediaMissing:       "an answered call whose negotiated media never flowed",
	verdict.KindMediaOneWay:        "an answered call whose media flowed one way only",
	verdict.KindPoorVoiceQuality:   "a call whose estimated MOS (ITU-T G.107 E-model, from loss, its burstiness and delay) fell below the threshold",
	verdict.KindTLSTooOld:          "TLS below 1.2 (or below the version the vendor's document states) negotiated or offered",
	verdict.KindPlaintextOnTLSPort: "data exchanged without a TLS handshake where every matching entry requires TLS",
	verdict.KindNotTLSOnHTTPSPort:  "plain HTTP on an HTTPS entry whose document allows it",
	verdict.KindSNINotInCatalog:    "a TLS server name the entry's document does not list",
	verdict.KindDNSFailure:         "lookups of a name a catalog entry needs failed (NXDOMAIN, SERVFAIL, refused or no answer)",
}

// stateMeanings explain Zeek's conn_state, as flows.parquet writes it.
var stateMeanings = []Term{
	{"state", "S0", "connection attempt seen, no reply"},
	{"state", "S1", "connection established, not terminated"},
	{"state", "SF", "normal establishment and termination"},
	{"state", "REJ", "connection attempt rejected (SYN answered by RST)"},
	{"state", "S2", "established, close attempt by the originator seen, no reply from the responder"},
	{"state", "S3", "established, close attempt by the responder seen, no reply from the originator"},
	{"state", "RSTO", "established, the originator aborted (RST)"},
	{"state", "RSTR", "responder sent a RST"},
	{"state", "RSTOS0", "originator sent a SYN then a RST, no SYN-ACK seen"},
	{"state", "RSTRH", "responder sent a SYN-ACK then a RST, no SYN seen from the originator"},
	{"state", "SH", "originator sent a SYN then a FIN, no SYN-ACK seen (half open)"},
	{"state", "SHR", "responder sent a SYN-ACK then a FIN, no SYN seen from the originator"},
	{"state", "OTH", "no SYN seen, just midstream traffic (or a protocol without a handshake, such as ICMP)"},
}

// glossary lists the verdicts, finding kinds and connection states the
// report shows, in that order.
func glossary(r *Report) []Term {
	var out []Term
	for _, c := range r.Verdicts {
		if v, err := verdict.ParseVerdict(c.Name); err == nil {
			out = append(out, Term{"verdict", c.Name, verdictMeanings[v]})
		}
	}
	kinds := map[string]bool{}
	var text strings.Builder
	for _, list := range [][]Finding{r.Findings, r.TopUnexpected, r.Changes.New, r.Changes.Resolved} {
		for i := range list {
			kinds[list[i].Kind] = true
			text.WriteString(list[i].Reason)
			text.WriteByte('\n')
		}
	}
	for _, c := range r.FindingsByKind {
		kinds[c.Name] = true
	}
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if m, ok := kindMeanings[verdict.Kind(k)]; ok {
			out = append(out, Term{"finding", k, m})
		}
	}
	reasons := text.String()
	for _, st := range stateMeanings {
		if strings.Contains(reasons, "("+st.Term+")") || strings.Contains(reasons, " "+st.Term+" ") {
			out = append(out, st)
		}
	}
	return out
}
