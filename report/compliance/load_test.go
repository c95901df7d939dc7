package compliance

import (
	"strings"
	"testing"
	"time"
)

func TestReportParseName(t *testing.T) {
	tests := []struct {
		name   string
		table  Table
		sensor string
		ok     bool
	}{
		{"flows.parquet", FlowsTable, "", true},
		{"findings.parquet", FindingsTable, "", true},
		{"calls-edge-1-000042.parquet", CallsTable, "edge-1", true},
		{"flows-dc2-a.parquet", FlowsTable, "dc2-a", true},
		{"flows.parquet.tmp-1234", "", "", false},
		{"alerts.parquet", "", "", false},
		{"flowsx.parquet", "", "", false},
	}
	for _, tt := range tests {
		table, sensor, ok := parseName(tt.name)
		if table != tt.table || sensor != tt.sensor || ok != tt.ok {
			t.Errorf("%s: %q %q %v, want %q %q %v", tt.name, table, sensor, ok, tt.table, tt.sensor, tt.ok)
		}
	}
}

func TestReportParsePartition(t *testing.T) {
	nov2 := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		path     string
		from, to time.Time
		err      bool
	}{
		{"flows.parquet", time.Time{}, time.Time{}, false},
		{"date=2026-11-02/hour=09/flows-a-1.parquet", nov2.Add(9 * time.Hour), nov2.Add(10 * time.Hour), false},
		{"site=x/date=2026-11-02/flows-a-1.parquet", nov2, nov2.AddDate(0, 0, 1), false},
		{"date=2026-11-02/hour=24/flows-a-1.parquet", time.Time{}, time.Time{}, true},
		{"date=yesterday/flows-a-1.parquet", time.Time{}, time.Time{}, true},
		{"hour=03/flows-a-1.parquet", time.Time{}, time.Time{}, true},
	}
	for _, tt := range tests {
		from, to, err := parsePartition(tt.path)
		if (err != nil) != tt.err || !from.Equal(tt.from) || !to.Equal(tt.to) {
			t.Errorf("%s: %v..%v %v", tt.path, from, to, err)
		}
	}
}

// FuzzReportPartition: any path a directory walk can return is either
// refused with an error or read as a span of an hour or a day.
func FuzzReportPartition(f *testing.F) {
	for _, s := range []string{"date=2026-11-02/hour=09/flows-a-0001.parquet", "flows.parquet", "date=2026-11-02/x", "hour=7", "date=0000-01-01/hour=-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		from, to, err := parsePartition(path)
		if err != nil {
			return
		}
		if d := to.Sub(from); from.IsZero() != to.IsZero() || (!from.IsZero() && d != time.Hour && d != 24*time.Hour) {
			t.Fatalf("%q: span %v..%v", path, from, to)
		}
		parts := strings.Split(path, "/")
		if _, sensor, ok := parseName(parts[len(parts)-1]); ok && strings.HasSuffix(sensor, ".parquet") {
			t.Fatalf("%q: sensor %q keeps the extension", path, sensor)
		}
	})
}
