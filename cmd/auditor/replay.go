package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/source"
	"github.com/ccaudit/auditor/engine"
	"github.com/ccaudit/auditor/report/alerts"
	"github.com/ccaudit/auditor/report/parquetout"
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
		return &usageError{err.Error()}
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
		if perr := printSummary(s.stdout, sum, o.jsonOut); perr != nil && err == nil {
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

// replay runs the pipeline over the inputs and writes the outputs. It
// returns a summary whenever anything was read, even with an error, so the
// user sees what was processed before the damage.
//
// The tables are written to temporary files and take their final names
// only at the end, flows first, then tunnels, calls, dns and findings,
// then the run's manifest, which lists all five. A run that could read no packet at all renames nothing: the
// previous run's files stay as they were.
func replay(ctx context.Context, s streams, paths []string, o replayOptions, tableCfg flow.Config) (*replaySummary, error) {
	start := time.Now()
	runID := parquetout.NewRunID(start)
	meta := map[string]string{parquetout.MetaRun: runID}
	o.audit.meta = meta
	aud, err := o.audit.load()
	if err != nil {
		return nil, err
	}
	feed, err := o.audit.openAlerts(s.stdout, s.stderr)
	if err != nil {
		return nil, err
	}
	aud.SetFeed(feed)
	defer aud.CloseFeed()
	src, err := source.OpenContext(ctx, paths, source.Options{LinkTypeSupported: decode.SupportsLinkType, Recursive: o.recursive, Stdin: s.stdin})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	for _, skipped := range src.SkippedEntries() {
		fmt.Fprintf(s.stderr, "auditor replay: skipped %s\n", skipped)
	}

	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return nil, fmt.Errorf("create output directory: %w", err)
	}
	removed, err := parquetout.RemoveStale(o.out)
	for _, p := range removed {
		fmt.Fprintf(s.stderr, "auditor replay: removed %s, left by a writer that is gone\n", p)
	}
	if err != nil {
		fmt.Fprintf(s.stderr, "auditor replay: %v\n", err)
	}
	flowsPath := filepath.Join(o.out, "flows.parquet")
	callsPath := filepath.Join(o.out, "calls.parquet")
	fw, err := parquetout.Create(flowsPath, parquetout.Options{CreatedBy: "auditor replay", Metadata: meta})
	if err != nil {
		return nil, err
	}
	if err := aud.OpenCalls(callsPath); err != nil {
		fw.Abort()
		return nil, err
	}
	defer aud.AbortCalls() // no-op once Finish closed it
	dnsPath := filepath.Join(o.out, "dns.parquet")
	if err := aud.OpenDNS(dnsPath); err != nil {
		fw.Abort()
		aud.AbortCalls()
		return nil, err
	}
	defer aud.AbortDNS() // no-op once Finish closed it
	sink := engine.NewFlowSink(fw, o.audit.sensor)
	cfg := capture.Config{Table: tableCfg, Workers: o.workers, Pipelined: true}
	aud.Configure(&cfg, sink)
	pipe, err := capture.New(cfg)
	if err != nil {
		sink.Drain()
		fw.Abort()
		aud.AbortCalls()
		return nil, err
	}

	stopProgress := startProgress(ctx, s.stderr, o.progress, src, pipe)
	runErr := pipe.Run(ctx, src)
	stopProgress()

	sink.Drain()
	sum := newSummary(src, pipe, time.Since(start))
	sum.Outputs = map[string]string{}
	if sum.FilesFailed > 0 {
		sum.FailedFiles = failedFiles(src)
	}
	for _, e := range sum.Errors {
		fmt.Fprintf(s.stderr, "auditor replay: %s\n", e)
	}
	if sum.TimeBackwards > 0 {
		fmt.Fprintf(s.stderr, "auditor replay: warning: %d packets are timestamped more than %s before an earlier packet (a clock stepped back, or inputs that overlap); their flows start at their earliest packet\n",
			sum.TimeBackwards, capture.BackwardsSlack)
	}
	canceled := errors.Is(runErr, context.Canceled)
	if sum.Packets == 0 && sum.FilesFailed > 0 && !canceled {
		// Nothing readable at all: a runtime error (exit 1), with each
		// file's problem listed above. The previous run's files stay.
		fw.Abort()
		aud.AbortCalls()
		return sum, fmt.Errorf("no packets could be read from %s; %s left as it was", strings.Join(failedFiles(src), ", "), o.out)
	}
	if err := sink.Err(); err != nil {
		fw.Abort()
		aud.AbortCalls()
		return sum, fmt.Errorf("write %s: %w", flowsPath, err)
	}
	// The SIP tracker's limits, for the compliance report's capture
	// section, as capture records them per window.
	for k, v := range aud.SIPLimits().Metadata() {
		fw.SetMetadata(k, v)
	}
	if err := fw.Close(); err != nil {
		aud.AbortCalls()
		return sum, fmt.Errorf("write %s: %w", flowsPath, err)
	}
	sum.Outputs["flows"] = flowsPath
	sum.Flows = sink.Rows()
	// The decoding goroutine has ended: its tunnel record is complete.
	tunnelsPath := filepath.Join(o.out, "tunnels.parquet")
	tunnels := pipe.Decoder().Tunnels()
	if err := engine.WriteTunnels(tunnelsPath, tunnels, "", meta); err != nil {
		return sum, err
	}
	sum.Outputs["tunnels"] = tunnelsPath
	findingsPath := filepath.Join(o.out, "findings.parquet")
	res, err := aud.Finish(findingsPath, o.top)
	sum.summarize(res)
	if err != nil {
		return sum, err
	}
	sum.Outputs["findings"] = findingsPath
	sum.Outputs["dns"] = dnsPath
	sum.Alerts = aud.CloseFeed()
	man := &parquetout.Manifest{Run: runID, CreatedBy: "auditor replay", Finished: time.Now().UTC(), Extra: o.audit.provenance(aud)}
	for _, t := range []struct {
		table, path string
		rows        uint64
	}{{"flows", flowsPath, sum.Flows}, {"calls", res.Calls, sum.callRows()}, {"dns", dnsPath, res.DNSRows},
		{"tunnels", tunnelsPath, uint64(len(tunnels))}, {"findings", findingsPath, sum.findingRows()}} {
		if err := man.Add(o.out, t.table, t.path, t.rows); err != nil {
			return sum, err
		}
	}
	if err := parquetout.WriteManifest(o.out, parquetout.ManifestName, man); err != nil {
		return sum, err
	}
	sum.Outputs["manifest"] = filepath.Join(o.out, parquetout.ManifestName)
	sum.Elapsed = time.Since(start).Seconds()
	sum.PacketsPerSecond = float64(sum.Packets) / sum.Elapsed

	switch {
	case canceled:
		sum.Interrupted = true
		return sum, errors.New("interrupted: flows seen so far were written")
	case runErr != nil:
		return sum, runErr
	}
	var problems []string
	if sum.FilesFailed > 0 {
		problems = append(problems, fmt.Sprintf("%d input file(s) damaged or unreadable (see above)", sum.FilesFailed))
	}
	if a := sum.Alerts; a != nil && a.Undelivered() > 0 {
		problems = append(problems, fmt.Sprintf("%d alert(s) not delivered (%s)", a.Undelivered(), a.FailureSummary()))
	}
	if len(problems) > 0 {
		return sum, &partialError{strings.Join(problems, "; ") + ": outputs written from what was read"}
	}
	return sum, nil
}

