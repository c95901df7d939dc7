package parquetout

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/ccaudit/auditor/internal/version"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
)

// Metadata keys every file carries.
const (
	MetaSchema    = "auditor.schema"
	MetaVersion   = "auditor.version"
	MetaCreatedBy = "auditor.created_by"
)

const (
	// DefaultRowGroupRows bounds a row group. parquet-go holds a whole row
	// group's compressed pages in memory until it is written, so this also
	// bounds the writer's memory (a few MB for flows); 128Ki rows keeps
	// groups big enough for DuckDB to scan them in parallel efficiently.
	DefaultRowGroupRows = 128 << 10

	// batchRows is how many rows Write collects before handing them to
	// parquet-go, whose per-call cost is far above a struct copy.
	batchRows = 1024

	// DefaultCompressionLevel is the zstd level of Options' zero value.
	// Level 1 writes flows about a quarter faster than zstd's default of 3
	// and, with literals entropy coded (see codec.go), makes files no
	// larger: flows.parquet's columns are dictionary indexes, bit-packed
	// integers, small repeated integers and hashes, where a deeper match
	// search finds little.
	DefaultCompressionLevel = 1

	// dictionaryMaxBytes caps each column chunk's dictionary; past it the
	// column falls back to plain encoding, which bounds memory when a
	// "low-cardinality" column is not (a scan across many addresses).
	dictionaryMaxBytes = 1 << 20
)

// ErrClosed is returned by a TableWriter used after Close or Abort.
var ErrClosed = errors.New("parquet writer closed")

// Options configure a TableWriter. The zero value is usable.
type Options struct {
	// Version is the auditor version recorded as auditor.version; empty
	// means the main module's version from the build info.
	Version string
	// CreatedBy is recorded as auditor.created_by: what produced the file,
	// such as "auditor replay". Empty means "auditor".
	CreatedBy string
	// Metadata is extra key/value metadata. It may not set the auditor.*
	// keys above.
	Metadata map[string]string
	// CompressionLevel is the zstd level as the zstd command numbers them
	// (1-22); 0 means DefaultCompressionLevel. Levels map onto the four
	// speeds the pure-Go encoder has.
	CompressionLevel int
	// RowGroupRows bounds the rows per row group; 0 means
	// DefaultRowGroupRows.
	RowGroupRows int64
}

// TableWriter writes rows of type T, a struct with parquet tags, to a
// Parquet file. Rows go to a new file path.tmp-<host>-<pid>-<random> in the same
// directory, which Close syncs and renames to path: the final name only ever
// holds a complete file. The temporary file is created exclusively
// (O_CREAT|O_EXCL, which also refuses a symbolic link planted under the
// name), so whoever can write the output directory cannot make the writer
// truncate or follow into another file. The temporary name does not end in
// .parquet so that a glob over a directory of outputs skips unfinished
// files; RemoveStale reclaims those of processes that died.
//
// A TableWriter is not safe for concurrent use, except Rows, which a
// metrics reader may call at any time. The usual pattern is
//
//	w, err := NewTableWriter[Row](path, schema, opts)
//	...
//	defer w.Abort() // no-op after a successful Close
//	for ... { if err := w.Write(&row); err != nil { return err } }
//	return w.Close()
type TableWriter[T any] struct {
	path, tmp string
	file      *os.File
	pw        rowWriter[T]
	// row is pw when it takes rows one at a time, which spares copying
	// each into batch (and clearing it) first.
	row   rowAdder[T]
	batch []T
	rows  atomic.Uint64
	err   error // first write error, sticky
	done  bool  // closed or aborted
}

// Create opens a flows.parquet writer; see NewTableWriter.
func Create(path string, opts Options) (*Writer, error) {
	return NewTableWriter[FlowRow](path, SchemaVersion, opts)
}

// Writer writes flows.parquet.
type Writer = TableWriter[FlowRow]

