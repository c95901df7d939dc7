package source

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

var update = flag.Bool("update", false, "rewrite testdata/frames.golden")

const pcapsDir = "../../testdata/pcaps"

// realCaptures are the files in testdata/pcaps/{formats,malformed} with
// the packet counts from /work/shared/pcaps/truth.tsv (tshark). Where
// tshark and this reader differ, the comment says why.
var realCaptures = []struct {
	file     string
	frames   int
	linkType layers.LinkType
	err      Reason // "" for a clean read
	packet   uint64 // of the error
	offset   int64  // of the error
}{
	{file: "formats/LINKTYPE_RAW_ipv4.pcap", frames: 1, linkType: layers.LinkTypeRaw},
	{file: "formats/LINKTYPE_RAW_ipv6.pcap", frames: 1, linkType: layers.LinkTypeRaw},
	{file: "formats/dssetup_DsRoleGetPrimaryDomainInformation_standalone_workstation.cap", frames: 9, linkType: layers.LinkTypeEthernet},
	{file: "formats/gopacket_be_test001.pcapng", frames: 4, linkType: layers.LinkTypeEthernet},
	{file: "formats/gopacket_le_test300.pcapng", frames: 32, linkType: layers.LinkTypeEthernet},
	{file: "formats/nano.pcapng", frames: 6, linkType: layers.LinkTypeEthernet},
	{file: "formats/nflog-http.pcap", frames: 13, linkType: 239}, // NFLOG, which gopacket does not name,
	{file: "formats/pcapng-multi-interface.pcapng", frames: 6, linkType: layers.LinkTypeEthernet},
	{file: "formats/suricata_decode-sll2-01_input.pcap", frames: 5, linkType: layers.LinkTypeLinuxSLL2},
	{file: "formats/tcp-handshake-nano.pcap", frames: 3, linkType: layers.LinkTypeLinuxSLL},
	{file: "formats/test_loopback.pcap", frames: 24, linkType: layers.LinkTypeNull},
	{file: "formats/timestamp_invalid_nano.pcap", frames: 3, linkType: layers.LinkTypeLinuxSLL},
	{file: "malformed/badpackets.pcap", frames: 93, linkType: layers.LinkTypeEthernet},
	{file: "malformed/empty.pcapng", frames: 0},
	// tshark counts the one record it finds cut short; its header claims
	// 524501 bytes, past the limit, so this reader keeps nothing.
	{file: "malformed/fuzz-2021-10-13.pcap", frames: 0, err: ReasonTooLarge, packet: 1, offset: 24},
	// The first section is fine; the second has version 2.0.
	{file: "malformed/gopacket_le_test901.pcapng", frames: 1, linkType: layers.LinkTypeEthernet, err: ReasonVersion, offset: 480},
	{file: "malformed/invalid-content-length.pcap", frames: 2, linkType: layers.LinkTypeEthernet},
	{file: "malformed/ip-bogus-header-len.pcap", frames: 1, linkType: layers.LinkTypeEthernet},
	{file: "malformed/ipv6-bad-version.pcap", frames: 4, linkType: layers.LinkTypeEthernet},
	// tshark refuses link-type field 0x30000084; read as libpcap does, it
	// is link type 132 with the FCS bits set, and its one record is whole.
	{file: "malformed/juniper_es_oobr.pcap", frames: 1, linkType: 132},
	{file: "malformed/malformed_dns.pcap", frames: 6, linkType: layers.LinkTypeEthernet},
	{file: "malformed/timestamp.pcap", frames: 878, linkType: layers.LinkTypeEthernet},
	{file: "malformed/tls_DER-incomplete-header.pcap", frames: 6, linkType: layers.LinkTypeEthernet, err: ReasonTooLarge, packet: 7, offset: 5035},
	{file: "malformed/truncated-header.pcap", frames: 24, linkType: layers.LinkTypeEthernet},
}

func TestRealCaptures(t *testing.T) {
	for _, tc := range realCaptures {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(pcapsDir, tc.file)
			r, frames := openAll(t, Options{}, path)
			if len(frames) != tc.frames {
				t.Errorf("%d frames, want %d", len(frames), tc.frames)
			}
			errs := fileErrors(t, r)
			switch {
			case tc.err == "" && len(errs) != 0:
				t.Errorf("unexpected errors %v", errs)
			case tc.err != "" && len(errs) != 1:
				t.Errorf("errors %v, want one %s", errs, tc.err)
			case tc.err != "":
				if e := errs[0]; !errors.Is(e, tc.err) || e.Packet != tc.packet || e.Offset != tc.offset || e.File != path {
					t.Errorf("error %q: reason %s packet %d offset %d, want %s packet %d offset %d", e, e.Reason, e.Packet, e.Offset, tc.err, tc.packet, tc.offset)
				}
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for i, f := range frames {
				if f.Index != uint64(i+1) || f.File != path || f.LinkType != tc.linkType {
					t.Errorf("frame %d: index %d file %s link %v", i, f.Index, f.File, f.LinkType)
				}
				checkOffset(t, raw, f)
			}
		})
	}
}

