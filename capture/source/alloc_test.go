package source

import (
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// genPackets returns n packets of varied sizes, 1 ms apart from start.
func genPackets(n int, start time.Time) []pkt {
	pkts := make([]pkt, n)
	for i := range pkts {
		pkts[i] = pkt{t: start.Add(time.Duration(i) * time.Millisecond), data: payload(60+(i*37)%1400, byte(i))}
	}
	return pkts
}

func writePcapNG(t testing.TB, path string, pkts []pkt) {
	n := &ngBytes{order: binary.LittleEndian}
	n.shb(1, 0).idb(layers.LinkTypeEthernet, 9).idb(layers.LinkTypeRaw, 0)
	for i, p := range pkts {
		ts := uint64(p.t.UnixNano())
		if i%2 == 1 {
			ts /= 1000 // interface 1 counts microseconds
		}
		n.epb(uint32(i%2), ts, p.data)
	}
	writeFile(t, path, n.buf.Bytes())
}

func TestNextAllocatesNothing(t *testing.T) {
	dir := t.TempDir()
	pkts := genPackets(3000, t0)
	pcap := filepath.Join(dir, "a.pcap")
	writePcap(t, pcap, true, layers.LinkTypeEthernet, pkts)
	gz := filepath.Join(dir, "a.pcap.gz")
	writeFile(t, gz, gzipBytes(t, readFile(t, pcap)))
	ng := filepath.Join(dir, "a.pcapng")
	writePcapNG(t, ng, pkts)
	other := filepath.Join(dir, "b.pcap")
	writePcap(t, other, false, layers.LinkTypeEthernet, genPackets(3000, t0.Add(time.Microsecond)))

	for _, tc := range []struct {
		name  string
		paths []string
	}{
		{"pcap", []string{pcap}},
		{"pcap.gz", []string{gz}},
		{"pcapng", []string{ng}},
		{"merge of two", []string{pcap, other}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Open(tc.paths, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			next := func() {
				if _, err := r.Next(); err != nil {
					t.Fatalf("Next: %v", err)
				}
			}
			for range 200 { // buffers sized, files opened
				next()
			}
			if n := testing.AllocsPerRun(2000, next); n != 0 {
				t.Errorf("Next allocates %.2f times per frame, want 0", n)
			}
		})
	}
}

// BenchmarkReader reads a generated 20000-frame pcap from a temp file,
// reopening it when it ends; one op is one frame.
func BenchmarkReader(b *testing.B) {
	for _, format := range []string{"pcap", "pcapng"} {
		b.Run(format, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "bench."+format)
			pkts := genPackets(20000, t0)
			if format == "pcap" {
				writePcap(b, path, false, layers.LinkTypeEthernet, pkts)
			} else {
				writePcapNG(b, path, pkts)
			}
			info, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(info.Size() / int64(len(pkts)))
			b.ReportAllocs()
			r, err := Open([]string{path}, Options{})
			if err != nil {
				b.Fatal(err)
			}
			var captured int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f, err := r.Next()
				if err == io.EOF {
					r.Close()
					if r, err = Open([]string{path}, Options{}); err != nil {
						b.Fatal(err)
					}
					f, err = r.Next()
				}
				if err != nil {
					b.Fatal(err)
				}
				captured += int64(f.CaptureLen)
			}
			b.StopTimer()
			r.Close()
			secs := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N)/secs, "pkts/s")
			b.ReportMetric(float64(captured)/secs, "frame-bytes/s")
		})
	}
}
