package flow

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
	"time"
)

// Packet is what the table needs from one decoded packet. The decoder fills
// it; the table never sees payload bytes.
type Packet struct {
	Key        Key
	Dir        Dir    // sender side of Key
	Time       int64  // unix nanoseconds
	WireLen    uint32 // original frame length
	PayloadLen uint32 // transport payload length per the IP header (not the captured length)
	TCPFlags   uint8
	Seq        uint32 // TCP sequence number
	Ack        uint32 // TCP acknowledgement number
	// ZeroWindow is set when the TCP window field is zero (a zero window
	// is zero whatever the scale).
	ZeroWindow bool
	VLAN       uint16 // innermost VLAN ID, 0 if untagged

	// BadChecksum is set when the decoder found the IPv4 header's or the
	// transport's checksum wrong. The packet is counted in the frame
	// counters and as c/C in the history, and otherwise ignored, as Zeek
	// ignores it.
	BadChecksum bool
	// Cut is set when the capture holds less than the whole transport
	// payload (snap length): its bytes cannot fill a sequence hole.
	Cut bool
}

// Config bounds the table and sets idle timeouts per protocol.
type Config struct {
	// MaxFlows bounds the table; when full, the least recently active flow
	// is evicted (and counted) to make room. A half-open TCP flow (SYNs
	// never answered) is parked instead of ended, up to MaxFlows/8 of
	// them (at least one): a SYN retry finds its attempt there, so a scan
	// or flood that fills the table does not split one unanswered
	// connection into several blocked ones. A parked flow that no retry
	// brings back ends, counted as evicted, at its idle timeout, when the
	// park is full, or at Flush.
	MaxFlows int
	// Timeouts after which an idle flow ends, per protocol class.
	TCPTimeout   time.Duration // established or half-open TCP
	TCPLinger    time.Duration // after FIN from both sides or RST, to absorb trailing ACKs
	UDPTimeout   time.Duration
	ICMPTimeout  time.Duration
	OtherTimeout time.Duration

	// ExpireOnAdvance stops Packet from sweeping idle flows by its own
	// clock: only Advance and Flush end them. The pipeline sets it and
	// advances every worker's table at the same epoch boundaries, so the
	// moment an idle flow ends does not depend on which other flows share
	// its table. A packet for an expired flow still ends it first.
	ExpireOnAdvance bool
}

// DefaultConfig follows Zeek's defaults (tcp_inactivity_timeout 5 min,
// udp/icmp 1 min, tcp_close_delay 5 s) with a one-million-flow bound.
func DefaultConfig() Config {
	return Config{
		MaxFlows:     1_000_000,
		TCPTimeout:   5 * time.Minute,
		TCPLinger:    5 * time.Second,
		UDPTimeout:   time.Minute,
		ICMPTimeout:  time.Minute,
		OtherTimeout: time.Minute,
	}
}

// Stats are the table's counters. They are atomic so a metrics reader on
// another goroutine can read them while the table runs.
type Stats struct {
	Created     atomic.Uint64
	BadChecksum atomic.Uint64               // packets whose IPv4 header or transport checksum failed
	Ended       [EndFlush + 1]atomic.Uint64 // by EndReason
	Active      atomic.Int64
	// Parked counts evicted half-open TCP flows set aside, Unparked those
	// a later packet (a SYN retry) brought back. See Config.MaxFlows.
	Parked, Unparked atomic.Uint64
}

// EndFunc receives each flow as it leaves the table. The flow is recycled
// after the call returns: copy what must outlive it.
type EndFunc func(*Flow)

// Table turns packets into bidirectional flows. It is not safe for
// concurrent use: the pipeline gives each worker its own table.
type Table struct {
	cfg      Config
	timeouts [numClasses]int64
	// flows indexes the active flows by hashKey of their key; nflows
	// counts them. See index.
	flows    map[uint64]*Flow
	nflows   int
	hashSeed uint64
	lists    [numClasses]lruList
	// parked holds evicted half-open TCP flows, parkLists by timeout
	// class as lists does, each in eviction order, which is least
	// recently active first: expiry looks only at each list's head, and
	// a flow parked later with a shorter timeout (an attempt its
	// originator reset) does not wait behind one with a longer timeout.
	// See Config.MaxFlows.
	parked    map[Key]*Flow
	parkLists [numClasses]lruList
	// recent is a direct-mapped cache of flows in the map, by a cheap
	// hash of their key (Key.recentSlot): most packets belong to a flow
	// that had one a moment ago, and finding it here takes one load and
	// one key compare where the index hashes the key and probes the map.
	// A flow leaves it when it leaves the map (forget).
	recent *[recentSlots]*Flow
	free   []*Flow
	onEnd  EndFunc
	now    int64 // latest packet time seen
	swept  int64 // time of the last expiry sweep
	stats  Stats
}

