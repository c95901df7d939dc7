package cli

import (
	"errors"
	"flag"
	"io"
	"slices"
	"testing"
)

func TestParseFlagsAfterArguments(t *testing.T) {
	fs := NewFlagSet(io.Discard, "auditor", "replay", "FILE...")
	asJSON := fs.Bool("json", false, "")
	pos, err := ParseFlags(fs, []string{"a.pcap", "--json", "b.pcap", "--", "--c.pcap"})
	if err != nil || !*asJSON || !slices.Equal(pos, []string{"a.pcap", "b.pcap", "--c.pcap"}) {
		t.Errorf("positional %q, json %v, err %v", pos, *asJSON, err)
	}
	_, err = ParseFlags(fs, []string{"--nosuch"})
	var ue *UsageError
	if !errors.As(err, &ue) {
		t.Errorf("unknown flag: %v, want a usage error", err)
	}
	if _, err := ParseFlags(fs, []string{"--help"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[uint64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1363148: "1.3 MiB", 5 << 30: "5.0 GiB"} {
		if got := HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
