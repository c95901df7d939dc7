package source

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func TestMergeTwoFilesInTimeOrder(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap")
	// a holds the even milliseconds, b the odd ones, plus a tie at 10 ms.
	var pa, pb []pkt
	for i := range 5 {
		pa = append(pa, pkt{t: t0.Add(time.Duration(2*i) * time.Millisecond), data: payload(60+i, 'a')})
		pb = append(pb, pkt{t: t0.Add(time.Duration(2*i+1) * time.Millisecond), data: payload(70+i, 'b')})
	}
	pa = append(pa, pkt{t: t0.Add(10 * time.Millisecond), data: payload(40, 'A')})
	pb = append(pb, pkt{t: t0.Add(10 * time.Millisecond), data: payload(40, 'B')})
	writePcap(t, a, false, layers.LinkTypeEthernet, pa)
	writePcap(t, b, true, layers.LinkTypeRaw, pb)

	// b named first: it wins the tie.
	r, frames := openAll(t, Options{}, b, a)
	if len(frames) != 12 {
		t.Fatalf("got %d frames, want 12", len(frames))
	}
	for i, f := range frames[:10] {
		if want := t0.Add(time.Duration(i) * time.Millisecond).UnixNano(); f.Time != want {
			t.Errorf("frame %d: time %d, want %d", i, f.Time, want)
		}
		wantFile, wantLT, wantIndex := a, layers.LinkTypeEthernet, uint64(i/2+1)
		if i%2 == 1 {
			wantFile, wantLT = b, layers.LinkTypeRaw
		}
		if f.File != wantFile || f.LinkType != wantLT || f.Index != wantIndex {
			t.Errorf("frame %d: %s#%d link %v, want %s#%d link %v", i, f.File, f.Index, f.LinkType, wantFile, wantIndex, wantLT)
		}
	}
	if frames[10].File != b || frames[11].File != a {
		t.Errorf("tie at 10 ms: got %s then %s, want %s first (named first)", frames[10].File, frames[11].File, b)
	}
	if errs := r.Errors(); len(errs) != 0 {
		t.Errorf("unexpected errors: %v", errs)
	}
	s := r.Stats()
	if s.FilesOpened.Load() != 2 || s.Frames.Load() != 12 || s.FilesFailed.Load() != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestDirectoryInput(t *testing.T) {
	dir := t.TempDir()
	// Rotated captures that do not overlap in time, named out of time order
	// on purpose: the merge orders by time, not by name.
	for i, name := range []string{"cap.2", "cap.0", "cap.1"} {
		n := map[string]int{"cap.0": 0, "cap.1": 1, "cap.2": 2}[name]
		var pkts []pkt
		for j := range 3 {
			pkts = append(pkts, pkt{t: t0.Add(time.Duration(n*10+j) * time.Second), data: payload(50, byte(i))})
		}
		writePcap(t, filepath.Join(dir, name), false, layers.LinkTypeEthernet, pkts)
	}
	writeFile(t, filepath.Join(dir, "README.txt"), []byte("rotated captures from the lab\n"))
	writeFile(t, filepath.Join(dir, "graph.png"), []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
	if err := os.Mkdir(filepath.Join(dir, "old"), 0o755); err != nil {
		t.Fatal(err)
	}
	writePcap(t, filepath.Join(dir, "old", "ignored.pcap"), false, layers.LinkTypeEthernet, []pkt{{t: t0, data: payload(9, 0)}})

	r, err := Open([]string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var frames []got
	maxOpen := 0
	for {
		f, err := r.Next()
		if err != nil {
			break
		}
		maxOpen = max(maxOpen, len(r.heap))
		frames = append(frames, got{Frame: *f})
	}
	if len(frames) != 9 {
		t.Fatalf("got %d frames, want 9", len(frames))
	}
	for i, f := range frames {
		if want := t0.Add(time.Duration(i/3*10+i%3) * time.Second).UnixNano(); f.Time != want {
			t.Errorf("frame %d from %s: time %d, want %d", i, f.File, f.Time, want)
		}
	}
	if maxOpen != 1 {
		t.Errorf("up to %d files open at once; rotated captures that do not overlap need 1", maxOpen)
	}
	errs := fileErrors(t, r)
	if len(errs) != 2 {
		t.Fatalf("errors %v, want the PNG and the text file", errs)
	}
	// Reported in name order, as ReadDir lists them.
	for i, name := range []string{"README.txt", "graph.png"} {
		if errs[i].File != filepath.Join(dir, name) || !errors.Is(errs[i], ReasonNotCapture) {
			t.Errorf("error %d: %v, want not-a-capture for %s", i, errs[i], name)
		}
	}
	if !strings.Contains(errs[1].Error(), "89 50 4e 47") {
		t.Errorf("PNG error %q does not show the magic", errs[1])
	}
	s := r.Stats()
	if s.FilesOpened.Load() != 3 || s.FilesFailed.Load() != 2 || s.Skipped(ReasonNotCapture) != 2 {
		t.Errorf("stats %+v", s)
	}
	if m := r.Skipped(); len(m) != 1 || m["not-a-capture"] != 2 {
		t.Errorf("Skipped() = %v, want map[not-a-capture:2]", m)
	}
}

func TestNotACaptureFile(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"notes.pcap": "this is text, whatever the name says\n",
		"image.pcap": "\x89PNG\r\n\x1a\n",
		"empty.pcap": "",
		"tiny.pcap":  "\xd4",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			writeFile(t, path, []byte(content))
			r, frames := openAll(t, Options{}, path)
			errs := fileErrors(t, r)
			if len(frames) != 0 || len(errs) != 1 || !errors.Is(errs[0], ReasonNotCapture) || errs[0].File != path {
				t.Fatalf("frames %d, errors %v; want one not-a-capture error naming %s", len(frames), errs, path)
			}
		})
	}
}

