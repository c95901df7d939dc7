//go:build linux

package live

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket/afpacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"

	"github.com/ccaudit/auditor/capture/source"
)

const (
	defaultBlockSize    = 1 << 20
	defaultNumBlocks    = 64
	defaultBlockTimeout = 50 * time.Millisecond
	maxSnapLen          = 262144
	// pollInterval bounds how long Next waits in the kernel before it
	// looks at Close and the deadline.
	pollInterval = 100 * time.Millisecond
)

// AFPacketSource is one AF_PACKET socket. It implements the pipeline's
// FrameSource: Next returns Ethernet frames with their capture time.
type AFPacketSource struct {
	iface string
	tp    *afpacket.TPacket
	snap  int

	// readMu is held by Next while it touches the ring, and statsMu by
	// Stats while it asks the socket, so that Close frees the socket only
	// when neither runs.
	readMu   sync.Mutex
	statsMu  sync.RWMutex
	closed   atomic.Bool
	deadline atomic.Int64 // unix ns; 0: none
	buf      []byte
	frame    source.Frame
	frames   atomic.Uint64
}

// OpenAFPacket opens a capture socket on iface, in the network namespace
// of the calling thread. It needs CAP_NET_RAW.
func OpenAFPacket(iface string, opts AFPacketOptions) (*AFPacketSource, error) {
	if opts.BlockSize <= 0 {
		opts.BlockSize = defaultBlockSize
	}
	if opts.NumBlocks <= 0 {
		opts.NumBlocks = defaultNumBlocks
	}
	if opts.BlockTimeout <= 0 {
		opts.BlockTimeout = defaultBlockTimeout
	}
	if opts.SnapLen <= 0 || opts.SnapLen > maxSnapLen {
		opts.SnapLen = maxSnapLen
	}
	if _, err := net.InterfaceByName(iface); err != nil {
		return nil, fmt.Errorf("open %s: %w", iface, err)
	}
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(iface),
		afpacket.TPacketVersion3,
		afpacket.OptBlockSize(opts.BlockSize),
		afpacket.OptFrameSize(afpacket.DefaultFrameSize),
		afpacket.OptNumBlocks(opts.NumBlocks),
		afpacket.OptBlockTimeout(opts.BlockTimeout),
		afpacket.OptPollTimeout(pollInterval),
	)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", iface, err)
	}
	s := &AFPacketSource{iface: iface, tp: tp, snap: opts.SnapLen, buf: make([]byte, opts.SnapLen+4)}
	fail := func(what string, err error) (*AFPacketSource, error) {
		tp.Close()
		return nil, fmt.Errorf("open %s: %s: %w", iface, what, err)
	}
	if len(opts.Filter) > 0 {
		raw, err := bpf.Assemble(opts.Filter)
		if err != nil {
			return fail("assemble filter", err)
		}
		if err := tp.SetBPF(raw); err != nil {
			return fail("attach filter", err)
		}
	}
	if opts.Promiscuous {
		if err := tp.SetPromiscuous(true); err != nil {
			return fail("promiscuous mode", err)
		}
	}
	if opts.FanoutGroup != 0 {
		if err := tp.SetFanout(afpacket.FanoutHash|afpacket.FanoutHashWithDefrag, opts.FanoutGroup); err != nil {
			return fail(fmt.Sprintf("join fanout group %d", opts.FanoutGroup), err)
		}
	}
	return s, nil
}

// OpenAFPacketFanout opens n sockets on iface in one fanout group, one per
// pipeline worker. A zero opts.FanoutGroup is derived from the process ID.
func OpenAFPacketFanout(iface string, n int, opts AFPacketOptions) ([]*AFPacketSource, error) {
	if n < 1 {
		return nil, fmt.Errorf("open %s: %d fanout sockets", iface, n)
	}
	if opts.FanoutGroup == 0 {
		opts.FanoutGroup = uint16(os.Getpid()) | 1
	}
	srcs := make([]*AFPacketSource, 0, n)
	for range n {
		s, err := OpenAFPacket(iface, opts)
		if err != nil {
			for _, s := range srcs {
				s.Close()
			}
			return nil, err
		}
		srcs = append(srcs, s)
	}
	return srcs, nil
}

