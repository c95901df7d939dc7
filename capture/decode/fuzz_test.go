package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/gopacket/gopacket/layers"
)

func FuzzDecode(f *testing.F) {
	inner4 := ser(f, ip4(layers.IPProtocolUDP, cli4, srv4), udp(40000, 5004), payload(40))
	inner6 := ser(f, ip6(layers.IPProtocolUDP, cli6, srv6), udp(40000, 5004), payload(40))
	eth := uint16(layers.LinkTypeEthernet)
	f.Add(eth, rtpFrame(f))
	f.Add(eth, vlanTCPFrame(f))
	f.Add(eth, ipv6UDPFrame(f))
	for _, fr := range fragments4(f, 1, 100, 64) {
		f.Add(eth, fr)
	}
	for _, fr := range fragments6(f, 1, 100, 64) {
		f.Add(eth, fr)
	}
	f.Add(eth, cat(ethHdr(layers.EthernetTypeMPLSUnicast), mplsLabel(1, true), inner4))
	f.Add(eth, ser(f, eth4(), ip4(layers.IPProtocolUDP, tep1, tep2), udp(1, 4789),
		&layers.VXLAN{ValidIDFlag: true, VNI: 1}, ethFrame(layers.EthernetTypeIPv4), payloadOf(inner4)))
	f.Add(eth, ser(f, eth4(), ip4(layers.IPProtocolGRE, tep1, tep2), &layers.GRE{Protocol: layers.EthernetTypeIPv4}, payloadOf(inner4)))
	f.Add(eth, ser(f, eth4(), ip4(layers.IPProtocolICMPv4, srv4, cli4),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 3)}, payloadOf(inner4[:28])))
	f.Add(uint16(layers.LinkTypeRaw), inner6)
	f.Add(uint16(layers.LinkTypeLinuxSLL), cat(sllHeader(layers.EthernetTypeIPv4), inner4))
	f.Add(uint16(layers.LinkTypeLinuxSLL2), cat(sll2Header(layers.EthernetTypeIPv6), inner6))
	f.Add(uint16(layers.LinkTypeNull), cat([]byte{2, 0, 0, 0}, inner4))
	f.Add(uint16(linkTypeNFLOG), nflogRecord(binary.LittleEndian, 2, inner4))
	addEncapSeeds(f)

	// The decoders live across inputs, as they do across packets, so that
	// fragments of earlier inputs meet later ones. Frames the fast path
	// takes are never fragments, so both hold the same fragment state.
	fast, slow := New(Options{}), New(Options{})
	slow.noFastPath = true
	f.Fuzz(func(t *testing.T, linkType uint16, data []byte) {
		lt := layers.LinkType(linkType)
		var pf, ps Packet
		errF := fast.Decode(lt, data, 1, len(data), &pf)
		errS := slow.Decode(lt, data, 1, len(data), &ps)
		for _, err := range []error{errF, errS} {
			if errors.Is(err, ReasonInternal) {
				t.Fatalf("decoder panicked: %v", fast.LastError())
			}
		}
		if !errors.Is(errF, errS) && errF != errS {
			t.Fatalf("fast path error %v, parser path %v", errF, errS)
		}
		if errF != nil {
			return
		}
		checkPayloadBounds(t, fast, pf, data)
		checkPayloadBounds(t, slow, ps, data)
		if pf.Packet != ps.Packet || pf.Quoted != ps.Quoted || pf.QuotedKey != ps.QuotedKey ||
			pf.ICMPType != ps.ICMPType || pf.ICMPCode != ps.ICMPCode || pf.Reassembled != ps.Reassembled ||
			pf.Truncated != ps.Truncated || pf.Tunnel != ps.Tunnel || pf.OuterKey != ps.OuterKey ||
			!samePayload(pf.Payload, ps.Payload, data) {
			t.Fatalf("fast path and parser path disagree:\n%+v\n%+v", pf, ps)
		}
	})
}

// samePayload compares payloads by position when they alias the frame and
// by content when each lies in its own decoder's reassembly buffer.
func samePayload(a, b, data []byte) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) > 0 && within(a, data) {
		return &a[0] == &b[0]
	}
	return bytes.Equal(a, b)
}

// checkPayloadBounds asserts that Payload aliases the frame or the
// decoder's reassembly buffer, never memory the caller does not own.
func checkPayloadBounds(t *testing.T, d *Decoder, p Packet, data []byte) {
	t.Helper()
	if len(p.Payload) == 0 {
		return
	}
	if !within(p.Payload, data) && !within(p.Payload, d.frag.out) {
		t.Fatalf("payload of %d bytes lies outside the frame and the decoder's buffers", len(p.Payload))
	}
}

func within(s, buf []byte) bool {
	if len(buf) == 0 {
		return false
	}
	start, end := uintptr(unsafe.Pointer(unsafe.SliceData(buf))), uintptr(unsafe.Pointer(unsafe.SliceData(buf)))+uintptr(len(buf))
	ps := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	return ps >= start && ps+uintptr(len(s)) <= end
}

// addEncapSeeds seeds the fuzzer with the first frames of every
// encapsulation capture, so it starts from each header the decoder opens.
func addEncapSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "encap", "*.pcap"))
	for _, file := range files {
		n := 0
		each(f, file, func(lt uint16, data []byte, _ int64, _ int) {
			if n < 4 {
				f.Add(lt, append([]byte(nil), data...))
			}
			n++
		})
	}
}
