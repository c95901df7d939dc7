package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	xbpf "golang.org/x/net/bpf"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/live"
	bpf "github.com/ccaudit/auditor/capture/live/ebpf"
	"github.com/ccaudit/auditor/engine"
	"github.com/ccaudit/auditor/report/parquetout"
)

type captureOptions struct {
	iface         string
	engine        string
	hook          string
	duration      time.Duration
	rotate        time.Duration
	out           string
	sensor        string
	metrics       string
	promisc       bool
	maxFlows      int
	timeouts      string
	lossThreshold float64
	logFormat     string
	workers       int
	filter        string
	program       []xbpf.Instruction // parsed --filter-bpf
	audit         auditFlags
}

func runCapture(ctx context.Context, s streams, args []string) error {
	var o captureOptions
	host, _ := os.Hostname()
	fs := newFlagSet(s, "capture", "-i IFACE [flags]")
	fs.StringVar(&o.iface, "i", "", "interface to capture on (required)")
	fs.StringVar(&o.engine, "engine", "auto", "capture engine: ebpf, afpacket, or auto (eBPF when the kernel allows it, else AF_PACKET)")
	fs.StringVar(&o.hook, "hook", "tc", "eBPF hook: tc (TCX, or TC clsact on kernels before 6.6: ingress and egress) or xdp (ingress only: mirror ports)")
	fs.DurationVar(&o.duration, "duration", 0, "stop after this long (0: until SIGINT or SIGTERM)")
	fs.DurationVar(&o.rotate, "rotate", time.Hour, "start new output files this often (open flows are flushed into the closing files)")
	fs.StringVar(&o.out, "out", "auditor-out", "output directory: Hive partitions date=YYYY-MM-DD/hour=HH")
	fs.StringVar(&o.sensor, "sensor", host, "sensor name, in file names, rows and metrics")
	fs.StringVar(&o.metrics, "metrics", "", "serve Prometheus metrics on this address (e.g. 127.0.0.1:9108)")
	fs.BoolVar(&o.promisc, "promisc", true, "AF_PACKET: put the interface in promiscuous mode (needed on SPAN/mirror ports)")
	fs.IntVar(&o.maxFlows, "max-flows", flow.DefaultConfig().MaxFlows, "bound on concurrently tracked flows; the least recently active is evicted (and counted)")
	fs.StringVar(&o.timeouts, "timeouts", "", "idle timeouts, e.g. tcp=5m,tcp-linger=5s,udp=1m,icmp=1m,other=1m")
	fs.Float64Var(&o.lossThreshold, "loss-threshold", 0.001, "capture loss ratio in a window above which missing findings are downgraded to info")
	fs.StringVar(&o.logFormat, "log", "text", "log format on stderr: text or json")
	fs.StringVar(&o.filter, "filter-bpf", "", "AF_PACKET: classic BPF filter as `tcpdump -ddd EXPR` prints it (or @FILE); the binary has no libpcap to compile expressions")
	fs.IntVar(&o.workers, "workers", 1, "AF_PACKET: sockets in a fanout group, each with its own pipeline (flows hashed to one of them); the eBPF engine uses one")
	o.audit.register(fs)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(rest) > 0:
		return usagef("unexpected arguments %q", rest)
	case o.iface == "":
		fs.Usage()
		return usagef("-i IFACE is required")
	case o.rotate < time.Minute:
		return usagef("--rotate must be at least 1m, not %s", o.rotate)
	case o.engine != "auto" && o.engine != "ebpf" && o.engine != "afpacket":
		return usagef("--engine must be ebpf, afpacket or auto, not %q", o.engine)
	case o.logFormat != "text" && o.logFormat != "json":
		return usagef("--log must be text or json")
	case o.workers < 1 || o.workers > 64:
		return usagef("--workers must be between 1 and 64, not %d", o.workers)
	case o.workers > 1 && o.engine == "ebpf":
		return usagef("--workers applies to the AF_PACKET engine; the eBPF sensor has one ring buffer")
	case strings.ContainsAny(o.sensor, "/ ") || o.sensor == "":
		return usagef("--sensor %q: a name without spaces or slashes", o.sensor)
	}
	if o.filter != "" {
		if o.engine == "ebpf" {
			return usagef("--filter-bpf applies to the AF_PACKET engine")
		}
		text := o.filter
		if path, ok := strings.CutPrefix(text, "@"); ok {
			data, err := os.ReadFile(path)
			if err != nil {
				return &usageError{fmt.Sprintf("--filter-bpf: %v", err)}
			}
			text = string(data)
		}
		prog, err := live.ParseBytecode(text)
		if err != nil {
			return &usageError{"--filter-bpf: " + err.Error()}
		}
		// A filter is an AF_PACKET feature: auto picks that engine.
		o.program, o.engine = prog, "afpacket"
	}
	hook, err := bpf.ParseHook(o.hook)
	if err != nil {
		return &usageError{err.Error()}
	}
	tableCfg := flow.DefaultConfig()
	tableCfg.MaxFlows = o.maxFlows
	if err := parseTimeouts(o.timeouts, &tableCfg); err != nil {
		return &usageError{err.Error()}
	}
	var log *slog.Logger
	if o.logFormat == "json" {
		log = slog.New(slog.NewJSONHandler(s.stderr, nil))
	} else {
		log = slog.New(slog.NewTextHandler(s.stderr, nil))
	}
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	return captureLive(ctx, log, s.stdout, o, hook, tableCfg)
}

