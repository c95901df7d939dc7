package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/verdict"
	"github.com/ccaudit/auditor/engine"
	"github.com/ccaudit/auditor/internal/cli"
	"github.com/ccaudit/auditor/report/alerts"
)

type replayOptions struct {
	out        string
	jsonOut    bool
	maxFlows   int
	timeouts   string
	progress   string
	cpuProfile string
	memProfile string
	workers    int
	audit      auditFlags
	top        int
	recursive  bool
}

func runReplay(ctx context.Context, s streams, args []string) error {
	var o replayOptions
	fs := newFlagSet(s, "replay", "[flags] FILE|DIR|-... (- is standard input; FIFOs and <(process substitution) are streamed)")
	fs.StringVar(&o.out, "out", "auditor-out", "output directory for flows.parquet")
	fs.BoolVar(&o.jsonOut, "json", false, "print the summary as one JSON object")
	fs.IntVar(&o.maxFlows, "max-flows", flow.DefaultConfig().MaxFlows, "bound on concurrently tracked flows; the least recently active is evicted (and counted) beyond it")
	fs.StringVar(&o.timeouts, "timeouts", "", "idle timeouts, e.g. tcp=5m,tcp-linger=5s,udp=1m,icmp=1m,other=1m (defaults as shown)")
	fs.StringVar(&o.progress, "progress", "auto", "progress bar on stderr: auto (terminal and large input), always, never")
	fs.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "flow-table workers, packets sharded by flow hash (default: the usable cores); the results do not depend on it")
	o.audit.register(fs)
	fs.BoolVar(&o.recursive, "recursive", false, "read the capture files of directories' subdirectories too (a directory's own files are always read)")
	fs.StringVar(&o.audit.sensor, "sensor", "", "sensor name, in flows and findings rows and alert events (observer.name)")
	fs.IntVar(&o.top, "top", 10, "rows in the summary's tables of unexpected and blocked flows")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile to this file")
	fs.StringVar(&o.memProfile, "memprofile", "", "write an allocation profile to this file at the end")
	paths, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if o.workers < 1 || o.workers > 256 {
		return usagef("--workers must be between 1 and 256, not %d", o.workers)
	}
	if len(paths) == 0 {
		fs.Usage()
		return usagef("no capture file or directory given")
	}
	tableCfg := flow.DefaultConfig()
	tableCfg.MaxFlows = o.maxFlows
	if err := parseTimeouts(o.timeouts, &tableCfg); err != nil {
		return &usageError{Msg: err.Error()}
	}
	switch o.progress {
	case "auto", "always", "never":
	default:
		return usagef("--progress must be auto, always or never, not %q", o.progress)
	}
	if o.cpuProfile != "" {
		stop, err := startCPUProfile(o.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}

	sum, err := replay(ctx, s, paths, o, tableCfg)
	if sum != nil {
		if perr := printSummary(s.Stdout, sum, o.jsonOut); perr != nil && err == nil {
			err = perr
		}
	}
	if o.memProfile != "" {
		if perr := writeHeapProfile(o.memProfile); perr != nil && err == nil {
			err = perr
		}
	}
	return err
}

// replay runs the engine's replay with the flags' configuration and turns
// its result into the summary. It returns a summary whenever anything was
// read, even with an error, so the user sees what was processed before the
// damage.
func replay(ctx context.Context, s streams, paths []string, o replayOptions, tableCfg flow.Config) (*replaySummary, error) {
	res, err := engine.Replay(ctx, engine.ReplayConfig{
		Paths: paths, Stdin: s.Stdin, Recursive: o.recursive,
		Out: o.out, Table: tableCfg, Workers: o.workers,
		Audit: o.audit.config(), Top: o.top, CreatedBy: "auditor replay",
		OpenFeed: func() (*alerts.Feed, error) { return o.audit.openAlerts(s.Stdout, s.Stderr) },
		Notify:   func(msg string) { fmt.Fprintf(s.Stderr, "auditor replay: %s\n", msg) },
		Progress: func(ctx context.Context, p *engine.ReplayProgress) func() {
			return startProgress(ctx, s.Stderr, o.progress, p)
		},
	})
	var pe *engine.PartialError
	if errors.As(err, &pe) {
		err = &partialError{pe.Msg}
	}
	if res == nil {
		return nil, flagError(err)
	}
	return summaryOf(res), err
}

