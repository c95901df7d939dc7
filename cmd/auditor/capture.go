package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	xbpf "golang.org/x/net/bpf"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/live"
	bpf "github.com/ccaudit/auditor/capture/live/ebpf"
	"github.com/ccaudit/auditor/engine"
	"github.com/ccaudit/auditor/report/alerts"
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
				return &usageError{Msg: fmt.Sprintf("--filter-bpf: %v", err)}
			}
			text = string(data)
		}
		prog, err := live.ParseBytecode(text)
		if err != nil {
			return &usageError{Msg: "--filter-bpf: " + err.Error()}
		}
		o.program = prog
	}
	hook, err := bpf.ParseHook(o.hook)
	if err != nil {
		return &usageError{Msg: err.Error()}
	}
	tableCfg := flow.DefaultConfig()
	tableCfg.MaxFlows = o.maxFlows
	if err := parseTimeouts(o.timeouts, &tableCfg); err != nil {
		return &usageError{Msg: err.Error()}
	}
	var log *slog.Logger
	if o.logFormat == "json" {
		log = slog.New(slog.NewJSONHandler(s.Stderr, nil))
	} else {
		log = slog.New(slog.NewTextHandler(s.Stderr, nil))
	}
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	return captureLive(ctx, log, s.Stdout, o, hook, tableCfg)
}

// captureLive runs the engine's live capture with the flags'
// configuration, serving its counters as Prometheus metrics with
// --metrics.
func captureLive(ctx context.Context, log *slog.Logger, stdout io.Writer, o captureOptions, hook bpf.Hook, tableCfg flow.Config) error {
	// SIGHUP reloads the catalog and inventory; registered first so that a
	// HUP during startup is not the default "terminate".
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	o.audit.sensor = o.sensor
	hooks := engine.CaptureHooks{ReloadError: flagError}
	if o.metrics != "" {
		hooks.Started = func(ctx context.Context, run *engine.CaptureRun) (func(), error) {
			ms := &metricsSource{counters: run.Counters, aud: run.Auditor, stats: run.Stats, quotes: run.Quotes, sensor: o.sensor}
			stop, err := serveMetrics(ctx, log, o.metrics, ms)
			if err != nil {
				return nil, err
			}
			log.Info("serving metrics", "addr", o.metrics)
			return stop, nil
		}
	}
	err := engine.Capture(ctx, engine.CaptureConfig{
		Interface: o.iface, Engine: o.engine, Hook: hook, Promiscuous: o.promisc, Filter: o.program, Workers: o.workers,
		Table: tableCfg, Out: o.out, Sensor: o.sensor, Rotate: o.rotate, LossThreshold: o.lossThreshold,
		Audit:    o.audit.config(),
		OpenFeed: func() (*alerts.Feed, error) { return o.audit.openAlerts(stdout, slogWriter{log}) },
		Reload:   hup, Log: log,
	}, hooks)
	return flagError(err)
}

// slogWriter turns the alert feed's delivery-failure lines into log
// records, so --log json keeps stderr machine-readable.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.log.Warn("alert delivery failing", "detail", strings.TrimSpace(strings.TrimPrefix(string(p), "auditor: ")))
	return len(p), nil
}
