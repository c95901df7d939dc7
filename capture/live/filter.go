package live

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/net/bpf"
)

// ParseBytecode reads a classic BPF program in the form `tcpdump -ddd EXPR`
// prints it: the instruction count, then one "code jt jf k" quadruple per
// instruction, separated by newlines or commas. The binary has no libpcap
// to compile filter expressions; tcpdump on any machine does it once.
func ParseBytecode(s string) ([]bpf.Instruction, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' || r == ';' })
	if len(fields) == 0 {
		return nil, fmt.Errorf("BPF bytecode is empty")
	}
	n, err := strconv.Atoi(strings.TrimSpace(fields[0]))
	if err != nil || n <= 0 || n > maxInstructions {
		return nil, fmt.Errorf("BPF bytecode: first field %q is not an instruction count (1-%d)", fields[0], maxInstructions)
	}
	if len(fields)-1 != n {
		return nil, fmt.Errorf("BPF bytecode: count says %d instructions, %d given", n, len(fields)-1)
	}
	prog := make([]bpf.Instruction, n)
	for i, f := range fields[1:] {
		var v [4]uint64
		parts := strings.Fields(f)
		if len(parts) != 4 {
			return nil, fmt.Errorf("BPF bytecode: instruction %d %q: want \"code jt jf k\"", i+1, f)
		}
		for j, bits := range [4]int{16, 8, 8, 32} {
			if v[j], err = strconv.ParseUint(parts[j], 10, bits); err != nil {
				return nil, fmt.Errorf("BPF bytecode: instruction %d %q: %w", i+1, f, err)
			}
		}
		prog[i] = bpf.RawInstruction{Op: uint16(v[0]), Jt: uint8(v[1]), Jf: uint8(v[2]), K: uint32(v[3])}.Disassemble()
	}
	// A program the kernel would reject is better refused here, with the
	// reason, than at setsockopt: the interpreter validates like the kernel
	// (jumps in range, a final return).
	if _, err := bpf.NewVM(prog); err != nil {
		return nil, fmt.Errorf("BPF bytecode: %w", err)
	}
	return prog, nil
}

// maxInstructions is the kernel's BPF_MAXINSNS for classic socket filters.
const maxInstructions = 4096
