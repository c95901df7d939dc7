package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ccaudit/auditor/internal/netnstest"
	"github.com/ccaudit/auditor/report/parquetout"
)

// syncBuffer collects the capture's log while the test polls it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startCapture runs `auditor capture` on the B end of the pair, inside B's
// namespace, and returns once it is capturing. stop ends it and returns
// its exit code.
func startCapture(t *testing.T, pair *netnstest.Pair, args ...string) (logs *syncBuffer, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	logs = &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		var code int
		err := pair.B.Do(func() error {
			code = run(ctx, streams{Stdin: strings.NewReader(""), Stdout: logs, Stderr: logs}, append([]string{"capture", "-i", pair.IfB}, args...))
			return nil
		})
		if err != nil {
			t.Errorf("enter namespace: %v", err)
		}
		done <- code
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "msg=capturing") {
		select {
		case code := <-done:
			cancel()
			t.Fatalf("capture exited with %d before capturing:\n%s", code, logs)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("capture did not start:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return logs, func() int {
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(15 * time.Second):
			t.Fatalf("capture did not stop:\n%s", logs)
			return -1
		}
	}
}

type flowCount struct{ out, in int64 }

// readCapturedFlows reads every flows file of a capture directory and sums
// packets per (proto, src, dst) as the auditor oriented them.
func readCapturedFlows(t *testing.T, dir string) (map[string]flowCount, []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "date=*", "hour=*", "flows-*.parquet"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no flows files in %s (%v)", dir, err)
	}
	got := map[string]flowCount{}
	for _, f := range files {
		md, err := parquetout.ReadMetadata(f)
		if err != nil || md["auditor.capture.packets_received"] == "" || md["auditor.capture.packets_dropped"] == "" {
			t.Errorf("%s: capture counters missing from metadata %v (%v)", f, md, err)
		}
		rows, err := parquetout.ReadFlows(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, r := range rows {
			k := fmt.Sprintf("%s %s:%d>%s:%d", r.Proto, r.SrcIP, r.SrcPort, r.DstIP, r.DstPort)
			c := got[k]
			c.out += r.PacketsOut
			c.in += r.PacketsIn
			got[k] = c
		}
	}
	return got, files
}

// TestCaptureEngines captures the generator's traffic on a veth pair with
// each engine and checks every flow direction it sent is in flows.parquet
// with exactly the packets sent, whether the packets went through the
// decoder or were counted in the kernel.
func TestCaptureEngines(t *testing.T) {
	for _, tc := range []struct{ name, engine, workers string }{
		{"afpacket", "afpacket", "1"},
		{"afpacket-fanout", "afpacket", "3"},
		{"ebpf", "ebpf", "1"},
	} {
		engine := tc.engine
		t.Run(tc.name, func(t *testing.T) {
			pair := netnstest.NewPair(t)
			out := t.TempDir()
			logs, stop := startCapture(t, pair, "--engine", engine, "--workers", tc.workers, "--out", out, "--sensor", "test")
			sent, err := pair.Traffic()
			if err != nil {
				stop()
				t.Fatal(err)
			}
			time.Sleep(1500 * time.Millisecond) // a tick: in-kernel counters are read once a second
			if code := stop(); code != exitOK {
				t.Fatalf("exit %d:\n%s", code, logs)
			}
			if engine == "ebpf" && strings.Contains(logs.String(), "eBPF engine unavailable") {
				t.Skip("eBPF not available here")
			}
			got, _ := readCapturedFlows(t, out)
			for _, d := range sent {
				if d.Packets < 0 {
					continue
				}
				proto := map[uint8]string{6: "tcp", 17: "udp"}[d.Proto]
				fwd := fmt.Sprintf("%s %s>%s", proto, d.Src, d.Dst)
				rev := fmt.Sprintf("%s %s>%s", proto, d.Dst, d.Src)
				switch {
				case got[fwd].out == int64(d.Packets):
				case got[rev].in == int64(d.Packets):
				default:
					t.Errorf("%s: %d packets sent, flows.parquet has %+v (reverse %+v)", fwd, d.Packets, got[fwd], got[rev])
				}
			}
			closed := fmt.Sprintf("tcp %s>%s", netip.AddrPortFrom(pair.AddrA, netnstest.ClosedPortA), netip.AddrPortFrom(pair.AddrB, netnstest.ClosedPortB))
			if _, ok := got[closed]; !ok {
				t.Errorf("connection to the closed port missing; flows: %v", keys(got))
			}
		})
	}
}