// NewTableWriter creates a new temporary file for path and returns a
// writer whose file metadata names schema.
func NewTableWriter[T any](path, schema string, opts Options) (*TableWriter[T], error) {
	wopts, settings, err := writerOptions(schema, opts)
	if err != nil {
		return nil, fmt.Errorf("parquet %s: %w", path, err)
	}
	f, err := createTemp(path)
	if err != nil {
		return nil, fmt.Errorf("create parquet temp file: %w", err)
	}
	tmp := f.Name()
	pw, err := newRowWriter[T](f, wopts, settings)
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("parquet %s: %w", path, err)
	}
	tw := &TableWriter[T]{
		path: path,
		tmp:  tmp,
		file: f,
		pw:   pw,
	}
	if ra, ok := pw.(rowAdder[T]); ok {
		tw.row = ra
	} else {
		tw.batch = make([]T, 0, batchRows)
	}
	return tw, nil
}

// rowAdder is a rowWriter whose per-call cost is low enough to take rows
// one at a time: the flows and DNS encoders, which copy a row's values
// into their columns as it comes.
type rowAdder[T any] interface {
	writeRow(row *T) error
}

// rowWriter is parquet-go's writer for rows of type T.
type rowWriter[T any] interface {
	write(rows []T) error
	setKeyValueMetadata(key, value string)
	close() error
}

// tableSettings are the writer options the flows encoder (flowcols.go)
// needs as values.
type tableSettings struct {
	codec        *zstdCodec
	rowGroupRows int
}

// newRowWriter writes flows with the auditor's own encoder (flowcols.go),
// its other tables through their wire form (see wire.go), and any other
// row type as it is.
func newRowWriter[T any](f *os.File, opts []parquet.WriterOption, s tableSettings) (rowWriter[T], error) {
	if _, ok := any(*new(T)).(FlowRow); ok {
		fw, err := newFlowWriter(f, opts, s)
		if err != nil {
			return nil, err
		}
		return any(fw).(rowWriter[T]), nil
	}
	if _, ok := any(*new(T)).(DNSRow); ok {
		dw, err := newDNSColWriter(f, opts, s)
		if err != nil {
			return nil, err
		}
		return any(dw).(rowWriter[T]), nil
	}
	if w, ok := newTableWireWriter[T](f, opts); ok {
		return w, nil
	}
	return &directWriter[T]{pw: parquet.NewGenericWriter[T](f, opts...)}, nil
}

// directWriter hands rows to parquet-go as they are.
type directWriter[T any] struct{ pw *parquet.GenericWriter[T] }

func (w *directWriter[T]) write(rows []T) error {
	_, err := w.pw.Write(rows)
	return err
}
func (w *directWriter[T]) setKeyValueMetadata(k, v string) { w.pw.SetKeyValueMetadata(k, v) }
func (w *directWriter[T]) close() error                    { return w.pw.Close() }

func writerOptions(schema string, opts Options) ([]parquet.WriterOption, tableSettings, error) {
	for k := range opts.Metadata {
		if k == MetaSchema || k == MetaVersion || k == MetaCreatedBy {
			return nil, tableSettings{}, fmt.Errorf("metadata key %q is reserved", k)
		}
	}
	level := opts.CompressionLevel
	if level == 0 {
		level = DefaultCompressionLevel
	}
	if level < 1 || level > 22 {
		return nil, tableSettings{}, fmt.Errorf("zstd compression level %d out of range 1-22", level)
	}
	rowGroup := opts.RowGroupRows
	if rowGroup <= 0 {
		rowGroup = DefaultRowGroupRows
	}
	ver, revision := buildVersion()
	if opts.Version != "" {
		ver = opts.Version
	}
	createdBy := opts.CreatedBy
	if createdBy == "" {
		createdBy = "auditor"
	}
	codec, err := newZstdCodec(zstd.EncoderLevelFromZstd(level))
	if err != nil {
		return nil, tableSettings{}, err
	}
	wopts := []parquet.WriterOption{
		parquet.Compression(codec),
		parquet.MaxRowsPerRowGroup(rowGroup),
		parquet.DictionaryMaxBytes(dictionaryMaxBytes),
		// Min and max per page are still written to the column index
		// (by parquet-go: the flows encoder writes none), and per row
		// group to the column chunk, which is what readers prune with. Repeating them in every page header made
		// parquet-go compute them twice, looking every value of a
		// dictionary page up and comparing strings: 7% of writing.
		parquet.DataPageStatistics(false),
		parquet.CreatedBy("auditor", ver, revision),
		parquet.KeyValueMetadata(MetaSchema, schema),
		parquet.KeyValueMetadata(MetaVersion, ver),
		parquet.KeyValueMetadata(MetaCreatedBy, createdBy),
	}
	for k, v := range opts.Metadata {
		wopts = append(wopts, parquet.KeyValueMetadata(k, v))
	}
	return wopts, tableSettings{codec: codec, rowGroupRows: int(rowGroup)}, nil
}

