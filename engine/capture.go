package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	xbpf "golang.org/x/net/bpf"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/live"
	bpf "github.com/ccaudit/auditor/capture/live/ebpf"
	"github.com/ccaudit/auditor/report/alerts"
	"github.com/ccaudit/auditor/report/parquetout"
)

// CaptureConfig is what a live capture listens on, how it tracks flows,
// what it judges them against and where it writes.
type CaptureConfig struct {
	Interface string
	// Engine is "ebpf", "afpacket" or "auto" (eBPF when the kernel allows
	// it, one worker is asked for and no Filter given, else AF_PACKET).
	Engine string
	Hook   bpf.Hook // the eBPF hook
	// Promiscuous, Filter and Workers apply to AF_PACKET: Workers > 1
	// opens a fanout group, one pipeline per socket.
	Promiscuous bool
	Filter      []xbpf.Instruction
	Workers     int
	Table       flow.Config
	// Out is the root of the Hive partitions; Sensor names the files,
	// rows and manifests.
	Out           string
	Sensor        string
	Rotate        time.Duration
	LossThreshold float64
	// Audit configures the auditor; its Sensor and Metadata are set by
	// the capture.
	Audit Config
	// OpenFeed opens the alert feed once the auditor is loaded; nil, or a
	// nil feed, publishes no alerts.
	OpenFeed func() (*alerts.Feed, error)
	// Reload: each value received reloads the catalog and inventory
	// between two windows (the command sends SIGHUP here).
	Reload <-chan os.Signal
	Log    *slog.Logger
}

// CaptureHooks let the command follow a live capture. Every field may be
// nil.
type CaptureHooks struct {
	// Started is called once the pipelines exist, before any packet is
	// read; an error stops the capture. The returned stop runs at the end.
	Started func(ctx context.Context, run *CaptureRun) (stop func(), err error)
	// WindowEnding is called with every worker paused, just before a
	// window closes on rotation or reload.
	WindowEnding func()
	// ReloadError rewords a failed reload's error for the log.
	ReloadError func(error) error
}

// CaptureRun is a running capture's state that a command may read: the
// pipelines' summed counters (Counters), the auditor's and the engine's
// counters.
type CaptureRun struct {
	pipes   []*capture.Pipeline
	Auditor *Auditor
	// Stats returns the capture engine's packet and loss counters, and
	// the losses by cause.
	Stats func() (packets, lost uint64, causes map[string]uint64)
	// Quotes is the ICMP-error exchange of an AF_PACKET fanout (nil with
	// one socket): its counters of quotes no pipeline matched or that a
	// full inbox dropped.
	Quotes *capture.Quotes
}

// liveEngine is the live sources plus what the capture loop needs from them.
type liveEngine struct {
	name   string
	srcs   []capture.LiveSource // one per worker
	close  func() error
	stats  func() (packets, lost uint64, causes map[string]uint64)
	sensor *bpf.Sensor // set for eBPF: in-kernel counters to merge
}

// tryEBPF says whether a capture tries the eBPF sensor before AF_PACKET:
// when asked for, or on "auto" unless the configuration needs what only
// AF_PACKET offers (a fanout of several workers, a classic BPF filter).
func tryEBPF(cfg *CaptureConfig) bool {
	return cfg.Engine == "ebpf" || (cfg.Engine == "auto" && cfg.Workers == 1 && len(cfg.Filter) == 0)
}

func openEngine(cfg *CaptureConfig) (*liveEngine, error) {
	if tryEBPF(cfg) {
		e, err := openEBPF(cfg)
		if err == nil {
			return e, nil
		}
		if cfg.Engine == "ebpf" {
			return nil, err
		}
		cfg.Log.Warn("eBPF engine unavailable, using AF_PACKET", "err", err)
	}
	opts := live.AFPacketOptions{Promiscuous: cfg.Promiscuous, Filter: cfg.Filter}
	var socks []*live.AFPacketSource
	if cfg.Workers > 1 {
		var err error
		if socks, err = live.OpenAFPacketFanout(cfg.Interface, cfg.Workers, opts); err != nil {
			return nil, fmt.Errorf("AF_PACKET fanout on %s: %w", cfg.Interface, err)
		}
	} else {
		src, err := live.OpenAFPacket(cfg.Interface, opts)
		if err != nil {
			return nil, fmt.Errorf("AF_PACKET on %s: %w", cfg.Interface, err)
		}
		socks = []*live.AFPacketSource{src}
	}
	e := &liveEngine{name: "afpacket"}
	for _, s := range socks {
		e.srcs = append(e.srcs, s)
	}
	e.close = func() error {
		var errs []error
		for _, s := range socks {
			errs = append(errs, s.Close())
		}
		return errors.Join(errs...)
	}
	e.stats = func() (uint64, uint64, map[string]uint64) {
		var packets, drops, freezes uint64
		for _, s := range socks {
			st, err := s.Stats()
			if err != nil {
				continue
			}
			packets, drops, freezes = packets+st.Packets, drops+st.Drops, freezes+st.QueueFreezes
		}
		return packets, drops, map[string]uint64{"kernel-drop": drops, "queue-freeze": freezes}
	}
	return e, nil
}

