package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/internal/duckdbtest"
	"github.com/ccaudit/auditor/report/parquetout"
)

// TestReplayWritesDNS checks replay's dns.parquet against the demo
// capture (124 queries, each answered; 27 of the answers NXDOMAIN, as
// tshark -Y 'dns.flags.response==1 && dns.flags.rcode==3' counts), that
// DNS flows carry their own question, and runs every SQL example of
// docs/schema-dns.md in DuckDB.
func TestReplayWritesDNS(t *testing.T) {
	flat := t.TempDir()
	if _, stderr, code := runCLI(t, "replay", "--site", "../../testdata/demo-site.yaml", "--out", flat, "../../testdata/demo.pcapng"); code != exitOK {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	rows, err := parquetout.ReadDNS(filepath.Join(flat, "dns.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	var nx, answered, chains int
	for _, r := range rows {
		if r.RCode == "NXDOMAIN" {
			nx++
		}
		if r.Answered && r.HasLatency && r.LatencyMillis >= 0 {
			answered++
		}
		if len(r.CNAMEChain) > 1 && r.CNAMEChain[0] == r.Query {
			chains++
		}
		if r.ClientPort == 53 || r.ServerPort != 53 || r.CommunityID == "" || r.Query == "" {
			t.Errorf("row %+v: client and server swapped or columns missing", r)
		}
	}
	if len(rows) != 124 || nx != 27 || answered != 124 || chains == 0 {
		t.Errorf("%d transactions, %d NXDOMAIN, %d answered with a latency, %d CNAME chains; want 124, 27, 124, some", len(rows), nx, answered, chains)
	}
	flows, err := parquetout.ReadFlows(filepath.Join(flat, "flows.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	var dnsFlows int
	for _, f := range flows {
		if f.App != "dns" {
			continue
		}
		dnsFlows++
		if f.DNSQuery == "" || f.DNSRCode == "" {
			t.Errorf("DNS flow %s:%d -> %s:%d without its question: %q %q", f.SrcIP, f.SrcPort, f.DstIP, f.DstPort, f.DNSQuery, f.DNSRCode)
		}
	}
	if dnsFlows == 0 {
		t.Fatal("no DNS flows")
	}

	hive := t.TempDir()
	part := filepath.Join(hive, "date=2026-11-02", "hour=09")
	os.MkdirAll(part, 0o755)
	for _, kind := range []string{"flows", "dns"} {
		data, err := os.ReadFile(filepath.Join(flat, kind+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(part, kind+"-s1-000001.parquet"), data, 0o644)
	}
	stmts := sqlStatements(t, "../../docs/schema-dns.md", func(s string) string {
		s = strings.ReplaceAll(s, "'auditor-out/**/", "'"+hive+"/**/")
		return strings.ReplaceAll(s, "'auditor-out/", "'"+flat+"/")
	})
	if len(stmts) < 7 {
		t.Fatalf("found %d statements in docs/schema-dns.md: the extraction is broken", len(stmts))
	}
	res := duckdbtest.Query(t, stmts)
	if len(res[0]) == 0 {
		t.Error("the NXDOMAIN example found nothing")
	}
	if len(res[2]) == 0 || len(res[3]) == 0 || len(res[5]) == 0 || len(res[6]) == 0 {
		t.Errorf("examples found nothing: latency %d, addresses %d, join %d, hive %d rows", len(res[2]), len(res[3]), len(res[5]), len(res[6]))
	}
}