// summaryOf is the summary of a replay's result.
func summaryOf(res *engine.ReplayResult) *replaySummary {
	sum := &replaySummary{
		Files:            res.Files,
		FilesFailed:      res.FilesFailed,
		FailedFiles:      res.FailedFiles,
		Frames:           res.Frames,
		Bytes:            res.Bytes,
		Packets:          res.Packets,
		Flows:            res.Flows,
		FlowsEvicted:     res.FlowsEvicted,
		BadChecksums:     res.BadChecksums,
		ICMPQuoted:       res.ICMPQuoted,
		ICMPUnquoted:     res.ICMPUnquoted,
		TimeBackwards:    res.TimeBackwards,
		Elapsed:          res.Elapsed.Seconds(),
		PacketsPerSecond: res.PacketsPerSecond,
		Skipped:          res.Skipped,
		Errors:           res.Errors,
		Outputs:          res.Outputs,
		Alerts:           res.Alerts,
		Interrupted:      res.Interrupted,
	}
	if !res.FirstPacket.IsZero() {
		a, b := res.FirstPacket, res.LastPacket
		sum.CaptureStart, sum.CaptureEnd = &a, &b
		sum.CaptureSpan = b.Sub(a).Seconds()
	}
	if res.Audit != nil {
		sum.summarize(res.Audit)
	}
	return sum
}

// parseTimeouts reads "tcp=5m,udp=30s" into the table configuration.
func parseTimeouts(spec string, cfg *flow.Config) error {
	if spec == "" {
		return nil
	}
	for _, part := range strings.Split(spec, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("--timeouts: %q is not NAME=DURATION", part)
		}
		d, err := time.ParseDuration(val)
		if err != nil || d <= 0 {
			return fmt.Errorf("--timeouts: %s: %q is not a positive duration", name, val)
		}
		switch name {
		case "tcp":
			cfg.TCPTimeout = d
		case "tcp-linger":
			cfg.TCPLinger = d
		case "udp":
			cfg.UDPTimeout = d
		case "icmp":
			cfg.ICMPTimeout = d
		case "other":
			cfg.OtherTimeout = d
		default:
			return fmt.Errorf("--timeouts: unknown protocol class %q (tcp, tcp-linger, udp, icmp, other)", name)
		}
	}
	return nil
}

// replaySummary is what replay prints; its JSON form is the --json output.
type replaySummary struct {
	Files            int                    `json:"files"`
	FilesFailed      int                    `json:"files_failed"`
	FailedFiles      []string               `json:"failed_files,omitempty"` // the inputs that ended on an error
	Frames           uint64                 `json:"frames"`
	Bytes            uint64                 `json:"bytes"`
	Packets          uint64                 `json:"packets"`
	Flows            uint64                 `json:"flows"`
	FlowsEvicted     uint64                 `json:"flows_evicted"`
	BadChecksums     uint64                 `json:"bad_checksums"`
	ICMPQuoted       uint64                 `json:"icmp_errors_attributed"`
	ICMPUnquoted     uint64                 `json:"icmp_errors_unattributed"`
	CaptureStart     *time.Time             `json:"capture_start,omitempty"`
	CaptureEnd       *time.Time             `json:"capture_end,omitempty"`
	CaptureSpan      float64                `json:"capture_span_seconds"`
	Elapsed          float64                `json:"elapsed_seconds"`
	PacketsPerSecond float64                `json:"packets_per_second"`
	Skipped          map[string]uint64      `json:"skipped"`
	Errors           []string               `json:"errors"`
	Outputs          map[string]string      `json:"outputs"`
	Site             string                 `json:"site,omitempty"`
	Verdicts         map[string]uint64      `json:"verdicts,omitempty"`
	Findings         map[string]uint64      `json:"findings,omitempty"`
	FindingsDropped  uint64                 `json:"findings_dropped,omitempty"`
	TopFindings      []findingLine          `json:"top_findings,omitempty"`
	Parsers          *parserSummary         `json:"parsers,omitempty"`
	Alerts           *alerts.Stats          `json:"alerts,omitempty"`
	Evidence         *engine.EvidenceCounts `json:"evidence,omitempty"`
	Interrupted      bool                   `json:"interrupted,omitempty"`
	// TimeBackwards counts packets timestamped more than a second before
	// an earlier one.
	TimeBackwards uint64 `json:"timestamps_backwards,omitempty"`
}