func openEBPF(cfg *CaptureConfig) (*liveEngine, error) {
	sensor, err := bpf.Load(bpf.Options{MaxFlows: cfg.Table.MaxFlows})
	if err != nil {
		return nil, fmt.Errorf("load eBPF sensor: %w", err)
	}
	if err := sensor.Attach(cfg.Interface, cfg.Hook); err != nil {
		sensor.Close()
		return nil, fmt.Errorf("attach eBPF sensor to %s: %w", cfg.Interface, err)
	}
	// The kernel's counters only grow. A read that fails returns the last
	// good one, not zeros: a window's counts are differences, and zeros
	// would wrap them around to a loss of nearly every packet.
	var mu sync.Mutex
	var last bpf.Stats
	return &liveEngine{name: "ebpf", srcs: []capture.LiveSource{sensor}, close: sensor.Close, sensor: sensor, stats: func() (uint64, uint64, map[string]uint64) {
		mu.Lock()
		defer mu.Unlock()
		if st, err := sensor.Stats(); err == nil {
			last = st
		}
		st := last
		return st.RingRecords + st.MapPackets + st.Lost, st.Lost, map[string]uint64{
			"lost": st.Lost, "ring-full": st.RingFull, "map-full": st.MapFull, "bad-record": st.BadRecords}
	}}, nil
}

// pause is a request to every worker to flush its flows and wait: the
// window's files are closed and new ones opened while no worker writes.
type pause struct {
	ack    chan struct{}
	resume chan struct{}
}

// Capture runs one pipeline per live source until ctx ends, rotating
// their output into Hive partitions. Each worker goroutine owns its
// pipeline; the calling goroutine decides when a window ends and rotates
// while the workers are paused. A capture stopped by ctx returns nil.
func Capture(ctx context.Context, cfg CaptureConfig, hooks CaptureHooks) error {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	// A worker that fails stops the others.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// One run id for the capture: every window's files carry it, and each
	// window's manifest names it.
	runID := parquetout.NewRunID(time.Now())
	acfg := cfg.Audit
	acfg.Sensor = cfg.Sensor
	aud, err := newAuditor(acfg, runID, cfg.OpenFeed)
	if err != nil {
		return err
	}
	defer aud.CloseFeed()
	eng, err := openEngine(&cfg)
	if err != nil {
		return err
	}
	defer eng.close()
	r, err := newLiveRun(&cfg, aud, eng, runID)
	if err != nil {
		return err
	}
	if hooks.Started != nil {
		stop, err := hooks.Started(ctx, &CaptureRun{pipes: r.pipes, Auditor: aud, Stats: eng.stats, Quotes: r.quotes})
		if err != nil {
			r.out.Abort()
			return err
		}
		if stop != nil {
			defer stop()
		}
	}
	r.startWorkers(ctx, cancel)
	cfg.Log.Info("capturing", "interface", cfg.Interface, "engine", eng.name, "workers", len(r.pipes), "sensor", cfg.Sensor, "out", cfg.Out, "rotate", cfg.Rotate)
	r.loop(ctx, hooks)
	return r.stop()
}

// newAuditor loads the auditor of a run whose files carry runID, and
// gives it the alert feed openFeed opens (when not nil).
func newAuditor(cfg Config, runID string, openFeed func() (*alerts.Feed, error)) (*Auditor, error) {
	cfg.Metadata = map[string]string{parquetout.MetaRun: runID}
	aud, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if openFeed != nil {
		feed, err := openFeed()
		if err != nil {
			return nil, err
		}
		aud.SetFeed(feed)
	}
	return aud, nil
}

