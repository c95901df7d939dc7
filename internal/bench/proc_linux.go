package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	bpf "github.com/ccaudit/auditor/capture/live/ebpf"
	"github.com/cilium/ebpf"
)

// Lock takes an exclusive lock on path (created if missing), waiting for
// whoever holds it: measurements sharing a machine take turns.
func Lock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on every
// Linux architecture's user ABI.
const clockTicks = 100

func ticks(s string) (time.Duration, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, err
	}
	return time.Duration(n) * time.Second / clockTicks, nil
}

// ProcCPU is the user plus system CPU time of every thread of process pid
// so far (10 ms resolution).
func ProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu of %d: %w", pid, err)
	}
	// The command name may hold spaces and parentheses: fields start
	// after the last ')'. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("cpu of %d: /proc/%d/stat: no command name", pid, pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("cpu of %d: /proc/%d/stat: %d fields", pid, pid, len(f))
	}
	user, err := ticks(f[11])
	if err != nil {
		return 0, fmt.Errorf("cpu of %d: utime: %w", pid, err)
	}
	sys, err := ticks(f[12])
	if err != nil {
		return 0, fmt.Errorf("cpu of %d: stime: %w", pid, err)
	}
	return user + sys, nil
}

// SystemCPU is the machine's CPU time so far, summed over CPUs, from
// /proc/stat.
type SystemCPU struct {
	Busy    time.Duration // everything but idle and iowait
	Softirq time.Duration // softirq: where packets are received, and tc/eBPF and AF_PACKET do their kernel work
}

// ReadSystemCPU reads /proc/stat.
func ReadSystemCPU() (SystemCPU, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return SystemCPU{}, fmt.Errorf("system cpu: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 || fields[0] != "cpu" {
			continue
		}
		// user nice system idle iowait irq softirq [steal ...]
		var c SystemCPU
		for i, v := range fields[1:] {
			d, err := ticks(v)
			if err != nil {
				return c, fmt.Errorf("system cpu: /proc/stat field %d: %w", i+1, err)
			}
			switch i {
			case 3, 4, 7: // idle, iowait, steal
			case 6:
				c.Softirq = d
				c.Busy += d
			case 8, 9: // guest time is already in user and nice
			default:
				c.Busy += d
			}
		}
		return c, nil
	}
	return SystemCPU{}, fmt.Errorf("system cpu: no cpu line in /proc/stat")
}

// LinkStats are an interface's kernel counters.
type LinkStats struct {
	RxPackets, RxDropped uint64
	TxPackets, TxDropped uint64
}

// LinkCounters reads iface's counters in network namespace ns (an ip
// netns name), with `ip -s -j link`.
func LinkCounters(ns, iface string) (LinkStats, error) {
	out, err := exec.Command("ip", "-n", ns, "-s", "-j", "link", "show", "dev", iface).Output()
	if err != nil {
		return LinkStats{}, fmt.Errorf("counters of %s in %s: %w", iface, ns, err)
	}
	var links []struct {
		Stats struct {
			Rx, Tx struct {
				Packets, Dropped uint64
			}
		} `json:"stats64"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		return LinkStats{}, fmt.Errorf("counters of %s in %s: unexpected ip output %q (%v)", iface, ns, out, err)
	}
	s := links[0].Stats
	return LinkStats{RxPackets: s.Rx.Packets, RxDropped: s.Rx.Dropped, TxPackets: s.Tx.Packets, TxDropped: s.Tx.Dropped}, nil
}

// bpfMapTypePerCPUArray is the fdinfo map_type of the sensor's stats map.
const bpfMapTypePerCPUArray = 6

// ReadSensorStats reads the kernel counters of the eBPF sensor that
// process pid has loaded, from its "stats" map, found through the
// process's file descriptors. It fills the kernel's fields of bpf.Stats,
// in the order of enum stat_index in capture/live/ebpf/c/sensor.h;
// RecordsRead and BadRecords live in that process's memory and stay zero.
func ReadSensorStats(pid int) (bpf.Stats, error) {
	dir := fmt.Sprintf("/proc/%d/fdinfo", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return bpf.Stats{}, fmt.Errorf("sensor stats of %d: %w", pid, err)
	}
	for _, e := range entries {
		id, ok := perCPUArrayID(filepath.Join(dir, e.Name()))
		if !ok {
			continue
		}
		st, err := readStatsMap(id)
		if errors.Is(err, errNotStats) {
			continue
		}
		if err != nil {
			return st, fmt.Errorf("sensor stats of %d: %w", pid, err)
		}
		return st, nil
	}
	return bpf.Stats{}, fmt.Errorf("sensor stats of %d: no eBPF stats map among its file descriptors", pid)
}

// perCPUArrayID returns the map ID of a file descriptor's fdinfo when it
// is a per-CPU array map.
func perCPUArrayID(fdinfo string) (ebpf.MapID, bool) {
	b, err := os.ReadFile(fdinfo)
	if err != nil {
		return 0, false // closed meanwhile
	}
	var typ, id uint64
	var haveType, haveID bool
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k {
		case "map_type":
			typ, err = strconv.ParseUint(strings.TrimSpace(v), 10, 32)
			haveType = err == nil
		case "map_id":
			id, err = strconv.ParseUint(strings.TrimSpace(v), 10, 32)
			haveID = err == nil
		}
	}
	return ebpf.MapID(id), haveType && haveID && typ == bpfMapTypePerCPUArray
}

var errNotStats = errors.New("not the sensor's stats map")

func readStatsMap(id ebpf.MapID) (bpf.Stats, error) {
	var st bpf.Stats
	m, err := ebpf.NewMapFromID(id)
	if err != nil {
		return st, fmt.Errorf("open map %d: %w", id, err)
	}
	defer m.Close()
	info, err := m.Info()
	if err != nil {
		return st, fmt.Errorf("map %d info: %w", id, err)
	}
	fields := []*uint64{&st.RingRecords, &st.MapPackets, &st.RingFull, &st.MapFull, &st.Lost, &st.NonIP}
	if info.Name != "stats" || info.KeySize != 4 || info.ValueSize != 8 || info.MaxEntries < uint32(len(fields)) {
		return st, errNotStats
	}
	var perCPU []uint64
	for i, p := range fields {
		if err := m.Lookup(uint32(i), &perCPU); err != nil {
			return st, fmt.Errorf("map %d index %d: %w", id, i, err)
		}
		for _, v := range perCPU {
			*p += v
		}
	}
	return st, nil
}
