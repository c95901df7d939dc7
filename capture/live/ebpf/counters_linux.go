//go:build linux && (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64)

package ebpf

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/ccaudit/auditor/capture/flow"
)

// flowKeyOf is the one place a kernel flow_key becomes a flow.Key.
func flowKeyOf(k *sensorFlowKey) (flow.Key, flow.Dir) {
	return flow.KeyFrom16(k.Proto, k.Is4 != 0, k.Src, k.Sport, k.Dst, k.Dport)
}

// batchSize is how many map entries one BPF_MAP_LOOKUP_BATCH returns.
const batchSize = 4096

// counterState remembers what Counters last read of each kernel entry:
// the kernel counters are cumulative, so that reading them never races
// with the packets being added, and only idle entries are deleted.
type counterState struct {
	mu   sync.Mutex
	prev map[sensorFlowKey]prevCounters
	keys []sensorFlowKey
	vals []sensorFlowCounters
	idle []sensorFlowKey
}

type prevCounters struct{ packets, bytes, payload uint64 }

func (c *counterState) init() {
	c.prev = make(map[sensorFlowKey]prevCounters)
	c.keys = make([]sensorFlowKey, batchSize)
	c.vals = make([]sensorFlowCounters, batchSize)
}

// Counters appends to dst, for every flow direction the kernel counted
// packets of since the last call, what it counted, and removes from the
// kernel map the directions idle for longer than Options.IdleTimeout. Call
// it periodically (every few seconds) and once more before Close. It may
// run concurrently with Next; the flow table is not safe for concurrent
// use, so apply the deltas on the goroutine that owns it.
func (s *Sensor) Counters(dst []FlowDelta) ([]FlowDelta, error) {
	c := &s.counters
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.closed.Load() {
		return dst, fmt.Errorf("read sensor counters: %w", os.ErrClosed)
	}
	s.syncClock()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return dst, fmt.Errorf("read sensor counters: %w", err)
	}
	idleBefore := uint64(ts.Nano() - s.opts.IdleTimeout.Nanoseconds())
	c.idle = c.idle[:0]
	visit := func(k *sensorFlowKey, v *sensorFlowCounters) {
		dst = s.appendDelta(dst, k, v, false)
		if max(v.LastNs, v.FirstNs) < idleBefore {
			c.idle = append(c.idle, *k)
		}
	}
	if err := s.walkFlows(visit); err != nil {
		return dst, fmt.Errorf("read sensor counters: %w", err)
	}
	for i := range c.idle {
		k := &c.idle[i]
		var v sensorFlowCounters
		// Atomic: packets counted up to the delete are in v; later
		// ones start a fresh entry.
		err := s.objs.Flows.LookupAndDelete(k, &v)
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			delete(c.prev, *k)
			continue
		}
		if err != nil {
			return dst, fmt.Errorf("remove idle flow: %w", err)
		}
		dst = s.appendDelta(dst, k, &v, true)
		delete(c.prev, *k)
	}
	return dst, nil
}

// walkFlows visits every entry of the flow map, in batches where the
// kernel can, else one key at a time. An entry may be visited twice (a
// batch cut short, then a full walk): the second visit adds nothing.
func (s *Sensor) walkFlows(visit func(*sensorFlowKey, *sensorFlowCounters)) error {
	c := &s.counters
	var cursor ebpf.MapBatchCursor
	for {
		n, err := s.objs.Flows.BatchLookup(&cursor, c.keys, c.vals, nil)
		for i := range n {
			visit(&c.keys[i], &c.vals[i])
		}
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil
		}
		if err != nil {
			// ENOSPC (a hash bucket longer than the batch) or no batch
			// support: walk key by key.
			break
		}
	}
	var (
		k sensorFlowKey
		v sensorFlowCounters
	)
	it := s.objs.Flows.Iterate()
	for it.Next(&k, &v) {
		visit(&k, &v)
	}
	return it.Err()
}

func (s *Sensor) appendDelta(dst []FlowDelta, k *sensorFlowKey, v *sensorFlowCounters, ended bool) []FlowDelta {
	c := &s.counters
	p := c.prev[*k]
	// Never step back: a value read while another CPU was adding to it
	// may be ahead in one field and behind in another; the next read
	// settles it.
	cur := prevCounters{max(v.Packets, p.packets), max(v.Bytes, p.bytes), max(v.Payload, p.payload)}
	if cur.packets == p.packets {
		return dst
	}
	if !ended {
		c.prev[*k] = cur
	}
	key, dir := flowKeyOf(k)
	offset := s.clockOffset.Load()
	return append(dst, FlowDelta{
		Key:     key,
		Dir:     dir,
		Packets: cur.packets - p.packets,
		Bytes:   cur.bytes - p.bytes,
		Payload: cur.payload - p.payload,
		Flags:   uint8(v.Flags),
		First:   int64(v.FirstNs) + offset,
		Last:    int64(v.LastNs) + offset,
		Ended:   ended,
	})
}
