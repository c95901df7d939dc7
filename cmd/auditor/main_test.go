package main

import (
	"os"
	"testing"
)

// TestMain lets a test run the test binary as the auditor command itself
// (AUDITOR_TEST_MAIN=1), as the systemd unit test does with the report
// unit's command line.
func TestMain(m *testing.M) {
	if os.Getenv("AUDITOR_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}
