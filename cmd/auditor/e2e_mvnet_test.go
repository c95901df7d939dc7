//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// mvHostNS is one host namespace of a multi-host topology: a name suffix
// and the addresses its interface carries (several hosts of the site may
// share a namespace; a flow between two of them never crosses the bridge,
// so the capture only sees flows between namespaces).
type mvHostNS struct {
	suffix string
	addrs  []string
}

// mvNet is a star of host namespaces joined by a bridge in a router
// namespace, all in one IPv4 /24. The capture runs on the bridge, so it
// sees every packet between two host namespaces, whichever they are.
type mvNet struct {
	*e2eNet
	ns map[string]string // suffix -> namespace name
}

// mvPrefix is the /24 of the multi-vendor topology; it exists only inside
// the test's namespaces.
const mvPrefix = "10.88.0."

// newMVNet checks the environment like newE2ENet and builds the star.
// Namespace and interface names start with "mv" and carry the process ID,
// so parallel runs and other tests never collide. IPv6 is switched off in
// every namespace: the kernel's router solicitations and MLD reports would
// otherwise be flows the test has to account for.
func newMVNet(t *testing.T, hosts []mvHostNS, tools ...string) *mvNet {
	t.Helper()
	if testing.Short() && os.Getenv("AUDITOR_E2E") != "require" {
		t.Skip("end-to-end test skipped in -short mode")
	}
	if os.Geteuid() != 0 {
		e2eUnavailable(t, "needs root for network namespaces (running as uid %d)", os.Geteuid())
	}
	for _, tool := range append([]string{"ip", "tcpdump", "ss", "sysctl"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			e2eUnavailable(t, "%s not installed: %v", tool, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), e2eBudget)
	t.Cleanup(cancel)

	base := fmt.Sprintf("mv%d-%d", os.Getpid()%100000, e2eSeq.Add(1))
	router, bridge := base+"r", base+"br"
	n := &mvNet{e2eNet: &e2eNet{t: t, ctx: ctx, dir: t.TempDir(), client: router, server: router, clientIf: bridge, serverIf: bridge},
		ns: map[string]string{}}
	if out, err := exec.CommandContext(ctx, "ip", "netns", "add", router).CombinedOutput(); err != nil {
		e2eUnavailable(t, "ip netns add: %v: %s", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() { n.deleteNamespace(router) })
	n.sysctl(router, "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
	// Without snooping the bridge joins no multicast group of its own: with
	// it, it reports membership of 224.0.0.106 (multicast router discovery)
	// from 0.0.0.0, an IGMP flow in the capture.
	n.ip("-n", router, "link", "add", bridge, "type", "bridge", "mcast_snooping", "0")
	n.ip("-n", router, "link", "set", "lo", "up")
	n.ip("-n", router, "link", "set", bridge, "up")

	for _, h := range hosts {
		name := base + h.suffix
		n.ip("netns", "add", name)
		t.Cleanup(func() { n.deleteNamespace(name) })
		n.ns[h.suffix] = name
		n.sysctl(name, "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
		port := name + "p"
		n.ip("link", "add", name, "netns", name, "type", "veth", "peer", "name", port, "netns", router)
		for _, a := range h.addrs {
			n.ip("-n", name, "addr", "add", a+"/24", "dev", name)
		}
		n.ip("-n", name, "link", "set", "lo", "up")
		n.ip("-n", name, "link", "set", name, "up")
		n.ip("-n", router, "link", "set", port, "master", bridge)
		n.ip("-n", router, "link", "set", port, "up")
	}
	return n
}

func (n *mvNet) sysctl(ns string, settings ...string) {
	n.t.Helper()
	args := append([]string{"netns", "exec", ns, "sysctl", "-q", "-w"}, settings...)
	if out, err := exec.CommandContext(n.ctx, "ip", args...).CombinedOutput(); err != nil {
		n.t.Fatalf("sysctl in %s: %v: %s", ns, err, bytes.TrimSpace(out))
	}
}

// nft loads a ruleset into namespace ns.
func (n *mvNet) nft(ns, ruleset string) {
	n.t.Helper()
	cmd := n.command(ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		n.t.Fatalf("nft in %s: %v: %s\n%s", ns, err, bytes.TrimSpace(out), ruleset)
	}
}

// runIn runs a client to completion with stdin as its input and returns
// its output and error, for clients whose failure is the point (a
// connection refused or timed out).
func (n *mvNet) runIn(ns, stdin string, timeout time.Duration, name string, args ...string) (string, error) {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(n.ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.Dir = n.dir
	cmd.WaitDelay = 2 * time.Second
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
