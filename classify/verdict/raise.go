package verdict

import (
	"fmt"
	"strings"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/classify/dnsinfo"
	"github.com/ccaudit/auditor/classify/sipcall"
)

// Raise adds a finding that does not come from one classified flow, such
// as the media findings of a SIP call (CallFindings). It aggregates with
// the findings already held by the same key as flows do: kind, protocol,
// source, destination, destination port and entry (g.EntryID, looked up
// among the entries in scope; an ID not in scope counts as no entry).
// Count defaults to 1. Repeats add their counts, widen the seen times,
// keep the highest severity and fill names still empty. With an
// inventory, empty roles are filled with the roles of Src and Dst, and an
// entry's ports label is filled in.
func (fs *Findings) Raise(g Finding) {
	if g.Count == 0 {
		g.Count = 1
	}
	entry := fs.c.byID[g.EntryID]
	k := findingKey{kind: g.Kind, proto: g.Proto, src: g.Src, dst: g.Dst, dport: g.DstPort, entry: entry}
	if i, ok := fs.byKey[k]; ok {
		h := &fs.list[i]
		h.Count += g.Count
		if g.FirstSeen != 0 && (h.FirstSeen == 0 || g.FirstSeen < h.FirstSeen) {
			h.FirstSeen = g.FirstSeen
		}
		h.LastSeen = max(h.LastSeen, g.LastSeen)
		h.Severity = max(h.Severity, g.Severity)
		h.fillNames(&g)
		return
	}
	if len(fs.list) >= fs.max {
		fs.dropped++
		return
	}
	if inv := fs.c.inv; inv != nil {
		if g.FromRole == "" {
			g.FromRole = joinRoles(inv.RolesOf(g.Src))
		}
		if g.ToRole == "" {
			g.ToRole = joinRoles(inv.RolesOf(g.Dst))
		}
	}
	if entry != nil {
		if g.Vendor == "" {
			g.Vendor = entry.Vendor
		}
		if g.Ports == "" {
			g.Ports = fs.c.info[entry].portsLabel
		}
	}
	fs.byKey[k] = len(fs.list)
	fs.list = append(fs.list, g)
}

const (
	reasonMediaMissing = "the call was answered and this stream negotiated on both sides, but no media of it was seen: " +
		"dropped on the way, or the media takes a path the capture does not see"
	reasonOneWayFromCaller = "media flowed from the caller only, although both sides said sendrecv: " +
		"the callee's media was not seen (dropped by a firewall or NAT, or not captured)"
	reasonOneWayFromCallee = "media flowed from the callee only, although both sides said sendrecv: " +
		"the caller's media was not seen (dropped by a firewall or NAT, or not captured)"
	reasonOneWay = "media flowed one way only, although both sides said sendrecv"
)

// CallFindings returns the media-missing, media-one-way and
// poor-voice-quality findings of a finished SIP call, one per stream that
// has them, for Findings.Raise.
// Each runs from the caller's RTP endpoint to the callee's (Src, Dst and
// DstPort: the address pair a firewall rule names), carries the Call-ID
// and spans the call from its answer to its end; streams with the same
// endpoints in later calls aggregate into one finding counting calls.
//
// Severity: media-one-way is high, since the capture point saw one
// direction and so sits on the media path: the other direction was most
// likely dropped. media-missing is medium: no media at all may also mean
// the media bypasses the capture point. poor-voice-quality is medium: the
// call went through, but its users heard the loss (or delay) it rates.
func CallFindings(c *sipcall.Call) []Finding {
	var out []Finding
	first := c.Answer
	if first == 0 {
		first = c.Start
	}
	last := max(c.End, first)
	for i := range c.Media {
		ms := &c.Media[i]
		g := Finding{Proto: flow.ProtoUDP, Src: ms.CallerRTP.Addr(), Dst: ms.CalleeRTP.Addr(), DstPort: ms.CalleeRTP.Port(),
			App: "rtp", CallID: c.CallID, Count: 1, FirstSeen: first, LastSeen: last}
		if strings.EqualFold(ms.Proto, "udptl") {
			g.App = "udptl"
		}
		switch {
		case ms.Missing:
			g.Kind, g.Severity, g.Reason = KindMediaMissing, Medium, reasonMediaMissing
		case ms.OneWay:
			g.Kind, g.Severity, g.Reason = KindMediaOneWay, High, oneWayReason(ms)
		case ms.PoorQuality:
			g.Kind, g.Severity, g.Reason = KindPoorVoiceQuality, Medium, ms.QualityReason
		default:
			continue
		}
		out = append(out, g)
	}
	return out
}