// NewTable returns an empty table; onEnd receives every flow that ends.
func NewTable(cfg Config, onEnd EndFunc) *Table {
	def := DefaultConfig()
	if cfg.MaxFlows <= 0 {
		cfg.MaxFlows = def.MaxFlows
	}
	orDefault(&cfg.TCPTimeout, def.TCPTimeout)
	orDefault(&cfg.TCPLinger, def.TCPLinger)
	orDefault(&cfg.UDPTimeout, def.UDPTimeout)
	orDefault(&cfg.ICMPTimeout, def.ICMPTimeout)
	orDefault(&cfg.OtherTimeout, def.OtherTimeout)
	// The map grows with the traffic: presizing it for a busy link cost
	// every run, however small, tens of milliseconds of page faults
	// before the first packet.
	t := &Table{cfg: cfg, flows: make(map[uint64]*Flow, min(cfg.MaxFlows, 1<<10)), hashSeed: rand.Uint64() | 1,
		onEnd: onEnd, recent: new([recentSlots]*Flow)}
	t.timeouts = [numClasses]int64{
		classTCP:       int64(cfg.TCPTimeout),
		classTCPClosed: int64(cfg.TCPLinger),
		classUDP:       int64(cfg.UDPTimeout),
		classICMP:      int64(cfg.ICMPTimeout),
		classOther:     int64(cfg.OtherTimeout),
	}
	return t
}

func orDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Stats returns the table's live counters.
func (t *Table) Stats() *Stats { return &t.stats }

// Len is the number of active flows.
func (t *Table) Len() int { return t.nflows }

// Now is the time of the latest packet the table has seen.
func (t *Table) Now() int64 { return t.now }

// Lookup returns the active flow for k, or nil.
func (t *Table) Lookup(k Key) *Flow { return t.lookup(&k) }

// Packet accounts one packet and returns its flow and whether the packet
// came from the originator. The flow stays valid until the next call that
// can end flows (Packet, Advance, Flush).
func (t *Table) Packet(p *Packet) (f *Flow, fromOrig bool) {
	return t.PacketChecked(p, nil)
}

// PayloadChecksum completes a transport checksum the decoder verified
// only up to the payload; it reports whether the checksum is bad.
type PayloadChecksum interface {
	PayloadChecksumBad() bool
}

// udpVerifiedPackets is how many datagrams of each direction of a UDP flow
// have their checksum verified over the payload when all of them were
// good; after them only a direction that had a bad one is verified
// further. A long UDP flow is media (RTP): summing every byte of it costs
// a tenth of the replay's time, and the c/C letters, on Zeek's scale of
// 1, 10, 100..., come from the first bad datagrams of a direction.
const udpVerifiedPackets = 100

// PacketChecked is Packet for a packet whose transport checksum is still
// to be completed over the payload by sum (nil when the decoder settled
// it). TCP, ICMP and short UDP flows are always verified; a UDP direction
// whose first udpVerifiedPackets datagrams all had good checksums is
// trusted from then on and its later datagrams count as good.
func (t *Table) PacketChecked(p *Packet, sum PayloadChecksum) (f *Flow, fromOrig bool) {
	return t.PacketTunneled(p, sum, nil)
}

