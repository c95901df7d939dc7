package main

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/ccaudit/auditor"

// devOnly reports whether a package is development-only: the synthetic
// capture generator, the live-capture measurement, the site capture
// generator of the role-suggestion tests, or a test helper (named ...test
// by convention). The shipped binary must link none of them.
func devOnly(path string) bool {
	switch path {
	case module + "/internal/synth", module + "/internal/bench", module + "/internal/sitegen":
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
		module + "/internal/synth":      true,
		module + "/internal/bench":      true,
		module + "/cmd/auditor-dev":     true,
		module + "/internal/duckdbtest": true,
		module + "/internal/netnstest":  true,
		module + "/internal/sitegen":    true,
		module + "/internal/version":    false,
		module + "/internal/cli":        false,
		module + "/engine":              false,
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
// classify and catalog never import a sink (report/...), the engine or a
// command; report never imports the engine or a command; and no product
// package imports a development-only one.
func TestImportLayers(t *testing.T) {
	lines := goList(t, "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", module+"/...")
	checked := 0
	for _, line := range lines {
		f := strings.Fields(line)
		pkg, imports := f[0], f[1:]
		if devOnly(pkg) {
			continue
		}
		checked++
		for _, imp := range imports {
			if devOnly(imp) {
				t.Errorf("%s imports %s, a development-only package", pkg, imp)
			}
			if why := layerViolation(pkg, imp); why != "" {
				t.Errorf("%s imports %s: %s", pkg, imp, why)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked %d packages: %v", checked, lines)
	}
}

// under reports whether pkg is the module's package dir or one below it.
func under(pkg, dir string) bool {
	return pkg == module+dir || strings.HasPrefix(pkg, module+dir+"/")
}

// layerViolation says why pkg may not import imp, or "" when it may. The
// layers, lowest first: capture, classify and catalog; report (the sinks
// and the report); engine, which owns a run; cmd.
func layerViolation(pkg, imp string) string {
	lower := under(pkg, "/capture") || under(pkg, "/classify") || under(pkg, "/catalog")
	switch {
	case lower && under(imp, "/report"):
		return "capture, classify and catalog must not depend on sinks"
	case (lower || under(pkg, "/report")) && under(imp, "/engine"):
		return "capture, classify, catalog and report must not depend on the engine, which drives them"
	case (lower || under(pkg, "/report") || under(pkg, "/engine")) && under(imp, "/cmd"):
		return "only commands import commands"
	}
	return ""
}

// TestLayerRule checks layerViolation itself, so TestImportLayers cannot
// pass by allowing everything.
func TestLayerRule(t *testing.T) {
	for _, tt := range []struct {
		pkg, imp string
		bad      bool
	}{
		{"/capture/flow", "/report/parquetout", true},
		{"/classify/verdict", "/engine", true},
		{"/catalog", "/engine", true},
		{"/catalog/rules", "/cmd/auditor", true},
		{"/report/compliance", "/engine", true},
		{"/report/suggest", "/engine/x", true},
		{"/engine", "/cmd/auditor", true},
		{"/engine", "/report/parquetout", false},
		{"/engine", "/capture", false},
		{"/report/compliance", "/catalog", false},
		{"/cmd/auditor", "/engine", false},
		{"/capture/live", "/capture/flow", false},
		{"/reporter", "/engine", false},
	} {
		if got := layerViolation(module+tt.pkg, module+tt.imp) != ""; got != tt.bad {
			t.Errorf("%s importing %s: violation %v, want %v", tt.pkg, tt.imp, got, tt.bad)
		}
	}
}
