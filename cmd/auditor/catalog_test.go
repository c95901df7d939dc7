package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// -update-catalog rewrites testdata/catalog/*.golden; the name is specific
// so it cannot clash with other commands' golden flags in this package.
var updateCatalog = flag.Bool("update-catalog", false, "rewrite testdata/catalog/*.golden")

func runAuditor(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), streams{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb}, args)
	return out.String(), errb.String(), code
}

func TestCatalogGolden(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"lookup-single-port", []string{"catalog", "lookup", "--proto", "tcp", "--port", "5597"}},
		{"lookup-single-port-json", []string{"catalog", "lookup", "--proto", "tcp", "--port", "5597", "--vendor", "genesys-pureconnect", "--json"}},
		{"lookup-range", []string{"catalog", "lookup", "--proto", "udp", "--port", "20000"}},
		{"lookup-open-range", []string{"catalog", "lookup", "--proto", "udp", "--port", "5000", "--vendor", "imagicle-ucx", "--json"}},
		{"lookup-even", []string{"catalog", "lookup", "--proto", "udp", "--port", "5006", "--vendor", "sinch-contact-center"}},
		{"lookup-odd", []string{"catalog", "lookup", "--proto", "udp", "--port", "5007", "--vendor", "sinch-contact-center"}},
		{"lookup-area", []string{"catalog", "lookup", "--proto", "udp", "--port", "10200", "--vendor", "sinch-contact-center"}},
		{"lookup-no-match", []string{"catalog", "lookup", "--proto", "tcp", "--port", "1", "--vendor", "tegsoft", "--json"}},
		{"lookup-dynamic", []string{"catalog", "lookup", "--proto", "udp", "--port", "3", "--vendor", "genesys-pureconnect", "--dynamic"}},
		{"lookup-inventory", []string{"catalog", "lookup", "--proto", "tcp", "--port", "7597", "--inventory", "../../testdata/site-example.yaml"}},
		{"list-tegsoft", []string{"catalog", "list", "--vendor", "tegsoft"}},
		{"show-mrs-prompts", []string{"catalog", "show", "sinch-contact-center/mrs-prompts"}},
		{"roles-sinch", []string{"catalog", "roles", "sinch-contact-center"}},
		{"show-oracle", []string{"catalog", "show", "genesys-pureconnect/oracle-sql"}},
		{"roles-genesys-json", []string{"catalog", "roles", "genesys-pureconnect", "--json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runAuditor(t, tt.args...)
			if code != exitOK {
				t.Fatalf("exit %d, stderr %s", code, errOut)
			}
			golden := filepath.Join("testdata", "catalog", tt.name+".golden")
			if *updateCatalog {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update-catalog)", err)
			}
			if out != string(want) {
				t.Errorf("output differs from %s:\n got:\n%s\nwant:\n%s", golden, out, want)
			}
		})
	}
}

func TestCatalogLookupNoMatchIsEmpty(t *testing.T) {
	out, _, code := runAuditor(t, "catalog", "lookup", "--proto", "udp", "--port", "1", "--vendor", "incontact-wfo")
	if code != exitOK || out != "" {
		t.Errorf("no match: exit %d output %q, want 0 and nothing", code, out)
	}
}

func TestCatalogUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"catalog"},
		{"catalog", "frobnicate"},
		{"catalog", "lookup", "--port", "5060"},
		{"catalog", "lookup", "--proto", "sctp", "--port", "5060"},
		{"catalog", "lookup", "--proto", "tcp", "--port", "70000"},
		{"catalog", "list", "--vendor", "nobody"},
		{"catalog", "show"},
		{"catalog", "list", "--bogus"},
		{"catalog", "roles", "nobody"},
		{"catalog", "roles", "tegsoft", "imagicle-ucx"},
	} {
		if _, _, code := runAuditor(t, args...); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
	}
	if _, _, code := runAuditor(t, "catalog", "show", "nobody/nothing"); code != exitFailure {
		t.Errorf("show unknown entry: exit %d, want %d", code, exitFailure)
	}
}