func TestMissingPath(t *testing.T) {
	good := tempPath(t, "good.pcap")
	writePcap(t, good, false, layers.LinkTypeEthernet, []pkt{{t: t0, data: payload(60, 0)}})
	missing := filepath.Join(t.TempDir(), "nope.pcap")
	_, err := Open([]string{good, missing}, Options{})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("Open with a missing path: %v, want a not-exist error naming %s", err, missing)
	}
	if _, err := Open(nil, Options{}); err == nil {
		t.Fatal("Open(nil) succeeded")
	}
}

func TestGzip(t *testing.T) {
	var pkts []pkt
	for i := range 100 {
		pkts = append(pkts, pkt{t: t0.Add(time.Duration(i) * time.Microsecond), data: payload(60+i, byte(i))})
	}
	plain := tempPath(t, "x.pcap")
	writePcap(t, plain, false, layers.LinkTypeEthernet, pkts)
	zipped := tempPath(t, "x.pcap.gz")
	raw := readFile(t, plain)
	writeFile(t, zipped, gzipBytes(t, raw))
	ng := tempPath(t, "x.pcapng.gz")
	n := &ngBytes{order: binary.LittleEndian}
	n.shb(1, 0).idb(layers.LinkTypeEthernet, 9)
	for i, p := range pkts {
		n.epb(0, uint64(p.t.UnixNano()), pkts[i].data)
	}
	writeFile(t, ng, gzipBytes(t, n.buf.Bytes()))

	_, want := openAll(t, Options{}, plain)
	for _, path := range []string{zipped, ng} {
		r, frames := openAll(t, Options{}, path)
		if len(frames) != len(want) || len(r.Errors()) != 0 {
			t.Fatalf("%s: %d frames, errors %v; want %d frames", path, len(frames), r.Errors(), len(want))
		}
		for i := range frames {
			if frames[i].Time != want[i].Time || string(frames[i].data) != string(want[i].data) {
				t.Fatalf("%s frame %d differs from the plain file's", path, i)
			}
		}
		done, total := r.Progress()
		if size := int64(len(readFile(t, path))); done != total || total != size {
			t.Errorf("%s: progress %d/%d, want %d/%d", path, done, total, size, size)
		}
	}
	// Offsets of a gzip file are those of the decompressed stream.
	_, frames := openAll(t, Options{}, zipped)
	for i, f := range frames {
		if f.Offset != want[i].Offset {
			t.Fatalf("frame %d: offset %d, want %d as in the plain file", i, f.Offset, want[i].Offset)
		}
	}
}

