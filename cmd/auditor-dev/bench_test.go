package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), streams{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb}, args)
	return out.String(), errb.String(), code
}

func TestBenchUsageErrors(t *testing.T) {
	tests := []struct {
		args    []string
		message string
	}{
		{[]string{"bench", "--runs", "0"}, "--runs must be between 1 and 100"},
		{[]string{"bench", "--peers", "wireshark"}, `unknown peer "wireshark"`},
		{[]string{"bench", "--packets", "0"}, "--packets must be positive"},
		{[]string{"bench", "--workers", "0"}, "--workers must be between 1 and 256"},
		{[]string{"bench", "capture.pcap"}, `unexpected argument "capture.pcap"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[1:], " "), func(t *testing.T) {
			_, stderr, code := runCLI(t, tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.message) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, exitUsage, tt.message)
			}
		})
	}
}

func TestBenchSelectPeers(t *testing.T) {
	tests := []struct {
		flag []string
		want string
	}{
		{nil, "tshark-conv,tshark-voip,ndpi,heplify"},
		{[]string{"none"}, ""},
		{[]string{"all"}, "tshark-conv,tshark-voip,tshark-fields,ndpi,heplify"},
		{[]string{"ndpi", "tshark-fields", "ndpi"}, "ndpi,tshark-fields"},
	}
	for _, tt := range tests {
		peers, err := selectPeers(tt.flag)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range peers {
			names = append(names, p.name)
		}
		if got := strings.Join(names, ","); got != tt.want {
			t.Errorf("--peers %v: %q, want %q", tt.flag, got, tt.want)
		}
	}
}

// auditorBinary builds the auditor for the tests that measure it as a
// child process.
func auditorBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the auditor")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build the auditor with")
	}
	bin := filepath.Join(t.TempDir(), "auditor")
	if out, err := exec.Command("go", "build", "-o", bin, "../auditor").CombinedOutput(); err != nil {
		t.Fatalf("build auditor: %v\n%s", err, out)
	}
	return bin
}

// TestBenchPeersNotInstalled runs the command with an empty PATH: the
// auditor is measured, every peer is reported as not installed, and the
// command succeeds.
func TestBenchPeersNotInstalled(t *testing.T) {
	bin := auditorBinary(t)
	t.Setenv("PATH", t.TempDir())
	dir := t.TempDir()
	stdout, stderr, code := runCLI(t, "bench", "--auditor", bin, "--packets", "50000", "--runs", "2", "--dir", dir, "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res benchResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	c := res.Capture
	if !c.Generated || c.Path != filepath.Join(dir, "bench.pcapng") || c.Packets < 45_000 || c.Packets > 55_000 || c.Flows == 0 {
		t.Errorf("capture %+v", c)
	}
	if len(res.Tools) != 5 {
		t.Fatalf("%d tools, want the auditor and four default peers", len(res.Tools))
	}
	a := res.Tools[0]
	if a.Name != "auditor" || a.Status != statusOK || len(a.WallSeconds) != 2 || a.MedianWall <= 0 || a.MedianCPU <= 0 ||
		a.PacketsPerSecond <= 0 || a.RatioToAuditor != 1 || a.Command[0] != bin {
		t.Errorf("auditor %+v", a)
	}
	if runtime.GOOS == "linux" && (a.PeakRSS < 1<<20 || a.PeakRSS > 4<<30) {
		t.Errorf("auditor peak RSS %d bytes", a.PeakRSS)
	}
	for _, p := range res.Tools[1:] {
		if p.Status != statusNotInstalled || p.Install == "" || p.MedianWall != 0 {
			t.Errorf("peer %+v, want not installed", p)
		}
	}
	if len(res.Published) != 5 || res.Published[1].Tool != "heplify" || res.Published[1].WallSeconds != 7.4 || res.Published[1].Note != publishedNote {
		t.Errorf("published %+v", res.Published)
	}

	// The text form, on the kept capture: not generated again.
	stdout, stderr, code = runCLI(t, "bench", "--auditor", bin, "--capture", c.Path, "--runs", "1", "--peers", "ndpi")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"capture  " + c.Path, "auditor ", "ndpi ", "not installed (apt-get install libndpi-bin)",
		"published, not measured here", "heplify     SIP and RTCP only             7.40 s", "replay --progress never --json"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "generated") || strings.Contains(stderr, "generating") {
		t.Errorf("--capture of an existing file generated it again:\n%s\n%s", stdout, stderr)
	}
}

// TestBenchPeerOutcomes runs stand-in peers: one that works, whose output
// lands in the work directory, and one that fails, which is reported
// without failing the command.
func TestBenchPeerOutcomes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("stand-in peers are shell scripts")
	}
	bin := auditorBinary(t)
	tools := t.TempDir()
	script := func(name, body string) {
		if err := os.WriteFile(filepath.Join(tools, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script("tshark", `echo "conversations of $4"`)
	script("ndpiReader", `echo "ndpiReader: $2: no such capture" >&2; exit 3`)
	t.Setenv("PATH", tools)
	dir := t.TempDir()
	profiles := filepath.Join(dir, "profiles")
	stdout, stderr, code := runCLI(t, "bench", "--auditor", bin, "--packets", "5000", "--runs", "2", "--dir", dir,
		"--peers", "tshark-conv,ndpi", "--lock", filepath.Join(dir, "lock"), "--profile", profiles, "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res benchResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	// --profile kept a CPU and an allocation profile of one more replay:
	// gzip-compressed pprof protobufs.
	if len(res.Profiles) != 2 {
		t.Errorf("profiles %v, want CPU and allocations", res.Profiles)
	}
	for _, p := range res.Profiles {
		if b, err := os.ReadFile(p); err != nil || len(b) < 100 || b[0] != 0x1f || b[1] != 0x8b || filepath.Dir(p) != profiles {
			t.Errorf("profile %s: %d bytes, %v", p, len(b), err)
		}
	}
	conv, ndpi := res.Tools[1], res.Tools[2]
	if conv.Status != statusOK || len(conv.WallSeconds) != 2 || conv.RatioToAuditor <= 0 || conv.PacketsPerSecond <= 0 {
		t.Errorf("tshark-conv %+v", conv)
	}
	if out, err := os.ReadFile(filepath.Join(dir, "tshark-conv.out")); err != nil || string(out) != "conversations of "+res.Capture.Path+"\n" {
		t.Errorf("tshark-conv output %q, %v", out, err)
	}
	if ndpi.Status != statusFailed || !strings.Contains(ndpi.Error, "exit status 3: ndpiReader: "+res.Capture.Path+": no such capture") || len(ndpi.WallSeconds) != 0 {
		t.Errorf("ndpi %+v", ndpi)
	}
}

// TestBenchNeedsAuditor: without --auditor, and with no auditor beside the
// test binary or in PATH, bench says how to get one instead of measuring
// itself.
func TestBenchNeedsAuditor(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, stderr, code := runCLI(t, "bench", "--packets", "10", "--runs", "1")
	if code != exitUsage || !strings.Contains(stderr, "no auditor executable beside auditor-dev or in PATH") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
