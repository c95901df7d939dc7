package main

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/ccaudit/auditor"

// devOnly reports whether a package is development-only: the synthetic
// capture generator, the live-capture measurement, or a test helper
// (named ...test by convention). The shipped binary must link none of them.
func devOnly(path string) bool {
	switch path {
	case module + "/capture/synth", module + "/internal/bench":
		return true
	}
	return strings.HasPrefix(path, module+"/") && (strings.HasPrefix(path, module+"/cmd/auditor-dev") || strings.HasSuffix(path, "test"))
}

// goList runs go list in the module and returns its output lines.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list %v: %v\n%s", args, err, ee.Stderr)
		}
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// TestShippedBinaryHasNoDevCode keeps the generator, the benchmarks and the
// test helpers out of the auditor binary: they belong to cmd/auditor-dev
// and to tests.
func TestShippedBinaryHasNoDevCode(t *testing.T) {
	deps := goList(t, "-deps", ".")
	if len(deps) < 10 {
		t.Fatalf("go list -deps gave %d packages: %v", len(deps), deps)
	}
	for _, p := range deps {
		if devOnly(p) {
			t.Errorf("the auditor binary links %s, a development-only package", p)
		}
	}
}

// TestDevCodeRule checks devOnly itself, so the test above cannot pass by
// matching nothing.
func TestDevCodeRule(t *testing.T) {
	for path, want := range map[string]bool{
		module + "/capture/synth":       true,
		module + "/internal/bench":      true,
		module + "/cmd/auditor-dev":     true,
		module + "/internal/duckdbtest": true,
		module + "/internal/netnstest":  true,
		module + "/capture/live":        false,
		module + "/report/parquetout":   false,
		module + "/classify/sipcall":    false,
		"github.com/gopacket/gopacket":  false,
	} {
		if got := devOnly(path); got != want {
			t.Errorf("devOnly(%s) = %v, want %v", path, got, want)
		}
	}
}

// TestImportLayers keeps imports following the data flow: capture,
// classify and catalog never import a sink (report/...) or a command, and
// no product package imports a development-only one.
func TestImportLayers(t *testing.T) {
	lines := goList(t, "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", module+"/...")
	checked := 0
	for _, line := range lines {
		f := strings.Fields(line)
		pkg, imports := f[0], f[1:]
		if devOnly(pkg) {
			continue
		}
		lower := false
		for _, layer := range []string{"/capture", "/classify", "/catalog"} {
			if pkg == module+layer || strings.HasPrefix(pkg, module+layer+"/") {
				lower = true
			}
		}
		checked++
		for _, imp := range imports {
			if devOnly(imp) {
				t.Errorf("%s imports %s, a development-only package", pkg, imp)
			}
			if lower && (strings.HasPrefix(imp, module+"/report") || strings.HasPrefix(imp, module+"/cmd")) {
				t.Errorf("%s imports %s: capture, classify and catalog must not depend on sinks or commands", pkg, imp)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked %d packages: %v", checked, lines)
	}
}