// liveRun is a live capture's state once its engine is open: the current
// window, one pipeline per source, and the workers' pause channels and
// errors.
type liveRun struct {
	log   *slog.Logger
	aud   *Auditor
	eng   *liveEngine
	out   *Window
	pipes []*capture.Pipeline
	// quotes carries ICMP errors between the pipelines of a fanout; nil
	// with one pipeline.
	quotes *capture.Quotes
	ctls   []chan pause
	errs   []error
	wg     sync.WaitGroup
	// reload: each value received reloads between two windows.
	reload <-chan os.Signal
}

// newLiveRun reclaims the temporary files a dead writer left, opens the
// first window and builds one pipeline per source.
func newLiveRun(cfg *CaptureConfig, aud *Auditor, eng *liveEngine, runID string) (*liveRun, error) {
	r := &liveRun{log: cfg.Log, aud: aud, eng: eng, reload: cfg.Reload}
	// Temporary files of a sensor that crashed or was killed can never be
	// finished: reclaim them before writing. The lake may be shared: only
	// this sensor's, written on this host, unlocked and older than any
	// window of its own are taken.
	removeStale(r.log, captureStaleScope(cfg))
	r.out = NewWindow(aud, WindowConfig{Dir: cfg.Out, Sensor: cfg.Sensor, Rotation: cfg.Rotate,
		LossThreshold: cfg.LossThreshold, Run: runID, Stats: func() (packets, lost uint64) {
			packets, lost, _ = eng.stats()
			return packets, lost
		}, Tunnels: func() []decode.TunnelStats {
			// The workers are paused or stopped: their decoders are idle.
			var all []decode.TunnelStats
			for _, p := range r.pipes {
				all = append(all, p.Decoder().Tunnels()...)
			}
			return all
		}})
	if err := r.out.Open(time.Now()); err != nil {
		r.out.Abort()
		return nil, err
	}
	pipes := make([]*capture.Pipeline, len(eng.srcs))
	var quotes *capture.Quotes
	if len(pipes) > 1 {
		// A fanout may put an ICMP error on another socket than the
		// flow it quotes.
		quotes = capture.NewQuotes(len(pipes))
	}
	for i := range pipes {
		pcfg := capture.Config{Table: cfg.Table, Quotes: quotes, QuotesIndex: i}
		aud.Configure(&pcfg, r.out.Sink())
		var err error
		if pipes[i], err = capture.New(pcfg); err != nil {
			r.out.Abort()
			return nil, err
		}
	}
	r.pipes, r.quotes = pipes, quotes
	return r, nil
}

// captureStaleScope is what a capture may reclaim: its own sensor's
// temporaries in the lake's recent partitions, older than any window of
// its own could be.
func captureStaleScope(cfg *CaptureConfig) parquetout.StaleScope {
	return parquetout.StaleScope{Dir: cfg.Out, Sensor: cfg.Sensor, MinAge: max(2*cfg.Rotate, parquetout.DefaultStaleAge)}
}

// removeStale reclaims the temporaries in scope and logs what it removed
// and what it left.
func removeStale(log *slog.Logger, scope parquetout.StaleScope) {
	res, err := parquetout.RemoveStale(scope)
	for _, p := range res.Removed {
		log.Info("removed a temporary file left by a writer that is gone", "path", p)
	}
	if len(res.Removed) > 0 || res.Left() > 0 {
		log.Info("stale temporary files", "removed", len(res.Removed), "left_live", res.Live, "left_recent", res.Recent,
			"left_other_host", res.OtherHost, "left_unowned", res.Unowned, "min_age", scope.MinAge)
	}
	if err != nil {
		log.Warn("reclaim stale temporary files", "err", err)
	}
}

// startWorkers starts one worker per pipeline: read, decode, track, judge.
// Their tick merges kernel counters (eBPF), expires idle flows and obeys
// pause requests.
func (r *liveRun) startWorkers(ctx context.Context, cancel context.CancelFunc) {
	r.ctls = make([]chan pause, len(r.pipes))
	r.errs = make([]error, len(r.pipes))
	for i, pipe := range r.pipes {
		r.ctls[i] = make(chan pause, 1)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.errs[i] = runWorker(ctx, cancel, r.log, i, pipe, r.eng, r.aud, r.ctls[i])
		}()
	}
}