// buildVersion is the running binary's version (with its VCS revision
// when the build recorded one) and the revision alone, "unknown" if not.
func buildVersion() (ver, revision string) {
	in := version.Get()
	revision = in.Revision
	if revision == "" {
		revision = "unknown"
	}
	return in.String(), revision
}

// Path is the final file name.
func (w *TableWriter[T]) Path() string { return w.path }

// Rows is the number of rows accepted by Write so far.
func (w *TableWriter[T]) Rows() uint64 { return w.rows.Load() }

// Write copies *row into the writer; the caller may reuse row at once.
// After an error every later Write and Close returns it.
func (w *TableWriter[T]) Write(row *T) error {
	if w.done {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	if w.row != nil {
		if err := w.row.writeRow(row); err != nil {
			w.err = fmt.Errorf("write parquet %s: %w", w.tmp, err)
			return w.err
		}
		w.rows.Add(1)
		return nil
	}
	w.batch = append(w.batch, *row)
	w.rows.Add(1)
	if len(w.batch) == cap(w.batch) {
		return w.flushBatch()
	}
	return nil
}

func (w *TableWriter[T]) flushBatch() error {
	if len(w.batch) == 0 {
		return nil
	}
	if err := w.pw.write(w.batch); err != nil {
		w.err = fmt.Errorf("write parquet %s: %w", w.tmp, err)
		return w.err
	}
	// Drop the references the batch holds so strings of written rows can
	// be collected; the backing array is reused.
	clear(w.batch)
	w.batch = w.batch[:0]
	return nil
}

// SetMetadata sets a key/value pair of the file's metadata before Close,
// for values known only when the file ends (live capture's packet and
// loss counters of the window). The reserved auditor.* keys of Options
// cannot be set.
func (w *TableWriter[T]) SetMetadata(key, value string) error {
	if key == MetaSchema || key == MetaVersion || key == MetaCreatedBy {
		return fmt.Errorf("metadata key %q is reserved", key)
	}
	if w.done {
		return ErrClosed
	}
	w.pw.setKeyValueMetadata(key, value)
	return nil
}

// Close writes the buffered rows and the footer, syncs the file and renames
// it to its final name. On an error before the rename the temporary file is
// removed and no file appears under the final name.
func (w *TableWriter[T]) Close() error {
	if w.done {
		return ErrClosed
	}
	if err := w.finish(); err != nil {
		w.Abort()
		return err
	}
	w.done = true
	return nil
}

func (w *TableWriter[T]) finish() error {
	// A row that failed may be half in the columns: never write a footer
	// over it.
	if w.err != nil {
		return w.err
	}
	if err := w.flushBatch(); err != nil {
		return err
	}
	if err := w.pw.close(); err != nil {
		return fmt.Errorf("write parquet footer %s: %w", w.tmp, err)
	}
	if err := w.file.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", w.tmp, err)
	}
	err := w.file.Close()
	w.file = nil
	if err != nil {
		return fmt.Errorf("close %s: %w", w.tmp, err)
	}
	if err := os.Rename(w.tmp, w.path); err != nil {
		return fmt.Errorf("rename parquet file: %w", err)
	}
	// The complete file is in place: a failed directory sync below is
	// reported but must not make Close's cleanup look for the temp file.
	w.done = true
	// The rename is durable only once the directory entry is synced;
	// without it a power loss can leave neither name.
	return syncDir(filepath.Dir(w.path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// Abort discards the file: the temporary file is removed and nothing is
// written under the final name. It is a no-op after Close or Abort, so it
// can be deferred.
func (w *TableWriter[T]) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.batch = nil
	var errs []error
	if w.file != nil {
		errs = append(errs, w.file.Close())
		w.file = nil
	}
	if err := os.Remove(w.tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("abort parquet %s: %w", w.path, err)
	}
	return nil
}