// checkOffset checks that a frame's Offset points at its record in the
// raw (uncompressed) file.
func checkOffset(t *testing.T, raw []byte, f got) {
	t.Helper()
	if f.Offset < 0 || f.Offset+int64(f.CaptureLen) > int64(len(raw)) {
		t.Fatalf("frame %d: offset %d outside the file", f.Index, f.Offset)
	}
	rec := raw[f.Offset:]
	var data []byte
	switch magic := binary.LittleEndian.Uint32(raw); magic {
	case magicMicro, magicNano, magicMicroSwapped, magicNanoSwapped:
		data = rec[pcapRecordHdrLen:]
	case magicPcapNG:
		data = rec[28:] // enhanced packet blocks only in these files
	}
	if !bytes.HasPrefix(data, f.data) {
		t.Errorf("frame %d: the bytes at offset %d are not its record", f.Index, f.Offset)
	}
}

func TestInvalidNanoTimestamp(t *testing.T) {
	r, frames := openAll(t, Options{}, filepath.Join(pcapsDir, "formats/timestamp_invalid_nano.pcap"))
	// Fractions 999999999 (valid), 1000000000 and 2147483648 (invalid),
	// carried into the seconds.
	want := []int64{1418145369_999999999, 1418145371_000000000, 1418145372_147483648}
	for i, f := range frames {
		if f.Time != want[i] {
			t.Errorf("frame %d: time %d, want %d", i, f.Time, want[i])
		}
	}
	if s := r.Stats(); s.InvalidTimestamps.Load() != 2 || s.Frames.Load() != 3 {
		t.Errorf("stats %+v, want 2 invalid timestamps among 3 frames", s)
	}
}

func TestJuniperRefused(t *testing.T) {
	path := filepath.Join(pcapsDir, "malformed/juniper_es_oobr.pcap")
	supported := func(lt layers.LinkType) bool { return lt == layers.LinkTypeEthernet }
	r, frames := openAll(t, Options{LinkTypeSupported: supported}, path)
	errs := fileErrors(t, r)
	if len(frames) != 0 || len(errs) != 1 || !errors.Is(errs[0], ReasonLinkType) || !strings.Contains(errs[0].Error(), "0x30000084") {
		t.Fatalf("%d frames, errors %v; want an unsupported-linktype error quoting the field", len(frames), errs)
	}
}

// TestGolden summarises every real capture: frame count, link types,
// bytes, first and last time, a hash of all frames, and the errors.
func TestGolden(t *testing.T) {
	var out strings.Builder
	for _, tc := range realCaptures {
		path := filepath.Join(pcapsDir, tc.file)
		r, frames := openAll(t, Options{}, path)
		h := fnv.New64a()
		var bytes int
		lts := map[int]int{} // numbers: gopacket names few of these link types
		for _, f := range frames {
			fmt.Fprintf(h, "%d %d %d %d %d|", f.Time, f.WireLen, f.Interface, f.Index, f.Offset)
			h.Write(f.data)
			bytes += f.CaptureLen
			lts[int(f.LinkType)]++
		}
		fmt.Fprintf(&out, "%s frames=%d bytes=%d linktypes=%v hash=%016x", tc.file, len(frames), bytes, lts, h.Sum64())
		if len(frames) > 0 {
			fmt.Fprintf(&out, " first=%d last=%d", frames[0].Time, frames[len(frames)-1].Time)
		}
		out.WriteString("\n")
		for _, err := range r.Errors() {
			fmt.Fprintf(&out, "\terror: %s\n", strings.TrimPrefix(err.Error(), pcapsDir+"/"))
		}
	}
	golden := filepath.Join("testdata", "frames.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if out.String() != string(want) {
		t.Errorf("summary differs from %s (go test -update rewrites it):\n%s", golden, out.String())
	}
}

func TestRealCapturesMerged(t *testing.T) {
	// Every real capture at once, as a directory of mixed formats would be:
	// the same frames as one by one, and each file's frames in file order.
	var paths []string
	total := 0
	for _, tc := range realCaptures {
		paths = append(paths, filepath.Join(pcapsDir, tc.file))
		total += tc.frames
	}
	r, frames := openAll(t, Options{}, paths...)
	if len(frames) != total {
		t.Errorf("%d frames merged, want %d", len(frames), total)
	}
	last := map[string]uint64{}
	for _, f := range frames {
		if f.Index != last[f.File]+1 {
			t.Fatalf("%s: frame %d after %d", f.File, f.Index, last[f.File])
		}
		last[f.File] = f.Index
	}
	if s := r.Stats(); s.FilesFailed.Load() != 3 || s.FilesOpened.Load() != uint64(len(paths)) {
		t.Errorf("stats %+v", s)
	}
}
