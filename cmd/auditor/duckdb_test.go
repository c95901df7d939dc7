package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/internal/duckdbtest"
)

var sqlBlock = regexp.MustCompile("(?s)```sql\n(.*?)```")

// sqlStatements returns the statements of every sql block of a Markdown
// file, comments dropped, with rewrite applied.
func sqlStatements(t *testing.T, path string, rewrite func(string) string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stmts []string
	for _, m := range sqlBlock.FindAllStringSubmatch(string(data), -1) {
		var lines []string
		for _, l := range strings.Split(m[1], "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), "--") {
				lines = append(lines, l)
			}
		}
		for _, s := range strings.Split(strings.Join(lines, "\n"), ";") {
			s = strings.TrimSpace(s)
			// A bare WHERE fragment illustrates a condition; it is no statement.
			if s != "" && !strings.HasPrefix(s, "WHERE") {
				stmts = append(stmts, rewrite(s))
			}
		}
	}
	return stmts
}

// TestDuckDBReadsTheOutput checks, with DuckDB itself, that replay's files
// and a Hive directory written by two sensors read as tables with proper
// types, and that every SQL example in README.md and QUERIES.md runs.
func TestDuckDBReadsTheOutput(t *testing.T) {
	flat := t.TempDir()
	if _, stderr, code := runCLI(t, "replay", "--site", "../../testdata/demo-site.yaml", "--out", flat, "../../testdata/demo.pcapng"); code != exitOK {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	// The layout capture writes, for two sensors in one hour.
	hive := t.TempDir()
	part := filepath.Join(hive, "date=2026-11-02", "hour=09")
	os.MkdirAll(part, 0o755)
	for _, kind := range []string{"flows", "findings", "calls", "dns", "tunnels"} {
		data, err := os.ReadFile(filepath.Join(flat, kind+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		for _, sensor := range []string{"s1", "s2"} {
			os.WriteFile(filepath.Join(part, kind+"-"+sensor+"-000001.parquet"), data, 0o644)
		}
	}

	checks := []string{
		"SELECT typeof(first_seen) AS t, count(*) AS n FROM '" + flat + "/flows.parquet' GROUP BY 1",
		"SELECT count(*) AS n, min(date) AS d, min(hour) AS h FROM read_parquet('" + hive + "/**/flows-*.parquet', hive_partitioning = true)",
		"SELECT count(*) AS n FROM '" + flat + "/findings.parquet' WHERE kind = 'blocked'",
		"SELECT count(*) AS n FROM '" + flat + "/calls.parquet', unnest(media) AS t(m) WHERE m.packets > 0",
	}
	got := duckdbtest.Query(t, checks)
	if r := got[0]; len(r) != 1 || r[0]["t"] != "TIMESTAMP WITH TIME ZONE" || r[0]["n"] != "212" {
		t.Errorf("flows.parquet types: %v", r)
	}
	if r := got[1]; r[0]["n"] != "424" || r[0]["d"] != "2026-11-02" || r[0]["h"] != "09" {
		t.Errorf("Hive directory as one table: %v, want 424 rows of date 2026-11-02 hour 09", r)
	}
	if r := got[2]; r[0]["n"] != "3" {
		t.Errorf("blocked findings: %v", r)
	}
	if r := got[3]; r[0]["n"] == "0" {
		t.Errorf("calls.parquet media streams with packets: %v", r)
	}

	readme := sqlStatements(t, "../../README.md", func(s string) string {
		s = strings.ReplaceAll(s, "'auditor-out/**/", "'"+hive+"/**/")
		return strings.ReplaceAll(s, "'auditor-out/", "'"+flat+"/")
	})
	// QUERIES.md joins the catalog export it tells users to make.
	export, stderr, code := runCLI(t, "catalog", "list", "--json")
	if code != exitOK {
		t.Fatalf("catalog list --json: exit %d: %s", code, stderr)
	}
	catalogJSONL := filepath.Join(hive, "catalog.jsonl")
	os.WriteFile(catalogJSONL, []byte(export), 0o644)
	// ... and last night's JSON report.
	latest := filepath.Join(t.TempDir(), "latest.json")
	if _, stderr, code := runCLI(t, "report", "--in", hive, "--site", "../../testdata/demo-site.yaml", "--out", latest); code != exitOK {
		t.Fatalf("report: exit %d: %s", code, stderr)
	}
	queries := sqlStatements(t, "../../report/compliance/QUERIES.md", func(s string) string {
		s = strings.ReplaceAll(s, "'catalog.jsonl'", "'"+catalogJSONL+"'")
		s = strings.ReplaceAll(s, "'latest.json'", "'"+latest+"'")
		return strings.ReplaceAll(s, "'DIR/", "'"+hive+"/")
	})
	if len(readme) < 2 || len(queries) < 10 {
		t.Fatalf("found %d README and %d QUERIES.md statements: the extraction is broken", len(readme), len(queries))
	}
	readmeRows := duckdbtest.Query(t, readme)
	duckdbtest.Query(t, queries)
	// README's "what to fix first" query lists the most severe first:
	// severity sorted as text would put medium above high.
	rank := map[string]int{"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
	checked := false
	for i, stmt := range readme {
		if !strings.HasPrefix(stmt, "SELECT severity,") || !strings.Contains(stmt, "findings.parquet") {
			continue
		}
		checked = true
		rows := readmeRows[i]
		if len(rows) < 2 {
			t.Fatalf("what to fix first: %d rows", len(rows))
		}
		for j := 1; j < len(rows); j++ {
			if rank[fmt.Sprint(rows[j]["severity"])] > rank[fmt.Sprint(rows[j-1]["severity"])] {
				t.Errorf("what to fix first lists %s after %s", rows[j]["severity"], rows[j-1]["severity"])
			}
		}
	}
	if !checked {
		t.Error("README has no 'what to fix first' query on findings.parquet")
	}

	// The documentation's examples run too, against the same output.
	docs, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	var docStatements int
	for _, doc := range docs {
		if stmts := sqlStatements(t, doc, func(s string) string {
			s = strings.ReplaceAll(s, "'auditor-out/**/", "'"+hive+"/**/")
			return strings.ReplaceAll(s, "'auditor-out/", "'"+flat+"/")
		}); len(stmts) > 0 {
			docStatements += len(stmts)
			duckdbtest.Query(t, stmts)
		}
	}
	// README keeps two examples; the rest moved to docs/schema.md and others.
	if docStatements < 8 {
		t.Errorf("found %d SQL statements in docs/*.md: the extraction is broken", docStatements)
	}
}
