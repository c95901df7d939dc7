// Package duckdbtest runs SQL in DuckDB from tests, to check that the
// Parquet files the auditor writes read as analysts will read them. DuckDB
// is reached through its Node.js bindings, the only DuckDB this project's
// machines can install (npm); .ci/run installs them and names their
// directory in AUDITOR_DUCKDB_DIR. Without it the tests skip, unless
// AUDITOR_E2E=require.
package duckdbtest

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// script runs SQL statements (a JSON array on stdin) in one DuckDB
// connection and prints one JSON array of results per statement, or stops
// at the first failing one with its index and error.
const script = `import { DuckDBInstance } from '@duckdb/node-api';
const stmts = JSON.parse(await new Promise(r => { let s = ''; process.stdin.on('data', d => s += d); process.stdin.on('end', () => r(s)); }));
const con = await (await DuckDBInstance.create(':memory:')).connect();
const out = [];
for (let i = 0; i < stmts.length; i++) {
  try { out.push((await con.runAndReadAll(stmts[i])).getRowObjectsJson()); }
  catch (e) { console.log(JSON.stringify({failed: i, error: String(e)})); process.exit(0); }
}
console.log(JSON.stringify({results: out}));
`

// Query runs stmts in one DuckDB connection and returns each statement's
// rows, values as DuckDB's JSON renders them (numbers as strings). A
// statement DuckDB rejects fails the test.
func Query(t testing.TB, stmts []string) [][]map[string]any {
	t.Helper()
	dir := os.Getenv("AUDITOR_DUCKDB_DIR")
	node, err := exec.LookPath("node")
	if dir == "" || err != nil {
		if os.Getenv("AUDITOR_E2E") == "require" {
			t.Fatal("AUDITOR_DUCKDB_DIR or node missing, and AUDITOR_E2E=require")
		}
		t.Skip("DuckDB check skipped: set AUDITOR_DUCKDB_DIR to a directory with node_modules/@duckdb/node-api (see .ci/run)")
	}
	f, err := os.CreateTemp(dir, "auditor-test-*.mjs")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	f.WriteString(script)
	f.Close()
	in, _ := json.Marshal(stmts)
	cmd := exec.Command(node, f.Name())
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var res struct {
		Results [][]map[string]any
		Failed  *int
		Error   string
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("DuckDB output: %v\n%s", err, out)
	}
	if res.Failed != nil {
		t.Fatalf("DuckDB rejected statement %d: %s\n%s", *res.Failed, res.Error, stmts[*res.Failed])
	}
	return res.Results
}
