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
	notify := cfg.Notify
	if notify == nil {
		notify = func(string) {}
	}
	start := time.Now()
	runID := parquetout.NewRunID(start)
	meta := map[string]string{parquetout.MetaRun: runID}
	acfg := cfg.Audit
	acfg.Metadata = meta
	aud, err := New(acfg)
	if err != nil {
		return nil, err
	}
	if cfg.OpenFeed != nil {
		feed, err := cfg.OpenFeed()
		if err != nil {
			return nil, err
		}
		aud.SetFeed(feed)
	}
	defer aud.CloseFeed()
	src, err := source.OpenContext(ctx, cfg.Paths, source.Options{LinkTypeSupported: decode.SupportsLinkType, Recursive: cfg.Recursive, Stdin: cfg.Stdin})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	for _, skipped := range src.SkippedEntries() {
		notify("skipped " + skipped)
	}

	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, fmt.Errorf("create output directory: %w", err)
	}
	removed, err := parquetout.RemoveStale(cfg.Out)
	for _, p := range removed {
		notify("removed " + p + ", left by a writer that is gone")
	}
	if err != nil {
		notify(err.Error())
	}
	flowsPath := filepath.Join(cfg.Out, "flows.parquet")
	callsPath := filepath.Join(cfg.Out, "calls.parquet")
	fw, err := parquetout.Create(flowsPath, parquetout.Options{CreatedBy: cfg.CreatedBy, Metadata: meta})
	if err != nil {
		return nil, err
	}
	if err := aud.OpenCalls(callsPath); err != nil {
		fw.Abort()
		return nil, err
	}
	defer aud.AbortCalls() // no-op once Finish closed it
	dnsPath := filepath.Join(cfg.Out, "dns.parquet")
	if err := aud.OpenDNS(dnsPath); err != nil {
		fw.Abort()
		aud.AbortCalls()
		return nil, err
	}
	defer aud.AbortDNS() // no-op once Finish closed it
	sink := NewFlowSink(fw, acfg.Sensor)
	pcfg := capture.Config{Table: cfg.Table, Workers: cfg.Workers, Pipelined: true}
	aud.Configure(&pcfg, sink)
	pipe, err := capture.New(pcfg)
	if err != nil {
		sink.Drain()
		fw.Abort()
		aud.AbortCalls()
		return nil, err
	}

	stopProgress := func() {}
	if cfg.Progress != nil {
		stopProgress = cfg.Progress(ctx, &ReplayProgress{src: src, pipe: pipe})
	}
	runErr := pipe.Run(ctx, src)
	stopProgress()

	sink.Drain()
	res := newReplayResult(src, pipe, time.Since(start))
	if res.FilesFailed > 0 {
		res.FailedFiles = failedFiles(src)
	}
	for _, e := range res.Errors {
		notify(e)
	}
	if res.TimeBackwards > 0 {
		notify(fmt.Sprintf("warning: %d packets are timestamped more than %s before an earlier packet (a clock stepped back, or inputs that overlap); their flows start at their earliest packet",
			res.TimeBackwards, capture.BackwardsSlack))
	}
	canceled := errors.Is(runErr, context.Canceled)
	if res.Packets == 0 && res.FilesFailed > 0 && !canceled {
		// Nothing readable at all: each file's problem was notified, and
		// the previous run's files stay.
		fw.Abort()
		aud.AbortCalls()
		return res, fmt.Errorf("no packets could be read from %s; %s left as it was", strings.Join(failedFiles(src), ", "), cfg.Out)
	}
	if err := sink.Err(); err != nil {
		fw.Abort()
		aud.AbortCalls()
		return res, fmt.Errorf("write %s: %w", flowsPath, err)
	}
	// The SIP tracker's limits, for the compliance report's capture
	// section, as capture records them per window.
	for k, v := range aud.SIPLimits().Metadata() {
		fw.SetMetadata(k, v)
	}
	if err := fw.Close(); err != nil {
		aud.AbortCalls()
		return res, fmt.Errorf("write %s: %w", flowsPath, err)
	}
	res.Outputs["flows"] = flowsPath
	res.Flows = sink.Rows()
	// The decoding goroutine has ended: its tunnel record is complete.
	tunnelsPath := filepath.Join(cfg.Out, "tunnels.parquet")
	tunnels := pipe.Decoder().Tunnels()
	if err := WriteTunnels(tunnelsPath, tunnels, "", meta); err != nil {
		return res, err
	}
	res.Outputs["tunnels"] = tunnelsPath
	findingsPath := filepath.Join(cfg.Out, "findings.parquet")
	ares, err := aud.Finish(findingsPath, cfg.Top)
	res.Audit = ares
	if ares.Calls != "" {
		res.Outputs["calls"] = ares.Calls
	}
	if err != nil {
		return res, err
	}
	res.Outputs["findings"] = findingsPath
	res.Outputs["dns"] = dnsPath
	res.Alerts = aud.CloseFeed()
	man := &parquetout.Manifest{Run: runID, CreatedBy: cfg.CreatedBy, Finished: time.Now().UTC(), Extra: provenance(aud)}
	for _, t := range []struct {
		table, path string
		rows        uint64
	}{{"flows", flowsPath, res.Flows}, {"calls", ares.Calls, ares.callRows()}, {"dns", dnsPath, ares.DNSRows},
		{"tunnels", tunnelsPath, uint64(len(tunnels))}, {"findings", findingsPath, ares.findingRows()}} {
		if err := man.Add(cfg.Out, t.table, t.path, t.rows); err != nil {
			return res, err
		}
	}
	if err := parquetout.WriteManifest(cfg.Out, parquetout.ManifestName, man); err != nil {
		return res, err
	}
	res.Outputs["manifest"] = filepath.Join(cfg.Out, parquetout.ManifestName)
	res.Elapsed = time.Since(start)
	res.PacketsPerSecond = float64(res.Packets) / res.Elapsed.Seconds()

	switch {
	case canceled:
		res.Interrupted = true
		return res, errors.New("interrupted: flows seen so far were written")
	case runErr != nil:
		return res, runErr
	}
	var problems []string
	if res.FilesFailed > 0 {
		problems = append(problems, fmt.Sprintf("%d input file(s) damaged or unreadable (see above)", res.FilesFailed))
	}
	if a := res.Alerts; a != nil && a.Undelivered() > 0 {
		problems = append(problems, fmt.Sprintf("%d alert(s) not delivered (%s)", a.Undelivered(), a.FailureSummary()))
	}
	if len(problems) > 0 {
		return res, &PartialError{strings.Join(problems, "; ") + ": outputs written from what was read"}
	}
	return res, nil
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
