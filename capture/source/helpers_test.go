package source

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/klauspost/compress/gzip"
)

// got is a frame copied out of the reader, so it outlives the next call.
type got struct {
	Frame
	data []byte
}

// readAll drains r and returns its frames; Next must never fail with
// anything but io.EOF.
func readAll(t testing.TB, r *Reader) []got {
	t.Helper()
	var out []got
	for {
		f, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if f.CaptureLen != len(f.Data) || f.CaptureLen > f.WireLen {
			t.Fatalf("frame %s#%d: CaptureLen %d, len(Data) %d, WireLen %d", f.File, f.Index, f.CaptureLen, len(f.Data), f.WireLen)
		}
		out = append(out, got{Frame: *f, data: bytes.Clone(f.Data)})
	}
}

func openAll(t testing.TB, opts Options, paths ...string) (*Reader, []got) {
	t.Helper()
	r, err := Open(paths, opts)
	if err != nil {
		t.Fatalf("Open(%q): %v", paths, err)
	}
	t.Cleanup(func() { r.Close() })
	return r, readAll(t, r)
}

// fileErrors returns r's errors, failing the test on any that is not a
// *FileError.
func fileErrors(t testing.TB, r *Reader) []*FileError {
	t.Helper()
	var out []*FileError
	for _, err := range r.Errors() {
		var fe *FileError
		if !errors.As(err, &fe) {
			t.Fatalf("error %v (%T) is not a *FileError", err, err)
		}
		out = append(out, fe)
	}
	return out
}

// pkt is a packet to write into a generated capture.
type pkt struct {
	t    time.Time
	data []byte
}

// payload returns n recognisable bytes.
func payload(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

// writePcap writes a little-endian classic pcap with pcapgo's writer.
func writePcap(t testing.TB, path string, nanos bool, lt layers.LinkType, pkts []pkt) {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if nanos {
		w = pcapgo.NewWriterNanos(&buf)
	}
	if err := w.WriteFileHeader(65535, lt); err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: p.t, CaptureLength: len(p.data), Length: len(p.data)}
		if err := w.WritePacket(ci, p.data); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, path, buf.Bytes())
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// pcapBytes builds a classic pcap by hand, for what pcapgo's writer does
// not write: big-endian files, odd versions and link-type fields, broken
// records.
type pcapBytes struct {
	order byteOrder
	nanos bool
	buf   bytes.Buffer
}

func newPcapBytes(order byteOrder, nanos bool, minor uint16, snaplen, linkField uint32) *pcapBytes {
	p := &pcapBytes{order: order, nanos: nanos}
	magic := uint32(0xa1b2c3d4)
	if nanos {
		magic = 0xa1b23c4d
	}
	p.u32(magic)
	p.u16(2)
	p.u16(minor)
	p.u32(0)
	p.u32(0)
	p.u32(snaplen)
	p.u32(linkField)
	return p
}

func (p *pcapBytes) u16(v uint16) { p.buf.Write(p.order.AppendUint16(nil, v)) }
func (p *pcapBytes) u32(v uint32) { p.buf.Write(p.order.AppendUint32(nil, v)) }

// record appends a record whose header says capLen/wireLen and whose body
// is data, whatever its length.
func (p *pcapBytes) record(sec, frac, capLen, wireLen uint32, data []byte) *pcapBytes {
	p.u32(sec)
	p.u32(frac)
	p.u32(capLen)
	p.u32(wireLen)
	p.buf.Write(data)
	return p
}

func (p *pcapBytes) packet(sec, frac uint32, data []byte) *pcapBytes {
	return p.record(sec, frac, uint32(len(data)), uint32(len(data)), data)
}

// ngBytes builds a pcapng file by hand: per-interface timestamp
// resolutions, big-endian sections and broken blocks.
type ngBytes struct {
	order byteOrder
	buf   bytes.Buffer
}

func (n *ngBytes) block(typ uint32, body []byte) *ngBytes {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	l := uint32(12 + len(body))
	n.buf.Write(n.order.AppendUint32(nil, typ))
	n.buf.Write(n.order.AppendUint32(nil, l))
	n.buf.Write(body)
	n.buf.Write(n.order.AppendUint32(nil, l))
	return n
}

func (n *ngBytes) shb(major, minor uint16) *ngBytes {
	body := n.order.AppendUint32(nil, 0x1a2b3c4d)
	body = n.order.AppendUint16(body, major)
	body = n.order.AppendUint16(body, minor)
	body = n.order.AppendUint64(body, ^uint64(0))
	return n.block(0x0a0d0d0a, body)
}

// idb adds an interface; tsresol 0 leaves the default (microseconds).
func (n *ngBytes) idb(lt layers.LinkType, tsresol byte) *ngBytes {
	body := n.order.AppendUint16(nil, uint16(lt))
	body = n.order.AppendUint16(body, 0)
	body = n.order.AppendUint32(body, 0)
	if tsresol != 0 {
		body = n.order.AppendUint16(body, 9) // if_tsresol
		body = n.order.AppendUint16(body, 1)
		body = append(body, tsresol, 0, 0, 0)
		body = n.order.AppendUint32(body, 0) // opt_endofopt
	}
	return n.block(1, body)
}

// epb adds an enhanced packet block; ts is in the interface's units.
func (n *ngBytes) epb(iface uint32, ts uint64, data []byte) *ngBytes {
	return n.epbLens(iface, ts, uint32(len(data)), uint32(len(data)), data)
}

func (n *ngBytes) epbLens(iface uint32, ts uint64, capLen, wireLen uint32, data []byte) *ngBytes {
	body := n.order.AppendUint32(nil, iface)
	body = n.order.AppendUint32(body, uint32(ts>>32))
	body = n.order.AppendUint32(body, uint32(ts))
	body = n.order.AppendUint32(body, capLen)
	body = n.order.AppendUint32(body, wireLen)
	body = append(body, data...)
	return n.block(6, body)
}

func tempPath(t testing.TB, name string) string {
	return filepath.Join(t.TempDir(), name)
}

// spb adds a simple packet block claiming origLen bytes.
func (n *ngBytes) spb(origLen uint32, data []byte) *ngBytes {
	return n.block(3, append(n.order.AppendUint32(nil, origLen), data...))
}
