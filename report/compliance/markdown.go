package compliance

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"
)

// Format is an output format of the report.
type Format string

const (
	HTML     Format = "html"
	Markdown Format = "md"
	JSON     Format = "json"
)

// Write renders the report in format f.
func (r *Report) Write(w io.Writer, f Format) error {
	switch f {
	case HTML:
		return r.WriteHTML(w)
	case Markdown:
		return r.WriteMarkdown(w)
	case JSON:
		data, err := r.EncodeJSON()
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	return fmt.Errorf("report format %q: want html, md or json", f)
}

// Title is the report's heading.
func (r *Report) Title() string {
	var names []string
	for _, s := range r.Sites {
		if s.Site != OtherSite {
			names = append(names, s.Site)
		}
	}
	return "Compliance report: " + strings.Join(names, ", ")
}

// VerdictText is the one-word answer.
func (r *Report) VerdictText() string {
	if r.Compliant {
		return "COMPLIANT"
	}
	return "NOT COMPLIANT"
}

// WindowText describes the window reported.
func (r *Report) WindowText() string { return windowText(r.Window, r.Data) }

func verdictWord(ok bool) string {
	if ok {
		return "compliant"
	}
	return "not compliant"
}

// issuesText renders counts as "2 blocked, 1 missing", or "none".
func issuesText(cs []Count) string {
	if len(cs) == 0 {
		return "none"
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%d %s", c.Count, c.Name)
	}
	return strings.Join(parts, ", ")
}

func vendorName(v string) string {
	if v == "" {
		return "no catalog entry"
	}
	return v
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

func percent(part, whole int64) string {
	if whole == 0 {
		return "0%"
	}
	return fmt.Sprintf("%.2f%%", 100*float64(part)/float64(whole))
}

// LossText states the capture loss, or that it was not recorded.
func (c *Capture) LossText() string {
	if !c.LossRecorded {
		return "not recorded (the files carry no capture counters)"
	}
	s := fmt.Sprintf("%d of %d packets dropped (%s)", c.Dropped, c.Received+c.Dropped, percent(c.Dropped, c.Received+c.Dropped))
	var silent []string
	for _, sn := range c.Sensors {
		if !sn.LossRecorded {
			silent = append(silent, sn.Name)
		}
	}
	if len(silent) > 0 {
		s += "; not recorded by " + strings.Join(silent, ", ")
	}
	return s
}

// mdCell escapes a Markdown table cell.
func mdCell(s string) string {
	s = strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
	if s == "" {
		return "-"
	}
	return s
}

type mdWriter struct{ bytes.Buffer }

func (m *mdWriter) p(format string, args ...any) { fmt.Fprintf(m, format+"\n", args...) }

func (m *mdWriter) table(head []string, rows [][]string) {
	if len(rows) == 0 {
		m.p("None.\n")
		return
	}
	m.p("| %s |", strings.Join(head, " | "))
	seps := make([]string, len(head))
	for i := range seps {
		seps[i] = "---"
	}
	m.p("|%s|", strings.Join(seps, "|"))
	for _, row := range rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = mdCell(c)
		}
		m.p("| %s |", strings.Join(cells, " | "))
	}
	m.p("")
}