// PacketTunneled is PacketChecked for a packet taken out of a tunnel whose
// identity is tunnel (nil: not tunnelled): the outer UDP flow's Key for a
// UDP tunnel, Key.AddrPair of the outer IP header for an IP-level one.
// A flow whose packets come out of different tunnels, or out of one and
// then none, counts the changes as Zeek does and gets 'X' in its history
// past Zeek's limit (encap.go).
func (t *Table) PacketTunneled(p *Packet, sum PayloadChecksum, tunnel *Key) (f *Flow, fromOrig bool) {
	if sum != nil && p.Key.proto != ProtoUDP {
		p.BadChecksum = sum.PayloadChecksumBad()
		sum = nil
	}
	if p.Time > t.now {
		t.now = p.Time
		if !t.cfg.ExpireOnAdvance && t.now-t.swept >= int64(time.Second) {
			t.expire(t.now)
			t.swept = t.now
		}
	}
	slot := &t.recent[p.Key.recentSlot()]
	if f = *slot; f == nil || !f.Key.same(&p.Key) {
		if f = t.lookup(&p.Key); f != nil {
			*slot = f
		}
	}
	if f == nil && len(t.parked) > 0 {
		f = t.unpark(p.Key)
	}
	if f != nil && p.Time-f.Last > t.timeouts[f.class] {
		// Expired but not yet swept (sweeps run once per second of packet
		// time): end it now, so when a flow ends never depends on sweep
		// timing or on how flows are sharded over tables.
		t.end(f, idleReason(f.class))
		f = nil
	}
	if f != nil && f.Key.proto == ProtoTCP && p.TCPFlags&FlagSYN != 0 && !p.BadChecksum && f.tcp.reusedBy(p.TCPFlags, p.Seq) {
		// A SYN that Zeek takes for a new connection on the 4-tuple.
		t.end(f, EndReused)
		f = nil
	}
	if f == nil {
		f = t.create(p)
		if tunnel != nil {
			f.enterTunnel(tunnel)
		}
	} else if tunnel != nil || f.encap&encapOn != 0 {
		// Before the packet's own letters, as Zeek checks the
		// encapsulation before it delivers the packet.
		f.checkEncap(tunnel)
	}
	fromOrig = p.Dir == f.OrigDir
	side := &f.Resp
	if fromOrig {
		side = &f.Orig
	}
	side.Packets++
	side.Bytes += uint64(p.WireLen)
	side.Payload += uint64(p.PayloadLen)
	if sum != nil && (side.Packets <= udpVerifiedPackets || side.chkCnt != 0 || side.chkExp != 0) {
		p.BadChecksum = sum.PayloadChecksumBad()
	}
	if p.Time > f.Last {
		f.Last = p.Time
	} else if p.Time < f.First {
		// A clock stepped back (or merged inputs that overlap): the flow
		// still starts no later than any of its packets.
		f.First = p.Time
	}
	switch {
	case p.BadChecksum:
		t.stats.BadChecksum.Add(1)
		f.badChecksum(fromOrig)
	case f.Key.proto == ProtoTCP:
		side.Flags |= p.TCPFlags
		// Field by field: a composite literal is built in a temporary
		// and copied with 16-byte moves, each of which stalls on the
		// narrower stores before it (no store forwarding).
		var seg segment
		seg.flags, seg.seq, seg.ack, seg.zeroWin, seg.len, seg.cut = p.TCPFlags, p.Seq, p.Ack, p.ZeroWindow, p.PayloadLen, p.Cut
		if f.tcpPacket(fromOrig, &seg, false) {
			fromOrig = !fromOrig
		}
	case f.Key.proto == ProtoUDP:
		f.udpPacket(fromOrig)
	}
	t.touch(f)
	return f, fromOrig
}

// AddCounters folds packets counted elsewhere (the eBPF sensor's in-kernel
// flow map) into flow k, creating it if needed with d as the sender of its
// first packet. Sequence tracking and history are left alone: the packets
// were never seen one by one. TCP flags still move the connection state.
func (t *Table) AddCounters(k Key, d Dir, packets, bytes, payload uint64, flags uint8, first, last int64) {
	if packets == 0 {
		return
	}
	if last > t.now {
		t.now = last
	}
	f := t.lookup(&k)
	if f == nil && len(t.parked) > 0 {
		f = t.unpark(k)
	}
	if f != nil && last-f.Last > t.timeouts[f.class] {
		t.end(f, idleReason(f.class))
		f = nil
	}
	if f == nil {
		f = t.create(&Packet{Key: k, Dir: d, Time: first, TCPFlags: flags})
	}
	fromOrig := d == f.OrigDir
	side := f.Side(d)
	side.Packets += packets
	side.Bytes += bytes
	side.Payload += payload
	if first < f.First {
		f.First = first
	}
	if last > f.Last {
		f.Last = last
	}
	if k.proto == ProtoTCP {
		side.Flags |= flags
		f.foldFlags(fromOrig, flags)
	} else if k.proto == ProtoUDP {
		if fromOrig {
			f.udpActive |= udpOrigActive
		} else {
			f.udpActive |= udpRespActive
		}
	}
	t.touch(f)
}