// oneWayReason says which side's media was seen, counting media packets
// (RTCP reports aside, as the call tracker does).
func oneWayReason(ms *sipcall.MediaStream) string {
	var fromCaller, fromCallee uint64
	for _, mf := range ms.Flows {
		if mf.App != "rtcp" {
			fromCaller += mf.FromCaller.Packets
			fromCallee += mf.FromCallee.Packets
		}
	}
	switch {
	case fromCaller > 0 && fromCallee == 0:
		return reasonOneWayFromCaller
	case fromCallee > 0 && fromCaller == 0:
		return reasonOneWayFromCallee
	}
	return reasonOneWay
}

// DNSFailures raises a dns-failure finding for every failed name that a
// catalog entry in scope needs (matches one of its FQDNs, wildcards
// included), with ServerName the failed name and the entry (a required
// one first) as its entry. Severity is medium when that entry is
// required, low otherwise. Failures of other names are not findings:
// search-domain expansions and probes fail all the time, and
// dnsinfo.Cache.Failures lists them for the report.
//
// failures are the cumulative counts dnsinfo.Cache.Failures returns, so a
// later call replaces a name's counts instead of adding to them: call it
// at the end of each capture window, or once at the end. now (unix ns)
// stands in for a failure without a time.
func (fs *Findings) DNSFailures(failures []dnsinfo.Failure, now int64) {
	var scratch []*catalog.Entry
	for _, fl := range failures {
		if fl.Count == 0 {
			continue
		}
		scratch = fs.c.ix.MatchFQDN(fl.Name, scratch[:0])
		if len(scratch) == 0 {
			continue
		}
		e := scratch[0]
		for _, m := range scratch {
			if m.Required {
				e = m
				break
			}
		}
		sev := Low
		if e.Required {
			sev = Medium
		}
		at := fl.Last
		if at == 0 {
			at = now
		}
		reason := fmt.Sprintf("lookups of %s, a name %s needs (%s), failed: %s", fl.Name, e.Component, e.ID, rcodeCounts(&fl))
		if i, ok := fs.dnsByName[fl.Name]; ok {
			g := &fs.list[i]
			g.Count = max(g.Count, fl.Count)
			g.LastSeen = max(g.LastSeen, at)
			g.Reason = reason
			continue
		}
		if len(fs.list) >= fs.max {
			fs.dropped++
			continue
		}
		if fs.dnsByName == nil {
			fs.dnsByName = make(map[string]int)
		}
		in := fs.c.info[e]
		fs.dnsByName[fl.Name] = len(fs.list)
		fs.list = append(fs.list, Finding{
			Kind: KindDNSFailure, Severity: sev, ServerName: fl.Name,
			Vendor: e.Vendor, EntryID: e.ID, FromRole: in.from, ToRole: in.to, App: e.App, Ports: in.portsLabel,
			Reason: reason, Count: fl.Count, FirstSeen: at, LastSeen: at,
		})
	}
}

func rcodeCounts(f *dnsinfo.Failure) string {
	var parts []string
	for _, c := range [...]struct {
		n    uint64
		name string
	}{{f.NXDomain, "NXDOMAIN"}, {f.ServFail, "SERVFAIL"}, {f.Refused, "REFUSED"}, {f.Other, "other errors"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.name))
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%d failures", f.Count)
	}
	return strings.Join(parts, ", ")
}
