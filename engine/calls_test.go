package engine

import (
	"path/filepath"
	"testing"

	"github.com/ccaudit/auditor/classify/sipcall"
	"github.com/ccaudit/auditor/report/parquetout"
)

// A call that ends while no calls file is open (a window whose files could
// not be created) is counted, and neither it nor an earlier write error
// poisons the next window's calls file.
func TestCallsFileRecoversAfterAGap(t *testing.T) {
	a, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	first, second := filepath.Join(dir, "calls-1.parquet"), filepath.Join(dir, "calls-2.parquet")
	if err := a.OpenCalls(first); err != nil {
		t.Fatal(err)
	}
	a.call(&sipcall.Call{CallID: "one"})
	if err := a.CloseCalls(); err != nil {
		t.Fatal(err)
	}
	// The next window's files could not be created: no OpenCalls.
	a.call(&sipcall.Call{CallID: "lost"})
	if n := a.CallsNotWritten(); n != 1 {
		t.Errorf("calls not written %d, want 1", n)
	}
	// An earlier failure does not carry into a new file either.
	a.callsErr = parquetout.ErrClosed
	if err := a.OpenCalls(second); err != nil {
		t.Fatal(err)
	}
	a.call(&sipcall.Call{CallID: "two"})
	if err := a.CloseCalls(); err != nil {
		t.Fatalf("the window after a gap: %v", err)
	}
	for path, want := range map[string]string{first: "one", second: "two"} {
		rows, err := parquetout.ReadCalls(path)
		if err != nil || len(rows) != 1 || rows[0].CallID != want {
			t.Errorf("%s: %v rows %+v, want the call %q", filepath.Base(path), err, rows, want)
		}
	}
}