func printSummary(w io.Writer, sum *replaySummary, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		return enc.Encode(sum)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "files      %d read", sum.Files)
	if sum.FilesFailed > 0 {
		fmt.Fprintf(&b, ", %d with errors", sum.FilesFailed)
	}
	fmt.Fprintf(&b, "\nframes     %d (%s)\n", sum.Frames, humanBytes(sum.Bytes))
	fmt.Fprintf(&b, "packets    %d in flows\n", sum.Packets)
	fmt.Fprintf(&b, "flows      %d", sum.Flows)
	if sum.FlowsEvicted > 0 {
		fmt.Fprintf(&b, " (%d evicted early: table full, raise --max-flows)", sum.FlowsEvicted)
	}
	b.WriteString("\n")
	if sum.BadChecksums > 0 {
		fmt.Fprintf(&b, "checksums  %d packets bad (history c/C; otherwise ignored, as Zeek does)\n", sum.BadChecksums)
	}
	if sum.CaptureStart != nil {
		fmt.Fprintf(&b, "capture    %s .. %s (%s)\n", sum.CaptureStart.Format(time.RFC3339Nano),
			sum.CaptureEnd.Format(time.RFC3339Nano), time.Duration(sum.CaptureSpan*float64(time.Second)).Round(time.Millisecond))
	}
	fmt.Fprintf(&b, "processing %.3fs, %.0f packets/s\n", sum.Elapsed, sum.PacketsPerSecond)
	if sum.ICMPQuoted+sum.ICMPUnquoted > 0 {
		fmt.Fprintf(&b, "icmp       errors: %d attributed to the flow they quote, %d quoting no flow in the table\n", sum.ICMPQuoted, sum.ICMPUnquoted)
	}
	if sum.TimeBackwards > 0 {
		fmt.Fprintf(&b, "warning    %d packets timestamped over %s before an earlier one\n", sum.TimeBackwards, capture.BackwardsSlack)
	}
	if len(sum.Skipped) > 0 {
		b.WriteString("skipped\n")
		reasons := make([]string, 0, len(sum.Skipped))
		for r := range sum.Skipped {
			reasons = append(reasons, r)
		}
		sort.Strings(reasons)
		for _, r := range reasons {
			fmt.Fprintf(&b, "  %-24s %d\n", r, sum.Skipped[r])
		}
	}
	for _, e := range sum.Errors {
		fmt.Fprintf(&b, "error      %s\n", e)
	}
	if p := sum.Parsers; p != nil {
		fmt.Fprintf(&b, "parsers    %d SIP calls, %d TLS + %d QUIC client hellos, %d DNS queries / %d responses\n",
			p.SIPCalls, p.TLSHandshakes, p.QUICHellos, p.DNSQueries, p.DNSResponses)
		if p.TLSUpgradeCandidates > 0 {
			fmt.Fprintf(&b, "tls after  %d of %d cleartext starts upgraded (STARTTLS, SSL requests, RDP, proxies); %d proxy tunnels without TLS\n",
				p.TLSUpgrades, p.TLSUpgradeCandidates, p.TunnelsNotTLS)
		}
		if l := p.SIPLimits; l != (sipLimitsSummary{}) {
			fmt.Fprintf(&b, "sip limits %d calls refused (concurrent-call cap), %d streams dropped (per-call and per-SDP caps), %d oversized messages dropped\n",
				l.CallsRefused, l.StreamsDropped, l.MessagesOversized)
		}
	}
	if sum.Verdicts != nil {
		writeVerdicts(&b, sum)
	}
	if e := sum.Evidence; e != nil {
		fmt.Fprintf(&b, "evidence   %d files, %d packets in %s", e.Files, e.Packets, e.Dir)
		if e.FlowsSkipped+e.PacketsSkipped+e.FlowsOverCap+e.WriteErrors > 0 {
			fmt.Fprintf(&b, " (not kept: %d flows and %d packets over --evidence-memory, %d flows over --evidence-flows; %d write errors)",
				e.FlowsSkipped, e.PacketsSkipped, e.FlowsOverCap, e.WriteErrors)
		}
		b.WriteString("\n")
	}
	if a := sum.Alerts; a != nil {
		fmt.Fprintf(&b, "alerts     %d published, %d emitted, %d deduplicated, %d rate-limited, %d dropped (queue full)\n",
			a.Published, a.Emitted, a.Deduplicated, a.RateLimited, a.DroppedQueueFull)
		writeDelivery(&b, a)
	}
	keys := make([]string, 0, len(sum.Outputs))
	for k := range sum.Outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "wrote      %s\n", sum.Outputs[k])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeDelivery adds what each alert destination got, and what it did not
