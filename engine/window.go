package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/classify/verdict"
	"github.com/ccaudit/auditor/report/parquetout"
)

// WindowConfig says where a live capture's windows go and how a lossy
// window is judged.
type WindowConfig struct {
	// Dir is the root of the Hive partitions date=YYYY-MM-DD/hour=HH.
	Dir string
	// Sensor names the capturing host, in file names, rows and metadata,
	// so many sensors can write into one directory.
	Sensor string
	// Rotation is the window length; windows end on multiples of it.
	Rotation time.Duration
	// LossThreshold is the capture loss ratio above which a window's
	// missing findings are downgraded to info: absence is no proof when
	// packets were lost.
	LossThreshold float64
	// Stats, if set, returns the capture engine's cumulative counts of
	// packets received and lost; their growth over a window is its loss.
	Stats func() (packets, lost uint64)
	// Tunnels, if set, returns (and forgets) the outer tunnels the
	// decoders recorded since the last call; Close writes them to the
	// window's tunnels file. It is called with the workers paused or
	// stopped.
	Tunnels func() []decode.TunnelStats
	// Run, if set, is the capture's run id: written in the flows and
	// tunnels files' metadata (the Auditor's Config.Metadata should carry
	// it for calls, dns and findings), and each window ends with a
	// manifest of its files (flows, calls, dns, findings, and tunnels when
	// Tunnels is set), manifest-<sensor>-<seq>.json, written last.
	Run string
}

// Window is the set of Parquet files of the current capture window, in a
// Hive partition of the window's start time (UTC), so DuckDB, Spark or
// Trino read a directory written by many sensors as one table.
//
// Open starts a window and Close ends it; in between the workers write
// into it through Sink. A rotation is Close then Open with every worker
// paused, so that no flow is written between the two.
type Window struct {
	aud *Auditor
	cfg WindowConfig

	sink  *FlowSink
	flows *parquetout.Writer
	start time.Time
	until time.Time
	seq   int

	// capture counters at the start of the window
	basePackets, baseLost uint64
	baseSIP               SIPLimits
	baseDiscarded         uint64
}

// NewWindow returns the windows of a live capture judged by a; none is
// open until Open.
func NewWindow(a *Auditor, cfg WindowConfig) *Window {
	return &Window{aud: a, cfg: cfg}
}

// Sink is the flow sink the workers write into; the same across windows
// (Open swaps its file), so the pipelines' stages are built once. Nil
// before the first Open.
func (w *Window) Sink() *FlowSink { return w.sink }

// Until is when the current window is due to end.
func (w *Window) Until() time.Time { return w.until }

// Seq numbers the windows from 1, in file names.
func (w *Window) Seq() int { return w.seq }

func (w *Window) partition(t time.Time, kind string) string {
	t = t.UTC()
	return filepath.Join(w.cfg.Dir, "date="+t.Format("2006-01-02"), "hour="+t.Format("15"),
		fmt.Sprintf("%s-%s-%06d.parquet", kind, w.cfg.Sensor, w.seq))
}

// Open starts the next window at now: its flows, calls and dns files are
// created in their partition. When they cannot be (a full or read-only
// disk), Open returns the error but the window still runs, discarding its
// flows (FlowSink.Discarded): the capture and its alerts go on, and the
// next rotation tries again.
func (w *Window) Open(now time.Time) error {
	w.seq++
	w.start = now
	w.until = now.Truncate(w.cfg.Rotation).Add(w.cfg.Rotation)
	fw, err := w.create(now)
	if w.sink == nil {
		w.sink = NewFlowSink(fw, w.cfg.Sensor)
	} else {
		w.sink.Swap(fw)
	}
	w.flows = fw
	w.baseDiscarded = w.sink.Discarded()
	if w.cfg.Stats != nil {
		w.basePackets, w.baseLost = w.cfg.Stats()
	}
	w.baseSIP = w.aud.SIPLimits()
	return err
}

// create makes the window's flows and calls files; on error neither is
// open.
func (w *Window) create(now time.Time) (*parquetout.Writer, error) {
	path := w.partition(now, "flows")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create output partition: %w", err)
	}
	opts := parquetout.Options{CreatedBy: "auditor capture", Metadata: w.metadata()}
	fw, err := parquetout.Create(path, opts)
	if err != nil {
		return nil, err
	}
	if err := w.aud.OpenCalls(w.partition(now, "calls")); err != nil {
		fw.Abort()
		return nil, err
	}
	if err := w.aud.OpenDNS(w.partition(now, "dns")); err != nil {
		fw.Abort()
		w.aud.AbortCalls()
		return nil, err
	}
	return fw, nil
}

