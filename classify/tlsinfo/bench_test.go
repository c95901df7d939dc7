package tlsinfo

import "testing"

func BenchmarkParseClientHello(b *testing.B) {
	for _, tc := range []struct{ name, file string }{
		{"chrome", "chrome-1250-tls-x25519-kyber.pcap"},
		{"mtu300", "dump_mtu300.pcap"},
	} {
		stream := firstClientStream(b, tc.file)
		var h ClientHello
		if err := ParseClientHello(stream, &h); err != nil {
			b.Fatal(err)
		}
		stream = stream[:h.End]
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(stream)))
			for b.Loop() {
				if err := ParseClientHello(stream, &h); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hellos/s")
		})
		b.Run(tc.name+"+JA4", func(b *testing.B) {
			buf := make([]byte, 0, 64)
			b.ReportAllocs()
			b.SetBytes(int64(len(stream)))
			for b.Loop() {
				if err := ParseClientHello(stream, &h); err != nil {
					b.Fatal(err)
				}
				buf = h.AppendJA4(buf[:0])
				h.JA3()
			}
		})
	}
}
