package engine

import (
	"fmt"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/ccaudit/auditor/classify/dnsinfo"
	"github.com/ccaudit/auditor/report/parquetout"
)

const (
	// dnsBatch is how many transactions a worker collects before handing
	// them to the writer goroutine.
	dnsBatch = 256
	// dnsRowGroupRows bounds dns.parquet's row groups: parquet-go keeps a
	// row group in memory, and DNS rows with their answer lists are wide.
	dnsRowGroupRows = 16 << 10
)

// dnsLog writes dns.parquet on a goroutine of its own, as FlowSink writes
// flows: every worker's DNS dissector hands its transactions to a
// dnsBuffer of its own, which passes full batches over a bounded channel,
// so building and encoding rows stays off the packet path. Between
// windows the workers are paused (or finished), which orders their
// buffers' use with Open and Close.
type dnsLog struct {
	mu   sync.Mutex // guards bufs
	bufs []*dnsBuffer

	batches chan []*dnsinfo.Transaction // nil while no file is open
	// free are written batches, their transactions reset, that the
	// workers take their next transactions from.
	free   chan []*dnsinfo.Transaction
	done   chan struct{}
	w      *parquetout.TableWriter[parquetout.DNSRow]
	sensor string
	err    error  // first write error; read after done
	rows   uint64 // written to files that were finished; read after done
	// received counts the transactions handed to the open file; read
	// after done. A file that failed is removed, and all of them with it.
	received uint64
	// notWritten counts the transactions that are in no file: those
	// while no file was open, and those of a file that failed to write.
	notWritten atomic.Uint64
}

type dnsBuffer struct {
	log   *dnsLog
	txs   []*dnsinfo.Transaction
	spare []*dnsinfo.Transaction // reset, for get
}

func (l *dnsLog) buffer() *dnsBuffer {
	b := &dnsBuffer{log: l, txs: make([]*dnsinfo.Transaction, 0, dnsBatch)}
	l.mu.Lock()
	if l.free == nil {
		l.free = make(chan []*dnsinfo.Transaction, 16)
	}
	l.bufs = append(l.bufs, b)
	l.mu.Unlock()
	return b
}

// get is the DNS dissector's NewTransaction: a transaction the writer
// has written, when one came back, or a new one.
func (b *dnsBuffer) get() *dnsinfo.Transaction {
	if len(b.spare) == 0 {
		select {
		case b.spare = <-b.log.free:
		default:
			return new(dnsinfo.Transaction)
		}
	}
	n := len(b.spare) - 1
	t := b.spare[n]
	b.spare[n] = nil
	b.spare = b.spare[:n]
	return t
}

// add is the DNS dissector's OnTransaction.
func (b *dnsBuffer) add(t *dnsinfo.Transaction) {
	if b.log.batches == nil {
		b.log.notWritten.Add(1)
		if len(b.spare) < dnsBatch {
			t.Reset()
			b.spare = append(b.spare, t)
		}
		return
	}
	b.txs = append(b.txs, t)
	if len(b.txs) == cap(b.txs) {
		b.send()
	}
}

func (b *dnsBuffer) send() {
	if len(b.txs) == 0 {
		return
	}
	b.log.batches <- b.txs
	b.txs = make([]*dnsinfo.Transaction, 0, dnsBatch)
}

func (l *dnsLog) run() {
	defer close(l.done)
	var row parquetout.DNSRow
	// Write copies a row's values into the file's columns: the next
	// row may reuse its lists.
	rb := parquetout.DNSRowBuilder{ReuseLists: true}
	for batch := range l.batches {
		// After a write error the file is lost: its transactions are
		// counted, not written.
		l.received += uint64(len(batch))
		for _, t := range batch {
			if l.err == nil {
				rb.Fill(t, &row)
				row.Sensor = l.sensor
				l.err = l.w.Write(&row)
			}
			// The row copied what it keeps: the transaction goes back
			// to the workers, reset while it is still in the cache
			// rather than in a second pass over the batch.
			t.Reset()
		}
		select {
		case l.free <- batch:
		default:
		}
	}
}

// OpenDNS starts the DNS transaction log at path; transactions are
// written while the pipeline runs, labelled with the configured sensor.
// The workers must be idle. On error no file is open and transactions
// are counted as discarded until the next OpenDNS.
func (a *Auditor) OpenDNS(path string) error {
	l := &a.dnsLog
	// The run id in Config.Metadata makes the file one of its run's set,
	// as calls and findings are: a manifest lists it and Verify checks it.
	opts := parquetout.Options{RowGroupRows: dnsRowGroupRows, Metadata: maps.Clone(a.cfg.Metadata)}
	if a.cfg.Sensor != "" {
		if opts.Metadata == nil {
			opts.Metadata = map[string]string{}
		}
		opts.Metadata["auditor.sensor"] = a.cfg.Sensor
	}
	w, err := parquetout.CreateDNS(path, opts)
	if err != nil {
		return err
	}
	l.w, l.err, l.sensor, l.received = w, nil, a.cfg.Sensor, 0
	l.batches = make(chan []*dnsinfo.Transaction, 16)
	l.done = make(chan struct{})
	go l.run()
	return nil
}

// stop hands the workers' partial batches to the writer and waits for it;
// the file stays for the caller to close or abort.
func (l *dnsLog) stop() *parquetout.TableWriter[parquetout.DNSRow] {
	if l.batches == nil {
		return nil
	}
	l.mu.Lock()
	for _, b := range l.bufs {
		b.send()
	}
	l.mu.Unlock()
	close(l.batches)
	<-l.done
	l.batches = nil
	w := l.w
	l.w = nil
	return w
}

// CloseDNS writes the workers' buffered transactions and finishes the
// file, returning its rows (for the run's manifest). The workers must be
// idle.
func (a *Auditor) CloseDNS() (rows uint64, err error) {
	l := &a.dnsLog
	w := l.stop()
	if w == nil {
		return 0, nil
	}
	if l.err != nil {
		w.Abort()
		l.notWritten.Add(l.received)
		return 0, fmt.Errorf("write %s: %w (%d DNS transactions not written)", w.Path(), l.err, l.received)
	}
	rows = w.Rows()
	if err := w.Close(); err != nil {
		l.notWritten.Add(l.received)
		return 0, fmt.Errorf("%w (%d DNS transactions not written)", err, l.received)
	}
	l.rows += rows
	return rows, nil
}

// AbortDNS removes the unfinished DNS file (startup failures). The
// workers must be idle.
func (a *Auditor) AbortDNS() {
	if w := a.dnsLog.stop(); w != nil {
		w.Abort()
		a.dnsLog.notWritten.Add(a.dnsLog.received)
	}
}

// DNSRows counts the transactions written to finished dns.parquet files,
// and those in no file: while no file was open, or in a file that failed
// to write. The workers must be idle.
func (a *Auditor) DNSRows() (written, notWritten uint64) {
	return a.dnsLog.rows, a.dnsLog.notWritten.Load()
}

// DNSNotWritten counts the DNS transactions in no dns.parquet file since
// the start (see DNSRows). Safe to call while the pipelines run.
func (a *Auditor) DNSNotWritten() uint64 { return a.dnsLog.notWritten.Load() }
