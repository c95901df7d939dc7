package ebpf_test

import (
	"context"
	"errors"
	"log"
	"os"
	"time"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/capture/live/ebpf"
)

// A capture loop: ring records go through a pipeline like captured
// frames; the kernel's counters are read every few seconds and merged into
// the flow table by the goroutine that owns it.
func Example() {
	s, err := ebpf.Load(ebpf.Options{})
	if err != nil {
		log.Fatal(err) // errors.Is(err, ebpf.ErrNotSupported): use AF_PACKET
	}
	defer s.Close()
	if err := s.Attach("eth0", ebpf.HookTC); err != nil {
		log.Fatal(err)
	}
	p, err := capture.New(capture.Config{})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var deltas []ebpf.FlowDelta
	for ctx.Err() == nil {
		s.SetDeadline(time.Now().Add(5 * time.Second))
		fr, err := s.Next()
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			if deltas, err = s.Counters(deltas[:0]); err != nil {
				log.Fatal(err)
			}
			// Merge deltas into p.Table() here.
			continue
		case err != nil:
			log.Fatal(err)
		}
		p.Frame(fr.LinkType, fr.Data, fr.Time, fr.WireLen)
	}
	p.Flush()
}