func TestGzipDamaged(t *testing.T) {
	plain := tempPath(t, "x.pcap")
	var pkts []pkt
	for i := range 200 {
		pkts = append(pkts, pkt{t: t0.Add(time.Duration(i) * time.Second), data: payload(200, byte(i))})
	}
	writePcap(t, plain, false, layers.LinkTypeEthernet, pkts)
	z := gzipBytes(t, readFile(t, plain))

	cut := tempPath(t, "cut.pcap.gz")
	writeFile(t, cut, z[:len(z)/2])
	r, frames := openAll(t, Options{}, cut)
	errs := fileErrors(t, r)
	if len(frames) == 0 || len(frames) >= 200 || len(errs) != 1 || !errors.Is(errs[0], ReasonTruncated) {
		t.Errorf("cut gzip: %d frames, errors %v; want some frames then a truncated-record error", len(frames), errs)
	}

	bad := slices.Clone(z)
	bad[len(bad)-6] ^= 0xff // CRC-32 in the trailer
	flipped := tempPath(t, "crc.pcap.gz")
	writeFile(t, flipped, bad)
	r, frames = openAll(t, Options{}, flipped)
	errs = fileErrors(t, r)
	if len(errs) != 1 || !errors.Is(errs[0], ReasonDecompress) {
		t.Errorf("bad CRC: %d frames, errors %v; want a decompress error", len(frames), errs)
	}

	notCapture := tempPath(t, "text.gz")
	writeFile(t, notCapture, gzipBytes(t, []byte("hello, world\n")))
	r, _ = openAll(t, Options{}, notCapture)
	if errs := fileErrors(t, r); len(errs) != 1 || !errors.Is(errs[0], ReasonNotCapture) || !strings.Contains(errs[0].Error(), "gzip") {
		t.Errorf("gzip'd text: errors %v, want not-a-capture mentioning gzip", errs)
	}
}

func TestClassicVariants(t *testing.T) {
	data := payload(42, 7)
	for _, tc := range []struct {
		name     string
		order    byteOrder
		nanos    bool
		minor    uint16
		frac     uint32
		wantTime int64
	}{
		{"little-endian micro", binary.LittleEndian, false, 4, 123456, 1700000000_123456000},
		{"big-endian micro", binary.BigEndian, false, 4, 123456, 1700000000_123456000},
		{"little-endian nano", binary.LittleEndian, true, 4, 123456789, 1700000000_123456789},
		{"big-endian nano", binary.BigEndian, true, 4, 123456789, 1700000000_123456789},
		{"version 2.2, as libpcap accepts", binary.LittleEndian, false, 2, 1, 1700000000_000001000},
		{"micro fraction out of range", binary.BigEndian, false, 4, 1_500_000, 1700000001_500000000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPcapBytes(tc.order, tc.nanos, tc.minor, 65535, uint32(layers.LinkTypeLinuxSLL))
			p.packet(1700000000, tc.frac, data).packet(1700000001, 0, data[:10])
			path := tempPath(t, "v.pcap")
			writeFile(t, path, p.buf.Bytes())
			r, frames := openAll(t, Options{}, path)
			if len(frames) != 2 || len(r.Errors()) != 0 {
				t.Fatalf("%d frames, errors %v", len(frames), r.Errors())
			}
			f := frames[0]
			if f.Time != tc.wantTime || f.LinkType != layers.LinkTypeLinuxSLL || string(f.data) != string(data) || f.Offset != 24 || f.Index != 1 {
				t.Errorf("frame %+v", f.Frame)
			}
			if frames[1].Offset != 24+16+42 || frames[1].CaptureLen != 10 {
				t.Errorf("second frame at offset %d with %d bytes", frames[1].Offset, frames[1].CaptureLen)
			}
			wantFixed := uint64(0)
			if tc.frac >= 1e6 && !tc.nanos {
				wantFixed = 1
			}
			if s := r.Stats(); s.InvalidTimestamps.Load() != wantFixed {
				t.Errorf("InvalidTimestamps %d, want %d", s.InvalidTimestamps.Load(), wantFixed)
			}
		})
	}
}

