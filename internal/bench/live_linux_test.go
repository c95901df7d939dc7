//go:build linux

package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	bpf "github.com/ccaudit/auditor/capture/live/ebpf"
	"github.com/ccaudit/auditor/internal/netnstest"
)

// lockPath is shared by every benchmark of the project that measures time.
const lockPath = "/tmp/auditor-bench.lock"

// mirrorMAC is the frames' destination: not the receiver's address, so the
// receiver's IP stack drops them unanswered, as on a mirror port.
var mirrorMAC = net.HardwareAddr{0x02, 0xa0, 0xd1, 0xee, 0, 1}

const (
	metricsAddr = "127.0.0.1:9108" // inside B's namespace: no clash with the host's
	benchFlows  = 500
	benchFrame  = 200
	// drain is how long a capture gets after the sender stops to read what
	// the kernel queued, and the eBPF engine to read its counters (once a
	// second), before its counters and CPU time are read.
	drain = 1500 * time.Millisecond
)

// lockedBuffer collects a child process's stderr while the test polls it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// buildAuditor builds cmd/auditor from this tree, or takes AUDITOR_BIN.
func buildAuditor(tb testing.TB) string {
	tb.Helper()
	if bin := os.Getenv("AUDITOR_BIN"); bin != "" {
		return bin
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		tb.Skip("no go command in PATH to build the auditor (or set AUDITOR_BIN)")
	}
	bin := filepath.Join(tb.TempDir(), "auditor")
	cmd := exec.Command(goBin, "build", "-o", bin, "github.com/ccaudit/auditor/cmd/auditor")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build auditor: %v\n%s", err, out)
	}
	return bin
}

// child is a capture process running in B's namespace.
type child struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan error
}

