package sipcall

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
	"sync"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/sdp"
	"github.com/ccaudit/auditor/classify/sipinfo"
)

// Dissectors do not change the Tracker as they go: they stage what they
// saw (a message, a media flow matched, a matched flow ended) and the
// pipeline's epoch commit applies every worker's staged events in capture
// order. Between commits, dissectors read the calls and expectations as
// the last commit left them. So a call's record, and which flows are its
// media, depend only on the input, not on how flows were sharded over
// workers or on which worker ran ahead.

type eventKind uint8

const (
	evMessage eventKind = iota // a SIP message parsed
	evBind                     // a media flow matched an expectation
	evEnded                    // a matched media flow left the flow table
	evSkimmed                  // a SIP message read only for its Call-ID
)

type event struct {
	kind    eventKind
	ordinal uint64 // the packet that caused it (evMessage, evBind)
	at      int64  // its time; for evEnded, the flow's last packet
	key     flow.Key

	msg       *sipinfo.Message
	sess      *sdp.Session
	src, dst  netip.AddrPort
	transport string

	// raw and callID locate a skimmed message and its Call-ID in the
	// Dissector's raw.
	raw, callID span

	b     binding
	app   string
	stats [2]streamStats
}

// span is a range of a byte slice.
type span struct{ from, to int }

type stagedRef struct {
	d *Dissector
	i int
}

// Group is the Dissectors of one pipeline, whose staged events its Commit
// applies. A pipeline's commit pauses only its own workers, so when
// several pipelines share a Tracker (live capture runs one per socket),
// each gets a Group and commits it. The Tracker's own NewDissector and
// Commit use a default Group.
type Group struct {
	t          *Tracker
	mu         sync.Mutex // guards dissectors
	dissectors []*Dissector
	staged     []stagedRef
	pend       []pendingMatch
}

// NewGroup returns an empty Group of t.
func (t *Tracker) NewGroup() *Group {
	g := &Group{t: t}
	t.groupsMu.Lock()
	t.groups = append(t.groups, g)
	t.groupsMu.Unlock()
	return g
}

// NewDissector returns a Dissector of group g.
func (g *Group) NewDissector() *Dissector {
	d := newDissector(g.t)
	g.mu.Lock()
	g.dissectors = append(g.dissectors, d)
	g.mu.Unlock()
	return d
}

// takePending collects the media flows that started in the epoch being
// committed, in the order they started.
func (g *Group) takePending() []pendingMatch {
	g.mu.Lock()
	pend := g.pend[:0]
	for _, d := range g.dissectors {
		pend = append(pend, d.pending...)
		clear(d.pending)
		d.pending = d.pending[:0]
	}
	multi := len(g.dissectors) > 1
	g.mu.Unlock()
	if multi {
		slices.SortFunc(pend, func(a, b pendingMatch) int { return cmp.Compare(a.ordinal, b.ordinal) })
	}
	return pend
}

// matchAt matches a pending flow against the calls as they are now; t.mu
// is held. A match counts at once. gen is the commit count this commit
// will publish. It reports whether the flow is settled: matched, or gone.
func (t *Tracker) matchAt(pm *pendingMatch, gen uint64) bool {
	mf := pm.mf
	if mf.ended {
		// It left the table in its first epoch; its end matched it.
		return true
	}
	mf.pending, mf.tried = false, gen
	b, ok := t.bindingFor(pm.key)
	if !ok {
		return false
	}
	mf.b, mf.bound, mf.havePTCl = b, true, false
	t.bound(&b)
	return true
}

// Commit applies the events every Dissector of the default Group (made by
// Tracker.NewDissector) staged since the last commit; see Group.Commit.
func (t *Tracker) Commit(now int64) { t.def.Commit(now) }

// Commit applies the events every Dissector of g staged since the last commit,
// then moves the clock to now (unix ns) and ends the calls whose time is
// up. Events caused by packets go first, in packet order; then the ends of
// media flows, ordered by their last packet and key, which does not depend
// on when each worker's table noticed them. It implements capture.Shared:
// the pipeline calls it at every epoch end with its workers paused, and
// no Dissector may run meanwhile.
func (g *Group) Commit(now int64) {
	t := g.t
	t.mu.Lock()
	g.commit()
	t.advance(now)
	t.unlock()
}

