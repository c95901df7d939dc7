package ebpf

import (
	"encoding/binary"
	"fmt"
)

// Reason says why the kernel sent a packet to the ring buffer
// (enum record_reason in c/sensor.h).
type Reason uint8

const (
	ReasonFirst        Reason = iota + 1 // among the first packets of its flow direction
	ReasonTCPControl                     // TCP SYN, FIN or RST
	ReasonICMP                           // ICMP or ICMPv6, errors included
	ReasonAppPort                        // SIP, DNS or another ring port
	ReasonTLSHandshake                   // TLS or DTLS handshake record
	ReasonFragment                       // IP fragment, reassembled in user space
	ReasonTunnel                         // GRE, IP-in-IP or a UDP tunnel, keyed by the decoder
	ReasonOther                          // no TCP, UDP or SCTP header the sensor keys
	ReasonMapFull                        // the flow map had no room
	numReasons
)

func (r Reason) String() string {
	switch r {
	case ReasonFirst:
		return "first"
	case ReasonTCPControl:
		return "tcp-control"
	case ReasonICMP:
		return "icmp"
	case ReasonAppPort:
		return "app-port"
	case ReasonTLSHandshake:
		return "tls-handshake"
	case ReasonFragment:
		return "fragment"
	case ReasonTunnel:
		return "tunnel"
	case ReasonOther:
		return "other"
	case ReasonMapFull:
		return "map-full"
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Hook values of a record (enum record_hook).
const (
	recordHookIngress = 1
	recordHookEgress  = 2
	recordHookXDP     = 3
)

// recordHeaderLen is sizeof(struct record_hdr).
const recordHeaderLen = 24

// record is one ring buffer record: a frame prefix and what the kernel
// knew about the frame.
type record struct {
	Time      uint64 // CLOCK_MONOTONIC ns
	WireLen   uint32 // frame length on the wire, stripped VLAN tag included
	Ifindex   uint32
	VLANTCI   uint16 // tag the device stripped, valid if VLANProto != 0
	VLANProto uint16
	Hook      uint8
	Reason    Reason
	// Data is the frame prefix. It aliases the buffer given to
	// parseRecord.
	Data []byte
}

// parseRecord decodes a ring buffer sample. The kernel writes the header
// in host byte order; samples are padded to 8 bytes, so the sample may be
// longer than the header and cap_len.
func parseRecord(b []byte, r *record) error {
	if len(b) < recordHeaderLen {
		return fmt.Errorf("ring record of %d bytes: shorter than its %d-byte header", len(b), recordHeaderLen)
	}
	ne := binary.NativeEndian
	capLen := int(ne.Uint16(b[16:]))
	*r = record{
		Time:      ne.Uint64(b[0:]),
		WireLen:   ne.Uint32(b[8:]),
		Ifindex:   ne.Uint32(b[12:]),
		VLANTCI:   ne.Uint16(b[18:]),
		VLANProto: ne.Uint16(b[20:]),
		Hook:      b[22],
		Reason:    Reason(b[23]),
	}
	switch {
	case capLen == 0 || capLen > maxSnap:
		return fmt.Errorf("ring record: capture length %d outside 1..%d", capLen, maxSnap)
	case capLen > len(b)-recordHeaderLen:
		return fmt.Errorf("ring record: capture length %d beyond the %d bytes that follow the header", capLen, len(b)-recordHeaderLen)
	case uint32(capLen) > r.WireLen:
		return fmt.Errorf("ring record: capture length %d exceeds wire length %d", capLen, r.WireLen)
	case r.Hook < recordHookIngress || r.Hook > recordHookXDP:
		return fmt.Errorf("ring record: unknown hook %d", r.Hook)
	case r.Reason == 0 || r.Reason >= numReasons:
		return fmt.Errorf("ring record: unknown reason %d", uint8(r.Reason))
	}
	r.Data = b[recordHeaderLen : recordHeaderLen+capLen]
	return nil
}

// frame writes the record's frame into buf, putting back a VLAN tag the
// device stripped, and returns it with its wire length. buf must hold
// len(r.Data)+4 bytes.
func (r *record) frame(buf []byte) ([]byte, int) {
	if r.VLANProto == 0 || len(r.Data) < 12 {
		return r.Data, int(r.WireLen)
	}
	n := copy(buf, r.Data[:12])
	binary.BigEndian.PutUint16(buf[n:], r.VLANProto)
	binary.BigEndian.PutUint16(buf[n+2:], r.VLANTCI)
	n += 4
	n += copy(buf[n:], r.Data[12:])
	return buf[:n], int(r.WireLen)
}
