package audit

import (
	"fmt"
	"sync"

	"github.com/ccaudit/auditor/classify/dnsinfo"
	"github.com/ccaudit/auditor/report/parquetout"
)

// dnsBatch is how many transactions a worker collects before taking the
// dns.parquet writer's lock: the workers share one file, and DNS is a
// small share of the packets, so a lock per batch costs next to nothing.
const dnsBatch = 256

// dnsLog writes dns.parquet: every worker's DNS dissector hands its
// transactions to a dnsBuffer of its own, which writes them under the
// lock when full and when the file closes (the workers are then idle).
type dnsLog struct {
	mu      sync.Mutex
	w       *parquetout.TableWriter[parquetout.DNSRow]
	sensor  string
	err     error
	bufs    []*dnsBuffer
	rows    uint64
	dropped uint64 // transactions without an open file
}

type dnsBuffer struct {
	log  *dnsLog
	rows []parquetout.DNSRow
}

func (l *dnsLog) buffer() *dnsBuffer {
	b := &dnsBuffer{log: l, rows: make([]parquetout.DNSRow, 0, dnsBatch)}
	l.mu.Lock()
	l.bufs = append(l.bufs, b)
	l.mu.Unlock()
	return b
}

// add is the DNS dissector's OnTransaction.
func (b *dnsBuffer) add(t *dnsinfo.Transaction) {
	b.rows = append(b.rows, parquetout.DNSRow{})
	parquetout.FromDNS(t, &b.rows[len(b.rows)-1])
	if len(b.rows) == cap(b.rows) {
		b.log.mu.Lock()
		b.log.writeLocked(b)
		b.log.mu.Unlock()
	}
}

func (l *dnsLog) writeLocked(b *dnsBuffer) {
	for i := range b.rows {
		switch {
		case l.w == nil:
			l.dropped++
		case l.err == nil:
			b.rows[i].Sensor = l.sensor
			if l.err = l.w.Write(&b.rows[i]); l.err == nil {
				l.rows++
			}
		}
	}
	clear(b.rows)
	b.rows = b.rows[:0]
}

// OpenDNS starts the DNS transaction log at path; transactions are
// written while the pipeline runs, labelled with the configured sensor.
func (a *Auditor) OpenDNS(path string) error {
	opts := parquetout.Options{}
	if a.cfg.Sensor != "" {
		opts.Metadata = map[string]string{"auditor.sensor": a.cfg.Sensor}
	}
	w, err := parquetout.CreateDNS(path, opts)
	a.dnsLog.mu.Lock()
	defer a.dnsLog.mu.Unlock()
	a.dnsLog.w, a.dnsLog.err, a.dnsLog.sensor = w, nil, a.cfg.Sensor
	return err
}

// CloseDNS writes the workers' buffered transactions and finishes the
// file. The workers must be idle.
func (a *Auditor) CloseDNS() error {
	l := &a.dnsLog
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range l.bufs {
		l.writeLocked(b)
	}
	w := l.w
	l.w = nil
	if w == nil {
		return nil
	}
	if l.err != nil {
		w.Abort()
		return fmt.Errorf("write %s: %w", w.Path(), l.err)
	}
	return w.Close()
}

// AbortDNS removes the unfinished DNS file (startup failures).
func (a *Auditor) AbortDNS() {
	l := &a.dnsLog
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w != nil {
		l.w.Abort()
		l.w = nil
	}
}

// DNSRows counts the transactions written to dns.parquet files, and
// those discarded while no file was open.
func (a *Auditor) DNSRows() (written, discarded uint64) {
	a.dnsLog.mu.Lock()
	defer a.dnsLog.mu.Unlock()
	return a.dnsLog.rows, a.dnsLog.dropped
}
