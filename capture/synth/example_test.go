package synth_test

import (
	"crypto/sha256"
	"fmt"
	"log"
	"time"

	"github.com/ccaudit/auditor/capture/synth"
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
