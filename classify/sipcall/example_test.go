package sipcall_test

import (
	"fmt"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/classify/sipcall"
)

// One Tracker is shared by every pipeline worker; each worker gets its own
// Dissector, and the pipeline commits what they staged to the tracker at
// every epoch end. After the input ends, flush the pipeline first (so
// media flows end and their counts reach the calls), then the tracker.
func Example() {
	tracker := sipcall.NewTracker(sipcall.Config{
		OnCall: func(c *sipcall.Call) {
			fmt.Println(c.CallID, c.FinalStatus, c.EndReason, c.Findings)
		},
	})
	pipe, err := capture.New(capture.Config{
		Dissectors: []capture.Dissector{tracker.NewDissector()},
		Shared:     []capture.Shared{tracker},
	})
	if err != nil {
		panic(err)
	}
	// ... pipe.Run(ctx, source) ...
	pipe.Flush()
	tracker.Flush()
	calls, expected := tracker.Active()
	fmt.Println(calls, expected)
	// Output: 0 0
}
