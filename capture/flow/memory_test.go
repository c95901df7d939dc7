package flow

import (
	"encoding/binary"
	"runtime"
	"testing"
	"time"
)

// floodPacket is the first packet of the i-th of many distinct flows:
// alternately a TCP SYN and a UDP datagram from a different IPv4 source
// (10.0.0.0/8, 64 ports each) to one server port, one microsecond apart.
func floodPacket(i int) Packet {
	var src, dst [16]byte
	src[10], src[11], dst[10], dst[11] = 0xff, 0xff, 0xff, 0xff
	binary.BigEndian.PutUint32(src[12:], 10<<24|uint32(i>>6)&0xffffff)
	copy(dst[12:], []byte{192, 0, 2, 1})
	sport := uint16(1024 + i&63)
	p := Packet{Time: int64(i) * int64(time.Microsecond), WireLen: 60}
	if i%2 == 0 {
		p.Key, p.Dir = KeyFrom16(ProtoTCP, true, src, sport, dst, 5061)
		p.TCPFlags, p.Seq = FlagSYN, uint32(i)
	} else {
		p.Key, p.Dir = KeyFrom16(ProtoUDP, true, src, sport, dst, 5060)
		p.WireLen, p.PayloadLen = 214, 172
	}
	return p
}

// heapInUse is the heap in use after a full collection.
func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestMillionFlowsFitIn512MiB fills a table with one million concurrent
// flows (half TCP, half UDP, none idle long enough to expire) and checks
// the heap they take: DefaultConfig bounds a table at a million flows, and
// the README promises that bound costs under 512 MiB.
func TestMillionFlowsFitIn512MiB(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates about half a GiB")
	}
	const flows = 1_000_000
	const limit = 512 << 20
	before := heapInUse()
	tab := NewTable(DefaultConfig(), nil)
	for i := range flows {
		p := floodPacket(i)
		tab.Packet(&p)
	}
	if tab.Len() != flows || tab.Stats().Ended[EndEvicted].Load() != 0 {
		t.Fatalf("%d active flows, %d evicted", tab.Len(), tab.Stats().Ended[EndEvicted].Load())
	}
	used := heapInUse() - before
	runtime.KeepAlive(tab)
	t.Logf("%d flows: %.1f MiB heap, %d B/flow", flows, float64(used)/(1<<20), used/flows)
	if used > limit {
		t.Errorf("%d flows take %.1f MiB of heap (%d B/flow), want under %d MiB", flows, float64(used)/(1<<20), used/flows, limit>>20)
	}
}

// BenchmarkTableNewFlow creates a new flow per iteration and reports the
// heap each active flow holds (the record, its map slot, the map's spare
// capacity at that size).
func BenchmarkTableNewFlow(b *testing.B) {
	tab := NewTable(Config{MaxFlows: 1 << 30}, nil)
	before := heapInUse()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		p := floodPacket(n)
		tab.Packet(&p)
		n++
	}
	b.StopTimer()
	used := heapInUse() - before
	runtime.KeepAlive(tab)
	b.ReportMetric(float64(used)/float64(n), "B/flow")
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "flows/s")
}

// BenchmarkTableChurn is a table in steady state: every packet opens a
// flow and, once per second of packet time, the sweep ends the flows idle
// past their timeout, some 20,000 live at any time, as the flows of a
// busy link come and go. It measures creating and ending a flow in a
// table too large for the cache.
func BenchmarkTableChurn(b *testing.B) {
	cfg := DefaultConfig()
	cfg.TCPTimeout, cfg.UDPTimeout = time.Second, time.Second
	tab := NewTable(cfg, nil)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		p := floodPacket(n)
		p.Time = int64(n) * int64(100*time.Microsecond)
		tab.Packet(&p)
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "flows/s")
}
