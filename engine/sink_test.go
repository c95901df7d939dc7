package engine

import (
	"errors"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/report/parquetout"
)

// Flows that reach a sink whose writer failed are counted, not silently
// lost: a disk-full window says how many flows it could not write.
func TestFlowSinkCountsFlowsAfterAWriteError(t *testing.T) {
	w, err := parquetout.Create(filepath.Join(t.TempDir(), "flows.parquet"), parquetout.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.Abort() // every Write now fails, as on a full disk
	k := NewFlowSink(w, "")
	b := k.batcher()
	key, _ := flow.NewKey(flow.ProtoUDP, netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.2:2"))
	const n = 5
	for range n {
		e := b.next()
		e.flow = flow.Flow{Key: key}
		b.done()
	}
	k.Drain()
	if !errors.Is(k.Err(), parquetout.ErrClosed) {
		t.Errorf("Err %v, want the writer's error", k.Err())
	}
	if got := k.Discarded(); got != n {
		t.Errorf("Discarded %d, want the %d flows not written", got, n)
	}
}
