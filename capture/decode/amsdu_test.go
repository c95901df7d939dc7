package decode

import (
	"encoding/binary"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// TestAMSDUSubframesCounted: of an 802.11 A-MSDU the first subframe is
// decoded and every further one, padded to four octets as IEEE 802.11
// lays them out, is counted as a-msdu-subframe; none goes uncounted.
func TestAMSDUSubframesCounted(t *testing.T) {
	inner := ser(t, ip4(layers.IPProtocolUDP, cli4, srv4), &layers.UDP{SrcPort: 5060, DstPort: 5060})
	llc := append([]byte{0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00}, inner...)
	subframe := func(body []byte, last bool) []byte {
		b := append(make([]byte, 12), 0, 0)
		binary.BigEndian.PutUint16(b[12:], uint16(len(body)))
		b = append(b, body...)
		for !last && len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	// QoS data with the A-MSDU present bit in the QoS control field.
	header := append(append([]byte{0x88, 0x02, 0, 0}, make([]byte, 20)...), 0x80, 0)
	for _, tc := range []struct {
		name  string
		extra [][]byte // subframes after the first
		cut   int      // bytes cut from the end
		want  uint64
	}{
		{name: "one subframe"},
		{name: "two subframes", extra: [][]byte{llc}, want: 1},
		{name: "four subframes, odd lengths", extra: [][]byte{llc[:len(llc)-1], llc[:len(llc)-3], llc}, want: 3},
		{name: "the last cut by the snap length", extra: [][]byte{llc, llc}, cut: 10, want: 2},
		{name: "a trailing stub too short for a header", extra: [][]byte{llc}, cut: len(llc) + 14 - 6, want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frame := append(append([]byte{}, header...), subframe(llc, len(tc.extra) == 0)...)
			for i, e := range tc.extra {
				frame = append(frame, subframe(e, i == len(tc.extra)-1)...)
			}
			frame = frame[:len(frame)-tc.cut]
			d := New(Options{})
			var p Packet
			if err := d.Decode(layers.LinkTypeIEEE802_11, frame, 1, len(frame), &p); err != nil {
				t.Fatalf("first subframe: %v", err)
			}
			if p.Key.Proto() != 17 || p.Key.B().Port() != 5060 && p.Key.A().Port() != 5060 {
				t.Errorf("decoded %v, want the first subframe's UDP packet", p.Key)
			}
			st := d.Stats()
			if got := st.Skipped[ReasonAMSDUSubframe]; got != tc.want {
				t.Errorf("%d subframes counted, want %d", got, tc.want)
			}
		})
	}
}
