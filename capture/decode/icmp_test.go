package decode

import (
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
)

// The ICMP errors are the types RFC 792 and RFC 4443 define as quoting
// the offending datagram, and no other.
func TestICMPError(t *testing.T) {
	want := map[uint8][]uint8{
		flow.ProtoICMP:   {3, 4, 5, 11, 12},
		flow.ProtoICMPv6: {1, 2, 3, 4},
	}
	for proto, errs := range want {
		for typ := range 256 {
			is := false
			for _, e := range errs {
				is = is || int(e) == typ
			}
			if got := ICMPError(proto, uint8(typ)); got != is {
				t.Errorf("proto %d type %d: error %v, want %v", proto, typ, got, is)
			}
		}
	}
}
