//go:build linux

package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ccaudit/auditor/internal/bench"
	"github.com/ccaudit/auditor/internal/netnstest"
	"github.com/ccaudit/auditor/report/parquetout"
)

// parityTimeTolerance bounds how far a flow's first and last packet times
// may differ between live capture and replay: each capture takes its own
// timestamps (tcpdump's socket, the auditor's AF_PACKET socket, the eBPF
// program's clock at the hook). Measured here: up to 4 µs with AF_PACKET,
// 60 µs with eBPF. Everything else is compared exactly.
const parityTimeTolerance = time.Millisecond

// TestCaptureReplayParity captures the generator's traffic live with each
// engine while tcpdump records the same interface, replays tcpdump's file,
// and checks that both runs wrote the same flows: the same 5-tuples, and
// per flow exactly the same packets, bytes and payload bytes in each
// direction, TCP state and history, Community ID and verdict with its
// evidence; and the same findings. Only the capture times may differ, by
// parityTimeTolerance.
func TestCaptureReplayParity(t *testing.T) {
	parityNeeds(t)
	for _, engine := range []string{"afpacket", "ebpf"} {
		t.Run(engine, func(t *testing.T) {
			var sent []netnstest.Direction
			run := parityCapture(t, engine, func(p *netnstest.Pair) (err error) {
				sent, err = p.Traffic()
				return err
			})
			live := run.live
			// Two runs that both missed the traffic would agree too.
			for _, d := range sent {
				proto := map[uint8]string{6: "tcp", 17: "udp"}[d.Proto]
				fwd, rev := fmt.Sprintf("%s %s>%s", proto, d.Src, d.Dst), fmt.Sprintf("%s %s>%s", proto, d.Dst, d.Src)
				if _, ok := live[fwd]; !ok {
					if _, ok := live[rev]; !ok {
						t.Fatalf("%s not captured live; flows: %v", fwd, slices.Sorted(maps.Keys(live)))
					}
				}
			}
			compareParity(t, live, run.replay)
			compareFindings(t, readLiveFindings(t, run.liveOut), run.replayed.findings)
		})
	}
}

// parityNeeds skips (or, under AUDITOR_E2E=require, fails) a parity
// test the machine cannot run.
func parityNeeds(t *testing.T) {
	t.Helper()
	if testing.Short() && os.Getenv("AUDITOR_E2E") != "require" {
		t.Skip("end-to-end test skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		e2eUnavailable(t, "needs root for network namespaces and live capture (running as uid %d)", os.Geteuid())
	}
	for _, tool := range []string{"ip", "tcpdump"} {
		if _, err := exec.LookPath(tool); err != nil {
			e2eUnavailable(t, "%s not installed: %v", tool, err)
		}
	}
}

// parityRun is one parity test's two runs over the same traffic.
type parityRun struct {
	live     map[string]parquetout.FlowRow // the live capture's flows, by parityKey
	replayed *e2eResult                    // the replay of tcpdump's file
	replay   map[string]parquetout.FlowRow // its flows, by parityKey
	liveOut  string                        // the live capture's output directory
	pcap     string                        // tcpdump's file
}

// parityCapture captures what send makes on a fresh namespace pair with
// engine while tcpdump records the same interface, then replays tcpdump's
// file. Drops by tcpdump would make the replay, not the live capture, the
// one that is wrong, so they fail the test.
func parityCapture(t *testing.T, engine string, send func(*netnstest.Pair) error) *parityRun {
	t.Helper()
	pair := netnstest.NewPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), e2eBudget)
	t.Cleanup(cancel)
	n := &e2eNet{t: t, ctx: ctx, dir: t.TempDir()}

	pcap := startTcpdump(t, n, pair)
	liveOut := filepath.Join(n.dir, "live")
	logs, stop := startCapture(t, pair, "--engine", engine, "--out", liveOut, "--sensor", "parity")
	if err := send(pair); err != nil {
		stop()
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // a tick: in-kernel counters are read once a second
	code := stop()
	pcapPath := pcap.stop(t)
	if code != exitOK {
		t.Fatalf("capture: exit %d:\n%s", code, logs)
	}
	if counts, err := bench.ParseTcpdumpSummary(tail(pcap.proc.log, 4096)); err != nil || counts.Dropped > 0 {
		t.Fatalf("tcpdump's capture is incomplete (%+v, %v): no reference to compare with", counts, err)
	}
	r := &parityRun{live: readLiveFlowRows(t, liveOut), replayed: e2eReplay(t, pcapPath), replay: map[string]parquetout.FlowRow{},
		liveOut: liveOut, pcap: pcapPath}
	for _, row := range r.replayed.flows {
		addParityRow(t, r.replay, row, "replay")
	}
	return r
}