// WriteMarkdown renders the report as Markdown: the verdict table first,
// then the detail sections.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var m mdWriter
	m.p("# %s\n", r.Title())
	m.p("**%s** · window %s · generated %s · input `%s`\n", r.VerdictText(), r.WindowText(), timeText(r.GeneratedAt), r.Input)
	if r.Provenance.Tool != "" {
		m.p("Made by %s\n", r.Provenance.Text())
	}

	m.p("## Verdict\n")
	var rows [][]string
	for _, s := range r.Sites {
		rows = append(rows, []string{"**" + s.Site + "**", "all", verdictWord(s.Compliant), fmt.Sprint(s.Flows), "", "", "", "", "", "", issuesText(s.Issues)})
		for _, v := range s.Vendors {
			rows = append(rows, []string{"", vendorName(v.Vendor), verdictWord(v.Compliant), "",
				fmt.Sprint(v.Expected), fmt.Sprint(v.Negotiated), fmt.Sprint(v.Blocked), fmt.Sprint(v.Unexpected),
				fmt.Sprint(v.Entries), fmt.Sprint(v.Missing), issuesText(v.Issues)})
		}
	}
	m.table([]string{"site", "vendor", "verdict", "flows", "expected", "negotiated", "blocked", "unexpected", "entries seen", "entries missing", "issues"}, rows)
	m.p("Flows by verdict: %s.  ", issuesText(r.Verdicts))
	m.p("Findings by kind: %s.  ", issuesText(r.FindingsByKind))
	m.p("Changes since the previous report: %s.\n", r.Changes.Summary())

	m.p("## Changes since the previous report\n")
	m.p("Compared with: %s.\n", r.Changes.Previous)
	if r.Changes.Compared {
		m.p("### New findings\n")
		m.findings(r.Changes.New)
		m.p("### Resolved findings\n")
		m.findings(r.Changes.Resolved)
	}

	m.p("## Catalog entries\n")
	rows = nil
	for _, e := range r.Entries {
		rows = append(rows, []string{e.ID, e.Status, yesNo(e.Required), fmt.Sprint(e.Seen), fmt.Sprint(e.Blocked), fmt.Sprint(e.MissingWindows), fmt.Sprint(e.Unexpected), e.Ports, strings.Join(e.HostPairs, "; ")})
	}
	m.table([]string{"entry", "status", "required", "seen", "blocked", "missing windows", "unexpected", "ports", "host pairs"}, rows)

	m.p("## Top unexpected flows\n")
	rows = nil
	for _, g := range r.TopUnexpected {
		rows = append(rows, []string{g.Kind, g.Severity, g.Flow(), g.Roles(), fmt.Sprint(g.Count), g.Reason})
	}
	m.table([]string{"kind", "severity", "flow", "roles", "flows", "reason"}, rows)
	m.p("## Top unexpected talkers\n")
	rows = nil
	for _, t := range r.TopTalkers {
		rows = append(rows, []string{t.Host, t.Site, fmt.Sprint(t.Flows), fmt.Sprint(t.Bytes), fmt.Sprint(t.Destinations), t.TopPort})
	}
	m.table([]string{"host", "site", "unexpected flows", "bytes", "destinations", "top port"}, rows)

	m.p("## SIP calls and media\n")
	m.calls(r)

	m.p("## TLS posture\n")
	rows = nil
	for _, v := range r.TLS.Versions {
		rows = append(rows, []string{v.Version, fmt.Sprint(v.Flows), fmt.Sprint(v.Servers), weakText(v.Weak)})
	}
	m.table([]string{"version", "flows", "servers", "assessment"}, rows)
	m.p("%s\n", r.TLS.PlaintextText())
	if len(r.TLS.PlaintextFlows) > 0 {
		rows = nil
		for _, p := range r.TLS.PlaintextFlows {
			rows = append(rows, []string{p.Site, p.Flow, p.EntryID, fmt.Sprint(p.Flows)})
		}
		m.table([]string{"site", "flow", "entry", "flows"}, rows)
	}

	m.p("## Capture\n")
	m.p("Files read: %d (%d outside the window skipped). Flows in the window: %d. Capture loss: %s.\n",
		r.Capture.FilesRead, r.Capture.FilesSkipped, r.Capture.Flows, r.Capture.LossText())
	if s := r.Capture.SIPLimitsText(); s != "" {
		m.p("%s\n", s)
	}
	rows = nil
	for _, s := range r.Capture.Sensors {
		loss := "not recorded"
		if s.LossRecorded {
			loss = fmt.Sprintf("%d dropped of %d", s.Dropped, s.Received+s.Dropped)
		}
		rows = append(rows, []string{s.Name, fmt.Sprint(s.Files), fmt.Sprint(s.Flows), loss})
	}
	m.table([]string{"sensor", "files", "flows", "capture loss"}, rows)
	if len(r.Capture.Errors) > 0 {
		m.p("Files that could not be read:\n")
		for _, e := range r.Capture.Errors {
			m.p("- %s", mdCell(e))
		}
		m.p("")
	}

	m.p("## All findings\n")
	m.findings(r.Findings)

	if len(r.Glossary) > 0 {
		m.p("## Glossary\n")
		rows = nil
		for _, g := range r.Glossary {
			rows = append(rows, []string{"`" + g.Term + "`", g.Group, g.Meaning})
		}
		m.table([]string{"term", "kind", "meaning"}, rows)
	}
	_, err := w.Write(m.Bytes())
	return err
}

func (m *mdWriter) findings(gs []Finding) {
	var rows [][]string
	for _, g := range gs {
		rows = append(rows, []string{g.Severity, g.Kind, g.Site, g.Flow(), g.EntryID, g.Roles(), fmt.Sprint(g.Count), timeText(g.FirstSeen), timeText(g.LastSeen), g.Reason,
			strings.Join(g.EvidenceFiles, " ")})
	}
	m.table([]string{"severity", "kind", "site", "flow", "entry", "roles", "count", "first seen", "last seen", "reason", "evidence"}, rows)
}