// Close writes the window's files: flows, calls, and its findings judged
// at now (missing flows included). The workers have flushed their flows
// into it and wait, or have stopped.
func (w *Window) Close(now time.Time) error {
	w.sink.Drain()
	if w.flows == nil {
		return w.closeWithoutFiles(now)
	}
	errs := []error{}
	if w.cfg.Stats != nil {
		// The compliance report reads the window's capture loss from here.
		packets, lost := w.cfg.Stats()
		w.flows.SetMetadata("auditor.capture.packets_received", strconv.FormatUint(packets-w.basePackets, 10))
		w.flows.SetMetadata("auditor.capture.packets_dropped", strconv.FormatUint(lost-w.baseLost, 10))
	}
	// The SIP limits hit in this window, for the report's capture section.
	sip := w.aud.SIPLimits()
	for k, v := range sip.Sub(w.baseSIP).Metadata() {
		w.flows.SetMetadata(k, v)
	}
	// Every file of the window, with its rows, for the manifest.
	tables := []windowTable{{"flows", w.flows.Rows()}, {"calls", w.aud.calls.Rows()}}
	if err := w.sink.Err(); err != nil {
		w.flows.Abort()
		errs = append(errs, fmt.Errorf("write flows: %w (%d flows of this window not written, %d since the start)",
			err, w.sink.Discarded()-w.baseDiscarded, w.sink.Discarded()))
	} else if err := w.flows.Close(); err != nil {
		w.sink.FileFailed()
		errs = append(errs, fmt.Errorf("%w (%d flows of this window not written, %d since the start)",
			err, w.sink.Discarded()-w.baseDiscarded, w.sink.Discarded()))
	}
	if err := w.aud.CloseCalls(); err != nil {
		errs = append(errs, err)
	}
	dnsRows, err := w.aud.CloseDNS()
	if err != nil {
		errs = append(errs, err)
	}
	tables = append(tables, windowTable{"dns", dnsRows})
	if w.cfg.Tunnels != nil {
		tunnels := w.cfg.Tunnels()
		if err := WriteTunnels(w.partition(w.start, "tunnels"), tunnels, w.cfg.Sensor, w.metadata()); err != nil {
			errs = append(errs, err)
		}
		tables = append(tables, windowTable{"tunnels", uint64(len(tunnels))})
	}
	findings, err := w.endFindings(now)
	if err != nil {
		errs = append(errs, err)
	}
	tables = append(tables, windowTable{"findings", uint64(len(findings))})
	if len(errs) == 0 && w.cfg.Run != "" {
		errs = append(errs, w.writeManifest(now, tables))
	}
	return errors.Join(errs...)
}

// endFindings judges the window's findings at now (missing flows
// included, downgraded when the capture lost too much), raises them and
// writes its findings file; the auditor's next window starts empty.
func (w *Window) endFindings(now time.Time) ([]verdict.Finding, error) {
	loss := w.lossRatio()
	prefix := w.start.UTC().Format("20060102T150405Z") + "-"
	_, findings, err := w.aud.endWindow(w.partition(w.start, "findings"), prefix, now.UnixNano(), w.partial(now), func(all []verdict.Finding) []verdict.Finding {
		if loss <= w.cfg.LossThreshold {
			return all
		}
		for i := range all {
			if all[i].Kind == verdict.KindMissing {
				all[i].Severity = verdict.Info
				all[i].Reason += fmt.Sprintf(" (capture lost %.2f%% of packets in this window: absence is not proof)", loss*100)
			}
		}
		return all
	})
	return findings, err
}

// closeWithoutFiles ends a window whose Open could not create its files:
// its flows were discarded, but they were judged all the same, so the
// window still ends (its findings raised and counted, its verdicts
// folded) rather than rolling into the next one. Its findings and
// tunnels files are written if the partition can be made now; it gets no
// manifest, since its flows, calls and dns files do not exist.
func (w *Window) closeWithoutFiles(now time.Time) error {
	_, dns := w.aud.DNSRows()
	errs := []error{fmt.Errorf("window %d had no output files: %d flows discarded (%d since the start; %d DNS transactions not written since the start)",
		w.seq, w.sink.Discarded()-w.baseDiscarded, w.sink.Discarded(), dns)}
	dirErr := os.MkdirAll(filepath.Dir(w.partition(w.start, "findings")), 0o755)
	if w.cfg.Tunnels != nil {
		if tunnels := w.cfg.Tunnels(); dirErr == nil {
			errs = append(errs, WriteTunnels(w.partition(w.start, "tunnels"), tunnels, w.cfg.Sensor, w.metadata()))
		}
	}
	if _, err := w.endFindings(now); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// windowTable is one file of a window: its table (the kind in its name)
// and rows.
type windowTable struct {
	table string
	rows  uint64
}

// metadata is the metadata of the window's files the Auditor does not
// write: the sensor, and the run id that ties them to their manifest.
func (w *Window) metadata() map[string]string {
	md := map[string]string{"auditor.sensor": w.cfg.Sensor}
	if w.cfg.Run != "" {
		md[parquetout.MetaRun] = w.cfg.Run
	}
	return md
}

// writeManifest lists the window's files, once all are in place.
func (w *Window) writeManifest(now time.Time, tables []windowTable) error {
	dir := filepath.Dir(w.partition(w.start, "flows"))
	m := &parquetout.Manifest{Run: w.cfg.Run, CreatedBy: "auditor capture", Finished: now.UTC()}
	for _, t := range tables {
		if err := m.Add(dir, t.table, w.partition(w.start, t.table), t.rows); err != nil {
			return err
		}
	}
	return parquetout.WriteManifest(dir, fmt.Sprintf("manifest-%s-%06d.json", w.cfg.Sensor, w.seq), m)
}

// startSlack is how late after a rotation boundary a window may start and
// still count as starting there: the rotation runs on a one-second tick.
const startSlack = 5 * time.Second

// partial says whether the window ending at now did not cover a whole
// rotation period: the capture's first window (it starts when the capture
// does), and one ended early by a reload or the shutdown. Only complete
// windows judge missing flows.
func (w *Window) partial(now time.Time) bool {
	boundary := w.start.Truncate(w.cfg.Rotation)
	return w.start.Sub(boundary) > startSlack || now.Before(w.until)
}

func (w *Window) lossRatio() float64 {
	if w.cfg.Stats == nil {
		return 0
	}
	packets, lost := w.cfg.Stats()
	p, l := packets-w.basePackets, lost-w.baseLost
	if p+l == 0 {
		return 0
	}
	return float64(l) / float64(p+l)
}

// Abort removes the window's unfinished files (startup failures).
func (w *Window) Abort() {
	w.sink.Drain()
	if w.flows != nil {
		w.flows.Abort()
		w.aud.AbortCalls()
		w.aud.AbortDNS()
	}
}
