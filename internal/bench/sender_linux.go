package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxBatch bounds the frames handed to one sendmmsg call.
const maxBatch = 64

// Sender sends frames out of one interface through an AF_PACKET socket,
// paced to a packet rate, batching with sendmmsg. The socket belongs to the
// network namespace OpenSender was called in, whichever thread sends later.
type Sender struct {
	fd     int
	frames *RTPFrames
	msgs   [maxBatch]unix.Mmsghdr
	iovs   [maxBatch]unix.Iovec
}

// SendResult is what one Send did.
type SendResult struct {
	Sent    uint64 // frames the kernel accepted
	Refused uint64 // sendmmsg calls refused with ENOBUFS (the device queue was full)
	Elapsed time.Duration
}

// Rate is the achieved send rate in frames per second.
func (r SendResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Sent) / r.Elapsed.Seconds()
}

// OpenSender opens a sending socket on iface, in the calling thread's
// network namespace.
func OpenSender(iface string, frames *RTPFrames) (*Sender, error) {
	ifc, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("sender on %s: %w", iface, err)
	}
	// Protocol 0: the socket sends but receives nothing, so it adds no
	// work to the receive path being measured.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sender on %s: socket: %w", iface, err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifc.Index}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sender on %s: bind: %w", iface, err)
	}
	// Straight to the driver: the queueing discipline would only add cost
	// (a veth has none by default anyway).
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sender on %s: PACKET_QDISC_BYPASS: %w", iface, err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4<<20)
	return &Sender{fd: fd, frames: frames}, nil
}

// Send sends frames at rate frames per second for d, or until ctx ends.
// Pacing follows a schedule from the start, so a late wake-up is made up
// by sending the next batches without sleeping: the average rate holds,
// bursts stay under a millisecond's worth of frames.
func (s *Sender) Send(ctx context.Context, rate float64, d time.Duration) (SendResult, error) {
	if rate <= 0 {
		return SendResult{}, fmt.Errorf("send: rate %v: must be positive", rate)
	}
	// Every frame in a batch must be a different stream's buffer.
	batch := min(maxBatch, s.frames.Len(), max(1, int(rate/4000)))
	interval := float64(time.Second) / rate
	var res SendResult
	start := time.Now()
	end := start.Add(d)
	for ctx.Err() == nil {
		now := time.Now()
		if !now.Before(end) {
			break
		}
		due := start.Add(time.Duration(float64(res.Sent+res.Refused) * interval))
		if wait := due.Sub(now); wait > 0 {
			time.Sleep(wait)
		}
		n, err := s.sendBatch(batch)
		res.Sent += uint64(n)
		switch {
		case err == nil:
		case errors.Is(err, unix.ENOBUFS):
			res.Refused++
		default:
			res.Elapsed = time.Since(start)
			return res, fmt.Errorf("send: %w", err)
		}
	}
	res.Elapsed = time.Since(start)
	return res, ctx.Err()
}

// sendBatch sends n frames with one sendmmsg and returns how many the
// kernel took. A frame it refused is sent again by no one: its stream's
// RTP sequence shows a gap, as after a real loss.
func (s *Sender) sendBatch(n int) (int, error) {
	for i := range n {
		f := s.frames.Next()
		s.iovs[i] = unix.Iovec{Base: &f[0]}
		s.iovs[i].SetLen(len(f))
		s.msgs[i].Hdr = unix.Msghdr{Iov: &s.iovs[i]}
		s.msgs[i].Hdr.SetIovlen(1)
	}
	for {
		r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&s.msgs[0])), uintptr(n), 0, 0, 0)
		switch {
		case errno == unix.EINTR:
			continue
		case errno != 0:
			return 0, errno
		case int(r) < n:
			// The first frame not sent is the one that failed; sendmmsg
			// reports its error only on the next call.
			return int(r), unix.ENOBUFS
		}
		return int(r), nil
	}
}

// Close closes the socket.
func (s *Sender) Close() error { return unix.Close(s.fd) }
