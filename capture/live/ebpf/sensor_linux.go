//go:build linux && (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64)

package ebpf

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/ccaudit/auditor/capture/source"
)

// Sensor is the loaded sensor: its programs, maps and attachments. Next
// and Counters may run on different goroutines; Next itself is for one
// reader goroutine.
type Sensor struct {
	opts Options
	objs sensorObjects
	ring *ringbuf.Reader

	attachMu sync.Mutex
	attached []io.Closer
	closed   atomic.Bool

	// Next's state.
	rec    ringbuf.Record
	parsed record
	frame  source.Frame
	vlan   []byte
	read   atomic.Uint64
	bad    atomic.Uint64

	// clockOffset turns the kernel's CLOCK_MONOTONIC into unix time.
	clockOffset atomic.Int64

	counters counterState
}

// Load loads the sensor into the kernel without attaching it. The caller
// needs CAP_BPF and CAP_PERFMON (or root); Attach also needs CAP_NET_ADMIN.
func Load(opts Options) (*Sensor, error) {
	opts = opts.withDefaults()
	if opts.RingSize&(opts.RingSize-1) != 0 || opts.RingSize < os.Getpagesize() {
		return nil, fmt.Errorf("load sensor: ring size %d is not a power of two of at least a page", opts.RingSize)
	}
	spec, err := loadSensor()
	if err != nil {
		return nil, fmt.Errorf("load sensor: %w", err)
	}
	spec.Maps[sensorMapFlows].MaxEntries = uint32(opts.MaxFlows)
	spec.Maps[sensorMapRecords].MaxEntries = uint32(opts.RingSize)
	for name, v := range map[string]int{
		sensorVarFirstPacketsTcp:   opts.FirstPacketsTCP,
		sensorVarFirstPacketsUdp:   opts.FirstPacketsUDP,
		sensorVarFirstPacketsOther: opts.FirstPacketsOther,
		sensorVarSnapSmall:         opts.SnapLen,
		sensorVarSnapLarge:         opts.SnapLenPayload,
	} {
		if err := spec.Variables[name].Set(uint32(v)); err != nil {
			return nil, fmt.Errorf("load sensor: set %s: %w", name, err)
		}
	}
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK.
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("load sensor: %w", classify(err))
	}
	s := &Sensor{opts: opts, vlan: make([]byte, maxSnap+4)}
	if err := spec.LoadAndAssign(&s.objs, nil); err != nil {
		return nil, fmt.Errorf("load sensor: %w", classify(err))
	}
	for _, port := range opts.RingPorts {
		if err := s.objs.RingPorts.Update(uint32(port), uint8(1), ebpf.UpdateAny); err != nil {
			s.objs.Close()
			return nil, fmt.Errorf("load sensor: ring port %d: %w", port, err)
		}
	}
	if s.ring, err = ringbuf.NewReader(s.objs.Records); err != nil {
		s.objs.Close()
		return nil, fmt.Errorf("load sensor: ring buffer reader: %w", classify(err))
	}
	s.counters.init()
	s.syncClock()
	return s, nil
}

// classify marks the errors that mean the kernel cannot run the sensor.
func classify(err error) error {
	var verr *ebpf.VerifierError
	switch {
	case errors.Is(err, ebpf.ErrNotSupported), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EOPNOTSUPP):
		return fmt.Errorf("%w: %w", ErrNotSupported, err)
	case errors.As(err, &verr) && !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EACCES):
		// An older verifier that rejects the program (unknown helper,
		// no atomic fetch) is a kernel that lacks a feature.
		return fmt.Errorf("%w: %w", ErrNotSupported, err)
	}
	return err
}

// syncClock measures the offset between the kernel's bpf_ktime_get_ns
// (CLOCK_MONOTONIC) and the wall clock. It is refreshed on every Counters
// call so that wall clock steps reach the timestamps.
func (s *Sensor) syncClock() {
	var ts unix.Timespec
	before := time.Now().UnixNano()
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return
	}
	after := time.Now().UnixNano()
	s.clockOffset.Store((before+after)/2 - ts.Nano())
}

