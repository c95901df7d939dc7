package live

import (
	"strings"
	"testing"

	"golang.org/x/net/bpf"
)

// udp port 53, as tcpdump 4.99 -ddd prints it.
const udp53 = "20,40 0 0 12,21 0 6 34525,48 0 0 20,21 0 15 17,40 0 0 54,21 12 0 53,40 0 0 56,21 10 11 53,21 0 10 2048,48 0 0 23,21 0 8 17,40 0 0 20,69 6 0 8191,177 0 0 14,72 0 0 14,21 2 0 53,72 0 0 16,21 0 1 53,6 0 0 262144,6 0 0 0"

func TestParseBytecode(t *testing.T) {
	prog, err := ParseBytecode(strings.ReplaceAll(udp53, ",", "\n") + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(prog) != 20 {
		t.Fatalf("%d instructions", len(prog))
	}
	// Run it: a UDP/IPv4 packet to port 53 passes, one to port 54 does not.
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatalf("the program does not validate: %v", err)
	}
	frame := func(dport byte) []byte {
		f := make([]byte, 14+20+8)
		f[12], f[13] = 0x08, 0x00 // IPv4
		f[14] = 0x45
		f[14+9] = 17 // UDP
		f[14+20+2], f[14+20+3] = 0, dport
		return f
	}
	if n, _ := vm.Run(frame(53)); n == 0 {
		t.Error("port 53 filtered out")
	}
	if n, _ := vm.Run(frame(54)); n != 0 {
		t.Error("port 54 accepted")
	}
	for _, bad := range []string{"", "x", "2,6 0 0 0", "1,6 0 0", "1,6 0 0 99999999999", "1,40 0 0 12"} {
		if _, err := ParseBytecode(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseBytecode(f *testing.F) {
	f.Add(udp53)
	f.Add("1,6 0 0 65535")
	f.Fuzz(func(t *testing.T, s string) {
		prog, err := ParseBytecode(s)
		if err == nil && len(prog) == 0 {
			t.Fatal("empty program accepted")
		}
	})
}
