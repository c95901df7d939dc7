package main

import (
	"errors"
	"flag"
	"io"
	"strings"

	"github.com/ccaudit/auditor/classify/sipcall"
	"github.com/ccaudit/auditor/classify/verdict"
	"github.com/ccaudit/auditor/engine"
	"github.com/ccaudit/auditor/report/alerts"
	"github.com/ccaudit/auditor/report/evidence"
	"github.com/ccaudit/auditor/report/parquetout"
)

// listFlag is a repeatable flag that also splits on commas.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// repeatFlag is a repeatable flag kept whole (URLs may contain commas).
type repeatFlag []string

func (r *repeatFlag) String() string { return strings.Join(*r, " ") }

func (r *repeatFlag) Set(v string) error {
	*r = append(*r, v)
	return nil
}

// auditFlags are the flags that choose what flows are judged against and
// where findings are sent, shared by replay and capture.
type auditFlags struct {
	site      string
	vendors   listFlag
	catalogs  listFlag
	alerts    repeatFlag
	alertsTok string
	poorMOS   float64
	evidence  evidence.Config
	sensor    string // set by the command
}

func (a *auditFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.site, "site", "", "site inventory (YAML): which hosts play which roles; without it flows are judged by port only")
	fs.Var(&a.vendors, "vendor", "judge against these vendors only (repeatable or comma-separated; default: the site's vendors, or all)")
	fs.Var(&a.catalogs, "catalog", "extra catalog file in the catalog schema (repeatable)")
	fs.Var(&a.alerts, "alerts", "send each finding as an ECS JSON event to DEST (repeatable): - (stdout), a file path (NDJSON, rotated), syslog+tcp://host:port, syslog+udp://host:port, http(s)://...[?format=bulk|json] (batched POST: NDJSON, Elasticsearch/OpenSearch _bulk, or a JSON array for Filebeat http_endpoint)")
	fs.StringVar(&a.alertsTok, "alerts-token-env", "", "environment variable holding a bearer token for http(s) alert destinations")
	fs.Float64Var(&a.poorMOS, "mos-threshold", sipcall.DefaultPoorMOS, "raise poor-voice-quality for calls whose estimated MOS (ITU-T G.107 E-model) is below this; 0 disables")
	fs.StringVar(&a.evidence.Dir, "evidence", "", "write the packets of the flows behind each finding to pcapng files in `DIR`, named by finding ID")
	fs.IntVar(&a.evidence.PacketsPerFlow, "evidence-packets", 32, "packets kept per flow for --evidence")
	fs.IntVar(&a.evidence.FlowsPerFinding, "evidence-flows", 8, "flows written per finding for --evidence")
	fs.Int64Var(&a.evidence.MaxMemory, "evidence-memory", 128<<20, "bytes of packets --evidence may hold at once; past it new flows go unrecorded (counted)")
	fs.Int64Var(&a.evidence.MaxBytes, "evidence-max-bytes", 0, "bound on the evidence directory's pcapng files; the oldest are removed first (0: no bound)")
}

// openAlerts starts the alert feed, or returns nil when no --alerts was
// given.
func (a *auditFlags) openAlerts(stdout, stderr io.Writer) (*alerts.Feed, error) {
	if len(a.alerts) == 0 {
		return nil, nil
	}
	var sinks []alerts.Sink
	for _, dest := range a.alerts {
		sink, err := alerts.Open(dest, alerts.Options{Stdout: stdout, TokenEnv: a.alertsTok, Hostname: a.sensor})
		if err != nil {
			for _, s := range sinks {
				s.Close()
			}
			var de *alerts.DestError
			if errors.As(err, &de) {
				return nil, &usageError{Msg: err.Error()}
			}
			return nil, err
		}
		sinks = append(sinks, sink)
	}
	return alerts.New(sinks, alerts.FeedOptions{Log: stderr}), nil
}

// poorMOS maps the flag, where 0 disables, to engine.Config's convention,
// where 0 is the default and a negative value disables.
func poorMOS(flagValue float64) float64 {
	if flagValue <= 0 {
		return -1
	}
	return flagValue
}

// config is the auditor's configuration the flags describe. An unknown
// vendor in it is the user's mistake: flagError words it for the flag.
func (a *auditFlags) config() engine.Config {
	return engine.Config{Site: a.site, Vendors: a.vendors, Catalogs: a.catalogs, Sensor: a.sensor,
		PoorMOS: poorMOS(a.poorMOS), Evidence: a.evidence}
}

