package names

import (
	"net/netip"
	"slices"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/dnsinfo"
)

// DefaultMaxPendingDNS bounds the queries of one flow waiting for their
// response. A client that sends more before any answer (a scanner, a
// flood on one socket) has its oldest reported unanswered.
const DefaultMaxPendingDNS = 64

// dnsFlowTx are the queries of one flow waiting for their response. The
// DNS dissector keeps them in a slab its flows index by Meta.DNSPending;
// a slot and its slice are reused once the flow ends.
type dnsFlowTx struct {
	pending []*dnsinfo.Transaction
}

// pendingOf returns the pending queries of the flow whose slot is
// *slot (Meta.DNSPending); with claim, a slot is given to a flow that has
// none. The pointer is valid until the next claim.
func (d *DNS) pendingOf(slot *uint32, claim bool) *dnsFlowTx {
	if *slot == 0 {
		if !claim {
			return nil
		}
		if n := len(d.freeTx); n > 0 {
			*slot, d.freeTx = d.freeTx[n-1], d.freeTx[:n-1]
		} else {
			if len(d.txSlab) == 0 {
				// Slot 0 means none.
				d.txSlab = append(d.txSlab, dnsFlowTx{})
			}
			d.txSlab = append(d.txSlab, dnsFlowTx{})
			*slot = uint32(len(d.txSlab) - 1)
		}
		d.txFlows++
	}
	return &d.txSlab[*slot]
}

// transactions pairs the queries and responses of flow f by ID, name and
// type (by ID alone for a response without a question), reporting each
// transaction to d.cfg.OnTransaction: when its response comes, when a
// response comes whose query was not seen, and, for queries never
// answered, when the flow ends (flushTx). A retransmitted query (same ID,
// name and type while the first is pending) reports the first
// unanswered: its answer, if any, was not seen. st are the flow's DNS
// fields of its Meta, which message stores.
func (d *DNS) transactions(f *flow.Flow, p *decode.Packet, m *dnsinfo.Message, response bool, st *dnsMeta) {
	name, typ := questionOf(m)
	ft := d.pendingOf(&st.pending, !response)
	if !response {
		for i, t := range ft.pending {
			if t.ID == m.ID && t.Type == typ && t.Name == string(name) {
				d.emit(t)
				ft.pending = slices.Delete(ft.pending, i, i+1)
				break
			}
		}
		if len(ft.pending) >= d.cfg.MaxPending {
			d.stats.PendingEvicted.Add(1)
			d.emit(ft.pending[0])
			ft.pending = slices.Delete(ft.pending, 0, 1)
		}
		t := d.newTx(f, p, false)
		t.SetQuestion(m, d.questionName(st.query, name))
		t.QueryTime, t.Flags = p.Time, m.Flags
		ft.pending = append(ft.pending, t)
		return
	}
	if ft != nil {
		// A response answers a query sent to its sender: on mDNS's shared
		// 5353 tuple a host's own announcement, which goes the way its
		// probes went, answers none of them.
		to := p.Key.Endpoint(p.Dir.Flip())
		for i, t := range ft.pending {
			// A response without a question (FORMERR, REFUSED, NOTIMP may
			// omit it) answers the query with its ID, as Zeek pairs them.
			if t.ID == m.ID && t.Client == to && (len(m.Questions) == 0 || t.Type == typ && t.Name == string(name)) {
				ft.pending = slices.Delete(ft.pending, i, i+1)
				t.SetResponse(m, p.Time)
				if len(m.Questions) == 0 && st.rcode == "" && t.Name == st.query {
					st.rcode = m.RCode.String()
				}
				d.emit(t)
				if len(ft.pending) == 0 {
					// The slot goes back with the flow's last pending
					// query, not when the flow ends (most flows are one
					// query and its answer): the few slots in use then
					// stay in the cache, with the capacity of their
					// lists.
					d.releaseTx(&st.pending)
				}
				return
			}
		}
	}
	d.stats.ResponsesUnmatched.Add(1)
	t := d.newTx(f, p, true)
	t.SetQuestion(m, d.questionName(st.query, name))
	t.SetResponse(m, p.Time)
	d.emit(t)
}

// questionName is a question name as a string: the flow's first one
// (query), or the one nameStrings has.
func (d *DNS) questionName(query string, name []byte) string {
	if query == string(name) {
		return query
	}
	return d.names.str(name)
}

func questionOf(m *dnsinfo.Message) ([]byte, dnsinfo.Type) {
	if len(m.Questions) == 0 {
		return nil, 0
	}
	return m.Questions[0].Name, m.Questions[0].Type
}

// newTx starts the transaction of packet p: its sender is the client of a
// query and the server of a response.
func (d *DNS) newTx(f *flow.Flow, p *decode.Packet, response bool) *dnsinfo.Transaction {
	src, dst := p.Key.Endpoint(p.Dir), p.Key.Endpoint(p.Dir.Flip())
	if response {
		src, dst = dst, src
	}
	// The Community ID is left to the consumer: it hashes, and it is the
	// same computed from client and server as from the flow's endpoints.
	var t *dnsinfo.Transaction
	if d.cfg.NewTransaction != nil {
		t = d.cfg.NewTransaction()
	} else {
		t = new(dnsinfo.Transaction)
	}
	t.Client, t.Server, t.Proto, t.Service = src, dst, f.Key.Proto(), dnsService(src, dst)
	return t
}

func dnsService(a, b netip.AddrPort) string {
	switch {
	case a.Port() == portDNS || b.Port() == portDNS:
		return "dns"
	case a.Port() == portMDNS || b.Port() == portMDNS:
		return "mdns"
	}
	return "llmnr"
}

func (d *DNS) emit(t *dnsinfo.Transaction) {
	d.stats.Transactions.Add(1)
	if !t.Answered() {
		d.stats.Unanswered.Add(1)
	}
	d.cfg.OnTransaction(t)
}

// flushTx reports the flow's pending queries unanswered and frees its
// slot.
func (d *DNS) flushTx(f *flow.Flow) {
	if f.Meta == nil || f.Meta.DNSPending == 0 {
		return
	}
	for _, t := range d.txSlab[f.Meta.DNSPending].pending {
		d.emit(t)
	}
	d.releaseTx(&f.Meta.DNSPending)
}

// releaseTx frees the slot *slot and sets it to none.
func (d *DNS) releaseTx(slot *uint32) {
	ft := &d.txSlab[*slot]
	clear(ft.pending)
	ft.pending = ft.pending[:0]
	d.freeTx = append(d.freeTx, *slot)
	*slot = 0
	d.txFlows--
}
