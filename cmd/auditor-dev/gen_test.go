package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/internal/synth"
)

func runGenCmd(t *testing.T, args ...string) (stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), streams{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb}, append([]string{"gen"}, args...))
	return errb.String(), code
}

func TestGenMatchesLibrary(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		opts synth.Options
	}{
		{"scenarios", []string{"--seed", "3", "--scenario", "dns,tls", "--scenario", "syn-rst"},
			synth.Options{Seed: 3, Scenarios: []synth.Scenario{synth.DNS, synth.TLS, synth.SYNRejected}}},
		{"pcap", []string{"--packets", "3000", "--format", "pcap", "--call", "5s"},
			synth.Options{Seed: 1, Packets: 3000, Format: synth.PCAP, CallDuration: 5e9}},
		{"demo", []string{"--demo"}, synth.DemoOptions()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, tt.name)
			stderr, code := runGenCmd(t, append(tt.args, "--out", out)...)
			if code != exitOK || !strings.Contains(stderr, "wrote "+out) {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var want bytes.Buffer
			if _, err := synth.Generate(&want, tt.opts); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("auditor-dev gen %v wrote %d bytes that differ from synth.Generate (%d bytes)", tt.args, len(got), want.Len())
			}
		})
	}
}

func TestGenDemoIsCommitted(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo.pcapng")
	if _, code := runGenCmd(t, "--demo", "--out", out); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../testdata/demo.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("testdata/demo.pcapng is stale: run go test ./internal/synth -run TestDemoGolden -update")
	}
}

func TestGenUsageErrors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.pcapng")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no output", []string{"--packets", "10"}, "--out is required"},
		{"unknown scenario", []string{"--scenario", "fax-over-pigeon", "--out", out}, "unknown scenario"},
		{"bad format", []string{"--format", "erf", "--out", out}, "unknown capture format"},
		{"negative packets", []string{"--packets", "-5", "--out", out}, "must not be negative"},
		{"positional", []string{"extra", "--out", out}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stderr, code := runGenCmd(t, tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, exitUsage, tt.want)
			}
		})
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed run left %s behind", out)
	}
}

func TestGenUnwritable(t *testing.T) {
	stderr, code := runGenCmd(t, "--out", filepath.Join(t.TempDir(), "missing", "x.pcapng"))
	if code != exitFailure || !strings.Contains(stderr, "create ") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