// flagError rewords the audit errors that name a flag's value.
func flagError(err error) error {
	var uv *engine.UnknownVendorError
	if errors.As(err, &uv) {
		return usagef("--vendor %s: no such vendor (auditor catalog list shows them)", uv.Vendor)
	}
	return err
}

// findingLine is one finding as the summary shows it.
type findingLine struct {
	Kind     string `json:"kind"`
	Severity string `json:"severity"`
	Proto    string `json:"proto,omitempty"`
	Src      string `json:"src,omitempty"`
	Dst      string `json:"dst,omitempty"`
	DstPort  uint16 `json:"dst_port,omitempty"`
	EntryID  string `json:"entry_id,omitempty"`
	FromRole string `json:"from_role,omitempty"`
	ToRole   string `json:"to_role,omitempty"`
	Count    uint64 `json:"count"`
	Ports    string `json:"ports,omitempty"`
	Hosts    string `json:"host_pairs,omitempty"`
	Reason   string `json:"reason"`
}

// lineOf is finding g as the summary shows it: the columns of its
// findings.parquet row that fit a line.
func lineOf(g *verdict.Finding) findingLine {
	r := parquetout.FindingRowOf(g, "")
	return findingLine{Kind: r.Kind, Severity: r.Severity, Proto: r.Proto, Src: r.SrcIP, Dst: r.DstIP, DstPort: uint16(r.DstPort),
		EntryID: r.EntryID, FromRole: r.FromRole, ToRole: r.ToRole, Count: uint64(r.Count), Ports: r.Ports,
		Hosts: r.HostPairs, Reason: r.Reason}
}

// parserSummary is what the protocol parsers saw, for the summary.
type parserSummary struct {
	SIPCalls      uint64 `json:"sip_calls"`
	TLSHandshakes uint64 `json:"tls_client_hellos"`
	QUICHellos    uint64 `json:"quic_client_hellos"`
	DNSQueries    uint64 `json:"dns_queries"`
	DNSResponses  uint64 `json:"dns_responses"`
	// DNS transactions written to dns.parquet, and those unanswered.
	DNSTransactions uint64 `json:"dns_transactions"`
	DNSUnanswered   uint64 `json:"dns_unanswered"`
	// SIPLimits is what the SIP tracker refused or dropped at its bounds.
	SIPLimits sipLimitsSummary `json:"sip_limits"`
	// TLS after a cleartext hand-over: flows that began a protocol that can
	// upgrade, those that did, and proxy tunnels opened without TLS.
	TLSUpgradeCandidates uint64 `json:"tls_upgrade_candidates"`
	TLSUpgrades          uint64 `json:"tls_upgrades"`
	TunnelsNotTLS        uint64 `json:"tunnels_not_tls"`
}

// sipLimitsSummary counts the SIP tracker's drops by reason.
type sipLimitsSummary struct {
	CallsRefused      uint64 `json:"calls_refused"`      // INVITEs past the concurrent-call cap
	StreamsDropped    uint64 `json:"streams_dropped"`    // media streams past the per-call or per-SDP cap
	MessagesOversized uint64 `json:"messages_oversized"` // SIP messages over the size bound
}

func sipLimitsOf(l engine.SIPLimits) sipLimitsSummary {
	return sipLimitsSummary{CallsRefused: l.CallsRefused, StreamsDropped: l.StreamsDropped, MessagesOversized: l.MessagesOversized}
}

// summarize adds what the audit found to the summary.
func (sum *replaySummary) summarize(res *engine.Result) {
	if p := res.Parsers; p != nil {
		sum.Parsers = &parserSummary{SIPCalls: p.SIPCalls, TLSHandshakes: p.TLSClientHellos, QUICHellos: p.QUICClientHellos,
			TLSUpgradeCandidates: p.TLSUpgradeCandidates, TLSUpgrades: p.TLSUpgrades, TunnelsNotTLS: p.TunnelsNotTLS,
			DNSQueries: p.DNSQueries, DNSResponses: p.DNSResponses,
			DNSTransactions: p.DNSTransactions, DNSUnanswered: p.DNSUnanswered, SIPLimits: sipLimitsOf(p.SIPLimits)}
	}
	sum.Evidence = res.Evidence
	if res.Verdicts == nil {
		return
	}
	sum.Findings = res.Findings
	sum.Site = "(none: port-only matching)"
	if res.Site != "" {
		sum.Site = res.Site
	}
	sum.Verdicts = res.Verdicts
	sum.FindingsDropped = res.FindingsDropped
	for i := range res.Top {
		sum.TopFindings = append(sum.TopFindings, lineOf(&res.Top[i]))
	}
}
