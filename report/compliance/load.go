package compliance

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ccaudit/auditor/report/parquetout"
)

// Table is the kind of rows a Parquet file holds.
type Table string

const (
	FlowsTable    Table = "flows"
	FindingsTable Table = "findings"
	CallsTable    Table = "calls"
)

// Metadata keys a capture may record in its files' key/value metadata so
// the report can state the capture loss of the window. Both are packet
// counts over the span the file covers; a file without them did not
// record loss. Capture writes them on its flows files only.
const (
	MetaPacketsReceived = "auditor.capture.packets_received"
	MetaPacketsDropped  = "auditor.capture.packets_dropped"
)

// File is one Parquet file of an output directory.
type File struct {
	// Path is relative to the directory, with forward slashes, so reports
	// of the same data compare equal wherever the directory is mounted.
	Path  string
	Table Table
	// Sensor is the <sensor> of a flows-<sensor>-<seq>.parquet name; empty
	// for replay's flat names.
	Sensor string
	// From and To bound the Hive partition (date=YYYY-MM-DD/hour=HH) the
	// file sits in, To exclusive; both zero outside a partition.
	From, To time.Time
}

// Discover lists the auditor's Parquet files under dir: replay's flat
// DIR/flows.parquet and DIR/findings.parquet, and capture's Hive partitions
// DIR/date=YYYY-MM-DD/hour=HH/flows-<sensor>-<seq>.parquet (findings- and
// calls- alike), at any depth. Temporary files of a writer still running
// do not end in .parquet and are not listed. The order is by path, so
// reports are reproducible.
func Discover(dir string) ([]File, error) {
	var files []File
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		table, sensor, ok := parseName(d.Name())
		if !ok {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		from, to, err := parsePartition(rel)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		files = append(files, File{Path: rel, Table: table, Sensor: sensor, From: from, To: to})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

// parseName recognises flows.parquet and flows-<sensor>-<seq>.parquet (and
// the findings and calls alike).
func parseName(name string) (t Table, sensor string, ok bool) {
	base, ok := strings.CutSuffix(name, ".parquet")
	if !ok {
		return "", "", false
	}
	for _, t := range []Table{FlowsTable, FindingsTable, CallsTable} {
		if base == string(t) {
			return t, "", true
		}
		rest, ok := strings.CutPrefix(base, string(t)+"-")
		if !ok {
			continue
		}
		// The sequence number is optional so that a sensor writing one
		// file per partition is read too.
		if i := strings.LastIndexByte(rest, '-'); i > 0 && isDigits(rest[i+1:]) {
			rest = rest[:i]
		}
		return t, rest, true
	}
	return "", "", false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parsePartition reads the date= and hour= directories of a relative path
// into the time span they cover. A path without them covers all time
// (zero times).
func parsePartition(rel string) (from, to time.Time, err error) {
	var date time.Time
	hour := -1
	for _, part := range strings.Split(rel, "/") {
		if v, ok := strings.CutPrefix(part, "date="); ok {
			d, err := time.Parse(time.DateOnly, v)
			if err != nil {
				return from, to, fmt.Errorf("partition %q: want date=YYYY-MM-DD", part)
			}
			date = d
		}
		if v, ok := strings.CutPrefix(part, "hour="); ok {
			h, err := strconv.Atoi(v)
			if err != nil || h < 0 || h > 23 {
				return from, to, fmt.Errorf("partition %q: want hour=00..23", part)
			}
			hour = h
		}
	}
	switch {
	case date.IsZero():
		if hour >= 0 {
			return from, to, errors.New("partition hour= without date=")
		}
		return from, to, nil
	case hour < 0:
		return date, date.AddDate(0, 0, 1), nil
	}
	from = date.Add(time.Duration(hour) * time.Hour)
	return from, from.Add(time.Hour), nil
}

// Window is a half-open time span [From, To); a zero bound is open.
type Window struct {
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
}

// Contains reports whether t is in the window.
func (w Window) Contains(t time.Time) bool {
	return (w.From.IsZero() || !t.Before(w.From)) && (w.To.IsZero() || t.Before(w.To))
}

// Overlaps reports whether the closed span [from, to] meets the window.
func (w Window) Overlaps(from, to time.Time) bool {
	if to.Before(from) {
		from, to = to, from
	}
	return (w.From.IsZero() || !to.Before(w.From)) && (w.To.IsZero() || from.Before(w.To))
}

// partitionOverlaps reports whether a file's partition can hold rows of
// the window; files outside partitions always can.
func (w Window) partitionOverlaps(f File) bool {
	if f.From.IsZero() {
		return true
	}
	return (w.From.IsZero() || f.To.After(w.From)) && (w.To.IsZero() || f.From.Before(w.To))
}

// Load reads the files under dir that the window can hold rows of into a
// Builder. A file that cannot be read is recorded in the report's errors
// and skipped: one damaged hour must not hide the rest of the night. Load
// fails only when dir cannot be listed or holds no auditor Parquet file.
func Load(dir string, b *Builder) error {
	files, err := Discover(dir)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("%s: no flows, findings or calls Parquet files (flows.parquet or date=*/hour=*/flows-*.parquet)", dir)
	}
	for _, f := range files {
		if !b.opts.Window.partitionOverlaps(f) {
			b.skipFile(f)
			continue
		}
		path := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := b.readFile(path, f); err != nil {
			b.fileError(f, err)
		}
	}
	return nil
}

func (b *Builder) readFile(path string, f File) error {
	md, err := parquetout.ReadMetadata(path)
	if err != nil {
		return err
	}
	switch f.Table {
	case FlowsTable:
		rows, err := parquetout.ReadFlows(path)
		if err != nil {
			return err
		}
		b.AddFlows(f, rows)
	case FindingsTable:
		rows, err := parquetout.ReadFindings(path)
		if err != nil {
			return err
		}
		b.AddFindings(f, rows)
	case CallsTable:
		rows, err := parquetout.ReadCalls(path)
		if err != nil {
			return err
		}
		b.AddCalls(f, rows)
	}
	b.addLoss(f, md)
	return nil
}

// ReadPrevious reads a previous report's JSON output for --previous.
func ReadPrevious(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read previous report: %w", err)
	}
	r, err := DecodeJSON(data)
	if err != nil {
		return nil, fmt.Errorf("previous report %s: %w", path, err)
	}
	return r, nil
}