// liveEngine is the live sources plus what the capture loop needs from them.
type liveEngine struct {
	name   string
	srcs   []capture.LiveSource // one per worker
	close  func() error
	stats  func() (packets, lost uint64, causes map[string]uint64)
	sensor *bpf.Sensor // set for eBPF: in-kernel counters to merge
}

func openEngine(log *slog.Logger, o captureOptions, hook bpf.Hook) (*liveEngine, error) {
	if o.engine == "ebpf" || (o.engine == "auto" && o.workers == 1) {
		e, err := openEBPF(o, hook)
		if err == nil {
			return e, nil
		}
		if o.engine == "ebpf" {
			return nil, err
		}
		log.Warn("eBPF engine unavailable, using AF_PACKET", "err", err)
	}
	opts := live.AFPacketOptions{Promiscuous: o.promisc, Filter: o.program}
	var socks []*live.AFPacketSource
	if o.workers > 1 {
		var err error
		if socks, err = live.OpenAFPacketFanout(o.iface, o.workers, opts); err != nil {
			return nil, fmt.Errorf("AF_PACKET fanout on %s: %w", o.iface, err)
		}
	} else {
		src, err := live.OpenAFPacket(o.iface, opts)
		if err != nil {
			return nil, fmt.Errorf("AF_PACKET on %s: %w", o.iface, err)
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

func openEBPF(o captureOptions, hook bpf.Hook) (*liveEngine, error) {
	sensor, err := bpf.Load(bpf.Options{MaxFlows: o.maxFlows})
	if err != nil {
		return nil, fmt.Errorf("load eBPF sensor: %w", err)
	}
	if err := sensor.Attach(o.iface, hook); err != nil {
		sensor.Close()
		return nil, fmt.Errorf("attach eBPF sensor to %s: %w", o.iface, err)
	}
	return &liveEngine{name: "ebpf", srcs: []capture.LiveSource{sensor}, close: sensor.Close, sensor: sensor, stats: func() (uint64, uint64, map[string]uint64) {
		st, err := sensor.Stats()
		if err != nil {
			return 0, 0, nil
		}
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

// captureLive runs one pipeline per live source until ctx ends, rotating
// their output into Hive partitions. Each worker goroutine owns its
// pipeline; this goroutine decides when a window ends and rotates while
// the workers are paused.
func captureLive(ctx context.Context, log *slog.Logger, stdout io.Writer, o captureOptions, hook bpf.Hook, tableCfg flow.Config) error {
	// SIGHUP reloads the catalog and inventory; registered first so that a
	// HUP during startup is not the default "terminate".
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	// A worker that fails stops the others.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	o.audit.sensor = o.sensor
	// One run id for the capture: every window's files carry it, and each
	// window's manifest names it.
	runID := parquetout.NewRunID(time.Now())
	o.audit.meta = map[string]string{parquetout.MetaRun: runID}
	aud, err := o.audit.load()
	if err != nil {
		return err
	}
	feed, err := o.audit.openAlerts(stdout, slogWriter{log})
	if err != nil {
		return err
	}
	aud.SetFeed(feed)
	defer aud.CloseFeed()
	eng, err := openEngine(log, o, hook)
	if err != nil {
		return err
	}
	defer eng.close()

	var pipes []*capture.Pipeline
	// Temporary files of a sensor that crashed or was killed can never be
	// finished: reclaim them before writing.
	removed, err := parquetout.RemoveStale(o.out)
	for _, p := range removed {
		log.Info("removed a temporary file left by a writer that is gone", "path", p)
	}
	if err != nil {
		log.Warn("reclaim stale temporary files", "err", err)
	}
	out := engine.NewWindow(aud, engine.WindowConfig{Dir: o.out, Sensor: o.sensor, Rotation: o.rotate,
		LossThreshold: o.lossThreshold, Run: runID, Stats: func() (packets, lost uint64) {
			packets, lost, _ = eng.stats()
			return packets, lost
		}, Tunnels: func() []decode.TunnelStats {
			// The workers are paused or stopped: their decoders are idle.
			var all []decode.TunnelStats
			for _, p := range pipes {
				all = append(all, p.Decoder().Tunnels()...)
			}
			return all
		}})
	if err := out.Open(time.Now()); err != nil {
		out.Abort()
		return err
	}
	pipes = make([]*capture.Pipeline, len(eng.srcs))
	var quotes *capture.Quotes
	if len(pipes) > 1 {
		// A fanout may put an ICMP error on another socket than the
		// flow it quotes.
		quotes = capture.NewQuotes(len(pipes))
	}
	for i := range pipes {
		cfg := capture.Config{Table: tableCfg, Quotes: quotes, QuotesIndex: i}
		aud.Configure(&cfg, out.Sink())
		pipes[i], err = capture.New(cfg)
		if err != nil {
			out.Abort()
			return err
		}
	}

	var ms *metricsSource // nil without --metrics
	if o.metrics != "" {
		ms = &metricsSource{pipes: pipes, aud: aud, stats: eng.stats, sensor: o.sensor}
		stop, err := serveMetrics(ctx, log, o.metrics, ms)
		if err != nil {
			out.Abort()
			return err
		}
		defer stop()
		log.Info("serving metrics", "addr", o.metrics)
	}

	// Workers: read, decode, track, judge. Their tick merges kernel
	// counters (eBPF), expires idle flows and obeys pause requests.
	ctls := make([]chan pause, len(pipes))
	errs := make([]error, len(pipes))
	var wg sync.WaitGroup
	for i, pipe := range pipes {
		ctls[i] = make(chan pause, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
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
				case p := <-ctls[i]:
					pipe.Flush()
					p.ack <- struct{}{}
					<-p.resume
				default:
				}
			}
			if errs[i] = pipe.RunLive(ctx, eng.srcs[i], time.Second, tick); errs[i] != nil {
				log.Error("capture worker stopped", "worker", i, "err", errs[i])
				cancel()
			}
			// What the kernel counted up to the end belongs to this window.
			mergeKernel()
		}()
	}
	log.Info("capturing", "interface", o.iface, "engine", eng.name, "workers", len(pipes), "sensor", o.sensor, "out", o.out, "rotate", o.rotate)

	// rotate pauses every worker at its next tick, ends the window and,
	// still paused, runs then (a reload), so that one window is judged by
	// one configuration.
	rotate := func(why string, then func()) {
		p := pause{ack: make(chan struct{}, len(pipes)), resume: make(chan struct{})}
		for _, c := range ctls {
			c <- p
		}
		for range pipes {
			select {
			case <-p.ack:
			case <-ctx.Done():
				// Shutting down: the workers flush at the end instead.
				close(p.resume)
				return
			}
		}
		ms.endWindow()
		rotateWindow(log, out, time.Now(), why)
		if then != nil {
			then()
		}
		close(p.resume)
	}
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-hup:
			rotate("reload", func() {
				if err := flagError(aud.Reload()); err != nil {
					log.Error("reload catalog and inventory: keeping the running configuration", "err", err)
				} else {
					log.Info("reloaded catalog and inventory")
				}
			})
		case now := <-ticker.C:
			if !now.Before(out.Until()) {
				rotate("schedule", nil)
			}
		}
	}
	wg.Wait()
	// Shutdown: every open flow and call, then the last window's files.
	var packets uint64
	for _, pipe := range pipes {
		pipe.Flush()
		packets += pipe.Stats().Packets.Load()
	}
	aud.FlushCalls()
	runErr := errors.Join(errs...)
	if err := out.Close(time.Now()); err != nil && runErr == nil {
		runErr = err
	}
	sip := aud.SIPLimits()
	log.Info("capture stopped", "packets", packets, "files", out.Seq(), "sip_calls_refused", sip.CallsRefused,
		"sip_streams_dropped", sip.StreamsDropped, "sip_messages_oversized", sip.MessagesOversized)
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return runErr
	}
	return nil
}

// slogWriter turns the alert feed's delivery-failure lines into log
// records, so --log json keeps stderr machine-readable.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.log.Warn("alert delivery failing", "detail", strings.TrimSpace(strings.TrimPrefix(string(p), "auditor: ")))
	return len(p), nil
}

// rotateWindow ends the window: open flows are flushed into it, its
// findings judged (missing flows included) and written, and the next
// window starts. The workers are paused.
func rotateWindow(log *slog.Logger, out *engine.Window, now time.Time, why string) {
	if err := out.Close(now); err != nil {
		log.Error("close capture window", "err", err)
	}
	if err := out.Open(now); err != nil {
		log.Error("open capture window: output stops here", "err", err)
	}
	log.Info("rotated output", "why", why, "seq", out.Seq())
}
