package schemagen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	for in, want := range map[string]string{
		"FlowRow": "flowWire", "DNSRow": "dnsWire", "DNSAnswerRow": "dnsAnswerWire", "CallMediaRow": "callMediaWire",
	} {
		if got := wireName(in); got != want {
			t.Errorf("wireName(%s) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{"src_ip": "srcIP", "entry_id": "entryID", "first_seen": "firstSeen", "ja4": "ja4", "dns_rcode": "dnsRcode"} {
		if got := camel(in); got != want {
			t.Errorf("camel(%s) = %s, want %s", in, got, want)
		}
	}
}

// genFrom runs the generator on a package holding src (besides minimal
// rows for the tables it does not test).
func genFrom(t *testing.T, src string) (map[string][]byte, error) {
	t.Helper()
	dir := t.TempDir()
	rest := "package p\n\nimport \"time\"\n\n"
	for _, tbl := range Tables {
		if !strings.Contains(src, "type "+tbl+" struct") {
			rest += "type " + tbl + " struct {\n\tA string `parquet:\"a\"`\n}\n\n"
		}
	}
	rest += "var _ time.Time\n"
	if err := os.WriteFile(filepath.Join(dir, "rest.go"), []byte(rest), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rows.go"), []byte("package p\n\nimport \"time\"\n\nvar _ time.Time\n\n"+src), 0o644); err != nil {
		t.Fatal(err)
	}
	return Generate(dir)
}

// The NULL rules come out as the conversions the wire.go helpers give.
func TestRules(t *testing.T) {
	files, err := genFrom(t, "type FindingRow struct {\n"+
		"\tDstIP string `parquet:\"dst_ip,optional\"`\n"+
		"\tPort int32 `parquet:\"port,optional\" wire:\"zeroif=DstIP\"`\n"+
		"\tRank int32 `parquet:\"rank,optional\" wire:\"always\"`\n"+
		"\tOK bool `parquet:\"-\"`\n"+
		"\tCode int32 `parquet:\"code,optional\" wire:\"if=OK\"`\n"+
		"\tAt time.Time `parquet:\"at,timestamp(microsecond:utc),optional\"`\n"+
		"\tName string `parquet:\"name\"`\n"+
		"\tNames []string `parquet:\"names,list\"`\n"+
		"}\n")
	if err != nil {
		t.Fatal(err)
	}
	src := string(files[WireFile])
	for _, want := range []string{
		"DstIP: optStr(&r.DstIP)", "Port:  opt(&r.Port)", "if r.DstIP != \"\" {\n\t\tw.Port = &r.Port",
		"Rank:  &r.Rank", "if r.OK {\n\t\tw.Code = &r.Code", "At:    optTime(&r.At)", "Name:  str(r.Name)",
		"a.strings = append(a.strings, str(s))", "n.strings += len(r.Names)",
		"Port  *int32", "Code  *int32", "At    *time.Time", "Names []string",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("generated code lacks %q:\n%s", want, src)
		}
	}
}

// What the generator cannot write correctly it refuses, naming the field.
func TestRefuses(t *testing.T) {
	for name, src := range map[string]string{
		"rule on a required column": "type FindingRow struct {\n\tA int32 `parquet:\"a\" wire:\"always\"`\n}\n",
		"unknown rule":              "type FindingRow struct {\n\tA int32 `parquet:\"a,optional\" wire:\"never\"`\n}\n",
		"condition not a field":     "type FindingRow struct {\n\tA int32 `parquet:\"a,optional\" wire:\"if=B\"`\n}\n",
		"no parquet tag":            "type FindingRow struct {\n\tA int32\n}\n",
		"unsupported type":          "type FindingRow struct {\n\tA uint16 `parquet:\"a\"`\n}\n",
		"strings in a copied struct": "type FindingRow struct {\n\tQ *Q `parquet:\"q,optional\"`\n}\n\n" +
			"type Q struct {\n\tS string `parquet:\"s\"`\n}\n",
		"flows column the encoder lacks": "type FlowRow struct {\n\tB bool `parquet:\"b\"`\n}\n",
	} {
		if _, err := genFrom(t, src); err == nil {
			t.Errorf("%s: generated", name)
		}
	}
}

// The dns encoder's columns follow DNSRow's leaves, list elements' fields
// included, and write NULL where the wire rules do.
func TestDNSColumns(t *testing.T) {
	files, err := genFrom(t, "type DNSRow struct {\n"+
		"\tAt time.Time `parquet:\"at,timestamp(microsecond:utc),optional\"`\n"+
		"\tIP string `parquet:\"ip,optional\"`\n"+
		"\tPort int32 `parquet:\"port,optional\" wire:\"zeroif=IP\"`\n"+
		"\tRank int64 `parquet:\"rank,optional\" wire:\"always\"`\n"+
		"\tOK bool `parquet:\"ok\"`\n"+
		"\tCode string `parquet:\"code,optional\" wire:\"if=OK\"`\n"+
		"\tMs float64 `parquet:\"ms,optional\"`\n"+
		"\tRRs []RR `parquet:\"rrs,list\"`\n"+
		"\tNames []string `parquet:\"names,list\"`\n"+
		"}\n\n"+
		"type RR struct {\n\tName string `parquet:\"name\"`\n\tTTL int64 `parquet:\"ttl\"`\n}\n")
	if err != nil {
		t.Fatal(err)
	}
	src := string(files[DNSColsFile])
	for _, want := range []string{
		"at      optColumn[int64]", "port    optColumn[int32]", "ok      boolColumn", "ms      optColumn[float64]",
		"rrsName strListColumn", "rrsTtl  listColumn", "names   strListColumn",
		`c.rrsName.col = "rrs.list.element.name"`, `c.names.col = "names.list.element"`,
		"c.at.add(r.At.UnixMicro(), !r.At.IsZero())", "c.ip.add(r.IP)",
		`c.port.add(r.Port, r.Port != 0 || r.IP != "")`, "c.rank.add(r.Rank, true)",
		"if r.OK {\n\t\tc.code.add(r.Code)\n\t} else {\n\t\tc.code.add(\"\")\n\t}",
		"c.ms.add(r.Ms, r.Ms != 0)",
		"if len(r.RRs) == 0 {\n\t\tc.rrsName.empty()\n\t\tc.rrsTtl.empty()\n\t}",
		"e := &r.RRs[j]\n\t\tc.rrsName.add(j > 0, e.Name)\n\t\tc.rrsTtl.add(j > 0, e.TTL)",
		"for j, v := range r.Names {\n\t\tc.names.add(j > 0, v)",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("generated code lacks %q:\n%s", want, src)
		}
	}
	for name, src := range map[string]string{
		"optional bool":        "type DNSRow struct {\n\tA bool `parquet:\"a,optional\"`\n}\n",
		"required double":      "type DNSRow struct {\n\tA float64 `parquet:\"a\"`\n}\n",
		"string always":        "type DNSRow struct {\n\tA string `parquet:\"a,optional\" wire:\"always\"`\n}\n",
		"optional list fields": "type DNSRow struct {\n\tA []E `parquet:\"a,list\"`\n}\n\ntype E struct {\n\tB string `parquet:\"b,optional\"`\n}\n",
	} {
		if _, err := genFrom(t, src); err == nil || !strings.Contains(err.Error(), "DNSRow") && !strings.Contains(err.Error(), "E.B") {
			t.Errorf("%s: err = %v, want a refusal naming the field", name, err)
		}
	}
}
