package source

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// FuzzReader reads arbitrary bytes as a capture file: no panic, no frame
// breaking its invariants, no error that is not a *FileError, and Next
// ends after a number of frames the input can hold.
func FuzzReader(f *testing.F) {
	for _, tc := range realCaptures {
		b, err := os.ReadFile(filepath.Join(pcapsDir, tc.file))
		if err != nil {
			f.Fatal(err)
		}
		if len(b) <= 16<<10 { // big seeds make minimising slow, and add nothing
			f.Add(b)
		}
	}
	small := newPcapBytes(binary.BigEndian, true, 4, 65535, 1).packet(1, 2, payload(20, 0)).buf.Bytes()
	f.Add(small)
	f.Add(gzipBytes(f, small))
	ng := (&ngBytes{order: binary.LittleEndian}).shb(1, 0).idb(1, 9).idb(147, 0x86).epb(1, 5, payload(9, 0)).epb(0, 7, payload(70, 1))
	f.Add(ng.buf.Bytes())
	f.Add(gzipBytes(f, ng.buf.Bytes()))

	path := filepath.Join(f.TempDir(), "fuzz.cap")
	const maxRecord = 1 << 16
	opts := Options{
		MaxRecordLen:      maxRecord,
		BufferSize:        4096,
		LinkTypeSupported: func(lt layers.LinkType) bool { return lt != 147 },
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := Open([]string{path}, opts)
		if err != nil {
			t.Fatalf("Open of an existing file failed: %v", err)
		}
		defer r.Close()
		// Every frame takes at least 12 bytes of the decompressed stream,
		// and deflate expands at most 1032 to 1.
		limit := uint64(len(data))*1032/12 + 1
		var frames, lastIndex uint64
		lastOffset := int64(-1)
		for {
			fr, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			frames++
			if frames > limit {
				t.Fatalf("more than %d frames from %d bytes", limit, len(data))
			}
			if fr.CaptureLen != len(fr.Data) || fr.CaptureLen > fr.WireLen || fr.CaptureLen > maxRecord {
				t.Fatalf("frame %d: CaptureLen %d, len(Data) %d, WireLen %d", fr.Index, fr.CaptureLen, len(fr.Data), fr.WireLen)
			}
			if fr.Index <= lastIndex || fr.Offset <= lastOffset || fr.File != path || fr.LinkType == 147 {
				t.Fatalf("frame %+v after index %d offset %d", fr, lastIndex, lastOffset)
			}
			lastIndex, lastOffset = fr.Index, fr.Offset
		}
		errs := r.Errors()
		if len(errs) > 2 {
			t.Fatalf("%d errors from one file: %v", len(errs), errs)
		}
		for _, err := range errs {
			var fe *FileError
			if !errors.As(err, &fe) || fe.File != path || fe.Reason == "" || fe.Err == nil {
				t.Fatalf("error %v (%T)", err, err)
			}
		}
		if s := r.Stats(); s.Frames.Load() != frames || s.FilesFailed.Load() > 1 {
			t.Fatalf("stats %+v after %d frames", s, frames)
		}
	})
}