// foldFlags moves the TCP state by the union of flags one side sent,
// replayed in handshake order (SYN, ACK, FIN, RST) without touching the
// history or sequence bookkeeping: the packets were never seen one by one.
func (f *Flow) foldFlags(fromOrig bool, flags uint8) {
	ack := flags & FlagACK
	if flags&FlagSYN != 0 {
		s := segment{flags: FlagSYN}
		if !fromOrig {
			s.flags |= ack
		}
		fromOrig = f.tcpPacket(fromOrig, &s, true) != fromOrig
	}
	if ack != 0 {
		s := segment{flags: ack}
		fromOrig = f.tcpPacket(fromOrig, &s, true) != fromOrig
	}
	if flags&FlagFIN != 0 {
		s := segment{flags: FlagFIN | ack}
		fromOrig = f.tcpPacket(fromOrig, &s, true) != fromOrig
	}
	if flags&FlagRST != 0 {
		s := segment{flags: FlagRST}
		f.tcpPacket(fromOrig, &s, true)
	}
}

func (t *Table) create(p *Packet) *Flow {
	if t.nflows >= t.cfg.MaxFlows {
		t.evictOldest()
	}
	var f *Flow
	if n := len(t.free); n > 0 {
		f, t.free = t.free[n-1], t.free[:n-1]
	} else {
		f = new(Flow)
	}
	f.Key = p.Key
	if p.Key.proto == ProtoTCP {
		if f.tcp == nil {
			f.tcp = new(tcpConn)
		}
		f.tcp.reset()
	}
	f.First, f.Last = p.Time, p.Time
	f.VLAN = p.VLAN
	f.OrigDir = p.Dir
	if originatorIsReceiver(p) {
		f.flip()
	}
	f.class = classOf(p.Key.proto)
	t.index(f)
	t.recent[p.Key.recentSlot()] = f
	t.lists[f.class].pushBack(f)
	t.stats.Created.Add(1)
	t.stats.Active.Add(1)
	return f
}

// originatorIsReceiver decides, for the first packet of a flow, whether its
// receiver rather than its sender opened the conversation: Zeek's
// WantConnection of its TCP and UDP analyzers, then NewConn's refusal to
// make a broadcast address the originator.
//
// TCP starting with a SYN keeps its sender. TCP starting otherwise (a
// SYN-ACK or midstream) flips when the source port is a likely server port
// and the destination is not; when both are, only a packet that is not a
// SYN-ACK from the lower port flips (a SYN-ACK may be a stealth scan's
// answer). UDP flips when the source port is a likely server port and the
// destination is not. Other protocols keep the first sender.
func originatorIsReceiver(p *Packet) bool {
	src, dst := p.Key.portA, p.Key.portB
	if p.Dir == DirBA {
		src, dst = dst, src
	}
	flip := false
	switch p.Key.proto {
	case ProtoTCP:
		if p.TCPFlags&FlagSYN != 0 && p.TCPFlags&FlagACK == 0 {
			return false
		}
		if likelyServerPort(ProtoTCP, src) {
			if likelyServerPort(ProtoTCP, dst) {
				flip = p.TCPFlags&FlagSYN == 0 && src < dst
			} else {
				flip = true
			}
		}
	case ProtoUDP:
		flip = likelyServerPort(ProtoUDP, src) && !likelyServerPort(ProtoUDP, dst)
	}
	if flip && p.Key.Endpoint(p.Dir.Flip()).Addr() == broadcast4 {
		return false
	}
	return flip
}

var broadcast4 = netip.AddrFrom4([4]byte{255, 255, 255, 255})

func (t *Table) touch(f *Flow) {
	class := f.class
	if f.Key.proto == ProtoTCP && f.tcp.closed() {
		class = classTCPClosed
	}
	if class != f.class {
		t.lists[f.class].remove(f)
		f.class = class
		t.lists[class].pushBack(f)
		return
	}
	t.lists[class].moveToBack(f)
}

// ICMPUnreachable records an ICMP destination-unreachable that quoted a
// packet of flow k. It reports whether such a flow was active.
func (t *Table) ICMPUnreachable(k Key, typ, code uint8) bool {
	f := t.lookup(&k)
	if f == nil {
		f = t.parked[k]
	}
	if f == nil {
		return false
	}
	f.ICMPUnreach++
	f.UnreachType, f.UnreachCode = typ, code
	return true
}

// Advance moves the table's clock to now (for live capture, where time
// passes without packets) and ends the flows idle for longer than their
// timeout.
func (t *Table) Advance(now int64) {
	if now > t.now {
		t.now = now
	}
	t.expire(t.now)
	t.swept = t.now
}

