package parquetout

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/parquet-go/parquet-go"
)

const readChunkRows = 1024

// ReadFlows reads every row of a flows.parquet file into memory. It is meant
// for tests and for reports over one capture's flows, not for unbounded
// archives.
func ReadFlows(path string) ([]FlowRow, error) {
	return ReadTable[FlowRow](path, SchemaVersion)
}

// ReadTable reads every row of a file written by a TableWriter for schema.
// A file whose auditor.schema metadata names another schema, or none, is
// refused rather than half-read into the wrong columns.
func ReadTable[T any](path, schema string) ([]T, error) {
	f, size, err := openSized(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readTable[T](f, size, path, schema)
}

// readTable reads the Parquet data in r; name is the file name errors give.
func readTable[T any](r io.ReaderAt, size int64, name, schema string) (rows []T, err error) {
	// parquet-go may panic on corrupt input; a damaged file must come back
	// as an error naming it, not crash the report command.
	defer func() {
		if p := recover(); p != nil {
			rows, err = nil, fmt.Errorf("read %s: corrupt file: %v", name, p)
		}
	}()
	pf, err := parquet.OpenFile(r, size)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	if got, _ := pf.Lookup(MetaSchema); got != schema {
		return nil, fmt.Errorf("read %s: schema %q, want %q", name, got, schema)
	}
	pr := parquet.NewGenericReader[T](pf)
	defer pr.Close()
	// Grow with the rows actually decoded rather than trusting the
	// footer's row count, which a damaged file can set to anything.
	chunk := make([]T, readChunkRows)
	for {
		n, err := pr.Read(chunk)
		rows = append(rows, chunk[:n]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: row %d: %w", name, len(rows), err)
		}
		if n == 0 {
			return nil, fmt.Errorf("read %s: reader stalled at row %d", name, len(rows))
		}
	}
	if int64(len(rows)) != pf.NumRows() {
		return nil, fmt.Errorf("read %s: got %d rows, footer says %d", name, len(rows), pf.NumRows())
	}
	return rows, nil
}

// ReadMetadata returns the key/value metadata of a Parquet file.
func ReadMetadata(path string) (md map[string]string, err error) {
	f, size, err := openSized(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	defer func() {
		if p := recover(); p != nil {
			md, err = nil, fmt.Errorf("open %s: corrupt file: %v", path, p)
		}
	}()
	pf, err := parquet.OpenFile(f, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	kv := pf.Metadata().KeyValueMetadata
	md = make(map[string]string, len(kv))
	for _, e := range kv {
		md[e.Key] = e.Value
	}
	return md, nil
}

func openSized(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("read parquet: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("stat %s: %w", path, err)
	}
	return f, st.Size(), nil
}
