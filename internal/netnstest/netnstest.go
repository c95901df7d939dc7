//go:build linux

// Package netnstest builds throwaway network namespaces joined by a veth
// pair, for tests of the live capture engines. Traffic stays inside them;
// t.Cleanup deletes them, and the veth pair with them.
package netnstest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// NS is a named network namespace (ip netns).
type NS struct {
	Name string
}

// Pair is two namespaces, A and B, joined by a veth pair with IPv4
// addresses, static neighbour entries and IPv6 off, so that the link
// carries only what a test sends: no ARP, no router solicitations.
type Pair struct {
	A, B         NS
	IfA, IfB     string // interface names, IfA in A and IfB in B
	AddrA, AddrB netip.Addr
	MACA, MACB   net.HardwareAddr
}

// NewPair creates the namespaces and the link, or skips the test when it
// cannot (not root, no ip command, namespaces unavailable).
func NewPair(t testing.TB) *Pair {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("netnstest: needs root to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("netnstest: no ip command (iproute2)")
	}
	var id [4]byte
	if _, err := rand.Read(id[:]); err != nil {
		t.Fatal(err)
	}
	suffix := hex.EncodeToString(id[:])
	p := &Pair{
		A: NS{"audtest-a-" + suffix}, B: NS{"audtest-b-" + suffix},
		IfA: "auda", IfB: "audb",
		AddrA: netip.MustParseAddr("10.199.0.1"), AddrB: netip.MustParseAddr("10.199.0.2"),
		MACA: net.HardwareAddr{0x02, 0xa0, 0xd1, 0, 0, 1}, MACB: net.HardwareAddr{0x02, 0xa0, 0xd1, 0, 0, 2},
	}
	if err := run("ip", "netns", "add", p.A.Name); err != nil {
		t.Skipf("netnstest: network namespaces unavailable: %v", err)
	}
	t.Cleanup(func() { _ = run("ip", "netns", "del", p.A.Name) })
	if err := run("ip", "netns", "add", p.B.Name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run("ip", "netns", "del", p.B.Name) })

	steps := [][]string{
		{"ip", "link", "add", p.IfA, "address", p.MACA.String(), "netns", p.A.Name,
			"type", "veth", "peer", "name", p.IfB, "address", p.MACB.String(), "netns", p.B.Name},
	}
	for _, side := range []struct {
		ns      NS
		ifc     string
		addr    netip.Addr
		peer    netip.Addr
		peerMAC net.HardwareAddr
	}{{p.A, p.IfA, p.AddrA, p.AddrB, p.MACB}, {p.B, p.IfB, p.AddrB, p.AddrA, p.MACA}} {
		steps = append(steps,
			[]string{"ip", "netns", "exec", side.ns.Name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"},
			[]string{"ip", "netns", "exec", side.ns.Name, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"},
			[]string{"ip", "-n", side.ns.Name, "link", "set", "lo", "up"},
			[]string{"ip", "-n", side.ns.Name, "addr", "add", side.addr.String() + "/24", "dev", side.ifc},
			[]string{"ip", "-n", side.ns.Name, "neigh", "replace", side.peer.String(), "lladdr", side.peerMAC.String(),
				"dev", side.ifc, "nud", "permanent"},
		)
	}
	steps = append(steps,
		[]string{"ip", "netns", "exec", p.A.Name, "sysctl", "-qw", "net.ipv6.conf." + p.IfA + ".disable_ipv6=1"},
		[]string{"ip", "netns", "exec", p.B.Name, "sysctl", "-qw", "net.ipv6.conf." + p.IfB + ".disable_ipv6=1"},
		[]string{"ip", "-n", p.A.Name, "link", "set", p.IfA, "up"},
		[]string{"ip", "-n", p.B.Name, "link", "set", p.IfB, "up"},
	)
	for _, s := range steps {
		if err := run(s...); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func run(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Do runs f on an OS thread that has joined the namespace, so that the
// sockets, interface lookups and attachments f makes belong to it. The
// thread is discarded afterwards rather than switched back: a thread whose
// namespace could not be restored must never run other goroutines.
func (ns NS) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Deliberately no UnlockOSThread: the thread exits with the goroutine.
		fd, err := unix.Open("/run/netns/"+ns.Name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("open namespace %s: %w", ns.Name, err)
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			errc <- fmt.Errorf("enter namespace %s: %w", ns.Name, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// Run runs a command inside the namespace.
func (ns NS) Run(args ...string) error {
	return run(append([]string{"ip", "netns", "exec", ns.Name}, args...)...)
}