// failedFiles names the inputs that ended on an error.
func failedFiles(src *source.Reader) []string {
	var names []string
	seen := map[string]bool{}
	for _, e := range src.Errors() {
		var fe *source.FileError
		if errors.As(e, &fe) && !seen[fe.File] {
			seen[fe.File] = true
			names = append(names, fe.File)
		}
	}
	if len(names) == 0 {
		names = append(names, "the input")
	}
	return names
}

// callRows is the number of rows in calls.parquet: one per SIP call.
func (sum *replaySummary) callRows() uint64 {
	if sum.Parsers == nil {
		return 0
	}
	return sum.Parsers.SIPCalls
}

// findingRows is the number of rows in findings.parquet.
func (sum *replaySummary) findingRows() uint64 {
	var n uint64
	for _, c := range sum.Findings {
		n += c
	}
	return n
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

func newSummary(src *source.Reader, pipe *capture.Pipeline, elapsed time.Duration) *replaySummary {
	st := src.Stats()
	ps := pipe.Stats()
	sum := &replaySummary{
		Files:         int(st.FilesOpened.Load()),
		FilesFailed:   int(st.FilesFailed.Load()),
		Frames:        ps.Frames.Load(),
		Bytes:         ps.Bytes.Load(),
		Packets:       ps.Packets.Load(),
		FlowsEvicted:  pipe.FlowsEnded(flow.EndEvicted),
		BadChecksums:  badChecksums(pipe),
		TimeBackwards: ps.TimeBackwards.Load(),
		Elapsed:       elapsed.Seconds(),
		Skipped:       map[string]uint64{},
		Errors:        []string{},
	}
	if first, last := ps.FirstPacket.Load(), ps.LastPacket.Load(); first != 0 {
		a, b := time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
		sum.CaptureStart, sum.CaptureEnd = &a, &b
		sum.CaptureSpan = b.Sub(a).Seconds()
	}
	for reason, n := range src.Skipped() {
		sum.Skipped[reason] += n
	}
	for reason, n := range pipe.Decoder().Skipped() {
		if n > 0 {
			sum.Skipped[decode.Reason(reason).String()] += n
		}
	}
	for _, e := range src.Errors() {
		sum.Errors = append(sum.Errors, e.Error())
	}
	return sum
}

// badChecksums sums the packets whose IPv4 header or transport checksum
// failed, over the pipeline's flow tables.
func badChecksums(pipe *capture.Pipeline) uint64 {
	var n uint64
	for _, t := range pipe.Tables() {
		n += t.Stats().BadChecksum.Load()
	}
	return n
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
		if l := p.SIPLimits; l != (sipLimitsSummary{}) {
			fmt.Fprintf(&b, "sip limits %d calls refused (concurrent-call cap), %d streams dropped (per-call cap), %d oversized messages dropped\n",
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

func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

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
	for _, v := range []string{"expected", "negotiated", "unexpected", "blocked", "ignored", "unclassified"} {
		fmt.Fprintf(b, " %s=%d", v, sum.Verdicts[v])
	}
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
	for _, l := range sum.TopFindings {
		where := fmt.Sprintf("%s %s -> %s:%d", l.Proto, l.Src, l.Dst, l.DstPort)
		if l.Dst == "" {
			where = fmt.Sprintf("%s %s", l.Ports, l.Hosts)
		}
		entry := l.EntryID
		if entry == "" {
			entry = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s -> %s\t%d\t%s\n", l.Kind, l.Severity, where, entry, orDash(l.FromRole), orDash(l.ToRole), l.Count, l.Reason)
	}
	tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "?"
	}
	return s
}
