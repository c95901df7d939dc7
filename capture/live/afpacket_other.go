//go:build !linux

package live

import (
	"fmt"
	"runtime"
	"time"

	"github.com/ccaudit/auditor/capture/source"
)

// AFPacketSource is unavailable on this system.
type AFPacketSource struct{}

// OpenAFPacket reports that AF_PACKET needs Linux.
func OpenAFPacket(iface string, _ AFPacketOptions) (*AFPacketSource, error) {
	return nil, fmt.Errorf("open %s on %s: %w", iface, runtime.GOOS, ErrNotSupported)
}

// OpenAFPacketFanout reports that AF_PACKET needs Linux.
func OpenAFPacketFanout(iface string, _ int, opts AFPacketOptions) ([]*AFPacketSource, error) {
	_, err := OpenAFPacket(iface, opts)
	return nil, err
}

func (*AFPacketSource) SetDeadline(time.Time)         {}
func (*AFPacketSource) Next() (*source.Frame, error)  { return nil, ErrNotSupported }
func (*AFPacketSource) Stats() (AFPacketStats, error) { return AFPacketStats{}, ErrNotSupported }
func (*AFPacketSource) Close() error                  { return nil }
