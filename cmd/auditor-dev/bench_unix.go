//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
)

// benchLock is an exclusive flock held around each timed run; without a
// path it does nothing.
type benchLock struct{ f *os.File }

func openBenchLock(path string) (*benchLock, error) {
	if path == "" {
		return &benchLock{}, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	return &benchLock{f}, nil
}

func (l *benchLock) acquire() error { return l.flock(syscall.LOCK_EX) }
func (l *benchLock) release() error { return l.flock(syscall.LOCK_UN) }

func (l *benchLock) flock(how int) error {
	if l.f == nil {
		return nil
	}
	for {
		err := syscall.Flock(int(l.f.Fd()), how)
		if err != syscall.EINTR {
			if err != nil {
				return fmt.Errorf("flock %s: %w", l.f.Name(), err)
			}
			return nil
		}
	}
}

func (l *benchLock) Close() error {
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}

// maxRSS is the child's peak resident set size in bytes: getrusage's
// ru_maxrss, in KiB everywhere but on macOS, where it is in bytes.
func maxRSS(ps *os.ProcessState) uint64 {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok || ru.Maxrss < 0 {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return uint64(ru.Maxrss)
	}
	return uint64(ru.Maxrss) << 10
}
