package rules

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ccaudit/auditor/catalog"
)

// netnsSite is an inContact WFO site split by a firewall: the client PCs
// on one side, the PREMISES server on the other.
const netnsSite = `schema: 2
site: rules-netns
vendors: [incontact-wfo]
roles:
  workstation: [10.77.1.0/24]
  premises-server: [10.77.2.2]
`

// TestNetnsFirewall loads the site's nft rules (policy drop) on a firewall
// namespace routing between a client and a server namespace, and shows the
// documented flow (workstation -> PREMISES server TCP 4510) passes while a
// port the documents do not list, and the documented port opened the wrong
// way, are dropped.
func TestNetnsFirewall(t *testing.T) {
	if testing.Short() && os.Getenv("AUDITOR_E2E") != "require" {
		t.Skip("namespace test skipped in -short mode")
	}
	needRootTool(t, "nft")
	for _, tool := range []string{"ip", "socat"} {
		if _, err := exec.LookPath(tool); err != nil {
			toolUnavailable(t, "%s not installed", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := fmt.Sprintf("rules%d", os.Getpid()%100000)
	cl, fw, sv := base+"c", base+"f", base+"s"
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	in := func(ns string, args ...string) []string { return append([]string{"ip", "netns", "exec", ns}, args...) }
	for _, ns := range []string{cl, fw, sv} {
		if out, err := exec.CommandContext(ctx, "ip", "netns", "add", ns).CombinedOutput(); err != nil {
			toolUnavailable(t, "ip netns add: %v: %s", err, bytes.TrimSpace(out))
		}
		t.Cleanup(func() {
			c, stop := context.WithTimeout(context.Background(), 10*time.Second)
			defer stop()
			if out, err := exec.CommandContext(c, "ip", "netns", "delete", ns).CombinedOutput(); err != nil {
				t.Errorf("cleanup: ip netns delete %s: %v: %s", ns, err, out)
			}
		})
		run(in(ns, "ip", "link", "set", "lo", "up")...)
	}
	run("ip", "link", "add", cl+"0", "netns", cl, "type", "veth", "peer", "name", fw+"0", "netns", fw)
	run("ip", "link", "add", sv+"0", "netns", sv, "type", "veth", "peer", "name", fw+"1", "netns", fw)
	for _, a := range [][3]string{{cl, cl + "0", "10.77.1.2/24"}, {fw, fw + "0", "10.77.1.1/24"}, {fw, fw + "1", "10.77.2.1/24"}, {sv, sv + "0", "10.77.2.2/24"}} {
		run(in(a[0], "ip", "addr", "add", a[2], "dev", a[1])...)
		run(in(a[0], "ip", "link", "set", a[1], "up")...)
	}
	run(in(cl, "ip", "route", "add", "default", "via", "10.77.1.1")...)
	run(in(sv, "ip", "route", "add", "default", "via", "10.77.2.1")...)
	run(in(fw, "sysctl", "-qw", "net.ipv4.ip_forward=1")...)

	c := defaultCatalog(t)
	inv, err := catalog.ReadInventory(strings.NewReader(netnsSite), "rules-netns.yaml")
	if err != nil {
		t.Fatal(err)
	}
	set, err := Build(c, inv, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteNft(&b, set, FormatOptions{Policy: PolicyDrop}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rules.nft")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	run(in(fw, "nft", "-f", path)...)

	// Listeners on both sides, on the documented port and on one no
	// entry lists, so a failed connection can only be the firewall.
	for _, l := range []struct{ ns, port string }{{sv, "4510"}, {sv, "2223"}, {cl, "4510"}} {
		cmd := exec.CommandContext(ctx, "ip", "netns", "exec", l.ns, "socat", "-u", "TCP-LISTEN:"+l.port+",reuseaddr,fork", "OPEN:/dev/null")
		cmd.WaitDelay = 2 * time.Second
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}
	dial := func(ns, addr string) error {
		var err error
		for range 20 { // the listener may not be up yet: retry a refused connect
			var out []byte
			out, err = exec.CommandContext(ctx, "ip", "netns", "exec", ns, "socat", "-u", "OPEN:/dev/null", "TCP:"+addr+",connect-timeout=2").CombinedOutput()
			if err == nil || !strings.Contains(string(out), "refused") {
				if err != nil {
					err = fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
				}
				return err
			}
			time.Sleep(100 * time.Millisecond)
		}
		return err
	}
	if err := dial(cl, "10.77.2.2:4510"); err != nil {
		t.Errorf("workstation -> premises-server 4510/tcp (incontact-wfo/silverlight-player) blocked: %v", err)
	}
	if err := dial(cl, "10.77.2.2:2223"); err == nil {
		t.Error("workstation -> premises-server 2223/tcp passed: no entry lists it")
	} else if !strings.Contains(err.Error(), "timed out") {
		t.Errorf("2223/tcp failed, but not by a drop: %v", err)
	}
	if err := dial(sv, "10.77.1.2:4510"); err == nil {
		t.Error("premises-server -> workstation 4510/tcp passed: the entry is one-way")
	}
	counters := run(in(fw, "nft", "list", "chain", "inet", "auditor_rules", "allow")...)
	if !strings.Contains(counters, "incontact-wfo/silverlight-player") {
		t.Errorf("allow chain lacks the entry:\n%s", counters)
	}
}