// SetDeadline makes Next return an error wrapping os.ErrDeadlineExceeded
// when no frame arrived by t, so that a capture loop can do periodic work
// (flow expiry, stats). Zero clears it. The check runs every 100 ms.
func (s *AFPacketSource) SetDeadline(t time.Time) {
	if t.IsZero() {
		s.deadline.Store(0)
		return
	}
	s.deadline.Store(t.UnixNano())
}

// Next returns the next frame. Its Data is copied out of the kernel ring,
// so Close may run while the caller still uses it; it is valid until the
// next call. After Close, Next returns io.EOF.
func (s *AFPacketSource) Next() (*source.Frame, error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	for {
		if s.closed.Load() {
			return nil, io.EOF
		}
		data, ci, err := s.tp.ZeroCopyReadPacketData()
		if errors.Is(err, afpacket.ErrTimeout) {
			if d := s.deadline.Load(); d != 0 && time.Now().UnixNano() >= d {
				return nil, fmt.Errorf("read %s: %w", s.iface, os.ErrDeadlineExceeded)
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", s.iface, err)
		}
		n, wire := s.copyFrame(data, ci.Length, vlanOf(ci.AncillaryData))
		s.frames.Add(1)
		s.frame = source.Frame{
			Data:       s.buf[:n],
			Time:       ci.Timestamp.UnixNano(),
			CaptureLen: n,
			WireLen:    wire,
			LinkType:   layers.LinkTypeEthernet,
			Interface:  ci.InterfaceIndex,
			Index:      s.frames.Load(),
		}
		return &s.frame, nil
	}
}

// copyFrame copies a frame into s.buf, putting back the 802.1Q tag the
// kernel took off (vlan >= 0): the flow records carry the VLAN.
func (s *AFPacketSource) copyFrame(data []byte, wire, vlan int) (n, wireLen int) {
	if vlan < 0 || len(data) < 12 {
		n = copy(s.buf[:s.snap], data)
		return n, max(wire, n)
	}
	n = copy(s.buf, data[:12])
	binary.BigEndian.PutUint16(s.buf[n:], uint16(layers.EthernetTypeDot1Q))
	binary.BigEndian.PutUint16(s.buf[n+2:], uint16(vlan))
	n += 4
	n += copy(s.buf[n:s.snap], data[12:])
	return n, max(wire+4, n)
}

func vlanOf(anc []any) int {
	for _, a := range anc {
		if v, ok := a.(afpacket.AncillaryVLAN); ok {
			return v.VLAN
		}
	}
	return -1
}

// Stats reads the kernel's counters (PACKET_STATISTICS).
func (s *AFPacketSource) Stats() (AFPacketStats, error) {
	s.statsMu.RLock()
	defer s.statsMu.RUnlock()
	if s.closed.Load() {
		return AFPacketStats{}, fmt.Errorf("stats %s: %w", s.iface, os.ErrClosed)
	}
	_, v3, err := s.tp.SocketStats()
	if err != nil {
		return AFPacketStats{}, fmt.Errorf("stats %s: %w", s.iface, err)
	}
	return AFPacketStats{
		Frames:       s.frames.Load(),
		Packets:      uint64(v3.Packets()),
		Drops:        uint64(v3.Drops()),
		QueueFreezes: uint64(v3.QueueFreezes()),
	}, nil
}

// Close stops Next, which then returns io.EOF, and releases the socket and
// its ring. It waits for a Next in progress, at most about 100 ms.
func (s *AFPacketSource) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.readMu.Lock()
	defer s.readMu.Unlock()
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.tp.Close()
	return nil
}
