package parquetout

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzReadFlows feeds damaged files to the reader: it must return an error
// or rows, never panic, and rows it accepts must survive a write and read
// unchanged once unescaped.
func FuzzReadFlows(f *testing.F) {
	path := filepath.Join(f.TempDir(), "seed.parquet")
	writeRows(f, path, Options{RowGroupRows: 64}, manyRows(f, 200))
	seed, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte("PAR1PAR1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := readTable[FlowRow](bytes.NewReader(data), int64(len(data)), "fuzz", SchemaVersion)
		if err != nil {
			return
		}
		// Rewrite in memory: Close's fsyncs would dominate the run.
		var buf bytes.Buffer
		opts, settings, err := writerOptions(SchemaVersion, Options{})
		if err != nil {
			t.Fatal(err)
		}
		fw, err := newFlowWriter(&buf, opts, settings)
		if err != nil {
			t.Fatal(err)
		}
		if err := fw.write(rows); err != nil {
			t.Fatal(err)
		}
		if err := fw.close(); err != nil {
			t.Fatal(err)
		}
		again, err := readTable[FlowRow](bytes.NewReader(buf.Bytes()), int64(buf.Len()), "rewrite", SchemaVersion)
		if err != nil {
			t.Fatalf("rewritten rows unreadable: %v", err)
		}
		if len(again) != len(rows) {
			t.Fatalf("rewrite kept %d of %d rows", len(again), len(rows))
		}
		for i := range rows {
			// The writer escapes what is not UTF-8 and backslashes.
			unescapeStrings(t, reflect.ValueOf(&again[i]), "rewrite")
			if !reflect.DeepEqual(rows[i], again[i]) {
				t.Fatalf("row %d changed on rewrite:\n%+v\n%+v", i, rows[i], again[i])
			}
		}
	})
}
