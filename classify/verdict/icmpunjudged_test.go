package verdict

import (
	"testing"

	"github.com/ccaudit/auditor/capture/flow"
)

// ICMP errors (the decoder's list) and ICMPv6 link plumbing are left
// unjudged; every other message is judged against the catalog.
func TestICMPUnjudged(t *testing.T) {
	for _, tc := range []struct {
		proto uint8
		typ   uint16
		want  string
	}{
		{flow.ProtoICMP, 0, ""},
		{flow.ProtoICMP, 3, reasonICMPError},
		{flow.ProtoICMP, 4, reasonICMPError},
		{flow.ProtoICMP, 5, reasonICMPError},
		{flow.ProtoICMP, 8, ""},
		{flow.ProtoICMP, 11, reasonICMPError},
		{flow.ProtoICMP, 12, reasonICMPError},
		{flow.ProtoICMP, 1, ""},
		{flow.ProtoICMP, 135, ""},
		{flow.ProtoICMP, 256 + 3, ""},
		{flow.ProtoICMPv6, 1, reasonICMPError},
		{flow.ProtoICMPv6, 2, reasonICMPError},
		{flow.ProtoICMPv6, 4, reasonICMPError},
		{flow.ProtoICMPv6, 5, ""},
		{flow.ProtoICMPv6, 11, ""},
		{flow.ProtoICMPv6, 128, ""},
		{flow.ProtoICMPv6, 129, ""},
		{flow.ProtoICMPv6, 130, reasonICMPv6Link},
		{flow.ProtoICMPv6, 135, reasonICMPv6Link},
		{flow.ProtoICMPv6, 137, reasonICMPv6Link},
		{flow.ProtoICMPv6, 138, ""},
		{flow.ProtoICMPv6, 143, reasonICMPv6Link},
	} {
		got, ok := icmpUnjudged(tc.proto, tc.typ)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("proto %d type %d: %q %v, want %q", tc.proto, tc.typ, got, ok, tc.want)
		}
	}
}