func keys(m map[string]flowCount) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// SIGHUP reloads the configuration and starts a new window, pausing every
// worker of an AF_PACKET fanout; shutting down in the middle of traffic
// leaves complete, readable files in the Hive layout.
func TestCaptureRotationAndShutdownMidTraffic(t *testing.T) {
	pair := netnstest.NewPair(t)
	out := t.TempDir()
	logs, stop := startCapture(t, pair, "--engine", "afpacket", "--workers", "2", "--out", out, "--sensor", "s1",
		"--site", "../../testdata/demo-site.yaml")
	if _, err := pair.Traffic(); err != nil {
		stop()
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "rotated output") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	blasted := make(chan int)
	go func() { n, _ := pair.Blast(ctx, 1_000_000); blasted <- n }()
	time.Sleep(300 * time.Millisecond)
	code := stop() // mid-traffic
	cancel()
	<-blasted
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, logs)
	}
	if !strings.Contains(logs.String(), "reloaded catalog and inventory") {
		t.Errorf("SIGHUP did not reload:\n%s", logs)
	}
	got, files := readCapturedFlows(t, out)
	if len(got) == 0 {
		t.Fatal("no flows captured")
	}
	now := time.Now().UTC()
	for _, kind := range []string{"flows", "findings", "calls", "dns"} {
		for _, seq := range []string{"000001", "000002"} {
			want := filepath.Join(out, "date="+now.Format("2006-01-02"), "hour="+now.Format("15"), kind+"-s1-"+seq+".parquet")
			if _, err := os.Stat(want); err != nil && now.Minute() != 0 { // an hour boundary during the test moves the partition
				t.Errorf("%s: %v (files: %v)", want, err, files)
			}
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(out, "*", "*", "*.tmp-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
	for _, f := range files {
		rows, err := parquetout.ReadFlows(f)
		if err != nil {
			t.Fatalf("%s unreadable: %v", f, err)
		}
		for _, r := range rows {
			if r.Sensor != "s1" {
				t.Fatalf("%s: row sensor %q", f, r.Sensor)
			}
		}
	}
}

// --filter-bpf takes tcpdump -ddd bytecode: only DNS reaches the pipeline.
func TestCaptureBPFFilter(t *testing.T) {
	pair := netnstest.NewPair(t)
	out := t.TempDir()
	const udp53 = "20,40 0 0 12,21 0 6 34525,48 0 0 20,21 0 15 17,40 0 0 54,21 12 0 53,40 0 0 56,21 10 11 53,21 0 10 2048,48 0 0 23,21 0 8 17,40 0 0 20,69 6 0 8191,177 0 0 14,72 0 0 14,21 2 0 53,72 0 0 16,21 0 1 53,6 0 0 262144,6 0 0 0"
	logs, stop := startCapture(t, pair, "--filter-bpf", udp53, "--out", out, "--sensor", "f")
	if _, err := pair.Traffic(); err != nil {
		stop()
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if code := stop(); code != exitOK {
		t.Fatalf("exit %d:\n%s", code, logs)
	}
	got, _ := readCapturedFlows(t, out)
	if len(got) == 0 {
		t.Fatal("the filter let nothing through")
	}
	for k := range got {
		if !strings.HasPrefix(k, "udp ") || !strings.HasSuffix(k, ":53") {
			t.Errorf("flow %s passed a udp-port-53 filter", k)
		}
	}
	// The DNS transactions went to the windows' dns files, with the sensor.
	dnsFiles, _ := filepath.Glob(filepath.Join(out, "date=*", "hour=*", "dns-f-*.parquet"))
	var transactions int
	for _, f := range dnsFiles {
		rows, err := parquetout.ReadDNS(f)
		if err != nil {
			t.Fatalf("%s unreadable: %v", f, err)
		}
		for _, r := range rows {
			if r.Sensor != "f" || r.ServerPort != 53 {
				t.Errorf("%s: row %+v", f, r)
			}
		}
		transactions += len(rows)
	}
	if transactions == 0 {
		t.Errorf("no DNS transactions in %v", dnsFiles)
	}
}

// UDP probes to a closed port, each answered by ICMP port unreachable,
// captured by an AF_PACKET fanout of 2 and 4 sockets: the kernel hashes
// the ICMP error onto whatever socket its own addresses pick, yet every
// probe's flow must get its error (as with one socket) and be judged
// blocked.
//
// Each probe leaves from its own source port. Left to the kernel, the
// ports are drawn at random and two of 24 probes share one about once in a
// hundred runs: the two probes are then one flow, with two packets and two
// errors, and a count of flows comes out one short although no error was
// lost.
func TestCaptureFanoutICMPReachesItsFlow(t *testing.T) {
	const (
		probes    = 24
		firstPort = 41000
	)
	for _, workers := range []string{"2", "4"} {
		t.Run("workers="+workers, func(t *testing.T) {
			pair := netnstest.NewPair(t)
			// Every probe must be answered: no ICMP rate limit in B.
			if err := pair.B.Run("sysctl", "-qw", "net.ipv4.icmp_ratelimit=0", "net.ipv4.icmp_msgs_per_sec=100000"); err != nil {
				t.Skip(err)
			}
			out := t.TempDir()
			logs, stop := startCapture(t, pair, "--engine", "afpacket", "--workers", workers, "--out", out, "--sensor", "fanout")
			answered := 0
			err := pair.A.Do(func() error {
				for i := range probes {
					from := net.UDPAddrFromAddrPort(netip.AddrPortFrom(pair.AddrA, uint16(firstPort+i)))
					c, err := net.DialUDP("udp4", from, net.UDPAddrFromAddrPort(netip.AddrPortFrom(pair.AddrB, 5060)))
					if err != nil {
						return err
					}
					c.Write([]byte(fmt.Sprintf("OPTIONS sip:probe%d SIP/2.0\r\n\r\n", i)))
					// The refusal comes back as ECONNREFUSED on the next read.
					c.SetReadDeadline(time.Now().Add(time.Second))
					if _, err := c.Read(make([]byte, 64)); errors.Is(err, syscall.ECONNREFUSED) {
						answered++
					}
					c.Close()
				}
				return nil
			})
			if err != nil {
				stop()
				t.Fatal(err)
			}
			time.Sleep(2500 * time.Millisecond) // two ticks: the exchange applies quotes at ticks
			if code := stop(); code != exitOK {
				t.Fatalf("exit %d:\n%s", code, logs)
			}
			if answered != probes {
				t.Fatalf("%d of %d probes answered by port unreachable", answered, probes)
			}
			files, _ := filepath.Glob(filepath.Join(out, "date=*", "hour=*", "flows-*.parquet"))
			// A probe or error the kernel dropped would be missing below:
			// the windows' loss counters say whether any was.
			var dropped []string
			type probe struct {
				rows, packets, errors int64
				verdicts              []string
			}
			got := map[int32]*probe{}
			for _, f := range files {
				if md, err := parquetout.ReadMetadata(f); err != nil || md["auditor.capture.packets_dropped"] != "0" {
					dropped = append(dropped, fmt.Sprintf("%s: packets_dropped %q (%v)", filepath.Base(f), md["auditor.capture.packets_dropped"], err))
				}
				rows, err := parquetout.ReadFlows(f)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rows {
					if r.Proto != "udp" || r.DstPort != 5060 || r.DstIP != pair.AddrB.String() {
						continue
					}
					p := got[r.SrcPort]
					if p == nil {
						p = &probe{}
						got[r.SrcPort] = p
					}
					p.rows++
					p.packets += r.PacketsOut + r.PacketsIn
					p.errors += int64(r.ICMPUnreach)
					p.verdicts = append(p.verdicts, r.Verdict)
				}
			}
			if len(dropped) > 0 {
				t.Errorf("the kernel dropped packets, which no probe of this size should cause: %v", dropped)
			}
			for i := range probes {
				port := int32(firstPort + i)
				p := got[port]
				delete(got, port)
				switch {
				case p == nil:
					t.Errorf("probe from port %d: no flow", port)
				case p.rows != 1 || p.packets != 1 || p.errors != 1 || p.verdicts[0] != "blocked":
					t.Errorf("probe from port %d: %d flow rows, %d packets, %d ICMP errors, verdicts %v; want one blocked flow of one packet with its error",
						port, p.rows, p.packets, p.errors, p.verdicts)
				}
			}
			for port, p := range got {
				t.Errorf("flow from port %d, which sent no probe: %+v", port, *p)
			}
		})
	}
}