// commit applies and clears the staged events, and matches the media flows
// that started in the epoch; t.mu is held.
//
// A flow is matched first against the calls as they were at its first
// packet: as if every packet were committed as it came, so an epoch's
// length does not decide the match. Matching after the whole epoch instead
// lost flows whose stream a later message of the epoch replaced or ended
// (the RTCP of an audio stream a T.38 re-INVITE then took over, say), and
// more of them the longer the epochs. A flow that matches nothing then is
// matched against the calls as the epoch left them: media often beats
// the SDP that announces it by a few milliseconds. One that still matches
// nothing, and never looked like media, is let go.
func (g *Group) commit() {
	t := g.t
	g.mu.Lock()
	refs := g.staged[:0]
	for _, d := range g.dissectors {
		for i := range d.log {
			refs = append(refs, stagedRef{d, i})
		}
	}
	g.mu.Unlock()
	pend := g.takePending()
	gen := t.gen.Load() + 1
	defer t.gen.Store(gen)

	slices.SortStableFunc(refs, func(a, b stagedRef) int {
		ea, eb := &a.d.log[a.i], &b.d.log[b.i]
		if x, y := ea.kind == evEnded, eb.kind == evEnded; x != y {
			if x {
				return 1
			}
			return -1
		}
		if ea.kind != evEnded {
			return cmp.Compare(ea.ordinal, eb.ordinal)
		}
		if c := cmp.Compare(ea.at, eb.at); c != 0 {
			return c
		}
		return ea.key.Compare(eb.key)
	})
	// Flows before next are matched or wait in unmatched for the epoch's
	// end.
	next, unmatched := 0, pend[:0]
	matchBefore := func(ordinal uint64) {
		for ; next < len(pend) && pend[next].ordinal < ordinal; next++ {
			if !t.matchAt(&pend[next], gen) {
				unmatched = append(unmatched, pend[next])
			}
		}
	}
	for _, r := range refs {
		e := &r.d.log[r.i]
		if e.kind == evEnded {
			// Flows end after the epoch's last packet.
			matchBefore(math.MaxUint64)
		} else {
			matchBefore(e.ordinal)
		}
		switch e.kind {
		case evMessage:
			t.advance(e.at)
			t.apply(e.msg, e.sess, e.src, e.dst, e.at, e.transport)
		case evBind:
			t.advance(e.at)
			t.bound(&e.b)
		case evEnded:
			t.advance(e.at)
			t.flowEnded(&e.b, e.key, e.app, &e.stats, e.at)
		case evSkimmed:
			t.advance(e.at)
			t.applySkimmed(r.d.raw, e)
		}
	}
	matchBefore(math.MaxUint64)
	for i := range unmatched {
		if !t.matchAt(&unmatched[i], gen) && unmatched[i].mf.unsure {
			unmatched[i].mf.drop = true
		}
	}
	clear(pend)
	g.pend = pend[:0]

	clear(refs)
	g.staged = refs[:0]
	g.mu.Lock()
	for _, d := range g.dissectors {
		clear(d.log) // drop message and stream pointers
		d.log = d.log[:0]
		d.raw = d.raw[:0]
	}
	g.mu.Unlock()
}

// stageMessage records message m (and its SDP, copied: the Dissector
// reuses its session) for the next commit.
func (d *Dissector) stageMessage(ordinal uint64, m *sipinfo.Message, sess *sdp.Session, src, dst netip.AddrPort, at int64, transport string) {
	// The body points into the packet buffer, which is reused; the
	// tracker needs only the parsed SDP.
	m.Body, m.SDP = nil, nil
	if sess != nil {
		sess = cloneSession(sess)
	}
	d.log = append(d.log, event{kind: evMessage, ordinal: ordinal, at: at, msg: m, sess: sess, src: src, dst: dst, transport: transport})
}

// stageSkimmed records a skimmed message for the next commit, which
// parses it if its Call-ID is a call's. The packet buffer is reused, so
// the message and its Call-ID are copied to raw.
func (d *Dissector) stageSkimmed(ordinal uint64, at int64, b, callID []byte, src, dst netip.AddrPort, transport string) {
	msg := span{len(d.raw), len(d.raw) + len(b)}
	d.raw = append(d.raw, b...)
	id := span{len(d.raw), len(d.raw) + len(callID)}
	d.raw = append(d.raw, callID...)
	d.log = append(d.log, event{kind: evSkimmed, ordinal: ordinal, at: at, raw: msg, callID: id, src: src, dst: dst, transport: transport})
}

// applySkimmed applies a skimmed message, staged in raw, as if it had
// been parsed when it came: a message of no call changes nothing, so only
// one whose Call-ID is a call's is parsed; t.mu is held.
func (t *Tracker) applySkimmed(raw []byte, e *event) {
	if t.calls[string(raw[e.callID.from:e.callID.to])] == nil {
		t.stats.Skimmed.Add(1)
		return
	}
	var sess sdp.Session
	m, s, ok := t.parseMessage(raw[e.raw.from:e.raw.to], &sess)
	if !ok {
		return
	}
	m.Body, m.SDP = nil, nil // they point into raw, which is reused
	t.apply(m, s, e.src, e.dst, e.at, e.transport)
}

func (d *Dissector) stageBind(ordinal uint64, at int64, k flow.Key, b binding) {
	d.log = append(d.log, event{kind: evBind, ordinal: ordinal, at: at, key: k, b: b})
}

func (d *Dissector) stageEnded(k flow.Key, b binding, app string, st *[2]streamStats, last int64) {
	d.log = append(d.log, event{kind: evEnded, at: last, key: k, b: b, app: app, stats: *st})
}

func cloneSession(s *sdp.Session) *sdp.Session {
	c := *s
	c.Media = slices.Clone(s.Media)
	for i := range c.Media {
		c.Media[i].PayloadTypes = slices.Clone(c.Media[i].PayloadTypes)
		c.Media[i].RTPMap = slices.Clone(c.Media[i].RTPMap)
	}
	return &c
}
