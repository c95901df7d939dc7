// Package bench measures the live capture engines on a veth pair: how many
// packets per second each one takes with zero loss, and at what CPU cost,
// next to tcpdump on the same interface.
//
// The measurement is a benchmark, because it needs the test harness's
// network namespaces (internal/netnstest) and root:
//
//	go test ./internal/bench -run '^$' -bench LiveCapture -benchtime 1x
//
// Environment variables change the sweep: AUDITOR_LIVEBENCH_RATES (packets
// per second, comma-separated; default 100000 to 2400000),
// AUDITOR_LIVEBENCH_SECONDS (per rate, at most 10; default 3),
// AUDITOR_LIVEBENCH_ENGINES (default none,afpacket,ebpf,tcpdump; none is
// the sender alone) and AUDITOR_BIN (a prebuilt auditor instead of
// building cmd/auditor from the tree).
//
// A paced AF_PACKET sender in namespace A (Sender) sends RTP-like UDP
// frames of many concurrent streams (RTPFrames) to namespace B, where
// `auditor capture` (built from the tree) or tcpdump runs as a child
// process. The frames carry a destination MAC address that is not B's, as
// on a mirror (SPAN) port: every capture sees them and B's IP stack
// discards them without answering. What reached B is read from B's
// interface counters (LinkCounters), what the capture kept from its output,
// its CPU time from /proc (ProcCPU), and for the eBPF engine the kernel's
// own counters from the child's maps (ReadSensorStats).
//
// Measurements take an exclusive lock (Lock) so that benchmarks sharing a
// machine do not run at the same time.
package bench
