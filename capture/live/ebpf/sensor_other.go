//go:build !linux || !(386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64)

package ebpf

import (
	"fmt"
	"runtime"
	"time"

	"github.com/ccaudit/auditor/capture/source"
)

// Sensor is unavailable on this platform: Load always fails.
type Sensor struct{}

// Load reports that the sensor needs Linux on a little-endian machine.
func Load(Options) (*Sensor, error) {
	return nil, fmt.Errorf("load sensor on %s/%s: %w", runtime.GOOS, runtime.GOARCH, ErrNotSupported)
}

func (*Sensor) Attach(string, Hook) error                     { return ErrNotSupported }
func (*Sensor) SetDeadline(time.Time)                         {}
func (*Sensor) Next() (*source.Frame, error)                  { return nil, ErrNotSupported }
func (*Sensor) Counters(dst []FlowDelta) ([]FlowDelta, error) { return dst, ErrNotSupported }
func (*Sensor) Stats() (Stats, error)                         { return Stats{}, ErrNotSupported }
func (*Sensor) Close() error                                  { return nil }
