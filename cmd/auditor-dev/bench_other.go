//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

import (
	"errors"
	"os"
)

// benchLock would hold a flock around each timed run; this system has none.
type benchLock struct{}

func openBenchLock(path string) (*benchLock, error) {
	if path != "" {
		return nil, errors.New("--lock needs flock, which this system lacks")
	}
	return &benchLock{}, nil
}

func (*benchLock) acquire() error { return nil }
func (*benchLock) release() error { return nil }
func (*benchLock) Close() error   { return nil }

// maxRSS is unknown here: the run is reported with 0.
func maxRSS(*os.ProcessState) uint64 { return 0 }
