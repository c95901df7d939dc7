package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ccaudit/auditor/internal/synth"
)

// A benchPeer is another tool users weigh against the auditor, run on the
// same capture. Each peer does a job comparable to part of the auditor's.
type benchPeer struct {
	name string // --peers name
	what string // what the command computes
	bin  string // executable looked up in PATH
	// args builds the command line for the capture; hep is the address
	// of a HEP sink for peers that send to a collector.
	args    func(capture, hep string) []string
	install string // how to get it
	// inDefault peers run unless --peers says otherwise.
	inDefault bool
}

// benchPeers are the tools the auditor is compared against, in the order they run
// after the auditor in each round.
var benchPeers = []benchPeer{
	{
		name: "tshark-conv", what: "TCP and UDP conversation tables", bin: "tshark", install: "apt-get install tshark", inDefault: true,
		args: func(c, _ string) []string { return []string{"-n", "-q", "-r", c, "-z", "conv,tcp", "-z", "conv,udp"} },
	},
	{
		name: "tshark-voip", what: "SIP and RTP stream statistics", bin: "tshark", install: "apt-get install tshark", inDefault: true,
		args: func(c, _ string) []string {
			return []string{"-n", "-q", "-r", c, "-z", "sip,stat", "-z", "rtp,streams"}
		},
	},
	{
		name: "tshark-fields", what: "DNS query and TLS SNI field extraction", bin: "tshark", install: "apt-get install tshark",
		args: func(c, _ string) []string {
			return []string{"-n", "-r", c, "-Y", "dns.flags.response == 0 || tls.handshake.type == 1",
				"-T", "fields", "-e", "frame.number", "-e", "dns.qry.name", "-e", "tls.handshake.extensions_server_name"}
		},
	},
	{
		name: "ndpi", what: "nDPI flow classification", bin: "ndpiReader", install: "apt-get install libndpi-bin", inDefault: true,
		args: func(c, _ string) []string { return []string{"-i", c, "-q"} },
	},
	{
		name: "heplify", what: "SIP and RTCP to a HEP collector (a local UDP sink)", bin: "heplify", inDefault: true,
		install: "not in Debian: build github.com/sipcapture/heplify (needs cgo and libpcap-dev) and put it in PATH",
		args: func(c, hep string) []string {
			return []string{"-no-config", "-t", "pcap", "-rf", c, "-rs", "-eof-exit", "-vlan", "-m", "SIPRTCP", "-l", "error", "-hs", hep}
		},
	},
}

// benchPublished returns the project's reference figures for the 2.9 M-packet
// contact-center capture on one of the project's 2-core machines. They are
// printed as a reference, marked as not measured by this run.
func benchPublished() []publishedFigure {
	const n = publishedNote
	return []publishedFigure{
		{Tool: "bare Go", What: "decode and flow map only", WallSeconds: 0.92, Note: n},
		{Tool: "heplify", What: "SIP and RTCP only", WallSeconds: 7.4, Note: n},
		{Tool: "ndpiReader", What: "nDPI flow classification", WallSeconds: 14.2, PeakRSSBytes: 573 << 20, Note: n},
		{Tool: "tshark", What: "conversation tables", WallSeconds: 27.8, PeakRSSBytes: 1300 << 20, Note: n}, // 1.27 GiB,
		{Tool: "tshark", What: "DNS and TLS field extraction", WallSeconds: 54.6, Note: n},
	}
}

type publishedFigure struct {
	Tool         string  `json:"tool"`
	What         string  `json:"what"`
	WallSeconds  float64 `json:"wall_seconds"`
	PeakRSSBytes uint64  `json:"peak_rss_bytes,omitempty"`
	Note         string  `json:"note"`
}

const publishedNote = "published, not measured here"

type benchOptions struct {
	packets  int
	seed     uint64
	runs     int
	peers    listFlag
	capture  string
	dir      string
	auditor  string
	workers  int
	lock     string
	jsonOut  bool
	timeout  time.Duration
	profile  string
	selected []benchPeer
}