func (m *mdWriter) calls(r *Report) {
	if c := r.Calls; c != nil {
		m.p("Calls: %d, answered %d, failed %d. End reasons: %s. Codecs: %s.  ", c.Total, c.Answered, c.Failed, issuesText(c.EndReasons), issuesText(c.Codecs))
		m.p("RTP: %d packets, %d lost (%s), worst jitter %.1f ms.\n", c.Packets, c.Lost, percent(c.Lost, c.Packets+c.Lost), c.MaxJitterMillis)
	} else {
		m.p("%s\n", NoCallRecords)
	}
	md := &r.Media
	m.p("%s\n", md.Text())
	var rows [][]string
	for _, pr := range md.Ranges {
		rows = append(rows, []string{pr.Entry, pr.Text()})
	}
	if len(rows) > 0 {
		m.p("Documented media ranges:\n")
		m.table([]string{"entry", "UDP ports"}, rows)
	}
	if len(md.Examples) > 0 {
		rows = nil
		for _, e := range md.Examples {
			rows = append(rows, []string{e.Site, e.Flow, e.CallID, e.Issue})
		}
		m.table([]string{"site", "media", "call", "issue"}, rows)
	}
	if c := r.Calls; c != nil && c.Voice != nil {
		v := c.Voice
		m.p("Voice quality: %d calls rated with the ITU-T G.107 E-model, %d below the MOS threshold.\n", v.Rated, v.Poor)
		rows = nil
		for _, b := range v.Bands {
			rows = append(rows, []string{b.Name, fmt.Sprint(b.Count), percent(b.Count, v.Rated)})
		}
		m.table([]string{"user satisfaction (G.107 Annex B)", "calls", "share"}, rows)
		rows = nil
		for _, w := range v.Worst {
			rows = append(rows, []string{timeText(w.Start), w.CallID, w.Codecs, fmt.Sprintf("%.2f", w.MOS), fmt.Sprintf("%.0f", w.RFactor),
				fmt.Sprintf("%.2f", w.WorstMOS), fmt.Sprintf("%.1f%%", w.LossPercent)})
		}
		m.table([]string{"start", "call", "codecs", "MOS", "R", "worst 10 s", "loss"}, rows)
	}
	if c := r.Calls; c != nil && len(c.Problems) > 0 {
		m.p("Calls with media problems:\n")
		rows = nil
		for _, l := range c.Problems {
			rows = append(rows, []string{timeText(l.Start), l.CallID, l.From + " -> " + l.To, fmt.Sprint(l.Status), l.Codecs, l.Issues})
		}
		m.table([]string{"start", "call", "from -> to", "status", "codecs", "issues"}, rows)
	}
}

// NoCallRecords is what the report says of media when no calls.parquet
// rows are in the window: the judgements of media (one way, never seen,
// voice quality) are the call tracker's, and a flow's packet counts do
// not stand in for them.
const NoCallRecords = "No call records in the window: media judgements unavailable (one-way, missing streams and voice quality are judged from SIP call records only). The media flows below give their ports; out-of-range media is the verdict engine's findings."

// Text summarises the media compliance in one sentence.
func (md *Media) Text() string {
	unit := "media flows"
	if md.Source == "calls" {
		unit = "negotiated RTP streams"
	}
	s := fmt.Sprintf("%d %s: %d out of the documented ranges", md.Streams, unit, md.OutOfRange)
	if md.Source == "calls" {
		s += fmt.Sprintf(", %d one-way, %d never seen", md.OneWay, md.Missing)
	} else {
		s += ", one-way and never seen not judged (no call records)"
	}
	if len(md.Ranges) == 0 {
		s += " (no documented media range for the site's vendors: ranges not judged)"
	}
	return s + "."
}

// PlaintextText summarises plaintext on TLS ports in one sentence.
func (t *TLS) PlaintextText() string {
	if !t.Judged {
		return "Plaintext on TLS ports: not judged (no catalog)."
	}
	if t.Plaintext == 0 {
		return "Plaintext on TLS ports: none (every connection to an entry that requires TLS began with a ClientHello)."
	}
	return fmt.Sprintf("Plaintext on TLS ports: %d flows to entries that require TLS carried data without a TLS handshake.", t.Plaintext)
}

// Summary counts the changes, or says there was nothing to compare.
func (c *Changes) Summary() string {
	if !c.Compared {
		return "not compared (" + c.Previous + ")"
	}
	return fmt.Sprintf("%d new, %d resolved", len(c.New), len(c.Resolved))
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func weakText(weak bool) string {
	if weak {
		return "weak: deprecated by RFC 8996"
	}
	return "ok"
}
