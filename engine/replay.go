package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/source"
	"github.com/ccaudit/auditor/report/alerts"
	"github.com/ccaudit/auditor/report/parquetout"
)

// ReplayConfig is what a replay reads, how it tracks flows, what it judges
// them against and where it writes.
type ReplayConfig struct {
	// Paths are the capture files and directories; "-" is Stdin.
	Paths     []string
	Stdin     io.Reader
	Recursive bool // read directories' subdirectories too
	// Out is the directory of the run's five tables and its manifest.
	Out     string
	Table   flow.Config
	Workers int
	// Audit configures the auditor; its Metadata is set by the replay (the
	// run id).
	Audit Config
	// Top is the number of findings kept for the summary.
	Top int
	// CreatedBy names the writer in the files and the manifest.
	CreatedBy string
	// OpenFeed opens the alert feed once the auditor is loaded; nil, or a
	// nil feed, publishes no alerts.
	OpenFeed func() (*alerts.Feed, error)
	// Notify receives the lines a user should read while the run goes
	// on: skipped inputs, reclaimed files, read errors, warnings.
	Notify func(msg string)
	// Progress, when set, is called once the pipeline starts; the run
	// calls the returned stop when the pipeline ends.
	Progress func(ctx context.Context, p *ReplayProgress) (stop func())
}

// ReplayProgress reads how far a running replay is, from atomic counters
// only.
type ReplayProgress struct {
	src  *source.Reader
	pipe *capture.Pipeline
}

// Input returns the bytes of input read so far and the total known.
func (p *ReplayProgress) Input() (done, total int64) { return p.src.Progress() }

// Frames returns the frames offered to the decoder so far.
func (p *ReplayProgress) Frames() uint64 { return p.pipe.Stats().Frames.Load() }

// ReplayResult is what a replay read, found and wrote.
type ReplayResult struct {
	Files, FilesFailed int
	FailedFiles        []string // the inputs that ended on an error, when FilesFailed > 0
	Frames, Bytes      uint64
	Packets            uint64
	Flows              uint64 // rows written to flows.parquet
	FlowsEvicted       uint64
	BadChecksums       uint64
	// ICMPQuoted counts the ICMP errors attributed to the flow they quote
	// (its icmp_unreach); ICMPUnquoted those whose flow was not in the
	// table (ended, or begun before the capture).
	ICMPQuoted, ICMPUnquoted uint64
	// TimeBackwards counts packets timestamped more than
	// capture.BackwardsSlack before an earlier one.
	TimeBackwards uint64
	// FirstPacket and LastPacket are zero when no packet was read.
	FirstPacket, LastPacket time.Time
	Elapsed                 time.Duration
	// PacketsPerSecond is set once every output is written.
	PacketsPerSecond float64
	Skipped          map[string]uint64
	Errors           []string
	// Outputs maps a table name (and "manifest") to the file written.
	Outputs map[string]string
	// Audit is what the auditor found; nil when the run stopped before
	// judging its findings.
	Audit       *Result
	Alerts      *alerts.Stats
	Interrupted bool
}

// PartialError marks a replay that wrote its outputs but could not do all
// it was asked: damaged inputs, undelivered alerts.
type PartialError struct{ Msg string }

func (e *PartialError) Error() string { return e.Msg }

// Replay runs the pipeline over the inputs and writes the outputs. It
// returns a result whenever anything was read, even with an error, so the
// user sees what was processed before the damage.
//
// The tables are written to temporary files and take their final names
// only at the end, flows first, then tunnels, calls, dns and findings,
// then the run's manifest, which lists all five. A run that could read no
// packet at all renames nothing: the previous run's files stay as they
// were.
func Replay(ctx context.Context, cfg ReplayConfig) (*ReplayResult, error) {
	if cfg.Notify == nil {
		cfg.Notify = func(string) {}
	}
	start := time.Now()
	runID := parquetout.NewRunID(start)
	aud, err := newAuditor(cfg.Audit, runID, cfg.OpenFeed)
	if err != nil {
		return nil, err
	}
	defer aud.CloseFeed()
	src, err := source.OpenContext(ctx, cfg.Paths, source.Options{LinkTypeSupported: decode.SupportsLinkType, Recursive: cfg.Recursive, Stdin: cfg.Stdin})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	for _, skipped := range src.SkippedEntries() {
		cfg.Notify("skipped " + skipped)
	}
	r, err := openReplayRun(&cfg, aud, runID)
	if err != nil {
		return nil, err
	}
	defer aud.AbortCalls() // no-op once Finish closed it
	defer aud.AbortDNS()   // no-op once Finish closed it

	stopProgress := func() {}
	if cfg.Progress != nil {
		stopProgress = cfg.Progress(ctx, &ReplayProgress{src: src, pipe: r.pipe})
	}
	runErr := r.pipe.Run(ctx, src)
	stopProgress()

	r.sink.Drain()
	res := newReplayResult(src, r.pipe, time.Since(start))
	if res.FilesFailed > 0 {
		res.FailedFiles = failedFiles(src)
	}
	for _, e := range res.Errors {
		cfg.Notify(e)
	}
	if res.TimeBackwards > 0 {
		cfg.Notify(fmt.Sprintf("warning: %d packets are timestamped more than %s before an earlier packet (a clock stepped back, or inputs that overlap); their flows start at their earliest packet",
			res.TimeBackwards, capture.BackwardsSlack))
	}
	canceled := errors.Is(runErr, context.Canceled)
	if res.Packets == 0 && res.FilesFailed > 0 && !canceled {
		// Nothing readable at all: each file's problem was notified, and
		// the previous run's files stay.
		r.abort()
		return res, fmt.Errorf("no packets could be read from %s; %s left as it was", strings.Join(failedFiles(src), ", "), cfg.Out)
	}
	if err := r.write(res); err != nil {
		return res, err
	}
	res.Elapsed = time.Since(start)
	res.PacketsPerSecond = float64(res.Packets) / res.Elapsed.Seconds()
	return res, replayOutcome(res, runErr, canceled)
}

