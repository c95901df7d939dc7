package engine

import (
	"testing"

	xbpf "golang.org/x/net/bpf"
)

// The eBPF sensor is tried only when asked for or when "auto" needs
// nothing that only AF_PACKET has: a fanout or a classic BPF filter.
func TestTryEBPF(t *testing.T) {
	filter := []xbpf.Instruction{xbpf.RetConstant{Val: 262144}}
	for _, tc := range []struct {
		engine  string
		workers int
		filter  []xbpf.Instruction
		want    bool
	}{
		{"auto", 1, nil, true},
		{"auto", 2, nil, false},
		{"auto", 1, filter, false},
		{"auto", 0, nil, false},
		{"ebpf", 1, nil, true},
		{"ebpf", 2, nil, true},
		{"afpacket", 1, nil, false},
		{"afpacket", 1, filter, false},
	} {
		cfg := CaptureConfig{Engine: tc.engine, Workers: tc.workers, Filter: tc.filter}
		if got := tryEBPF(&cfg); got != tc.want {
			t.Errorf("engine %s, %d workers, filter %v: tryEBPF = %v, want %v", tc.engine, tc.workers, tc.filter != nil, got, tc.want)
		}
	}
}
