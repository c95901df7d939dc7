package suggest

import (
	"testing"

	"github.com/ccaudit/auditor/catalog"
)

// pairs reads an entry's sides by the classifier's direction rule: the
// host on the side the entry names for what it did always pairs; on the
// other side only for a both-way entry, and never with nativeOnly.
func TestPairsDirectionRule(t *testing.T) {
	entry := func(d catalog.Direction) *entryInfo {
		return &entryInfo{e: &catalog.Entry{ID: "v/e", Vendor: "v", From: catalog.Roles{"client"}, To: catalog.Roles{"server"}, Direction: d}}
	}
	oneWay, bothWays := entry(catalog.OneWay), entry(catalog.BothWays)
	for _, tc := range []struct {
		name           string
		in             *entryInfo
		bare, peer     string
		served, native bool
		want           bool
	}{
		{"one-way, host served on its To side", oneWay, "server", "client", true, false, true},
		{"one-way, host opened from its From side", oneWay, "client", "server", false, false, true},
		{"one-way, host served on its From side", oneWay, "client", "server", true, false, false},
		{"one-way, host opened from its To side", oneWay, "server", "client", false, false, false},
		{"both-way, host served on its From side", bothWays, "client", "server", true, false, true},
		{"both-way, host opened from its To side", bothWays, "server", "client", false, false, true},
		{"both-way, host served on its From side, native only", bothWays, "client", "server", true, true, false},
		{"both-way, host opened from its To side, native only", bothWays, "server", "client", false, true, false},
		{"both-way, host served on its To side, native only", bothWays, "server", "client", true, true, true},
		{"roles of neither side", bothWays, "client", "client", true, false, false},
	} {
		if got := pairs(tc.in, tc.bare, tc.peer, tc.served, tc.native); got != tc.want {
			t.Errorf("%s: pairs = %v, want %v", tc.name, got, tc.want)
		}
	}
}
