package alerts

import (
	"net/netip"
	"time"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/classify/verdict"
)

// Event is one occurrence of a finding, as the auditor publishes it to a
// Feed: one per judged flow that produced a finding, and one per missing or
// unobservable entry at the end of a capture window. The Feed deduplicates,
// so callers publish every occurrence.
type Event struct {
	Kind     verdict.Kind
	Severity verdict.Severity
	// Verdict is the flow's verdict; Unclassified (the zero value) for
	// findings about capture windows, which have none, and is then omitted.
	Verdict verdict.Verdict

	// Start and End are the packet times the occurrence spans: the flow's
	// first and last packet, or the capture window.
	Start, End time.Time

	// Proto is the IP protocol number; 0 when not applicable (a missing
	// entry over both TCP and UDP).
	Proto uint8
	// Src and Dst are the originator and responder; zero for findings
	// about capture windows, which name HostPairs instead.
	Src, Dst netip.AddrPort
	// CommunityID is the Community ID v1 of the flow, empty without one.
	CommunityID string

	EntryID, Vendor, FromRole, ToRole, App, Reason string
	SNI, ServerName, CallID                        string
	// Ports are the ports the entry expects ("5061/tcp"); HostPairs are
	// the inventory host pairs a missing entry is expected between.
	Ports     string
	HostPairs []string
	// Sensor names the capturing sensor (observer.name).
	Sensor string

	// Count is the number of occurrences the event stands for. Publish
	// treats 0 as 1; the Feed sets it on what it emits.
	Count uint64

	// The Feed sets the remaining fields on what it emits.

	// ID is unique per emitted event (event.id), so a receiver can index
	// idempotently when a batch is delivered twice after a retry.
	ID string
	// Created is when the Feed emitted the event (event.created).
	Created time.Time
	// Repeat marks the follow-up event that reports the occurrences a
	// dedup window absorbed after the first one.
	Repeat bool
	// Version is the auditor build that judged it (observer.version).
	Version string
}

// EventOf builds the event for one occurrence of finding g: the finding
// one judged flow f showed (verdict.FlowFinding) with the flow's verdict
// v, or, with f nil, a finding about a capture window (missing,
// unobservable) or a call as the verdict engine produced it.
//
// From the flow come what a finding does not keep: the source port, the
// Community ID and the packet times; source and destination are the
// finding's (the flow's responder first when the finding is about the
// originator). A window finding's Count is left at one occurrence: g.Count
// accumulates over the whole run, while the feed wants each window once.
func EventOf(g *verdict.Finding, f *flow.Flow, v verdict.Verdict, sensor string) Event {
	ev := Event{
		Kind: g.Kind, Severity: g.Severity, Proto: g.Proto,
		Start: time.Unix(0, g.FirstSeen).UTC(), End: time.Unix(0, g.LastSeen).UTC(),
		EntryID: g.EntryID, Vendor: g.Vendor, FromRole: g.FromRole, ToRole: g.ToRole,
		App: g.App, Reason: g.Reason, SNI: g.SNI, ServerName: g.ServerName, CallID: g.CallID,
		Ports: g.Ports, HostPairs: g.HostPairs, Sensor: sensor,
	}
	if f != nil {
		ev.Verdict, ev.CommunityID = v, f.CommunityID()
		ev.Start, ev.End = f.FirstTime(), f.LastTime()
		ev.Src, ev.Dst = f.Src(), f.Dst()
		if ev.Dst.Addr() != g.Dst || ev.Dst.Port() != g.DstPort {
			ev.Src, ev.Dst = ev.Dst, ev.Src
		}
		return ev
	}
	if g.Src.IsValid() {
		ev.Src = netip.AddrPortFrom(g.Src, 0)
	}
	if g.Dst.IsValid() {
		ev.Dst = netip.AddrPortFrom(g.Dst, g.DstPort)
	}
	return ev
}

// ECSSeverity is event.severity for an auditor severity: Elastic's default
// risk scores per rule severity (low 21, medium 47, high 73, critical 99),
// info below them all.
func ECSSeverity(s verdict.Severity) int {
	switch s {
	case verdict.Low:
		return 21
	case verdict.Medium:
		return 47
	case verdict.High:
		return 73
	case verdict.Critical:
		return 99
	}
	return 1
}

// syslogSeverity maps an auditor severity to an RFC 5424 severity.
func syslogSeverity(s verdict.Severity) int {
	switch s {
	case verdict.Low:
		return 5 // notice
	case verdict.Medium:
		return 4 // warning
	case verdict.High:
		return 3 // error
	case verdict.Critical:
		return 2 // critical
	}
	return 6 // informational
}

// ruleTitle is the human name of a finding kind, the stem of rule.name.
func ruleTitle(k verdict.Kind) string {
	switch k {
	case verdict.KindUnexpected:
		return "Unexpected flow"
	case verdict.KindWrongDirection:
		return "Flow opened in the wrong direction"
	case verdict.KindBlocked:
		return "Allowed flow blocked"
	case verdict.KindMissing:
		return "Required flow missing"
	case verdict.KindUnobservable:
		return "Required flow not observable"
	}
	return string(k)
}
