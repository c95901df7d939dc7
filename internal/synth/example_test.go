package synth_test

import (
	"crypto/sha256"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/ccaudit/auditor/internal/synth"
)

// Generate a capture with one failed call and one answered SIP call over
// UDP, then report what it holds. The same options always give the same
// bytes.
func ExampleGenerate() {
	h := sha256.New()
	st, err := synth.Generate(h, synth.Options{
		Seed:         1,
		Scenarios:    []synth.Scenario{synth.SIPUDP, synth.SIPFailure},
		CallDuration: 10 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d calls, %d packets, %d RTP\n", st.Calls, st.Packets, st.RTPPackets)
	fmt.Printf("flows: sip %d, rtp %d, rtcp %d\n", st.Flows["sip"], st.Flows["rtp"], st.Flows["rtcp"])
	// Output:
	// 2 calls, 1174 packets, 1159 RTP
	// flows: sip 2, rtp 1, rtcp 1
}

// Write the DNS scenario as a classic pcap file, ready for auditor replay.
func ExampleWriteFile() {
	dir, err := os.MkdirTemp("", "synth")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "dns.pcap")
	st, err := synth.WriteFile(path, synth.Options{Seed: 1, Format: synth.PCAP, Scenarios: []synth.Scenario{synth.DNS}})
	if err != nil {
		log.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Size() == st.Bytes+24+16*int64(st.Packets), st.Flows["dns"] > 0)
	// Output:
	// true true
}
