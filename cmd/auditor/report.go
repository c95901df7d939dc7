package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ccaudit/auditor/report/compliance"
)

type reportOptions struct {
	in       string
	from, to string
	sites    listFlag
	catalogs listFlag
	format   string
	outs     listFlag
	previous string
	top      int
}

func runReport(ctx context.Context, s streams, args []string) error {
	var o reportOptions
	fs := newFlagSet(s, "report", "--in DIR [--from DATE] [--to DATE] [--site FILE]... [--format html|md|json] [--previous FILE.json] --out FILE...")
	fs.StringVar(&o.in, "in", "", "directory of Parquet output: replay's DIR/flows.parquet, or capture's DIR/date=YYYY-MM-DD/hour=HH/flows-<sensor>-<seq>.parquet")
	fs.StringVar(&o.from, "from", "", "start of the window: YYYY-MM-DD (midnight UTC), RFC 3339 time, today or yesterday; default: all data")
	fs.StringVar(&o.to, "to", "", "end of the window, exclusive; a date includes that whole day (--from yesterday --to yesterday is last night's day)")
	fs.Var(&o.sites, "site", "site inventory (YAML) to judge per site (repeatable); without it the report covers all hosts by port-level facts")
	fs.Var(&o.catalogs, "catalog", "extra catalog file in the catalog schema (repeatable)")
	fs.StringVar(&o.format, "format", "", "html, md or json; default: from each --out file's extension")
	fs.Var(&o.outs, "out", "report file, - for stdout (repeatable: --out r.html --out r.json writes both from one read)")
	fs.StringVar(&o.previous, "previous", "", "a previous report's JSON output: list new and resolved findings (a missing file is noted in the report, for the first night)")
	fs.IntVar(&o.top, "top", 10, "rows in the tables of top unexpected flows, talkers and examples")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q (the input directory is --in DIR)", pos[0])
	}
	if o.in == "" {
		fs.Usage()
		return usagef("--in DIR is required")
	}
	if len(o.outs) == 0 {
		return usagef("--out FILE is required (- for stdout)")
	}
	if o.top < 1 {
		return usagef("--top must be at least 1, not %d", o.top)
	}
	now := time.Now().UTC()
	window, err := parseWindow(o.from, o.to, now)
	if err != nil {
		return &usageError{Msg: err.Error()}
	}
	formats, err := outputFormats(o.format, o.outs)
	if err != nil {
		return &usageError{Msg: err.Error()}
	}
	r, err := compliance.Run(ctx, compliance.RunConfig{In: o.in, Window: window, Sites: o.sites, Catalogs: o.catalogs,
		Previous: o.previous, Top: o.top, GeneratedAt: now})
	if err != nil {
		return err
	}
	for i, out := range o.outs {
		if err := writeReport(s, r, out, formats[i]); err != nil {
			return err
		}
	}
	for _, e := range r.Capture.Errors {
		fmt.Fprintf(s.Stderr, "auditor report: skipped %s\n", e)
	}
	return nil
}

// parseWindow reads --from and --to. A date-only --to includes that day.
func parseWindow(from, to string, now time.Time) (compliance.Window, error) {
	var w compliance.Window
	var err error
	if from != "" {
		if w.From, _, err = parseDate(from, now); err != nil {
			return w, fmt.Errorf("--from: %w", err)
		}
	}
	if to != "" {
		var day bool
		if w.To, day, err = parseDate(to, now); err != nil {
			return w, fmt.Errorf("--to: %w", err)
		}
		if day {
			w.To = w.To.AddDate(0, 0, 1)
		}
	}
	if !w.From.IsZero() && !w.To.IsZero() && !w.From.Before(w.To) {
		return w, fmt.Errorf("--from %s is not before --to %s", from, to)
	}
	return w, nil
}

// parseDate reads YYYY-MM-DD, RFC 3339, today or yesterday (UTC days);
// day reports a whole day.
func parseDate(s string, now time.Time) (t time.Time, day bool, err error) {
	midnight := now.UTC().Truncate(24 * time.Hour)
	switch s {
	case "today":
		return midnight, true, nil
	case "yesterday":
		return midnight.AddDate(0, 0, -1), true, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), false, nil
	}
	return t, false, fmt.Errorf("%q: want YYYY-MM-DD, an RFC 3339 time (2026-11-02T09:00:00Z), today or yesterday", s)
}

func outputFormats(format string, outs []string) ([]compliance.Format, error) {
	if format != "" {
		f := compliance.Format(format)
		if f != compliance.HTML && f != compliance.Markdown && f != compliance.JSON {
			return nil, fmt.Errorf("--format %q: want html, md or json", format)
		}
		if len(outs) > 1 {
			return nil, errors.New("--format applies to one --out; with several, each file's extension gives its format")
		}
		return []compliance.Format{f}, nil
	}
	formats := make([]compliance.Format, len(outs))
	for i, out := range outs {
		switch strings.ToLower(filepath.Ext(out)) {
		case ".html", ".htm":
			formats[i] = compliance.HTML
		case ".md", ".markdown":
			formats[i] = compliance.Markdown
		case ".json":
			formats[i] = compliance.JSON
		default:
			return nil, fmt.Errorf("--out %s: cannot tell the format from the extension; use .html, .md or .json, or --format", out)
		}
	}
	return formats, nil
}

// writeReport writes to a temporary file renamed into place, so a timer's
// reader (a web server, the next night's --previous) never sees half a
// report.
func writeReport(s streams, r *compliance.Report, out string, f compliance.Format) error {
	var buf bytes.Buffer
	if err := r.Write(&buf, f); err != nil {
		return err
	}
	if out == "-" {
		_, err := s.Stdout.Write(buf.Bytes())
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
