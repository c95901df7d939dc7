//go:build linux

package main

import (
	"bytes"
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
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The end-to-end tests run real protocol peers (sipp, dnsmasq, dig, openssl)
// in two network namespaces joined by a veth pair, capture the traffic with
// tcpdump and replay the capture. Nothing leaves the namespaces: the
// addresses below exist only on the veth pair.
const (
	e2eClientIP  = "10.203.0.1"
	e2eServerIP  = "10.203.0.2"
	e2eClientIP6 = "fd00:203::1"
	e2eServerIP6 = "fd00:203::2"

	// e2eBudget bounds a whole test: every command runs under a context
	// with this deadline, so a hung peer fails the test instead of hanging
	// the run.
	e2eBudget = 50 * time.Second
)

// e2eSeq makes namespace and interface names unique within the process,
// the process ID across concurrent runs on one machine.
var e2eSeq atomic.Int32

// e2eUnavailable skips the test, or fails it when CI demands the
// end-to-end tests (AUDITOR_E2E=require): there a missing tool is a broken
// CI image, not a reason to pass silently.
func e2eUnavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("AUDITOR_E2E") == "require" {
		t.Fatalf("end-to-end test cannot run (AUDITOR_E2E=require): %s", msg)
	}
	t.Skipf("end-to-end test skipped: %s (set AUDITOR_E2E=require to make this a failure)", msg)
}

// e2eNet is a client namespace and a server namespace joined by a veth
// pair, with IPv4 and IPv6 addresses on both ends.
type e2eNet struct {
	t        *testing.T
	ctx      context.Context
	dir      string // working directory of the peers, for their files
	client   string // namespace names
	server   string
	clientIf string // veth ends, named like their namespace
	serverIf string
}

