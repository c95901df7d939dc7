package engine

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/classify/dnsinfo"
	"github.com/ccaudit/auditor/report/parquetout"
)

// DNS transactions of a dns.parquet file that failed to write are
// counted, not silently lost: the error says how many, and the counter
// (metrics) has them with those that came while no file was open. The
// next file starts clean.
func TestDNSLogCountsTransactionsOfAFailedFile(t *testing.T) {
	aud, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	buf := aud.dnsLog.buffer()
	buf.add(&dnsinfo.Transaction{Name: "before.example"}) // no file open
	if err := aud.OpenDNS(filepath.Join(dir, "dns-1.parquet")); err != nil {
		t.Fatal(err)
	}
	aud.dnsLog.w.Abort() // every Write now fails, as on a full disk
	const n = 2*dnsBatch + 7
	for range n {
		buf.add(&dnsinfo.Transaction{Name: "lost.example"})
	}
	rows, err := aud.CloseDNS()
	if !errors.Is(err, parquetout.ErrClosed) || !strings.Contains(err.Error(), "(519 DNS transactions not written)") || rows != 0 {
		t.Errorf("CloseDNS = %d, %v; want the write error and %d transactions not written", rows, err, n)
	}
	if got := aud.DNSNotWritten(); got != n+1 {
		t.Errorf("DNSNotWritten %d, want %d (the failed file's and the one with no file open)", got, n+1)
	}
	if err := aud.OpenDNS(filepath.Join(dir, "dns-2.parquet")); err != nil {
		t.Fatal(err)
	}
	buf.add(&dnsinfo.Transaction{Name: "kept.example"})
	if rows, err := aud.CloseDNS(); err != nil || rows != 1 {
		t.Errorf("next file: %d rows, %v", rows, err)
	}
	if written, notWritten := aud.DNSRows(); written != 1 || notWritten != n+1 {
		t.Errorf("DNSRows = %d, %d; want 1, %d", written, notWritten, n+1)
	}
}
