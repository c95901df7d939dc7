package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/report/suggest"
)

// FlowInputsConfig names the inputs whose flows are wanted: outputs of
// earlier runs (a replay's directory or flows.parquet, a live capture's
// partitions) and captures.
type FlowInputsConfig struct {
	Inputs []string
	Stdin  io.Reader // read for the input "-"
	// Workers is the replay's flow-table workers (0: the usable cores).
	Workers int
	// Notify receives the replay's lines for the user, as
	// ReplayConfig.Notify.
	Notify func(msg string)
}

// FlowInputs are the flows Parquet files a set of inputs holds or yields.
// Close removes the replay's temporary directory once the files are read.
type FlowInputs struct {
	// Files are the flows Parquet files of the inputs that are outputs,
	// then the replay's flows.parquet when some inputs were captures.
	Files []string
	// Partial says a capture was damaged or unreadable: Files hold the
	// flows of what could be read. Damaged names the inputs that failed,
	// when the replay could tell.
	Partial bool
	Damaged []string

	tmp string
}

// Close removes the temporary replay output, if any.
func (f *FlowInputs) Close() error {
	if f.tmp == "" {
		return nil
	}
	return os.RemoveAll(f.tmp)
}

// OpenFlowInputs sorts the inputs into Parquet outputs, read as they are,
// and captures (an input with no flows*.parquet file), which are replayed
// together through the same pipeline as a replay, port-only (no
// inventory, no alerts), into a temporary directory. A damaged capture
// among good ones is not an error: its readable traffic still counts, and
// Partial says the flows are incomplete. A replay that could read nothing
// is an error.
func OpenFlowInputs(ctx context.Context, cfg FlowInputsConfig) (*FlowInputs, error) {
	out := &FlowInputs{}
	var captures []string
	for _, in := range cfg.Inputs {
		files, err := suggest.FlowFiles(in)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", in, err)
		}
		var pq []string
		for _, f := range files {
			if strings.HasSuffix(f, ".parquet") {
				pq = append(pq, f)
			}
		}
		if len(pq) > 0 {
			out.Files = append(out.Files, pq...)
		} else {
			captures = append(captures, in)
		}
	}
	if len(captures) == 0 {
		return out, nil
	}
	tmp, err := os.MkdirTemp("", "auditor-suggest-")
	if err != nil {
		return nil, err
	}
	out.tmp = tmp
	workers := cfg.Workers
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	res, err := Replay(ctx, ReplayConfig{
		Paths: captures, Stdin: cfg.Stdin, Out: tmp, Table: flow.DefaultConfig(), Workers: workers,
		Top: 1, CreatedBy: "auditor replay", Notify: cfg.Notify,
	})
	var pe *PartialError
	switch {
	case errors.As(err, &pe):
		out.Partial = true
		if res != nil {
			out.Damaged = res.FailedFiles
		}
	case err != nil:
		out.Close()
		return nil, fmt.Errorf("replay %s: %w", strings.Join(captures, " "), err)
	}
	out.Files = append(out.Files, filepath.Join(tmp, "flows.parquet"))
	return out, nil
}
