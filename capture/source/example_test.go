package source_test

import (
	"errors"
	"fmt"
	"io"
	"log"

	"github.com/ccaudit/auditor/capture/source"
)

func ExampleOpen() {
	r, err := source.Open([]string{
		"../../testdata/pcaps/formats/LINKTYPE_RAW_ipv4.pcap",
		"../../testdata/pcaps/formats/tcp-handshake-nano.pcap",
		"../../testdata/pcaps/malformed/fuzz-2021-10-13.pcap",
	}, source.Options{})
	if err != nil {
		log.Fatal(err) // a path that does not exist
	}
	defer r.Close()
	for {
		f, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		// f.Data is only valid until the next call to Next.
		fmt.Printf("%d %d bytes, link type %d\n", f.Time, f.CaptureLen, f.LinkType)
	}
	for _, err := range r.Errors() {
		var fe *source.FileError
		if errors.As(err, &fe) {
			fmt.Println(fe.Reason, "in packet", fe.Packet, "at offset", fe.Offset)
		}
	}
	s := r.Stats()
	fmt.Println(s.Frames.Load(), "frames from", s.FilesOpened.Load(), "files")
	// Output:
	// 1418145369924505488 76 bytes, link type 113
	// 1418145370052027262 76 bytes, link type 113
	// 1418145370052115157 68 bytes, link type 113
	// 1751997551951226000 57 bytes, link type 101
	// record-too-large in packet 1 at offset 24
	// 4 frames from 3 files
}