func TestCatalogValidate(t *testing.T) {
	out, errOut, code := runAuditor(t, "catalog", "validate")
	if code != exitOK || !strings.HasPrefix(out, "ok: built-in catalog, 5 vendors") {
		t.Fatalf("built-in: exit %d out %q err %q", code, out, errOut)
	}
	out, errOut, code = runAuditor(t, "catalog", "validate", "../../testdata/site-example.yaml")
	if code != exitOK {
		t.Fatalf("site example: exit %d out %q err %q", code, out, errOut)
	}

	dir := t.TempDir()
	badCat := filepath.Join(dir, "bad-catalog.yaml")
	badInv := filepath.Join(dir, "bad-site.yaml")
	userCat := filepath.Join(dir, "user.yaml")
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(badCat, "schema: 1\nvendor: {id: acme, document: a.pdf, defaults: {section: S}}\nentries:\n  - {id: a, component: A, from: x, to: y, transport: tcp, ports: 99999, app: http}\n  - {id: b, component: B, from: x, to: y, transport: xtp, ports: 1, app: http}\n")
	write(badInv, "schema: 1\nsite: s\nvendors: [tegsoft, acme2]\nroles:\n  typo: [10.0.0.1]\noverrides:\n  - {entry: tegsoft/web-http, ports: 81}\n")
	write(userCat, "schema: 1\nvendor: {id: acme2, document: a.pdf, defaults: {section: S}}\nentries:\n  - {id: api, component: API, from: workstation, to: api-server, transport: tcp, ports: 9000, app: https, tls: required}\n")

	out, _, code = runAuditor(t, "catalog", "validate", badCat, badInv, "--catalog", userCat)
	if code != exitFailure {
		t.Errorf("bad files: exit %d, want %d", code, exitFailure)
	}
	for _, want := range []string{
		badCat + ":4:", "99999",
		badCat + ":5:", "xtp",
		badInv + ":5:3: role \"typo\"",
		badInv + ":7:13: override: tegsoft/web-http cannot be changed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, `vendor "acme2"`) {
		t.Errorf("vendor acme2 from --catalog reported unknown:\n%s", out)
	}
	// A syntax error hides nothing after it; near names are suggested;
	// overlapping addresses are warned about without failing.
	broken := filepath.Join(dir, "broken-site.yaml")
	write(broken, "schema: 2\nsite: s\nvendors: [genesys-pureconect]\nroles:\n  cic-server: [10.0.0.10\n  sql-servr: [10.0.0.5]\n")
	out, _, code = runAuditor(t, "catalog", "validate", broken)
	if code != exitFailure {
		t.Errorf("broken site: exit %d, want %d", code, exitFailure)
	}
	for _, want := range []string{
		broken + ":5:1:",
		`vendor "genesys-pureconect" is not in the catalog; did you mean "genesys-pureconnect"?`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}
	overlap := filepath.Join(dir, "overlap-site.yaml")
	write(overlap, "schema: 2\nsite: s\nvendors: [genesys-pureconnect]\nroles:\n  cic-server: [10.0.0.10]\n  sql-servr: [10.0.0.5]\n  workstation: [10.0.0.0/24]\n")
	out, _, _ = runAuditor(t, "catalog", "validate", overlap)
	for _, want := range []string{
		overlap + `:6:3: role "sql-servr" is not used by any entry of genesys-pureconnect or allow rule; did you mean "sql-server"?`,
		overlap + ":7:3: warning: 10.0.0.0/24 (workstation) overlaps 10.0.0.10, cic-server",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}
	fine := filepath.Join(dir, "fine-site.yaml")
	write(fine, "schema: 2\nsite: s\nvendors: [genesys-pureconnect]\nroles:\n  cic-server: [10.0.0.10]\n  workstation: [10.0.0.0/24]\n")
	if out, _, code = runAuditor(t, "catalog", "validate", fine); code != exitOK || !strings.Contains(out, "warning: 10.0.0.0/24") {
		t.Errorf("warnings only: exit %d, want %d; out %q", code, exitOK, out)
	}
	// The user catalog is usable by lookup too.
	out, _, code = runAuditor(t, "catalog", "lookup", "--catalog", userCat, "--proto", "tcp", "--port", "9000")
	if code != exitOK || !strings.Contains(out, "\nacme2/api ") {
		t.Errorf("lookup with --catalog: exit %d out %q", code, out)
	}
}