// replayRun is a replay's open outputs and its pipeline.
type replayRun struct {
	cfg                           *ReplayConfig
	aud                           *Auditor
	runID                         string
	meta                          map[string]string
	flowsPath, callsPath, dnsPath string
	fw                            *parquetout.Writer
	sink                          *FlowSink
	pipe                          *capture.Pipeline
}

// openReplayRun reclaims the temporary files a dead writer left in the
// output directory, opens the flows, calls and dns tables under temporary
// names, and builds the pipeline that feeds them.
func openReplayRun(cfg *ReplayConfig, aud *Auditor, runID string) (*replayRun, error) {
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, fmt.Errorf("create output directory: %w", err)
	}
	stale, err := parquetout.RemoveStale(parquetout.StaleScope{Dir: cfg.Out, MinAge: parquetout.DefaultStaleAge})
	for _, p := range stale.Removed {
		cfg.Notify("removed " + p + ", left by a writer that is gone")
	}
	if n := stale.Left(); n > 0 {
		cfg.Notify(fmt.Sprintf("left %d temporary file(s) in %s: %d being written, %d modified within %s, %d of another host, %d of an older version (remove those by hand)",
			n, cfg.Out, stale.Live, stale.Recent, parquetout.DefaultStaleAge, stale.OtherHost, stale.Unowned))
	}
	if err != nil {
		cfg.Notify(err.Error())
	}
	r := &replayRun{cfg: cfg, aud: aud, runID: runID, meta: map[string]string{parquetout.MetaRun: runID},
		flowsPath: filepath.Join(cfg.Out, "flows.parquet"), callsPath: filepath.Join(cfg.Out, "calls.parquet"),
		dnsPath: filepath.Join(cfg.Out, "dns.parquet")}
	if r.fw, err = parquetout.Create(r.flowsPath, parquetout.Options{CreatedBy: cfg.CreatedBy, Metadata: r.meta}); err != nil {
		return nil, err
	}
	if err := aud.OpenCalls(r.callsPath); err != nil {
		r.fw.Abort()
		return nil, err
	}
	if err := aud.OpenDNS(r.dnsPath); err != nil {
		r.abort()
		return nil, err
	}
	r.sink = NewFlowSink(r.fw, cfg.Audit.Sensor)
	pcfg := capture.Config{Table: cfg.Table, Workers: cfg.Workers, Pipelined: true}
	aud.Configure(&pcfg, r.sink)
	if r.pipe, err = capture.New(pcfg); err != nil {
		r.sink.Drain()
		r.abort()
		aud.AbortDNS()
		return nil, err
	}
	return r, nil
}

// abort drops the flows and calls files under their temporary names.
func (r *replayRun) abort() {
	r.fw.Abort()
	r.aud.AbortCalls()
}

