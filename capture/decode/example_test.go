package decode_test

import (
	"errors"
	"fmt"
	"net"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func Example() {
	// A SIP request over UDP, as a capture source would hand it over.
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP,
		SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{192, 0, 2, 10}}
	udp := &layers.UDP{SrcPort: 5062, DstPort: 5060}
	buf := gopacket.NewSerializeBuffer()
	_ = gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true},
		&layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4},
		ip, udp, gopacket.Payload("OPTIONS sip:a@b SIP/2.0\r\n\r\n"))
	frame := buf.Bytes()

	d := decode.New(decode.Options{})
	var p decode.Packet
	if err := d.Decode(layers.LinkTypeEthernet, frame, 0, len(frame), &p); err != nil {
		var reason decode.Reason
		if errors.As(err, &reason) {
			fmt.Println("skipped:", reason)
		}
		return
	}
	fmt.Println(p.Key.Endpoint(p.Dir), "->", p.Key.Endpoint(p.Dir.Flip()), "proto", p.Key.Proto(), "payload", p.PayloadLen)

	// A frame cut inside its Ethernet header is skipped and counted.
	err := d.Decode(layers.LinkTypeEthernet, frame[:12], 0, 12, &p)
	fmt.Println(err, d.Skipped()[decode.ReasonTruncated])
	// Output:
	// 10.0.0.1:5062 -> 192.0.2.10:5060 proto 17 payload 27
	// decode: skipped: truncated 1
}
