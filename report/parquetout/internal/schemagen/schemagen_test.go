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