// write gives the tables their final names, flows first, then tunnels,
// calls, dns and findings, and writes the manifest last, recording each
// in the result's outputs.
func (r *replayRun) write(res *ReplayResult) error {
	if err := r.sink.Err(); err != nil {
		r.abort()
		return fmt.Errorf("write %s: %w", r.flowsPath, err)
	}
	// The SIP tracker's limits, for the compliance report's capture
	// section, as capture records them per window.
	for k, v := range r.aud.SIPLimits().Metadata() {
		r.fw.SetMetadata(k, v)
	}
	if err := r.fw.Close(); err != nil {
		r.aud.AbortCalls()
		return fmt.Errorf("write %s: %w", r.flowsPath, err)
	}
	res.Outputs["flows"] = r.flowsPath
	res.Flows = r.sink.Rows()
	// The decoding goroutine has ended: its tunnel record is complete.
	tunnelsPath := filepath.Join(r.cfg.Out, "tunnels.parquet")
	tunnels := r.pipe.Decoder().Tunnels()
	if err := WriteTunnels(tunnelsPath, tunnels, "", r.meta); err != nil {
		return err
	}
	res.Outputs["tunnels"] = tunnelsPath
	findingsPath := filepath.Join(r.cfg.Out, "findings.parquet")
	ares, err := r.aud.Finish(findingsPath, r.cfg.Top)
	res.Audit = ares
	if ares.Calls != "" {
		res.Outputs["calls"] = ares.Calls
	}
	if err != nil {
		return err
	}
	res.Outputs["findings"] = findingsPath
	res.Outputs["dns"] = r.dnsPath
	res.Alerts = r.aud.CloseFeed()
	man := &parquetout.Manifest{Run: r.runID, CreatedBy: r.cfg.CreatedBy, Finished: time.Now().UTC(), Extra: provenance(r.aud)}
	for _, t := range []struct {
		table, path string
		rows        uint64
	}{{"flows", r.flowsPath, res.Flows}, {"calls", ares.Calls, ares.callRows()}, {"dns", r.dnsPath, ares.DNSRows},
		{"tunnels", tunnelsPath, uint64(len(tunnels))}, {"findings", findingsPath, ares.findingRows()}} {
		if err := man.Add(r.cfg.Out, t.table, t.path, t.rows); err != nil {
			return err
		}
	}
	if err := parquetout.WriteManifest(r.cfg.Out, parquetout.ManifestName, man); err != nil {
		return err
	}
	res.Outputs["manifest"] = filepath.Join(r.cfg.Out, parquetout.ManifestName)
	return nil
}

// replayOutcome is the error of a replay whose outputs were all written:
// interrupted, the pipeline's own error, or partial when inputs were
// damaged or alerts went undelivered.
func replayOutcome(res *ReplayResult, runErr error, canceled bool) error {
	switch {
	case canceled:
		res.Interrupted = true
		return errors.New("interrupted: flows seen so far were written")
	case runErr != nil:
		return runErr
	}
	var problems []string
	if res.FilesFailed > 0 {
		problems = append(problems, fmt.Sprintf("%d input file(s) damaged or unreadable (see above)", res.FilesFailed))
	}
	if a := res.Alerts; a != nil && a.Undelivered() > 0 {
		problems = append(problems, fmt.Sprintf("%d alert(s) not delivered (%s)", a.Undelivered(), a.FailureSummary()))
	}
	if len(problems) > 0 {
		return &PartialError{strings.Join(problems, "; ") + ": outputs written from what was read"}
	}
	return nil
}

// provenance is what a run's verdicts rest on (catalog documents, the
// inventory's hash), for its manifest; an inventory that cannot be read
// again is noted, not fatal.
func provenance(aud *Auditor) map[string]string {
	p, err := aud.Provenance()
	if err != nil {
		p["inventory.error"] = err.Error()
	}
	return p
}

// callRows is the number of rows in calls.parquet: one per SIP call.
func (r *Result) callRows() uint64 {
	if r.Parsers == nil {
		return 0
	}
	return r.Parsers.SIPCalls
}

// findingRows is the number of rows in findings.parquet.
func (r *Result) findingRows() uint64 {
	if r.Verdicts == nil {
		return 0
	}
	var n uint64
	for _, c := range r.Findings {
		n += c
	}
	return n
}

func newReplayResult(src *source.Reader, pipe *capture.Pipeline, elapsed time.Duration) *ReplayResult {
	st := src.Stats()
	ps := pipe.Stats()
	res := &ReplayResult{
		Files:         int(st.FilesOpened.Load()),
		FilesFailed:   int(st.FilesFailed.Load()),
		Frames:        ps.Frames.Load(),
		Bytes:         ps.Bytes.Load(),
		Packets:       ps.Packets.Load(),
		FlowsEvicted:  pipe.FlowsEnded(flow.EndEvicted),
		BadChecksums:  badChecksums(pipe),
		ICMPQuoted:    ps.ICMPQuoted.Load(),
		ICMPUnquoted:  ps.ICMPUnquoted.Load(),
		TimeBackwards: ps.TimeBackwards.Load(),
		Elapsed:       elapsed,
		Skipped:       map[string]uint64{},
		Errors:        []string{},
		Outputs:       map[string]string{},
	}
	if first, last := ps.FirstPacket.Load(), ps.LastPacket.Load(); first != 0 {
		res.FirstPacket, res.LastPacket = time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
	}
	for reason, n := range src.Skipped() {
		res.Skipped[reason] += n
	}
	for reason, n := range pipe.Decoder().Skipped() {
		if n > 0 {
			res.Skipped[decode.Reason(reason).String()] += n
		}
	}
	for _, e := range src.Errors() {
		res.Errors = append(res.Errors, e.Error())
	}
	return res
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

// badChecksums sums the packets whose IPv4 header or transport checksum
// failed, over the pipeline's flow tables.
func badChecksums(pipe *capture.Pipeline) uint64 {
	var n uint64
	for _, t := range pipe.Tables() {
		n += t.Stats().BadChecksum.Load()
	}
	return n
}