func (t *Table) expire(now int64) {
	for c := range t.lists {
		l := &t.lists[c]
		for f := l.head; f != nil && now-f.Last > t.timeouts[c]; f = l.head {
			t.end(f, idleReason(timeoutClass(c)))
		}
	}
	// A parked flow no retry brought back ends at its idle timeout, as it
	// would have in the table, but as evicted: the table had no room.
	for c := range t.parkLists {
		l := &t.parkLists[c]
		for f := l.head; f != nil && now-f.Last > t.timeouts[c]; f = l.head {
			t.endParked(f, EndEvicted)
		}
	}
}

// oldestParked returns the least recently active parked flow, nil when
// none is.
func (t *Table) oldestParked() *Flow {
	var oldest *Flow
	for c := range t.parkLists {
		if h := t.parkLists[c].head; h != nil && (oldest == nil || h.Last < oldest.Last) {
			oldest = h
		}
	}
	return oldest
}

// parkMax bounds the parked flows.
func (t *Table) parkMax() int { return max(t.cfg.MaxFlows/8, 1) }

// park takes an evicted half-open TCP flow out of the table without ending
// it; when the park is full, its oldest flow ends, evicted.
func (t *Table) park(f *Flow) {
	t.lists[f.class].remove(f)
	t.forget(f)
	if t.parked == nil {
		t.parked = make(map[Key]*Flow)
	}
	if len(t.parked) >= t.parkMax() {
		t.endParked(t.oldestParked(), EndEvicted)
	}
	t.parked[f.Key] = f
	t.parkLists[f.class].pushBack(f)
	t.stats.Parked.Add(1)
}

// unpark returns the parked flow of k to the table (evicting another if
// the table is full), or returns nil.
func (t *Table) unpark(k Key) *Flow {
	f := t.parked[k]
	if f == nil {
		return nil
	}
	t.parkLists[f.class].remove(f)
	delete(t.parked, k)
	if t.nflows >= t.cfg.MaxFlows {
		t.evictOldest()
	}
	t.index(f)
	t.lists[f.class].pushBack(f)
	t.stats.Unparked.Add(1)
	return f
}

// endParked ends a parked flow.
func (t *Table) endParked(f *Flow, reason EndReason) {
	t.parkLists[f.class].remove(f)
	delete(t.parked, f.Key)
	t.finish(f, reason)
}

func idleReason(c timeoutClass) EndReason {
	if c == classTCPClosed {
		return EndClosed
	}
	return EndIdle
}

// evictOldest ends the least recently active flow of all classes.
func (t *Table) evictOldest() {
	var oldest *Flow
	for c := range t.lists {
		if h := t.lists[c].head; h != nil && (oldest == nil || h.Last < oldest.Last) {
			oldest = h
		}
	}
	switch {
	case oldest == nil:
	case oldest.Key.proto == ProtoTCP && oldest.Resp.Packets == 0:
		t.park(oldest)
	default:
		t.end(oldest, EndEvicted)
	}
}

// Flush ends every active flow, oldest first, with the given reason. Flows
// already past their idle timeout at the table's clock end as idle.
func (t *Table) Flush(reason EndReason) {
	t.expire(t.now)
	for f := t.oldestParked(); f != nil; f = t.oldestParked() {
		t.endParked(f, EndEvicted)
	}
	for t.nflows > 0 {
		var oldest *Flow
		for c := range t.lists {
			if h := t.lists[c].head; h != nil && (oldest == nil || h.First < oldest.First) {
				oldest = h
			}
		}
		t.end(oldest, reason)
	}
}

func (t *Table) end(f *Flow, reason EndReason) {
	t.lists[f.class].remove(f)
	t.forget(f)
	t.finish(f, reason)
}

// forget takes f out of the index and the recent cache.
func (t *Table) forget(f *Flow) {
	t.unindex(f)
	if slot := &t.recent[f.Key.recentSlot()]; *slot == f {
		*slot = nil
	}
}

// finish hands a flow out of the table to onEnd and recycles it.
func (t *Table) finish(f *Flow, reason EndReason) {
	f.End = reason
	t.stats.Ended[reason].Add(1)
	t.stats.Active.Add(-1)
	c := f.detachTCP()
	if t.onEnd != nil {
		t.onEnd(f)
	}
	f.reset(c)
	t.free = append(t.free, f)
}