// loop rotates the window on schedule and on reload until ctx ends.
func (r *liveRun) loop(ctx context.Context, hooks CaptureHooks) {
	reload := func() {
		err := r.aud.Reload()
		if err != nil && hooks.ReloadError != nil {
			err = hooks.ReloadError(err)
		}
		if err != nil {
			r.log.Error("reload catalog and inventory: keeping the running configuration", "err", err)
		} else {
			r.log.Info("reloaded catalog and inventory", "sip_ports", len(r.aud.SIPPorts()))
		}
	}
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.reload:
			r.rotate(ctx, "reload", hooks.WindowEnding, reload)
		case now := <-ticker.C:
			if !now.Before(r.out.Until()) {
				r.rotate(ctx, "schedule", hooks.WindowEnding, nil)
			}
		}
	}
}

// rotate pauses every worker at its next tick, ends the window and, still
// paused, runs then (a reload), so that one window is judged by one
// configuration. ending, when set, runs just before the window closes.
func (r *liveRun) rotate(ctx context.Context, why string, ending, then func()) {
	p := pause{ack: make(chan struct{}, len(r.pipes)), resume: make(chan struct{})}
	for _, c := range r.ctls {
		c <- p
	}
	for range r.pipes {
		select {
		case <-p.ack:
		case <-ctx.Done():
			// Shutting down: the workers flush at the end instead.
			close(p.resume)
			return
		}
	}
	if ending != nil {
		ending()
	}
	rotateWindow(r.log, r.out, time.Now(), why)
	if then != nil {
		then()
	}
	close(p.resume)
}

// stop waits for the workers, flushes every open flow and call into the
// last window and closes it. A capture ended by its context is no error.
func (r *liveRun) stop() error {
	r.wg.Wait()
	var packets uint64
	for _, pipe := range r.pipes {
		pipe.Flush()
		packets += pipe.Stats().Packets.Load()
	}
	r.aud.FlushCalls()
	runErr := errors.Join(r.errs...)
	if err := r.out.Close(time.Now()); err != nil && runErr == nil {
		runErr = err
	}
	sip := r.aud.SIPLimits()
	r.log.Info("capture stopped", "packets", packets, "files", r.out.Seq(), "sip_calls_refused", sip.CallsRefused,
		"sip_streams_dropped", sip.StreamsDropped, "sip_messages_oversized", sip.MessagesOversized)
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return runErr
	}
	return nil
}

// runWorker reads one live source into its pipeline until ctx ends or the
// source fails, when it stops the others. Its tick warns of a clock stepping back, merges the
// kernel's counters, expires idle flows and calls, and obeys a pause.
func runWorker(ctx context.Context, cancel context.CancelFunc, log *slog.Logger, i int, pipe *capture.Pipeline, eng *liveEngine, aud *Auditor, ctl <-chan pause) error {
	var deltas []bpf.FlowDelta
	mergeKernel := func() {
		if eng.sensor == nil {
			return
		}
		var err error
		if deltas, err = eng.sensor.Counters(deltas[:0]); err != nil {
			log.Error("read in-kernel flow counters", "err", err)
		}
		for _, d := range deltas {
			pipe.AddCounters(d.Key, d.Dir, d.Packets, d.Bytes, d.Payload, d.Flags, d.First, d.Last)
		}
	}
	var backwards uint64
	tick := func(now time.Time) {
		if n := pipe.Stats().TimeBackwards.Load(); n > backwards {
			log.Warn("packets timestamped before earlier ones: the capture clock stepped back; their flows start at their earliest packet",
				"worker", i, "packets", n-backwards, "total", n)
			backwards = n
		}
		mergeKernel()
		pipe.Advance(now.UnixNano())
		aud.AdvanceCalls(now.UnixNano())
		select {
		case p := <-ctl:
			pipe.Flush()
			p.ack <- struct{}{}
			<-p.resume
		default:
		}
	}
	err := pipe.RunLive(ctx, eng.srcs[i], time.Second, tick)
	if err != nil {
		log.Error("capture worker stopped", "worker", i, "err", err)
		cancel()
	}
	// What the kernel counted up to the end belongs to this window.
	mergeKernel()
	return err
}

// rotateWindow ends the window: open flows are flushed into it, its
// findings judged (missing flows included) and written, and the next
// window starts. The workers are paused.
func rotateWindow(log *slog.Logger, out *Window, now time.Time, why string) {
	if err := out.Close(now); err != nil {
		log.Error("close capture window", "err", err)
	}
	if err := out.Open(now); err != nil {
		log.Error("open capture window: output stops here", "err", err)
	}
	log.Info("rotated output", "why", why, "seq", out.Seq())
}
