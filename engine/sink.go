package engine

import (
	"sync"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/verdict"
	"github.com/ccaudit/auditor/report/parquetout"
)

// FlowSink writes flows.parquet on a goroutine of its own, so building,
// encoding and compressing rows overlaps with packet processing. Each
// worker fills its own batch of ended flows (a rowBatcher): a copy of the
// flow and what the classifier said of it; full batches go to the writer
// over a bounded channel, which also bounds memory when the disk is slow.
type FlowSink struct {
	w       *parquetout.Writer
	sensor  string
	batches chan []endedFlow
	free    chan []endedFlow
	done    chan struct{}
	rows    uint64 // written; read after done is closed
	// discarded counts flows dropped for want of a writer, or in a file
	// that failed to write (the whole file is lost: the rows written to
	// it before the error move from rows to here); read after done is
	// closed.
	discarded uint64
	// fileRows are the rows written to the current writer.
	fileRows uint64
	err      error // first write error; read after done is closed

	mu       sync.Mutex
	batchers []*rowBatcher
}

// endedFlow is a flow that left the table, on its way to a row.
type endedFlow struct {
	flow   flow.Flow
	judged judgement
}

// judgement is what the classifier said of a flow, as the flows.parquet
// columns it fills. Strings only, so it can travel to the writer goroutine
// with a copy of the flow while the classifier's Result is reused.
type judgement struct {
	verdict, classifiedBy, vendor, entryID, reason, fromRole, toRole, app, callID string
	// The finding the flow raised, if any, and the entry it names; also is
	// a second finding raised beside it, without an entry
	// (tls-version-too-old, Classifier.TooOld).
	kind         verdict.Kind
	findingEntry string
	also         verdict.Kind
}

// apply fills the classification columns of a row made by FromFlow.
func (j *judgement) apply(row *parquetout.FlowRow) {
	row.Verdict, row.ClassifiedBy = j.verdict, j.classifiedBy
	row.Vendor, row.EntryID, row.Reason = j.vendor, j.entryID, j.reason
	row.FromRole, row.ToRole = j.fromRole, j.toRole
	if j.app != "" {
		row.App = j.app
	}
	if j.callID != "" {
		row.CallID = j.callID
	}
}

const sinkBatch = 1024

// NewFlowSink starts writing ended flows to w, each row labelled with
// sensor (empty for a replay). The caller closes or aborts w after Drain.
func NewFlowSink(w *parquetout.Writer, sensor string) *FlowSink {
	k := &FlowSink{sensor: sensor, free: make(chan []endedFlow, 8)}
	k.Swap(w)
	return k
}

// Swap starts writing to w; the previous writer must have been drained.
// It is how a live capture moves to the next window's file without
// rebuilding the workers' stages. A nil w discards the flows, counting
// them in Discarded: a window whose files could not be created keeps the
// capture (and its alerts) running until the next window.
func (k *FlowSink) Swap(w *parquetout.Writer) {
	k.w, k.err, k.fileRows = w, nil, 0
	k.batches = make(chan []endedFlow, 4)
	k.done = make(chan struct{})
	go k.run()
}

func (k *FlowSink) run() {
	defer close(k.done)
	var row parquetout.FlowRow
	var rb parquetout.FlowRowBuilder
	for b := range k.batches {
		if k.w == nil {
			k.discarded += uint64(len(b))
			b = b[:0]
		}
		for i := range b {
			if k.err != nil {
				// The file is lost from its first error on: the rest of
				// its flows are counted, not written.
				k.discarded += uint64(len(b) - i)
				break
			}
			rb.Fill(&b[i].flow, &row)
			b[i].judged.apply(&row)
			row.Sensor = k.sensor
			if err := k.w.Write(&row); err != nil {
				k.err = err
				k.discarded += uint64(len(b)-i) + k.fileRows
				k.rows -= k.fileRows
				break
			}
			k.rows++
			k.fileRows++
		}
		clear(b) // drop Meta pointers and strings for the collector
		select {
		case k.free <- b[:0]:
		default:
		}
	}
}

// batcher returns a new per-worker batch of ended flows.
func (k *FlowSink) batcher() *rowBatcher {
	b := &rowBatcher{sink: k, rows: make([]endedFlow, 0, sinkBatch)}
	k.mu.Lock()
	k.batchers = append(k.batchers, b)
	k.mu.Unlock()
	return b
}

// Drain sends the workers' partial batches and waits until the writer has
// written everything. The workers must be idle (finished, or paused, or
// the caller is the only worker's goroutine). After Drain, the sink takes
// no flows until Swap.
func (k *FlowSink) Drain() {
	for _, b := range k.batchers {
		b.send()
	}
	close(k.batches)
	<-k.done
}

// Rows counts the rows written, over every writer the sink had, except
// those of a writer that failed. Read it after Drain.
func (k *FlowSink) Rows() uint64 { return k.rows }

// Discarded counts the flows dropped while the sink had no writer, and
// those of every writer that failed (before its error too: the file is
// removed), since the sink started. Read it after Drain.
func (k *FlowSink) Discarded() uint64 { return k.discarded }

// FileFailed counts the rows of the current writer as discarded, not
// written: its Close failed, and the file with them. Call it after Drain.
func (k *FlowSink) FileFailed() {
	if k.err != nil {
		return // counted at the error
	}
	k.discarded += k.fileRows
	k.rows -= k.fileRows
	k.fileRows = 0
}

// Err is the first write error since the last Swap; the rows after it
// were not written and the file should be aborted. Read it after Drain.
func (k *FlowSink) Err() error { return k.err }

type rowBatcher struct {
	sink *FlowSink
	rows []endedFlow
}

// next returns the entry to fill for the next ended flow.
func (b *rowBatcher) next() *endedFlow {
	b.rows = b.rows[:len(b.rows)+1]
	return &b.rows[len(b.rows)-1]
}

// done commits the entry filled by next, sending the batch when it is full.
func (b *rowBatcher) done() {
	if len(b.rows) == cap(b.rows) {
		b.send()
	}
}

func (b *rowBatcher) send() {
	if len(b.rows) == 0 {
		return
	}
	b.sink.batches <- b.rows
	select {
	case b.rows = <-b.sink.free:
	default:
		b.rows = make([]endedFlow, 0, sinkBatch)
	}
}