// timeoutClass groups flows that share an idle timeout; each class keeps its
// flows in one list ordered by last activity, so expiry and eviction look
// only at list heads.
type timeoutClass uint8

const (
	classTCP timeoutClass = iota
	classTCPClosed
	classUDP
	classICMP
	classOther
	numClasses
)

func classOf(proto uint8) timeoutClass {
	switch proto {
	case ProtoTCP:
		return classTCP
	case ProtoUDP:
		return classUDP
	case ProtoICMP, ProtoICMPv6:
		return classICMP
	}
	return classOther
}

type lruLinks struct{ prev, next *Flow }

// lruList is an intrusive doubly linked list, least recently active first.
type lruList struct{ head, tail *Flow }

func (l *lruList) pushBack(f *Flow) {
	f.lru.prev, f.lru.next = l.tail, nil
	if l.tail != nil {
		l.tail.lru.next = f
	} else {
		l.head = f
	}
	l.tail = f
}

func (l *lruList) remove(f *Flow) {
	if f.lru.prev != nil {
		f.lru.prev.lru.next = f.lru.next
	} else {
		l.head = f.lru.next
	}
	if f.lru.next != nil {
		f.lru.next.lru.prev = f.lru.prev
	} else {
		l.tail = f.lru.prev
	}
	f.lru = lruLinks{}
}

func (l *lruList) moveToBack(f *Flow) {
	if l.tail == f {
		return
	}
	l.remove(f)
	l.pushBack(f)
}

// The index of active flows is a map keyed by a 64-bit hash of the flow
// key, seeded per table, rather than by the key itself: its slots take 16
// bytes where a Key and its pointer take 48, so the index of a busy link's
// flows is a third the size and more of it stays in the cache, and a
// lookup that misses (every new flow) compares no key. Every flow that
// starts and ends costs a lookup, an insert and a delete, which missed
// the cache in a map keyed by Key. Keys whose hashes collide, which the
// seed makes a matter of chance (one pair in 2^64), chain through
// Flow.hnext from the flow the map holds; a flow not at the head of its
// chain has hchained set.

// hashKey is k's hash in t's index: wyhash's multiply-and-fold mixing of
// the key's 38 bytes, seeded per table, so that which keys collide cannot
// be known to the traffic.
func (t *Table) hashKey(k *Key) uint64 {
	const p0, p1, p2 = 0xa0761d6478bd642f, 0xe7037ed1a0b428db, 0x8ebc6af09c88c6e3
	rest := uint64(k.portA) | uint64(k.portB)<<16 | uint64(k.proto)<<32
	if k.is4 {
		rest |= 1 << 40
	}
	h := mix64(t.hashSeed^binary.LittleEndian.Uint64(k.addrA[:8]), p0^binary.LittleEndian.Uint64(k.addrA[8:]))
	h = mix64(h^binary.LittleEndian.Uint64(k.addrB[:8]), p1^binary.LittleEndian.Uint64(k.addrB[8:]))
	return mix64(h^rest, p2^t.hashSeed)
}

// mix64 folds the 128-bit product of a and b into 64 bits.
func mix64(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// lookup returns the active flow of k, nil when none is.
func (t *Table) lookup(k *Key) *Flow {
	return t.lookupAt(k, t.hashKey(k))
}

func (t *Table) lookupAt(k *Key, h uint64) *Flow {
	f := t.flows[h]
	for f != nil && !f.Key.same(k) {
		f = f.hnext
	}
	return f
}

// index adds f, which is not in the index, to it.
func (t *Table) index(f *Flow) { t.indexAt(f, t.hashKey(&f.Key)) }

func (t *Table) indexAt(f *Flow, h uint64) {
	if head := t.flows[h]; head != nil {
		head.hchained = true
		f.hnext = head
	}
	t.flows[h] = f
	t.nflows++
}

// unindex takes f, which is in the index, out of it.
func (t *Table) unindex(f *Flow) { t.unindexAt(f, t.hashKey(&f.Key)) }

func (t *Table) unindexAt(f *Flow, h uint64) {
	switch {
	case f.hchained:
		prev := t.flows[h]
		for prev.hnext != f {
			prev = prev.hnext
		}
		prev.hnext = f.hnext
	case f.hnext != nil:
		f.hnext.hchained = false
		t.flows[h] = f.hnext
	default:
		delete(t.flows, h)
	}
	f.hnext, f.hchained = nil, false
	t.nflows--
}