// Attach attaches the sensor to the interface named iface in the network
// namespace of the calling thread. HookTC attaches on ingress and egress,
// HookXDP on ingress. The sensor reads Ethernet frames: interfaces without
// a link-layer header (tun, WireGuard) are refused.
func (s *Sensor) Attach(iface string, hook Hook) error {
	s.attachMu.Lock()
	defer s.attachMu.Unlock()
	if s.closed.Load() {
		return fmt.Errorf("attach %s: %w", iface, os.ErrClosed)
	}
	ifc, err := net.InterfaceByName(iface)
	if err != nil {
		return fmt.Errorf("attach %s: %w", iface, err)
	}
	if len(ifc.HardwareAddr) != 6 && ifc.Flags&net.FlagLoopback == 0 {
		return fmt.Errorf("attach %s: not an Ethernet interface: %w", iface, ErrNotSupported)
	}
	var links []io.Closer
	switch hook {
	case HookTC:
		links, err = s.attachTCX(ifc.Index)
		if errors.Is(err, ErrNotSupported) {
			links, err = s.attachClsact(ifc.Index)
		}
	case HookTCClsact:
		links, err = s.attachClsact(ifc.Index)
	case HookXDP:
		var l link.Link
		l, err = link.AttachXDP(link.XDPOptions{Program: s.objs.SensorXdp, Interface: ifc.Index})
		if err != nil {
			err = classify(err)
		}
		links = []io.Closer{l}
	default:
		err = fmt.Errorf("unknown hook %d", hook)
	}
	if err != nil {
		return fmt.Errorf("attach %s (%s): %w", iface, hook, err)
	}
	s.attached = append(s.attached, links...)
	return nil
}

func (s *Sensor) attachTCX(ifindex int) ([]io.Closer, error) {
	in, err := link.AttachTCX(link.TCXOptions{Interface: ifindex, Program: s.objs.SensorIngress, Attach: ebpf.AttachTCXIngress})
	if err != nil {
		return nil, fmt.Errorf("tcx ingress: %w", classify(err))
	}
	out, err := link.AttachTCX(link.TCXOptions{Interface: ifindex, Program: s.objs.SensorEgress, Attach: ebpf.AttachTCXEgress})
	if err != nil {
		in.Close()
		return nil, fmt.Errorf("tcx egress: %w", classify(err))
	}
	return []io.Closer{in, out}, nil
}

func (s *Sensor) attachClsact(ifindex int) ([]io.Closer, error) {
	f, err := attachClsact(ifindex, s.objs.SensorIngress.FD(), s.objs.SensorEgress.FD())
	if err != nil {
		return nil, err
	}
	return []io.Closer{f}, nil
}

// SetDeadline makes Next return an error wrapping os.ErrDeadlineExceeded
// once t has passed and the ring is empty, so that a capture loop can do
// periodic work (Counters, flow expiry) between frames. Zero clears it.
func (s *Sensor) SetDeadline(t time.Time) { s.ring.SetDeadline(t) }

// Next returns the next ring buffer record as an Ethernet frame. Its Data
// is valid until the next call. After Close it returns io.EOF. Records too
// short to use are counted (Stats.BadRecords) and skipped.
func (s *Sensor) Next() (*source.Frame, error) {
	for {
		if err := s.ring.ReadInto(&s.rec); err != nil {
			if errors.Is(err, os.ErrClosed) || s.closed.Load() {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("read sensor ring: %w", err)
		}
		if err := parseRecord(s.rec.RawSample, &s.parsed); err != nil {
			s.bad.Add(1)
			continue
		}
		s.read.Add(1)
		data, wireLen := s.parsed.frame(s.vlan)
		s.frame = source.Frame{
			Data:       data,
			Time:       int64(s.parsed.Time) + s.clockOffset.Load(),
			CaptureLen: len(data),
			WireLen:    wireLen,
			LinkType:   layers.LinkTypeEthernet,
			Interface:  int(s.parsed.Ifindex),
			Index:      s.read.Load(),
		}
		return &s.frame, nil
	}
}

// Stats reads the sensor's counters.
func (s *Sensor) Stats() (Stats, error) {
	var st Stats
	dst := []*uint64{&st.RingRecords, &st.MapPackets, &st.RingFull, &st.MapFull, &st.Lost, &st.NonIP}
	var perCPU []uint64
	for i, p := range dst {
		if err := s.objs.Stats.Lookup(uint32(i), &perCPU); err != nil {
			return st, fmt.Errorf("read sensor stats: %w", err)
		}
		for _, v := range perCPU {
			*p += v
		}
	}
	st.RecordsRead = s.read.Load()
	st.BadRecords = s.bad.Load()
	return st, nil
}

// Close detaches the sensor from every interface, stops Next (which then
// returns io.EOF) and frees the programs and maps. Counts the kernel made
// since the last Counters call are lost: call Counters first.
func (s *Sensor) Close() error {
	s.attachMu.Lock()
	defer s.attachMu.Unlock()
	if s.closed.Swap(true) {
		return nil
	}
	var errs []error
	for i := len(s.attached) - 1; i >= 0; i-- {
		if err := s.attached[i].Close(); err != nil {
			errs = append(errs, fmt.Errorf("detach: %w", err))
		}
	}
	s.attached = nil
	if err := s.ring.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close ring reader: %w", err))
	}
	s.counters.mu.Lock()
	if err := s.objs.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close sensor objects: %w", err))
	}
	s.counters.mu.Unlock()
	return errors.Join(errs...)
}
