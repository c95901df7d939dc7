package ebpf

// The generated sensor_bpfel.go and sensor_bpfel.o are committed, so
// building needs no clang. Regenerate after editing c/.
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang -target bpfel -cflags "-O2 -g -Wall -Werror -mcpu=v3 -Ic/include" -type flow_key -type flow_counters -type record_hdr -go-package ebpf sensor c/sensor.c