// TestBrokenRecords ends files in each way a record can be broken and
// checks the FileError: reason, packet number, offset, and that the frames
// before the damage are kept.
func TestBrokenRecords(t *testing.T) {
	le := binary.LittleEndian
	good := payload(100, 1)
	base := func() *pcapBytes {
		return newPcapBytes(le, false, 4, 65535, 1).packet(1, 0, good).packet(2, 0, good)
	}
	const third = 24 + 2*(16+100) // offset of the third record
	for _, tc := range []struct {
		name   string
		file   []byte
		opts   Options
		reason Reason
		packet uint64
		offset int64
		frames int
		text   string
	}{
		{"last record cut", base().record(3, 0, 100, 100, good[:30]).buf.Bytes(), Options{}, ReasonTruncated, 3, third, 2, "header claims 100 bytes, file has 30"},
		{"record header cut", append(base().buf.Bytes(), 1, 2, 3, 4, 5), Options{}, ReasonTruncated, 3, third, 2, "record header cut short: 5 of 16 bytes"},
		{"record data missing entirely", base().record(3, 0, 100, 100, nil).buf.Bytes(), Options{}, ReasonTruncated, 3, third, 2, "file has 0"},
		{"absurd length", base().record(3, 0, 0xfffffff0, 0xfffffff0, good).buf.Bytes(), Options{}, ReasonTooLarge, 3, third, 2, "record claims 4294967280 bytes, more than the 262144-byte limit"},
		{"length over a lower limit", base().buf.Bytes(), Options{MaxRecordLen: 99}, ReasonTooLarge, 1, 24, 0, "more than the 99-byte limit"},
		{"captured more than the wire", base().record(3, 0, 100, 60, good).buf.Bytes(), Options{}, ReasonCorruptHeader, 3, third, 2, "100 bytes captured of a 60-byte packet"},
		{"file header cut", newPcapBytes(le, false, 4, 65535, 1).buf.Bytes()[:20], Options{}, ReasonTruncated, 0, 0, 0, "pcap file header cut short"},
		{"pcap version 3", newPcapBytes(le, false, 0, 65535, 1).buf.Bytes(), Options{}, ReasonVersion, 0, 4, 0, "pcap version 3.0"},
		{"reserved link-type bits", newPcapBytes(le, false, 4, 65535, 0x00010001).packet(1, 0, good).buf.Bytes(), Options{}, ReasonLinkType, 0, 20, 0, "reserved bits"},
		{"refused link type", base().buf.Bytes(), Options{LinkTypeSupported: func(lt layers.LinkType) bool { return lt != 1 }}, ReasonLinkType, 0, 20, 0, "link type 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := tc.file
			if tc.reason == ReasonVersion {
				file = slices.Clone(file)
				le.PutUint16(file[4:], 3)
			}
			path := tempPath(t, "broken.pcap")
			writeFile(t, path, file)
			r, frames := openAll(t, tc.opts, path)
			errs := fileErrors(t, r)
			if len(frames) != tc.frames || len(errs) != 1 {
				t.Fatalf("%d frames, errors %v; want %d frames and one error", len(frames), errs, tc.frames)
			}
			e := errs[0]
			if !errors.Is(e, tc.reason) || e.Packet != tc.packet || e.Offset != tc.offset || !strings.Contains(e.Error(), tc.text) || e.File != path {
				t.Errorf("error %q (reason %s, packet %d, offset %d), want reason %s packet %d offset %d containing %q",
					e, e.Reason, e.Packet, e.Offset, tc.reason, tc.packet, tc.offset, tc.text)
			}
			if s := r.Stats(); s.FilesFailed.Load() != 1 || s.Skipped(tc.reason) != 1 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

func TestBrokenFileDoesNotStopOthers(t *testing.T) {
	good := tempPath(t, "good.pcap")
	writePcap(t, good, false, 1, []pkt{{t: t0, data: payload(60, 0)}, {t: t0.Add(time.Hour), data: payload(60, 1)}})
	bad := tempPath(t, "bad.pcap")
	writeFile(t, bad, newPcapBytes(binary.LittleEndian, false, 4, 65535, 1).
		packet(uint32(t0.Unix())+1, 0, payload(60, 2)).
		record(uint32(t0.Unix())+2, 0, 5000000, 5000000, nil).buf.Bytes())
	r, frames := openAll(t, Options{}, good, bad)
	if len(frames) != 3 || len(r.Errors()) != 1 {
		t.Fatalf("%d frames, errors %v; want 3 frames and bad.pcap's error", len(frames), r.Errors())
	}
	if frames[1].File != bad || frames[2].File != good {
		t.Errorf("frames from %s, %s, %s", frames[0].File, frames[1].File, frames[2].File)
	}
}

func TestPcapNGInterfaces(t *testing.T) {
	for _, order := range []byteOrder{binary.LittleEndian, binary.BigEndian} {
		t.Run(order.String(), func(t *testing.T) {
			base := t0.UnixNano()
			n := &ngBytes{order: order}
			n.shb(1, 0).
				idb(layers.LinkTypeEthernet, 0).    // microseconds, the default
				idb(layers.LinkTypeRaw, 9).         // nanoseconds
				idb(layers.LinkTypeLinuxSLL2, 0x84) // 2^-4 s
			n.epb(0, uint64(base/1000)+1, payload(60, 0))
			n.epb(1, uint64(base)+1500, payload(40, 1))
			n.epb(2, uint64(t0.Unix()+1)<<4|8, payload(50, 2)) // +1.5 s
			// A second section resets the interfaces.
			n.shb(1, 0).idb(layers.LinkTypeIPv6, 9)
			n.epb(0, uint64(base)+2_000_000_000, payload(48, 3))
			path := tempPath(t, "multi.pcapng")
			writeFile(t, path, n.buf.Bytes())

			r, frames := openAll(t, Options{}, path)
			if len(r.Errors()) != 0 || len(frames) != 4 {
				t.Fatalf("%d frames, errors %v", len(frames), r.Errors())
			}
			want := []struct {
				iface int
				lt    layers.LinkType
				time  int64
			}{
				{0, layers.LinkTypeEthernet, base + 1000},
				{1, layers.LinkTypeRaw, base + 1500},
				{2, layers.LinkTypeLinuxSLL2, base + 1_500_000_000},
				{0, layers.LinkTypeIPv6, base + 2_000_000_000},
			}
			for i, w := range want {
				f := frames[i]
				if f.Interface != w.iface || f.LinkType != w.lt || f.Time != w.time || f.Index != uint64(i+1) {
					t.Errorf("frame %d: interface %d link %v time %d index %d, want %d %v %d %d", i, f.Interface, f.LinkType, f.Time, f.Index, w.iface, w.lt, w.time, i+1)
				}
				if hdr := n.buf.Bytes()[f.Offset:]; order.Uint32(hdr) != 6 || string(hdr[28:28+f.CaptureLen]) != string(f.data) {
					t.Errorf("frame %d: offset %d does not hold its enhanced packet block", i, f.Offset)
				}
			}
		})
	}
}

func TestPcapNGSimplePacket(t *testing.T) {
	n := &ngBytes{order: binary.BigEndian}
	n.shb(1, 0).idb(layers.LinkTypeEthernet, 0).spb(60, payload(60, 3)).spb(61, payload(61, 4))
	path := tempPath(t, "spb.pcapng")
	writeFile(t, path, n.buf.Bytes())
	r, frames := openAll(t, Options{}, path)
	if len(frames) != 2 || len(r.Errors()) != 0 {
		t.Fatalf("%d frames, errors %v", len(frames), r.Errors())
	}
	for i, f := range frames {
		// Simple packet blocks carry no timestamp.
		if f.Time != 0 || f.CaptureLen != 60+i || f.LinkType != layers.LinkTypeEthernet || n.buf.Bytes()[f.Offset+3] != 3 {
			t.Errorf("frame %d: %+v", i, f.Frame)
		}
	}
}

func TestPcapNGRefusedInterface(t *testing.T) {
	n := &ngBytes{order: binary.LittleEndian}
	n.shb(1, 0).idb(layers.LinkTypeEthernet, 9).idb(layers.LinkType(147), 9)
	for i := range 6 {
		n.epb(uint32(i%2), uint64(t0.UnixNano())+uint64(i), payload(30, byte(i)))
	}
	path := tempPath(t, "user0.pcapng")
	writeFile(t, path, n.buf.Bytes())
	r, frames := openAll(t, Options{LinkTypeSupported: func(lt layers.LinkType) bool { return lt == layers.LinkTypeEthernet }}, path)
	if len(frames) != 3 {
		t.Fatalf("got %d frames, want the 3 on the Ethernet interface", len(frames))
	}
	for i, f := range frames {
		if f.Interface != 0 || f.Index != uint64(2*i+1) {
			t.Errorf("frame %d: interface %d index %d", i, f.Interface, f.Index)
		}
	}
	errs := fileErrors(t, r)
	if len(errs) != 1 || !errors.Is(errs[0], ReasonLinkType) || errs[0].Packet != 2 {
		t.Errorf("errors %v, want one unsupported-linktype report at packet 2", errs)
	}
	if s := r.Stats(); s.Skipped(ReasonLinkType) != 3 || s.FilesFailed.Load() != 0 {
		t.Errorf("stats %+v, want 3 skipped frames and no failed file", s)
	}
}

func TestPcapNGBrokenBlocks(t *testing.T) {
	le := binary.LittleEndian
	head := func() *ngBytes {
		n := &ngBytes{order: le}
		return n.shb(1, 0).idb(layers.LinkTypeEthernet, 9).epb(0, 1, payload(60, 0))
	}
	firstLen := len(head().buf.Bytes())
	for _, tc := range []struct {
		name   string
		file   func() []byte
		reason Reason
		offset int64
		frames int
	}{
		{"captured length past the block", func() []byte {
			return head().epbLens(0, 2, 400, 400, payload(60, 1)).buf.Bytes()
		}, ReasonInvalidBlock, int64(firstLen), 1},
		{"captured length past the limit", func() []byte {
			return head().epbLens(0, 2, 1<<30, 1<<30, payload(60, 1)).buf.Bytes()
		}, ReasonTooLarge, int64(firstLen), 1},
		{"captured more than the wire", func() []byte {
			return head().epbLens(0, 2, 60, 20, payload(60, 1)).buf.Bytes()
		}, ReasonCorruptHeader, int64(firstLen), 1},
		{"trailing length differs", func() []byte {
			b := head().epb(0, 2, payload(60, 1)).buf.Bytes()
			b[len(b)-1] = 0x7f
			return b
		}, ReasonInvalidBlock, int64(firstLen), 1},
		{"block length below minimum", func() []byte {
			b := head().buf.Bytes()
			return append(b, 6, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0)
		}, ReasonInvalidBlock, int64(firstLen), 1},
		{"unknown interface", func() []byte {
			return head().epb(5, 2, payload(60, 1)).buf.Bytes()
		}, ReasonInvalidBlock, int64(firstLen), 1},
		{"block cut short", func() []byte {
			b := head().epb(0, 2, payload(60, 1)).buf.Bytes()
			return b[:len(b)-10]
		}, ReasonTruncated, int64(firstLen), 1},
		{"simple packet claiming more than it holds", func() []byte {
			return head().spb(400, payload(40, 1)).buf.Bytes()
		}, ReasonInvalidBlock, int64(firstLen), 1},
		{"section version 2.0", func() []byte {
			return (&ngBytes{order: le}).shb(2, 0).idb(1, 9).epb(0, 1, payload(60, 0)).buf.Bytes()
		}, ReasonVersion, 0, 0},
		{"bad byte-order magic", func() []byte {
			b := head().buf.Bytes()
			b[8] ^= 0xff
			return b
		}, ReasonInvalidBlock, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tempPath(t, "broken.pcapng")
			writeFile(t, path, tc.file())
			r, frames := openAll(t, Options{}, path)
			errs := fileErrors(t, r)
			if len(frames) != tc.frames || len(errs) != 1 {
				t.Fatalf("%d frames, errors %v; want %d frames and one error", len(frames), errs, tc.frames)
			}
			if e := errs[0]; !errors.Is(e, tc.reason) || e.Offset != tc.offset {
				t.Errorf("error %q (reason %s, offset %d), want reason %s at offset %d", e, e.Reason, e.Offset, tc.reason, tc.offset)
			}
		})
	}
}

// TestHugeClaimBoundedMemory checks that a record claiming gigabytes in a
// small file costs no more than the file, even with the limit raised so
// that the claim reaches pcapgo.
func TestHugeClaimBoundedMemory(t *testing.T) {
	pc := newPcapBytes(binary.LittleEndian, false, 4, 65535, 1).record(1, 0, 1<<31-16, 1<<31-16, payload(1000, 0))
	ng := (&ngBytes{order: binary.LittleEndian}).shb(1, 0).idb(1, 9)
	ng.buf.Write([]byte{6, 0, 0, 0, 0xfc, 0xff, 0xff, 0x3f}) // EPB claiming 1 GiB
	ng.buf.Write(make([]byte, 1000))
	for name, file := range map[string][]byte{"pcap": pc.buf.Bytes(), "pcapng": ng.buf.Bytes()} {
		t.Run(name, func(t *testing.T) {
			path := tempPath(t, "huge")
			writeFile(t, path, file)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			r, frames := openAll(t, Options{MaxRecordLen: 1<<31 - 1, BufferSize: 64 << 10}, path)
			runtime.ReadMemStats(&after)
			if len(frames) != 0 || len(r.Errors()) != 1 {
				t.Fatalf("%d frames, errors %v; want one error", len(frames), r.Errors())
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
				t.Errorf("reading a %d-byte file allocated %d bytes", len(file), alloc)
			}
		})
	}
}

func TestCloseAndProgress(t *testing.T) {
	path := tempPath(t, "p.pcap")
	writePcap(t, path, false, 1, []pkt{{t: t0, data: payload(60, 0)}, {t: t0, data: payload(60, 1)}})
	r, err := Open([]string{path}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if done, total := r.Progress(); done != 0 || total != 24+2*76 {
		t.Errorf("progress before reading %d/%d", done, total)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close: %v, want ErrClosed", err)
	}
}

// Two sections in one file, each with its own interfaces and timestamp
// resolution: the direct packet path (fastEPB) must learn the second
// section's clocks and link types, and agree with the pcapgo path, which
// takes every packet of a binary-resolution interface.
func TestPcapNGSectionsRestartInterfaces(t *testing.T) {
	n := &ngBytes{order: binary.LittleEndian}
	n.shb(1, 0).idb(layers.LinkTypeEthernet, 6).idb(layers.LinkTypeRaw, 9)
	n.epb(0, 1_700_000_000_123456, payload(60, 1))    // µs
	n.epb(1, 1_700_000_001_000000123, payload(40, 2)) // ns
	n.shb(1, 0).idb(layers.LinkTypeLinuxSLL, 9).idb(layers.LinkTypeEthernet, 0x80|20)
	n.epb(0, 1_700_000_002_000000007, payload(50, 3)) // ns, index 0 is now SLL
	n.epb(1, 1_700_000_003<<20|1<<19, payload(70, 4)) // 2^-20 s: pcapgo's path; .5 s
	path := tempPath(t, "sections.pcapng")
	writeFile(t, path, n.buf.Bytes())
	_, frames := openAll(t, Options{}, path)
	want := []struct {
		t  int64
		lt layers.LinkType
	}{
		{1_700_000_000_123456000, layers.LinkTypeEthernet},
		{1_700_000_001_000000123, layers.LinkTypeRaw},
		{1_700_000_002_000000007, layers.LinkTypeLinuxSLL},
		{1_700_000_003_500000000, layers.LinkTypeEthernet},
	}
	if len(frames) != len(want) {
		t.Fatalf("%d frames, want %d", len(frames), len(want))
	}
	for i, w := range want {
		// pcapgo converts binary resolutions with an integer scale
		// (1e9/2^20 = 953), so the last frame is off by up to 0.1%.
		tol := int64(0)
		if i == 3 {
			tol = 1_000_000
		}
		if d := frames[i].Time - w.t; d < -tol || d > tol || frames[i].LinkType != w.lt || frames[i].Index != uint64(i+1) {
			t.Errorf("frame %d: time %d link %v index %d, want %d %v", i+1, frames[i].Time, frames[i].LinkType, frames[i].Index, w.t, w.lt)
		}
	}
}

// TestPcapNGBlocksAcrossBufferRefills reads packet blocks that straddle the
// read buffer's end, so reading one refills the buffer and moves its
// contents: every field must come from the block as it is after the move.
func TestPcapNGBlocksAcrossBufferRefills(t *testing.T) {
	n := &ngBytes{order: binary.LittleEndian}
	n.shb(1, 0).idb(layers.LinkTypeEthernet, 9)
	type want struct {
		time   int64
		data   []byte
		offset int64
	}
	var wants []want
	for i := range 3000 {
		data := payload(60+(i*97)%1400, byte(i))
		ts := uint64(1_700_000_000_000_000_000 + i*1_000_003)
		wants = append(wants, want{time: int64(ts), data: data, offset: int64(n.buf.Len())})
		n.epb(0, ts, data)
	}
	path := tempPath(t, "refills.pcapng")
	writeFile(t, path, n.buf.Bytes())
	for _, size := range []int{4096, 5000, 64 << 10} {
		r, frames := openAll(t, Options{BufferSize: size}, path)
		if errs := r.Errors(); len(errs) > 0 {
			t.Fatalf("buffer %d: errors %v", size, errs)
		}
		if len(frames) != len(wants) {
			t.Fatalf("buffer %d: %d frames, want %d", size, len(frames), len(wants))
		}
		for i, f := range frames {
			w := wants[i]
			if f.Time != w.time || string(f.data) != string(w.data) || f.Offset != w.offset || f.Index != uint64(i+1) {
				t.Fatalf("buffer %d, frame %d: time %d offset %d index %d (%d bytes); want time %d offset %d index %d (%d bytes)",
					size, i, f.Time, f.Offset, f.Index, len(f.data), w.time, w.offset, i+1, len(w.data))
			}
		}
	}
}

// TestNGClockUnixNano covers the constant-divisor paths of the two common
// resolutions and the general one, with an interface's time offset.
func TestNGClockUnixNano(t *testing.T) {
	for _, tc := range []struct {
		exp    uint8
		offset int64
		ts     uint64
		want   int64
	}{
		{6, 0, 1_700_000_000_123456, 1_700_000_000_123456000},
		{9, 0, 1_700_000_000_123456789, 1_700_000_000_123456789},
		{3, 0, 1_700_000_000_123, 1_700_000_000_123000000},
		{6, -3600, 1_700_000_000_000001, 1_699_996_400_000001000},
		{9, 10, 999_999_999, 10_999_999_999},
	} {
		clk := ngClock{ok: true, perSecond: pow10(tc.exp), scaleUp: int64(pow10(9 - tc.exp)), offset: tc.offset}
		if got := clk.unixNano(tc.ts); got != tc.want {
			t.Errorf("10^-%d s, offset %d: %d -> %d, want %d", tc.exp, tc.offset, tc.ts, got, tc.want)
		}
	}
}