// newE2ENet checks the environment, creates the namespaces and registers
// their removal. tools are the peer binaries the test needs besides ip and
// tcpdump.
func newE2ENet(t *testing.T, tools ...string) *e2eNet {
	t.Helper()
	if testing.Short() && os.Getenv("AUDITOR_E2E") != "require" {
		t.Skip("end-to-end test skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		e2eUnavailable(t, "needs root for network namespaces (running as uid %d)", os.Geteuid())
	}
	for _, tool := range append([]string{"ip", "tcpdump", "ss"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			e2eUnavailable(t, "%s not installed: %v", tool, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), e2eBudget)
	t.Cleanup(cancel)

	base := fmt.Sprintf("aud%d-%d", os.Getpid()%1000000, e2eSeq.Add(1))
	n := &e2eNet{t: t, ctx: ctx, dir: t.TempDir(),
		client: base + "a", server: base + "b", clientIf: base + "a", serverIf: base + "b"}
	if out, err := exec.CommandContext(ctx, "ip", "netns", "add", n.client).CombinedOutput(); err != nil {
		e2eUnavailable(t, "ip netns add: %v: %s", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() { n.deleteNamespace(n.client) })
	n.ip("netns", "add", n.server)
	t.Cleanup(func() { n.deleteNamespace(n.server) })

	n.ip("link", "add", n.clientIf, "netns", n.client, "type", "veth", "peer", "name", n.serverIf, "netns", n.server)
	for _, end := range []struct{ ns, dev, ip4, ip6 string }{
		{n.client, n.clientIf, e2eClientIP, e2eClientIP6},
		{n.server, n.serverIf, e2eServerIP, e2eServerIP6},
	} {
		n.ip("-n", end.ns, "addr", "add", end.ip4+"/24", "dev", end.dev)
		// nodad: duplicate address detection would keep the address
		// unusable for a second or two, and there is nobody to collide with.
		n.ip("-n", end.ns, "addr", "add", end.ip6+"/64", "dev", end.dev, "nodad")
		n.ip("-n", end.ns, "link", "set", "lo", "up")
		n.ip("-n", end.ns, "link", "set", end.dev, "up")
	}
	return n
}

func (n *e2eNet) ip(args ...string) {
	n.t.Helper()
	if out, err := exec.CommandContext(n.ctx, "ip", args...).CombinedOutput(); err != nil {
		n.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
}

// deleteNamespace runs at cleanup, after the test's context may have
// expired, so it has a deadline of its own. Deleting a namespace deletes
// the veth end in it, and with it the pair.
func (n *e2eNet) deleteNamespace(ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ip", "netns", "delete", ns).CombinedOutput(); err != nil {
		n.t.Errorf("cleanup: ip netns delete %s: %v: %s", ns, err, bytes.TrimSpace(out))
	}
}

// command prepares name args inside namespace ns. ip netns exec execs the
// program, so the process ID is the peer's own and signals reach it.
func (n *e2eNet) command(ns, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(n.ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.Dir = n.dir
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// run runs a command to completion in ns and returns its combined output;
// a non-zero exit fails the test.
func (n *e2eNet) run(ns, name string, args ...string) string {
	n.t.Helper()
	start := time.Now()
	out, err := n.command(ns, name, args...).CombinedOutput()
	if err != nil {
		n.t.Fatalf("%s %s (in %s, after %v): %v\n%s", name, strings.Join(args, " "), ns, time.Since(start).Round(time.Millisecond), err, out)
	}
	return string(out)
}

// e2eProc is a peer running in the background.
type e2eProc struct {
	name string
	cmd  *exec.Cmd
	log  string // stdout and stderr
	done chan struct{}
	err  error // set before done is closed
}

// start starts a long-running peer in ns. Its output goes to a file that
// the test log shows when the test fails; cleanup kills it if it is still
// running.
func (n *e2eNet) start(ns, name string, args ...string) *e2eProc {
	n.t.Helper()
	p := &e2eProc{name: name, cmd: n.command(ns, name, args...), done: make(chan struct{})}
	f, err := os.CreateTemp(n.dir, name+"-*.log")
	if err != nil {
		n.t.Fatal(err)
	}
	p.log = f.Name()
	p.cmd.Stdout, p.cmd.Stderr = f, f
	// The peer's standard input stays open until cleanup: openssl s_server
	// ends its connection when its input ends.
	stdin, keepOpen, err := os.Pipe()
	if err != nil {
		f.Close()
		n.t.Fatal(err)
	}
	p.cmd.Stdin = stdin
	err = p.cmd.Start()
	f.Close()
	stdin.Close()
	if err != nil {
		keepOpen.Close()
		n.t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	n.t.Cleanup(func() {
		keepOpen.Close()
		p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			n.t.Errorf("cleanup: %s (pid %d) did not exit after SIGKILL", name, p.cmd.Process.Pid)
		}
		if n.t.Failed() {
			n.t.Logf("%s %s output:\n%s", name, strings.Join(p.cmd.Args[5:], " "), tail(p.log, 4096))
		}
	})
	return p
}

// wait waits for the peer to exit on its own and fails the test if it
// exited with an error or did not exit in time.
func (p *e2eProc) wait(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("%s: %v\n%s", p.name, p.err, tail(p.log, 4096))
		}
	case <-time.After(timeout):
		t.Fatalf("%s still running after %v\n%s", p.name, timeout, tail(p.log, 4096))
	}
}

func (p *e2eProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func tail(path string, max int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

// waitListening polls ss in ns until something listens on port (proto
// "tcp" or "udp"), so clients never race their server's bind. p is the
// server: if it exits first, waiting is pointless.
func (n *e2eNet) waitListening(ns, proto string, port int, p *e2eProc) {
	n.t.Helper()
	flag := map[string]string{"tcp": "-Hltn", "udp": "-Hlun"}[proto]
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := n.command(ns, "ss", flag, "sport", "=", ":"+strconv.Itoa(port)).Output()
		if err == nil && len(bytes.TrimSpace(out)) > 0 {
			return
		}
		if p != nil && p.exited() {
			n.t.Fatalf("%s exited before listening on %s/%d: %v\n%s", p.name, proto, port, p.err, tail(p.log, 4096))
		}
		if time.Now().After(deadline) || n.ctx.Err() != nil {
			n.t.Fatalf("nothing listens on %s/%d in %s after 10s (ss: %v)", proto, port, ns, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// e2eCapture is tcpdump writing a pcap of one veth end.
type e2eCapture struct {
	proc *e2eProc
	path string
}

// startCapture starts tcpdump on the client's veth end and returns once it
// is capturing. The packet count bounds the file if a peer runs wild.
func (n *e2eNet) startCapture(maxPackets int) *e2eCapture {
	n.t.Helper()
	c := &e2eCapture{path: filepath.Join(n.dir, "capture.pcap")}
	// --immediate-mode hands every packet over as it comes (otherwise the
	// kernel holds a block back for up to a second, and SIGINT loses it),
	// -U writes it at once, -Z root keeps tcpdump able to write into the
	// root-owned test directory. With --immediate-mode the default buffer
	// holds only a few packets, fewer than an RTP burst: -s and -B size it.
	c.proc = n.start(n.client, "tcpdump", "-i", n.clientIf, "-n", "-U", "--immediate-mode", "-s", "2048", "-B", "8192", "-Z", "root",
		"-c", strconv.Itoa(maxPackets), "-w", c.path)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(tail(c.proc.log, 4096), "listening on") {
		if c.proc.exited() {
			n.t.Fatalf("tcpdump exited: %v\n%s", c.proc.err, tail(c.proc.log, 4096))
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("tcpdump not capturing after 10s\n%s", tail(c.proc.log, 4096))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c
}

// stop lets the last packets arrive, then stops tcpdump with SIGINT, which
// makes it flush the file and exit cleanly, and returns the file's path.
func (c *e2eCapture) stop(t *testing.T) string {
	t.Helper()
	time.Sleep(300 * time.Millisecond)
	if err := c.proc.cmd.Process.Signal(syscall.SIGINT); err != nil && !c.proc.exited() {
		t.Fatalf("stop tcpdump: %v", err)
	}
	c.proc.wait(t, 5*time.Second)
	t.Logf("%s", strings.Join(strings.Fields(tail(c.proc.log, 512)), " "))
	return c.path
}

// dial opens a TCP connection from inside namespace ns and closes it. The
// goroutine's thread enters the namespace and is never unlocked, so the
// runtime discards the thread, namespace and all, when the goroutine ends.
func (n *e2eNet) dial(ns, addr string) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open(filepath.Join("/run/netns", ns))
		if err != nil {
			errc <- err
			return
		}
		err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
		f.Close()
		if err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		d := net.Dialer{Timeout: 3 * time.Second}
		c, err := d.DialContext(n.ctx, "tcp", addr)
		if c != nil {
			c.Close()
		}
		errc <- err
	}()
	return <-errc
}

// isRefused tells a connection answered by RST from one that timed out or
// failed for another reason.
func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