// get and why.
func writeDelivery(b *strings.Builder, a *alerts.Stats) {
	for _, sk := range a.Sinks {
		fmt.Fprintf(b, "           %s: %d delivered", sk.Name, sk.Sent)
		if lost := sk.Failed + sk.Dropped; lost > 0 {
			causes := make([]string, 0, len(sk.FailedBy))
			for c, n := range sk.FailedBy {
				causes = append(causes, fmt.Sprintf("%d %s", n, c))
			}
			sort.Strings(causes)
			fmt.Fprintf(b, ", %d NOT DELIVERED (%s)", lost, strings.Join(causes, ", "))
			if sk.LastError != "" {
				fmt.Fprintf(b, ": %s", sk.LastError)
			}
		}
		b.WriteString("\n")
	}
}

func humanBytes(n uint64) string { return cli.HumanBytes(n) }

func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("memory profile: %w", err)
	}
	defer f.Close()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		return fmt.Errorf("memory profile: %w", err)
	}
	return nil
}

// writeVerdicts adds the audit part of the summary: verdict counts and a
// table of the findings that need a look.
func writeVerdicts(b *strings.Builder, sum *replaySummary) {
	fmt.Fprintf(b, "site       %s\n", sum.Site)
	b.WriteString("verdicts  ")
	// Unclassified last: the verdicts the catalog decided come first.
	for v := verdict.Unclassified + 1; v < verdict.NumVerdicts; v++ {
		fmt.Fprintf(b, " %s=%d", v, sum.Verdicts[v.String()])
	}
	fmt.Fprintf(b, " %s=%d", verdict.Unclassified, sum.Verdicts[verdict.Unclassified.String()])
	b.WriteString("\nfindings  ")
	kinds := make([]string, 0, len(sum.Findings))
	for k := range sum.Findings {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	if len(kinds) == 0 {
		b.WriteString(" none")
	}
	for _, k := range kinds {
		fmt.Fprintf(b, " %s=%d", k, sum.Findings[k])
	}
	b.WriteString("\n")
	if sum.FindingsDropped > 0 {
		fmt.Fprintf(b, "           %d flows not aggregated: findings table full\n", sum.FindingsDropped)
	}
	if len(sum.TopFindings) == 0 {
		return
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tSEV\tFLOW\tENTRY\tROLES\tCOUNT\tREASON")
	cut := false
	for _, l := range sum.TopFindings {
		where := fmt.Sprintf("%s %s -> %s:%d", l.Proto, l.Src, l.Dst, l.DstPort)
		if l.Dst == "" {
			where = fmt.Sprintf("%s %s", l.Ports, l.Hosts)
		}
		entry := l.EntryID
		if entry == "" {
			entry = "-"
		}
		roles := orDash(l.FromRole) + " -> " + orDash(l.ToRole)
		where, roles = cell(where, &cut), cell(roles, &cut)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", l.Kind, l.Severity, where, entry, roles, l.Count, l.Reason)
	}
	tw.Flush()
	if cut {
		b.WriteString("(cells cut at " + strconv.Itoa(maxCell) + " characters: --json and findings.parquet have them whole)\n")
	}
}

// maxCell bounds the FLOW and ROLES cells of the findings table: a missing
// entry's host pairs and a role list can run to hundreds of characters,
// which would push every other column off the screen.
const maxCell = 72

// cell returns s cut to maxCell characters, ending in "...", and notes
// in cut that it was.
func cell(s string, cut *bool) string {
	if utf8.RuneCountInString(s) <= maxCell {
		return s
	}
	*cut = true
	r := []rune(s)
	return string(r[:maxCell-3]) + "..."
}

func orDash(s string) string {
	if s == "" {
		return "?"
	}
	return s
}
