package parquetout

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
)

// BenchmarkWriteFlows measures the writer end to end: copying rows into the
// batch, encoding, zstd compression and the final flush, at the default
// compression level.
func BenchmarkWriteFlows(b *testing.B) {
	rows := manyRows(b, 4096)
	path := filepath.Join(b.TempDir(), "flows.parquet")
	b.ReportAllocs()
	b.ResetTimer()
	w, err := Create(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		if err := w.Write(&rows[i%len(rows)]); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	if st, err := os.Stat(path); err == nil {
		b.ReportMetric(float64(st.Size())/float64(b.N), "file-B/row")
	}
}

func BenchmarkFromFlow(b *testing.B) {
	f := endedFlows(b, flow.ProtoTCP,
		packet{at: t0, src: "10.0.0.1:40000", dst: "10.0.0.2:5060", flags: flow.FlagSYN},
		packet{at: t0 + 1, src: "10.0.0.2:5060", dst: "10.0.0.1:40000", flags: flow.FlagSYN | flow.FlagACK},
	)[0]
	var row FlowRow
	b.ReportAllocs()
	for b.Loop() {
		FromFlow(&f, &row)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "flows/s")
}