func runBench(ctx context.Context, s streams, args []string) error {
	o := benchOptions{}
	fs := newFlagSet(s, "bench", "[flags]")
	fs.IntVar(&o.packets, "packets", 2_900_000, "packets in the generated capture")
	fs.Uint64Var(&o.seed, "seed", 1, "generator seed")
	fs.IntVar(&o.runs, "runs", 3, "timed runs of each tool; they alternate, and the median is reported")
	fs.Var(&o.peers, "peers", "peers to run (comma-separated), none, or all: "+strings.Join(peerNames(false), ", ")+" (default: all but tshark-fields)")
	fs.StringVar(&o.capture, "capture", "", "capture to measure on; generated there first if missing (default: generate into the work directory)")
	fs.StringVar(&o.dir, "dir", "", "work directory for the capture and the tools' output, kept afterwards (default: a temporary one, removed)")
	fs.StringVar(&o.auditor, "auditor", "", "auditor executable to measure (default: an auditor beside this command, else in PATH)")
	fs.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "--workers for auditor replay (default: the usable cores, as replay's)")
	fs.StringVar(&o.lock, "lock", "", "hold an exclusive flock on this file during each timed run, so benchmarks sharing the machine never overlap")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up on a run after this long")
	fs.BoolVar(&o.jsonOut, "json", false, "print the results as one JSON object")
	fs.StringVar(&o.profile, "profile", "", "after the timed runs, replay once more (untimed) writing CPU and allocation profiles of the auditor into this directory")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if o.runs < 1 || o.runs > 100 {
		return usagef("--runs must be between 1 and 100, not %d", o.runs)
	}
	if o.packets < 1 {
		return usagef("--packets must be positive")
	}
	if o.workers < 1 || o.workers > 256 {
		return usagef("--workers must be between 1 and 256, not %d", o.workers)
	}
	if o.selected, err = selectPeers(o.peers); err != nil {
		return err
	}
	if o.auditor == "" {
		if o.auditor, err = findAuditor(); err != nil {
			return err
		}
	}

	res, err := measure(ctx, s, o)
	if err != nil {
		return err
	}
	if o.jsonOut {
		return json.NewEncoder(s.Stdout).Encode(res)
	}
	return printBench(s.Stdout, res)
}

// findAuditor looks for the auditor executable beside this one (go build
// -o bin/ ./cmd/... puts both there), then in PATH.
func findAuditor() (string, error) {
	if self, err := os.Executable(); err == nil {
		beside := filepath.Join(filepath.Dir(self), "auditor")
		if info, err := os.Stat(beside); err == nil && !info.IsDir() {
			return beside, nil
		}
	}
	if path, err := exec.LookPath("auditor"); err == nil {
		return path, nil
	}
	return "", usagef("no auditor executable beside auditor-dev or in PATH: build it (go build -o bin/ ./cmd/auditor) or give --auditor")
}

// listFlag is a repeatable flag that also splits on commas.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func peerNames(defaultOnly bool) []string {
	var names []string
	for _, p := range benchPeers {
		if p.inDefault || !defaultOnly {
			names = append(names, p.name)
		}
	}
	return names
}

func selectPeers(names []string) ([]benchPeer, error) {
	if len(names) == 0 {
		names = peerNames(true)
	}
	var out []benchPeer
	for _, n := range names {
		switch n {
		case "none":
			continue
		case "all":
			return benchPeers, nil
		}
		i := slices.IndexFunc(benchPeers, func(p benchPeer) bool { return p.name == n })
		if i < 0 {
			return nil, usagef("unknown peer %q (known: %s, all, none)", n, strings.Join(peerNames(false), ", "))
		}
		if !slices.ContainsFunc(out, func(p benchPeer) bool { return p.name == n }) {
			out = append(out, benchPeers[i])
		}
	}
	return out, nil
}

// benchResult is what bench prints; its JSON form is the --json output.
type benchResult struct {
	Capture   benchCapture      `json:"capture"`
	Machine   benchMachine      `json:"machine"`
	Runs      int               `json:"runs"`
	Tools     []*toolResult     `json:"tools"`
	Published []publishedFigure `json:"published"`
	// Profiles are the auditor's CPU and allocation profiles (--profile),
	// for go tool pprof.
	Profiles []string `json:"profiles,omitempty"`
}

