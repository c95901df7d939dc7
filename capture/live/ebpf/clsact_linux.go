//go:build linux && (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64)

package ebpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// Kernels before 6.6 have no TCX: the sensor is then a direct-action
// cls_bpf filter under a clsact qdisc, set up over rtnetlink. This speaks
// just the messages that takes, so the module needs no netlink library.

const (
	tcHClsact        = 0xFFFFFFF1 // TC_H_CLSACT, also the clsact qdisc's parent
	tcHIngress       = 0xFFFFFFF2 // TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)
	tcHEgress        = 0xFFFFFFF3
	clsactHandle     = 0xFFFF0000
	tcaKind          = 1
	tcaOptions       = 2
	tcaBPFFD         = 6
	tcaBPFName       = 7
	tcaBPFFlags      = 8
	tcaBPFFlagDirect = 1
	// The filter's priority and handle. Priority 1 runs it before filters
	// that might drop the packet; the handle spells "auditor" loosely.
	filterPrio   = 1
	filterHandle = 0xa0d1
)

// clsactFilters is the attachment made by attachClsact; Close removes it.
type clsactFilters struct {
	fd           int // rtnetlink socket, in the namespace the filters were added in
	ifindex      int
	createdQdisc bool
	seq          atomic.Uint32
}

func attachClsact(ifindex, ingressFD, egressFD int) (*clsactFilters, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("clsact: rtnetlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("clsact: bind rtnetlink: %w", err)
	}
	f := &clsactFilters{fd: fd, ifindex: ifindex}
	err = f.request(unix.RTM_NEWQDISC, unix.NLM_F_CREATE|unix.NLM_F_EXCL, clsactHandle, tcHClsact, 0, attr(tcaKind, cstring("clsact")))
	switch {
	case err == nil:
		f.createdQdisc = true
	case errors.Is(err, unix.EEXIST):
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOENT), errors.Is(err, unix.EINVAL):
		unix.Close(fd)
		return nil, fmt.Errorf("clsact: add qdisc: %w: %w", ErrNotSupported, err)
	default:
		unix.Close(fd)
		return nil, fmt.Errorf("clsact: add qdisc: %w", err)
	}
	for _, side := range []struct {
		parent uint32
		progFD int
		name   string
	}{{tcHIngress, ingressFD, "sensor_ingress"}, {tcHEgress, egressFD, "sensor_egress"}} {
		opts := append(attr(tcaBPFFD, u32(uint32(side.progFD))), attr(tcaBPFName, cstring(side.name))...)
		opts = append(opts, attr(tcaBPFFlags, u32(tcaBPFFlagDirect))...)
		msg := append(attr(tcaKind, cstring("bpf")), attr(tcaOptions|unix.NLA_F_NESTED, opts)...)
		if err := f.request(unix.RTM_NEWTFILTER, unix.NLM_F_CREATE|unix.NLM_F_EXCL, filterHandle, side.parent, filterInfo(), msg); err != nil {
			f.Close()
			return nil, fmt.Errorf("clsact: add %s filter: %w", side.name, err)
		}
	}
	return f, nil
}

// filterInfo is tcm_info: the priority and, in network byte order, the
// protocol (ETH_P_ALL) the filter matches.
func filterInfo() uint32 { return filterPrio<<16 | uint32(htons(unix.ETH_P_ALL)) }

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Close removes the filters, and the clsact qdisc if attachClsact made it.
func (f *clsactFilters) Close() error {
	if f.fd < 0 {
		return nil
	}
	var errs []error
	for _, parent := range []uint32{tcHIngress, tcHEgress} {
		err := f.request(unix.RTM_DELTFILTER, 0, filterHandle, parent, filterInfo(), attr(tcaKind, cstring("bpf")))
		if err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("clsact: delete filter: %w", err))
		}
	}
	if f.createdQdisc {
		err := f.request(unix.RTM_DELQDISC, 0, clsactHandle, tcHClsact, 0, attr(tcaKind, cstring("clsact")))
		if err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EINVAL) {
			errs = append(errs, fmt.Errorf("clsact: delete qdisc: %w", err))
		}
	}
	unix.Close(f.fd)
	f.fd = -1
	return errors.Join(errs...)
}

// request sends one tc message and waits for its acknowledgement.
func (f *clsactFilters) request(typ uint16, flags uint16, handle, parent, info uint32, attrs []byte) error {
	const tcmsgLen = 20
	seq := f.seq.Add(1)
	msg := make([]byte, unix.NLMSG_HDRLEN+tcmsgLen, unix.NLMSG_HDRLEN+tcmsgLen+len(attrs))
	ne := binary.NativeEndian
	ne.PutUint16(msg[4:], typ)
	ne.PutUint16(msg[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK|flags)
	ne.PutUint32(msg[8:], seq)
	tc := msg[unix.NLMSG_HDRLEN:]
	tc[0] = unix.AF_UNSPEC
	ne.PutUint32(tc[4:], uint32(f.ifindex))
	ne.PutUint32(tc[8:], handle)
	ne.PutUint32(tc[12:], parent)
	ne.PutUint32(tc[16:], info)
	msg = append(msg, attrs...)
	ne.PutUint32(msg[0:], uint32(len(msg)))
	if err := unix.Sendto(f.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 8192)
	for {
		n, _, err := unix.Recvfrom(f.fd, buf, 0)
		if err != nil {
			return err
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Header.Seq != seq || m.Header.Type != unix.NLMSG_ERROR {
				continue
			}
			if len(m.Data) < 4 {
				return errors.New("short netlink error message")
			}
			if errno := -int32(ne.Uint32(m.Data)); errno != 0 {
				return unix.Errno(errno)
			}
			return nil
		}
	}
}

// attr encodes one netlink attribute, padded to 4 bytes.
func attr(typ uint16, value []byte) []byte {
	n := unix.SizeofRtAttr + len(value)
	b := make([]byte, (n+3)&^3)
	binary.NativeEndian.PutUint16(b, uint16(n))
	binary.NativeEndian.PutUint16(b[2:], typ)
	copy(b[unix.SizeofRtAttr:], value)
	return b
}

func cstring(s string) []byte { return append([]byte(s), 0) }

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
