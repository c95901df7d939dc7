package parquetout

import (
	"io"
	"reflect"
	"slices"
	"time"

	"github.com/ccaudit/auditor/report/safetext"
	"github.com/parquet-go/parquet-go"
)

// Rows reach parquet-go in their wire form: the same columns, with every
// optional column a pointer into the row (nil for NULL) instead of a value
// whose zero means NULL, and every string escaped. The wire types and the
// conversions are generated from the row types (wire_gen.go, by
// internal/schemagen); the helpers they call are here.
//
// parquet-go v0.32 writes a batch of rows with a non-pointer optional
// column by scanning a bitmap of its non-null rows for runs; when a
// non-null run ends inside a 64-row word and the rest of that word holds
// as many non-null bits as the run's offset, the scan skips to the next
// word and writes the null rows in between as present: empty strings,
// zero times and zero ports where NULLs belong (about 0.1% of the rows of
// a replay, depending on row order). Pointer columns take another path.
// TestOptionalColumnsKeepNulls writes that pattern.

// opt points at v, or is nil when v is the zero value (NULL).
func opt[V comparable](v *V) *V {
	var zero V
	if *v == zero {
		return nil
	}
	return v
}

// optStr is opt for strings, escaped by safetext so that the file holds
// valid UTF-8 whatever bytes the wire put in the row. A clean string is
// not copied: the pointer points into the row.
func optStr(v *string) *string {
	if *v == "" {
		return nil
	}
	if safetext.Clean(*v) {
		return v
	}
	e := safetext.String(*v)
	return &e
}

// str is a required string column's value, escaped.
func str(v string) string { return safetext.String(v) }

// optTime is opt for times: the zero time is NULL.
func optTime(t *time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return t
}

// zeroTime is optTime for a time written as a value: any zero time is
// the zero value, which parquet-go writes as NULL.
func zeroTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t
}

// wireRow is a row type with its wire form W; wire_gen.go has the
// conversions, generated from the row types (internal/schemagen).
type wireRow[T, W any] interface {
	*T
	// wireSize counts the row's list elements, for wireArena.reserve.
	wireSize(*arenaSize)
	// wire fills w from the row, list elements in a.
	wire(w *W, a *wireArena)
}

// wireWriter writes rows of type T through their wire form W.
type wireWriter[T any, W any, PT wireRow[T, W]] struct {
	pw    *parquet.GenericWriter[W]
	buf   []W
	arena wireArena
}

// newWireWriter writes a table's rows to f; the file's schema keeps the
// row type's name.
func newWireWriter[T any, W any, PT wireRow[T, W]](f io.Writer, opts []parquet.WriterOption) *wireWriter[T, W, PT] {
	name := reflect.TypeFor[T]().Name()
	return &wireWriter[T, W, PT]{pw: parquet.NewGenericWriter[W](f, append(slices.Clip(opts), parquet.NewSchema(name, parquet.SchemaOf(new(W))))...)}
}

func (w *wireWriter[T, W, PT]) write(rows []T) error {
	var n arenaSize
	for i := range rows {
		PT(&rows[i]).wireSize(&n)
	}
	w.arena.reserve(n)
	buf := w.buf[:0]
	for i := range rows {
		buf = append(buf, *new(W))
		PT(&rows[i]).wire(&buf[len(buf)-1], &w.arena)
	}
	_, err := w.pw.Write(buf)
	clear(buf) // the pointers point into rows, which the caller reuses
	w.buf = buf[:0]
	w.arena.reset()
	return err
}

func (w *wireWriter[T, W, PT]) setKeyValueMetadata(k, v string) { w.pw.SetKeyValueMetadata(k, v) }
func (w *wireWriter[T, W, PT]) close() error                    { return w.pw.Close() }
