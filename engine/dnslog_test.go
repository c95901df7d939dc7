package engine

import (
	"errors"
	"fmt"
	"net/netip"
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
	lost := make([]*dnsinfo.Transaction, n)
	for i := range lost {
		lost[i] = &dnsinfo.Transaction{Name: "lost.example"}
		buf.add(lost[i])
	}
	rows, err := aud.CloseDNS()
	if !errors.Is(err, parquetout.ErrClosed) || !strings.Contains(err.Error(), "(519 DNS transactions not written)") || rows != 0 {
		t.Errorf("CloseDNS = %d, %v; want the write error and %d transactions not written", rows, err, n)
	}
	// Those not written are reset for reuse all the same.
	for i, tx := range lost {
		if tx.Name != "" {
			t.Fatalf("transaction %d of the failed file not reset: %+v", i, tx)
		}
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

// BenchmarkDNSLog is the dns.parquet writer goroutine's work per file of
// 92 k transactions shaped like the benchmark capture's (a dozen names,
// an address or a CNAME and addresses): rows built, written and the
// transactions reset, with the workers' side of taking and handing them
// over.
func BenchmarkDNSLog(b *testing.B) {
	aud, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	server := netip.MustParseAddrPort("10.10.1.6:53")
	templates := make([]dnsinfo.Transaction, 64)
	for i := range templates {
		name := fmt.Sprintf("svc%d.site.example.com", i%12)
		tx := dnsinfo.Transaction{
			Server: server, Proto: 17, Service: "dns", Name: name, Type: dnsinfo.TypeA, Class: 1,
			Flags: dnsinfo.FlagRD | dnsinfo.FlagRA,
		}
		addr := netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
		if i%3 == 0 {
			target := fmt.Sprintf("edge%d.cdn.example.net", i%5)
			tx.Answers = append(tx.Answers, dnsinfo.TxAnswer{Name: name, Type: dnsinfo.TypeCNAME, TTL: 3600, Target: target})
			name = target
		}
		tx.Answers = append(tx.Answers, dnsinfo.TxAnswer{Name: name, Type: dnsinfo.TypeA, TTL: 60, Addr: addr})
		templates[i] = tx
	}
	const n = 92_350
	path := filepath.Join(b.TempDir(), "dns.parquet")
	buf := aud.dnsLog.buffer()
	b.ReportAllocs()
	for b.Loop() {
		if err := aud.OpenDNS(path); err != nil {
			b.Fatal(err)
		}
		for i := range n {
			tx := buf.get()
			answers := tx.Answers
			*tx = templates[i%len(templates)]
			tx.Answers = append(answers[:0], tx.Answers...)
			tx.Client = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 10, 2, byte(i)}), uint16(49152+i%16384))
			tx.ID, tx.QueryTime = uint16(i), int64(i)*4_000_000
			tx.ResponseTime = tx.QueryTime + 2_000_000
			buf.add(tx)
		}
		if rows, err := aud.CloseDNS(); err != nil || rows != n {
			b.Fatalf("CloseDNS = %d, %v", rows, err)
		}
	}
}