// startChild starts args in namespace ns and waits until its stderr says
// ready. ip netns exec execs the program, so the PID is the capture's own.
func startChild(tb testing.TB, ns netnstest.NS, ready string, args ...string) *child {
	tb.Helper()
	c := &child{stderr: &lockedBuffer{}, done: make(chan error, 1)}
	c.cmd = exec.Command("ip", append([]string{"netns", "exec", ns.Name}, args...)...)
	c.cmd.Stdout, c.cmd.Stderr = c.stderr, c.stderr
	if err := c.cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", args[0], err)
	}
	go func() { c.done <- c.cmd.Wait() }()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(c.stderr.String(), ready) {
		select {
		case err := <-c.done:
			tb.Fatalf("%s exited before it was ready (%v):\n%s", args[0], err, c.stderr)
		default:
		}
		if time.Now().After(deadline) {
			c.cmd.Process.Kill()
			<-c.done
			tb.Fatalf("%s not ready after 15s:\n%s", args[0], c.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c
}

// stop ends the child with SIGINT, as an operator's Ctrl-C, and returns
// its stderr.
func (c *child) stop(tb testing.TB) string {
	tb.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil {
		tb.Fatalf("interrupt %s: %v", c.cmd.Args[3], err)
	}
	select {
	case err := <-c.done:
		if err != nil {
			tb.Fatalf("%s: %v\n%s", c.cmd.Args[3], err, c.stderr)
		}
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
		tb.Fatalf("%s did not exit within 30s of SIGINT:\n%s", c.cmd.Args[3], c.stderr)
	}
	return c.stderr.String()
}

// baseline is the "engine" that captures nothing: what the sender and the
// receiving kernel do alone.
const baseline = "none"

// result is one measurement: an engine at one offered rate.
type result struct {
	engine     string
	target     float64       // packets/s asked of the sender
	send       SendResult    // what the sender did
	offered    uint64        // packets that reached B's interface
	linkDrops  uint64        // packets the sender's device refused or the veth dropped: never offered
	captured   uint64        // packets in the engine's output
	kernelDrop uint64        // the engine's own account of packets it lost
	cpu        time.Duration // the capture process's CPU time, sending and draining
	softirq    time.Duration // the machine's softirq time over the same span
	ring       uint64        // eBPF: packets the kernel sent to the ring buffer
	mapped     uint64        // eBPF: packets counted in the kernel's flow map only
}

func (r result) lost() int64 { return int64(r.offered) - int64(r.captured) }

// senderBound says the sender, not the capture, set the limit.
func (r result) senderBound() bool { return r.send.Rate() < 0.95*r.target || r.linkDrops > 0 }

func (r result) cpuPercent() float64 {
	return 100 * r.cpu.Seconds() / r.send.Elapsed.Seconds()
}

type benchEnv struct {
	pair    *netnstest.Pair
	sender  *Sender
	auditor string
	seconds time.Duration
}

// measure runs engine in B while the sender offers rate packets/s, under
// the machine-wide benchmark lock.
func (e *benchEnv) measure(b *testing.B, engine string, rate float64) result {
	b.Helper()
	unlock, err := Lock(lockPath)
	if err != nil {
		b.Fatal(err)
	}
	defer unlock()

	r := result{engine: engine, target: rate}
	if engine == baseline {
		e.offer(b, &r, 0)
		return r
	}
	out := b.TempDir()
	var c *child
	if engine == "tcpdump" {
		c = startChild(b, e.pair.B, "listening on", "tcpdump", "-i", e.pair.IfB, "-n", "-w", "/dev/null")
	} else {
		c = startChild(b, e.pair.B, "msg=capturing", e.auditor, "capture", "-i", e.pair.IfB, "--engine", engine,
			"--out", out, "--sensor", "bench", "--metrics", metricsAddr)
	}
	pid := c.cmd.Process.Pid
	stopped := false
	defer func() {
		if !stopped {
			c.cmd.Process.Kill()
			<-c.done
		}
	}()
	e.offer(b, &r, pid)

	if engine == "tcpdump" {
		stderr := c.stop(b)
		stopped = true
		counts, err := ParseTcpdumpSummary(stderr)
		if err != nil {
			b.Fatal(err)
		}
		r.captured, r.kernelDrop = counts.Captured, counts.Dropped
		return r
	}
	if engine == "ebpf" {
		st, err := ReadSensorStats(pid)
		if err != nil {
			b.Fatal(err)
		}
		r.ring, r.mapped = st.RingRecords, st.MapPackets
	}
	var samples map[string]float64
	if err := e.pair.B.Do(func() (err error) { samples, err = ScrapeMetrics(metricsAddr); return err }); err != nil {
		b.Fatal(err)
	}
	// Only the causes that are lost packets: AF_PACKET's ring overflows,
	// eBPF's packets neither the ring nor the map took (ring-full and
	// map-full packets are still counted).
	r.kernelDrop = uint64(SumMetric(samples, "auditor_capture_drops_total", `cause="kernel-drop"`) +
		SumMetric(samples, "auditor_capture_drops_total", `cause="lost"`))
	c.stop(b)
	stopped = true
	if r.captured, _, err = CapturedPackets(out); err != nil {
		b.Fatal(err)
	}
	return r
}

// offer runs the sender at r.target and fills in what it sent, what
// reached B, and the CPU the capture process pid (0: none) and the
// machine's softirqs used until the capture had time to drain.
func (e *benchEnv) offer(b *testing.B, r *result, pid int) {
	b.Helper()
	cpu := func() time.Duration {
		if pid == 0 {
			return 0
		}
		return must(ProcCPU(pid))(b)
	}
	linkBefore := must(LinkCounters(e.pair.B.Name, e.pair.IfB))(b)
	cpuBefore := cpu()
	sysBefore := must(ReadSystemCPU())(b)
	ctx, cancel := context.WithTimeout(context.Background(), e.seconds+5*time.Second)
	var err error
	r.send, err = e.sender.Send(ctx, r.target, e.seconds)
	cancel()
	if err != nil {
		b.Fatal(err)
	}
	time.Sleep(drain)
	r.cpu = cpu() - cpuBefore
	r.softirq = must(ReadSystemCPU())(b).Softirq - sysBefore.Softirq
	linkAfter := must(LinkCounters(e.pair.B.Name, e.pair.IfB))(b)
	r.offered = linkAfter.RxPackets - linkBefore.RxPackets
	r.linkDrops = linkAfter.RxDropped - linkBefore.RxDropped + r.send.Refused
}

func must[T any](v T, err error) func(testing.TB) T {
	return func(tb testing.TB) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}

// BenchmarkLiveCapture offers RTP-like traffic at increasing rates to each
// capture engine and to tcpdump, on a veth pair, and prints, per engine
// and rate, what was captured, lost and what it cost. An engine's sweep
// stops at the first rate where it lost packets or the sender could not
// deliver the rate. Run it alone, with -benchtime 1x:
//
//	go test ./internal/bench -run '^$' -bench LiveCapture -benchtime 1x
//
// AUDITOR_LIVEBENCH_RATES (packets/s, comma-separated),
// AUDITOR_LIVEBENCH_SECONDS (per rate) and AUDITOR_LIVEBENCH_ENGINES
// change the sweep; AUDITOR_BIN uses a prebuilt auditor.
func BenchmarkLiveCapture(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: network namespaces, AF_PACKET, eBPF")
	}
	rates := envList(b, "AUDITOR_LIVEBENCH_RATES", "100000,200000,400000,800000,1200000,1600000,2400000")
	engines := strings.Split(envOr("AUDITOR_LIVEBENCH_ENGINES", baseline+",afpacket,ebpf,tcpdump"), ",")
	seconds, err := strconv.ParseFloat(envOr("AUDITOR_LIVEBENCH_SECONDS", "3"), 64)
	if err != nil || seconds <= 0 || seconds > 10 {
		b.Fatalf("AUDITOR_LIVEBENCH_SECONDS=%q: want a number of seconds in (0, 10]", os.Getenv("AUDITOR_LIVEBENCH_SECONDS"))
	}
	env := &benchEnv{auditor: buildAuditor(b), pair: netnstest.NewPair(b), seconds: time.Duration(seconds * float64(time.Second))}
	frames, err := NewRTPFrames(Streams{Count: benchFlows, FrameLen: benchFrame, SrcMAC: env.pair.MACA, DstMAC: mirrorMAC})
	if err != nil {
		b.Fatal(err)
	}
	if err := env.pair.A.Do(func() (err error) { env.sender, err = OpenSender(env.pair.IfA, frames); return err }); err != nil {
		b.Fatal(err)
	}
	defer env.sender.Close()

	var results []result
	for _, engine := range engines {
		if engine == "tcpdump" {
			if _, err := exec.LookPath("tcpdump"); err != nil {
				b.Logf("tcpdump not installed: skipped")
				continue
			}
		}
		for _, rate := range rates {
			var r result
			b.Run(fmt.Sprintf("%s/%dk", engine, int(rate/1000)), func(b *testing.B) {
				for range b.N {
					r = env.measure(b, engine, rate)
				}
				b.ReportMetric(r.send.Rate(), "sent/s")
				if engine == baseline {
					return
				}
				b.ReportMetric(float64(r.lost()), "lost")
				b.ReportMetric(r.cpuPercent(), "cpu%")
				if r.ring+r.mapped > 0 {
					b.ReportMetric(100*float64(r.ring)/float64(r.ring+r.mapped), "ring%")
				}
			})
			if r.engine == "" { // the sub-benchmark failed or was filtered out
				break
			}
			results = append(results, r)
			if (r.engine != baseline && (r.lost() != 0 || r.kernelDrop > 0)) || r.senderBound() {
				break
			}
		}
	}
	if len(results) > 0 {
		// Straight to stdout: a parent benchmark's log is not shown.
		fmt.Printf("\n%d streams of %d-byte RTP frames, %g s per rate, %d CPUs\n%s\n",
			benchFlows, benchFrame, seconds, runtime.NumCPU(), table(results))
	}
}

func table(results []result) string {
	var sb strings.Builder
	w := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "engine\ttarget/s\tsent/s\toffered\tcaptured\tlost\tdrops\tcapture CPU\tns/pkt\tsoftirq CPU\tring share\t")
	for _, r := range results {
		sent := fmt.Sprintf("%.0fk", r.send.Rate()/1000)
		if r.senderBound() {
			sent += " (sender-bound)"
		}
		softirq := fmt.Sprintf("%.1f%%", 100*r.softirq.Seconds()/r.send.Elapsed.Seconds())
		captured, lost, drops, cpu, nsPerPkt, ring := "-", "-", "-", "-", "-", "-"
		if r.engine != baseline {
			captured, lost, drops = fmt.Sprint(r.captured), fmt.Sprint(r.lost()), fmt.Sprint(r.kernelDrop)
			cpu = fmt.Sprintf("%.1f%%", r.cpuPercent())
			if r.offered > 0 {
				nsPerPkt = fmt.Sprintf("%.0f", float64(r.cpu.Nanoseconds())/float64(r.offered))
			}
		}
		if r.ring+r.mapped > 0 {
			ring = fmt.Sprintf("%.2f%%", 100*float64(r.ring)/float64(r.ring+r.mapped))
		}
		fmt.Fprintf(w, "%s\t%.0fk\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n",
			r.engine, r.target/1000, sent, r.offered, captured, lost, drops, cpu, nsPerPkt, softirq, ring)
	}
	w.Flush()
	return sb.String()
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envList(tb testing.TB, name, def string) []float64 {
	var rates []float64
	for f := range strings.SplitSeq(envOr(name, def), ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 || v > 5e6 {
			tb.Fatalf("%s: %q is not a rate in packets/s", name, f)
		}
		rates = append(rates, v)
	}
	return rates
}

// The sender delivers the asked rate, and every frame it counts as sent
// reaches the other end of the veth.
func TestSenderRate(t *testing.T) {
	pair := netnstest.NewPair(t)
	frames, err := NewRTPFrames(Streams{Count: 50, SrcMAC: pair.MACA, DstMAC: mirrorMAC})
	if err != nil {
		t.Fatal(err)
	}
	var s *Sender
	if err := pair.A.Do(func() (err error) { s, err = OpenSender(pair.IfA, frames); return err }); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before, err := LinkCounters(pair.B.Name, pair.IfB)
	if err != nil {
		t.Fatal(err)
	}
	const rate = 20000
	res, err := s.Send(context.Background(), rate, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	after, err := LinkCounters(pair.B.Name, pair.IfB)
	if err != nil {
		t.Fatal(err)
	}
	if got := after.RxPackets - before.RxPackets; got != res.Sent || res.Refused != 0 {
		t.Errorf("sent %d (%d refused), %s received %d", res.Sent, res.Refused, pair.IfB, got)
	}
	if r := res.Rate(); r < 0.9*rate || r > 1.1*rate {
		t.Errorf("achieved %.0f packets/s, asked %d", r, rate)
	}
	if _, err := s.Send(context.Background(), 0, time.Second); err == nil {
		t.Error("rate 0 accepted")
	}
}

// ReadSensorStats finds a process's eBPF sensor through its file
// descriptors and reads what the sensor itself reports.
func TestReadSensorStats(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to load the eBPF sensor")
	}
	sensor, err := bpf.Load(bpf.Options{FirstPacketsUDP: 16})
	if errors.Is(err, bpf.ErrNotSupported) || errors.Is(err, os.ErrPermission) {
		t.Skipf("eBPF sensor unavailable: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer sensor.Close()
	pair := netnstest.NewPair(t)
	if err := pair.B.Do(func() error { return sensor.Attach(pair.IfB, bpf.HookTC) }); err != nil {
		t.Fatal(err)
	}
	frames, err := NewRTPFrames(Streams{Count: 10, SrcMAC: pair.MACA, DstMAC: mirrorMAC})
	if err != nil {
		t.Fatal(err)
	}
	var s *Sender
	if err := pair.A.Do(func() (err error) { s, err = OpenSender(pair.IfA, frames); return err }); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := s.Send(context.Background(), 10000, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadSensorStats(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	want, err := sensor.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want.RecordsRead, want.BadRecords = 0, 0
	if got != want {
		t.Errorf("ReadSensorStats = %+v, sensor.Stats = %+v", got, want)
	}
	// 16 first packets of each of the 10 streams go to the ring.
	if got.RingRecords+got.MapPackets != res.Sent || got.RingRecords != 10*16 {
		t.Errorf("sent %d: ring %d, map %d", res.Sent, got.RingRecords, got.MapPackets)
	}
	if _, err := ReadSensorStats(os.Getppid()); err == nil {
		t.Error("found a sensor in the parent process")
	}
}