type benchCapture struct {
	Path          string `json:"path"`
	Bytes         int64  `json:"bytes"`
	Packets       uint64 `json:"packets"`
	Flows         uint64 `json:"flows"`
	Generated     bool   `json:"generated"`
	Seed          uint64 `json:"seed,omitempty"`
	TargetPackets int    `json:"target_packets,omitempty"`
}

type benchMachine struct {
	CPUs      int    `json:"cpus"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	GoVersion string `json:"go_version"`
}

// Tool statuses.
const (
	statusOK           = "ok"
	statusNotInstalled = "not installed"
	statusFailed       = "failed"
)

type toolResult struct {
	Name    string   `json:"name"`
	What    string   `json:"what"`
	Status  string   `json:"status"`
	Error   string   `json:"error,omitempty"`
	Install string   `json:"install,omitempty"`
	Command []string `json:"command,omitempty"`

	WallSeconds []float64 `json:"wall_seconds,omitempty"`
	CPUSeconds  []float64 `json:"cpu_seconds,omitempty"`
	RSSBytes    []uint64  `json:"max_rss_bytes,omitempty"`

	MedianWall       float64 `json:"median_wall_seconds,omitempty"`
	MedianCPU        float64 `json:"median_cpu_seconds,omitempty"`
	PeakRSS          uint64  `json:"peak_rss_bytes,omitempty"`
	PacketsPerSecond float64 `json:"packets_per_second,omitempty"`
	// RatioToAuditor is this tool's median wall time over the auditor's:
	// 7 means seven times slower.
	RatioToAuditor float64 `json:"ratio_to_auditor,omitempty"`

	peer *benchPeer
}

func measure(ctx context.Context, s streams, o benchOptions) (*benchResult, error) {
	dir := o.dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "auditor-bench-")
		if err != nil {
			return nil, fmt.Errorf("create work directory: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create work directory: %w", err)
	}
	res := &benchResult{
		Runs:      o.runs,
		Machine:   benchMachine{CPUs: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH, GoVersion: runtime.Version()},
		Published: benchPublished(),
	}
	var err error
	if res.Capture, err = benchCaptureFile(ctx, s, o, dir); err != nil {
		return nil, err
	}
	if err := warmPageCache(res.Capture.Path); err != nil {
		return nil, err
	}

	hep, err := startHEPSink()
	if err != nil {
		return nil, err
	}
	defer hep.Close()

	aud := &toolResult{Name: "auditor", What: "replay: every parser, flows, calls and findings to Parquet", Status: statusOK,
		Command: []string{o.auditor, "replay", "--progress", "never", "--json", "--workers", strconv.Itoa(o.workers),
			"--out", filepath.Join(dir, "auditor-out"), res.Capture.Path}}
	res.Tools = append(res.Tools, aud)
	for i := range o.selected {
		p := &o.selected[i]
		t := &toolResult{Name: p.name, What: p.what, peer: p}
		path, err := exec.LookPath(p.bin)
		if err != nil {
			t.Status, t.Install = statusNotInstalled, p.install
		} else {
			t.Status, t.Command = statusOK, append([]string{path}, p.args(res.Capture.Path, hep.LocalAddr().String())...)
		}
		res.Tools = append(res.Tools, t)
	}

	lock, err := openBenchLock(o.lock)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	// Rounds alternate the tools, so a slow phase of the machine (another
	// job, thermal limits) spreads over all of them rather than one.
	for round := 0; round < o.runs; round++ {
		for _, t := range res.Tools {
			if t.Status != statusOK {
				continue
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			fmt.Fprintf(s.Stderr, "bench: round %d/%d: %s\n", round+1, o.runs, t.Name)
			out, err := timedRun(ctx, lock, o.timeout, dir, t)
			switch {
			case err != nil && t.peer == nil:
				return nil, fmt.Errorf("auditor replay: %w", err)
			case err != nil:
				t.Status, t.Error = statusFailed, err.Error()
			case t.peer == nil && round == 0:
				if err := readReplaySummary(out, &res.Capture); err != nil {
					return nil, err
				}
			}
		}
	}
	summarize(res)
	if o.profile != "" {
		if res.Profiles, err = profileRun(ctx, s, o, dir, aud); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// profileRun replays once more with --cpuprofile and --memprofile. It is
// not timed: profiling slows the run down.
func profileRun(ctx context.Context, s streams, o benchOptions, dir string, aud *toolResult) ([]string, error) {
	if err := os.MkdirAll(o.profile, 0o755); err != nil {
		return nil, fmt.Errorf("create profile directory: %w", err)
	}
	cpu, mem := filepath.Join(o.profile, "auditor-cpu.pprof"), filepath.Join(o.profile, "auditor-allocs.pprof")
	args := append(slices.Clone(aud.Command[1:len(aud.Command)-1]), "--cpuprofile", cpu, "--memprofile", mem, aud.Command[len(aud.Command)-1])
	fmt.Fprintf(s.Stderr, "bench: profiling: %s\n", shellQuote(append([]string{aud.Command[0]}, args...)))
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, aud.Command[0], args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("auditor replay with profiles: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return []string{cpu, mem}, nil
}

// benchCaptureFile generates the capture, or reuses --capture when it exists.
func benchCaptureFile(ctx context.Context, s streams, o benchOptions, dir string) (benchCapture, error) {
	c := benchCapture{Path: o.capture}
	if c.Path == "" {
		c.Path = filepath.Join(dir, "bench.pcapng")
	}
	if info, err := os.Stat(c.Path); err == nil && o.capture != "" {
		c.Bytes = info.Size()
		return c, nil
	}
	if err := ctx.Err(); err != nil {
		return c, err
	}
	fmt.Fprintf(s.Stderr, "bench: generating %d packets (seed %d) into %s\n", o.packets, o.seed, c.Path)
	st, err := synth.WriteFile(c.Path, synth.Options{Seed: o.seed, Packets: o.packets})
	if err != nil {
		return c, err
	}
	c.Bytes, c.Generated, c.Seed, c.TargetPackets = st.Bytes, true, o.seed, o.packets
	if info, err := os.Stat(c.Path); err == nil {
		c.Bytes = info.Size()
	}
	return c, nil
}

// warmPageCache reads the capture once, so the first timed run does not
// pay for the disk and the others not.
func warmPageCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	if _, err := io.Copy(io.Discard, f); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// readReplaySummary takes the packet and flow counts from the auditor's
// --json summary: every tool's packets/s is computed from them.
func readReplaySummary(out []byte, c *benchCapture) error {
	// The fields of auditor replay --json that bench reads.
	var sum struct {
		Frames uint64 `json:"frames"`
		Flows  uint64 `json:"flows"`
	}
	if err := json.Unmarshal(out, &sum); err != nil {
		return fmt.Errorf("auditor replay: read its JSON summary: %w", err)
	}
	if sum.Frames == 0 {
		return errors.New("auditor replay read no packets")
	}
	c.Packets, c.Flows = sum.Frames, sum.Flows
	return nil
}

// timedRun runs the tool once under the lock and records its wall time,
// CPU time and peak RSS. It returns the tool's standard output for the
// auditor (its JSON summary); peers' output goes to a file in dir.
func timedRun(ctx context.Context, lock *benchLock, timeout time.Duration, dir string, t *toolResult) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, t.Command[0], t.Command[1:]...)
	cmd.Dir = dir
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if t.peer != nil {
		f, err := os.Create(filepath.Join(dir, t.Name+".out"))
		if err != nil {
			return nil, fmt.Errorf("create output file: %w", err)
		}
		defer f.Close()
		cmd.Stdout = f
	}
	stderr := &tailBuffer{max: 2048}
	cmd.Stderr = stderr

	if err := lock.acquire(); err != nil {
		return nil, err
	}
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if uerr := lock.release(); err == nil {
		err = uerr
	}
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			err = fmt.Errorf("%w: %s", err, lastLine(msg))
		}
		return nil, err
	}
	ps := cmd.ProcessState
	t.WallSeconds = append(t.WallSeconds, wall.Seconds())
	t.CPUSeconds = append(t.CPUSeconds, (ps.UserTime() + ps.SystemTime()).Seconds())
	t.RSSBytes = append(t.RSSBytes, maxRSS(ps))
	return stdout.Bytes(), nil
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// tailBuffer keeps the last max bytes written: enough of a failing tool's
// stderr to say why, without holding a chatty tool's whole log.
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

// summarize computes medians, peaks and ratios.
func summarize(res *benchResult) {
	var base float64
	for _, t := range res.Tools {
		if t.Status != statusOK || len(t.WallSeconds) == 0 {
			continue
		}
		t.MedianWall = median(t.WallSeconds)
		t.MedianCPU = median(t.CPUSeconds)
		t.PeakRSS = slices.Max(t.RSSBytes)
		if t.MedianWall > 0 {
			t.PacketsPerSecond = float64(res.Capture.Packets) / t.MedianWall
		}
		if t.peer == nil {
			base = t.MedianWall
		}
	}
	for _, t := range res.Tools {
		if t.MedianWall > 0 && base > 0 {
			t.RatioToAuditor = t.MedianWall / base
		}
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func printBench(w io.Writer, res *benchResult) error {
	var b strings.Builder
	c := res.Capture
	fmt.Fprintf(&b, "capture  %s: %d packets, %d flows, %s", c.Path, c.Packets, c.Flows, humanBytes(uint64(c.Bytes)))
	if c.Generated {
		fmt.Fprintf(&b, " (generated: seed %d, %d packets asked)", c.Seed, c.TargetPackets)
	}
	fmt.Fprintf(&b, "\nmachine  %d CPUs, %s/%s, %s\n", res.Machine.CPUs, res.Machine.OS, res.Machine.Arch, res.Machine.GoVersion)
	fmt.Fprintf(&b, "runs     %d of each tool, alternating; median wall and CPU (user+sys) time, peak RSS of any run\n\n", res.Runs)

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TOOL\tWALL\tCPU\tPEAK RSS\tPACKETS/S\tVS AUDITOR\tWHAT")
	for _, t := range res.Tools {
		switch t.Status {
		case statusOK:
			ratio := "1.0x"
			if t.peer != nil {
				ratio = fmt.Sprintf("%.1fx slower", t.RatioToAuditor)
				if t.RatioToAuditor < 1 {
					ratio = fmt.Sprintf("%.1fx faster", 1/t.RatioToAuditor)
				}
			}
			fmt.Fprintf(tw, "%s\t%.2f s\t%.2f s\t%s\t%s\t%s\t%s\n", t.Name, t.MedianWall, t.MedianCPU,
				humanBytes(t.PeakRSS), siCount(t.PacketsPerSecond), ratio, t.What)
		case statusNotInstalled:
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\tnot installed (%s)\n", t.Name, t.Install)
		default:
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\tfailed: %s\n", t.Name, t.Error)
		}
	}
	tw.Flush()

	b.WriteString("\npublished figures (2.9 M-packet capture, 2-core machine; " + publishedNote + ")\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, p := range res.Published {
		rss := ""
		if p.PeakRSSBytes > 0 {
			rss = ", " + humanBytes(p.PeakRSSBytes)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%.2f s%s\n", p.Tool, p.What, p.WallSeconds, rss)
	}
	tw.Flush()

	if len(res.Profiles) > 0 {
		fmt.Fprintf(&b, "\nprofiles (go tool pprof %s)\n", res.Tools[0].Command[0])
		for _, p := range res.Profiles {
			fmt.Fprintf(&b, "  %s\n", p)
		}
	}

	b.WriteString("\ncommands\n")
	for _, t := range res.Tools {
		if len(t.Command) > 0 {
			fmt.Fprintf(&b, "  %-14s %s\n", t.Name, shellQuote(t.Command))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// siCount prints a rate as 1.79 M or 850 k.
func siCount(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f M", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0f k", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// shellQuote renders a command so it can be pasted into a shell.
func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.IndexFunc(a, func(r rune) bool { return !isShellSafe(r) }) < 0 {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

func isShellSafe(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,+@%", r)
}

// hepSink receives heplify's HEP datagrams and throws them away, standing
// in for a Homer collector so heplify does its full work.
type hepSink struct{ net.PacketConn }

func startHEPSink() (*hepSink, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("HEP sink: %w", err)
	}
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, _, err := c.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	return &hepSink{c}, nil
}