// startTcpdump records B's end of the pair into a pcap, as a user would
// record a capture to replay later.
func startTcpdump(t *testing.T, n *e2eNet, pair *netnstest.Pair) *e2eCapture {
	t.Helper()
	c := &e2eCapture{path: filepath.Join(n.dir, "live.pcap")}
	// --immediate-mode and -U: see e2eNet.startCapture. In immediate mode
	// libpcap's ring has one slot per snap length: the default 256 KiB in
	// the default 2 MiB buffer is 8 packets, less than the generator's RTP
	// burst. 2 KiB frames (the generator's are under 300 bytes) in 8 MiB
	// hold thousands.
	c.proc = n.start(pair.B.Name, "tcpdump", "-i", pair.IfB, "-n", "-U", "--immediate-mode", "-s", "2048", "-B", "8192",
		"-Z", "root", "-w", c.path)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(tail(c.proc.log, 4096), "listening on") {
		if c.proc.exited() {
			t.Fatalf("tcpdump exited: %v\n%s", c.proc.err, tail(c.proc.log, 4096))
		}
		if time.Now().After(deadline) {
			t.Fatalf("tcpdump not capturing after 10s\n%s", tail(c.proc.log, 4096))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c
}

func parityKey(r parquetout.FlowRow) string {
	return fmt.Sprintf("%s %s:%d>%s:%d", r.Proto, r.SrcIP, r.SrcPort, r.DstIP, r.DstPort)
}

func addParityRow(t *testing.T, m map[string]parquetout.FlowRow, r parquetout.FlowRow, what string) {
	t.Helper()
	k := parityKey(r)
	if _, dup := m[k]; dup {
		t.Fatalf("%s: flow %s written twice", what, k)
	}
	m[k] = r
}

// readLiveTable reads every file of one table a capture wrote into its
// Hive partitions under dir; a table with no file fails the test.
func readLiveTable[T any](t *testing.T, dir, table string, read func(string) ([]T, error)) []T {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "date=*", "hour=*", table+"-*.parquet"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no %s files in %s (%v)", table, dir, err)
	}
	var all []T
	for _, f := range files {
		rows, err := read(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		all = append(all, rows...)
	}
	return all
}

func readLiveFlowRows(t *testing.T, dir string) map[string]parquetout.FlowRow {
	t.Helper()
	rows := map[string]parquetout.FlowRow{}
	for _, r := range readLiveTable(t, dir, "flows", parquetout.ReadFlows) {
		addParityRow(t, rows, r, "live")
	}
	return rows
}

// parityView is what must be equal between live capture and replay.
type parityView struct {
	PacketsOut, BytesOut, PayloadOut int64
	PacketsIn, BytesIn, PayloadIn    int64
	State, History, CommunityID      string
	ICMPUnreach                      int32
	App, Verdict, Vendor, EntryID    string
	Reason, ClassifiedBy             string
	SNI, ServerName, CallID          string
}

func viewOf(r parquetout.FlowRow) parityView {
	return parityView{
		r.PacketsOut, r.BytesOut, r.PayloadOut, r.PacketsIn, r.BytesIn, r.PayloadIn,
		r.State, r.History, r.CommunityID, r.ICMPUnreach,
		r.App, r.Verdict, r.Vendor, r.EntryID, r.Reason, r.ClassifiedBy,
		r.SNI, r.ServerName, r.CallID,
	}
}

func compareParity(t *testing.T, live, replay map[string]parquetout.FlowRow) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(live)) {
		l := live[k]
		r, ok := replay[k]
		if !ok {
			t.Errorf("%s: captured live (%+v), not in the replay", k, viewOf(l))
			continue
		}
		if lv, rv := viewOf(l), viewOf(r); lv != rv {
			t.Errorf("%s differs:\n live   %+v\n replay %+v", k, lv, rv)
		}
		for _, ts := range []struct {
			name         string
			live, replay time.Time
		}{{"first_seen", l.FirstSeen, r.FirstSeen}, {"last_seen", l.LastSeen, r.LastSeen}} {
			if d := ts.live.Sub(ts.replay).Abs(); d > parityTimeTolerance {
				t.Errorf("%s: %s live %v, replay %v: %v apart", k, ts.name, ts.live, ts.replay, d)
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(replay)) {
		if _, ok := live[k]; !ok {
			t.Errorf("%s: in the replay (%+v), not captured live", k, viewOf(replay[k]))
		}
	}
}

func readLiveFindings(t *testing.T, dir string) []parquetout.FindingRow {
	t.Helper()
	return readLiveTable(t, dir, "findings", parquetout.ReadFindings)
}

// compareFindings compares findings without their times (compared on the
// flows) and sensor name (set only live), and wants at least one.
func compareFindings(t *testing.T, live, replay []parquetout.FindingRow) {
	t.Helper()
	if len(live) == 0 {
		t.Error("no findings live: the refused connection to the closed port is one")
	}
	compareFindingsExact(t, live, replay)
}
