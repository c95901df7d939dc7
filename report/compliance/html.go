package compliance

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
)

//go:embed report.html.tmpl
var htmlSource string

// htmlTemplate is parsed once per call: a package-level template would be
// shared mutable state, and a report is rendered once a night.
func htmlTemplate() (*template.Template, error) {
	return template.New("report").Funcs(template.FuncMap{
		"verdictWord": verdictWord,
		"issuesText":  issuesText,
		"vendorName":  vendorName,
		"timeText":    timeText,
		"join":        strings.Join,
		"yesNo":       yesNo,
		"weakText":    weakText,
		"percent":     percent,
		"color":       colorOf,
		"jitter":      func(f float64) string { return fmt.Sprintf("%.1f ms", f) },
		"pairs":       pairsCell,
		"flowCell":    flowCell,
		"share":       func(n, of int64) int64 { return 120 * n / max(of, 1) },
		"noCalls":     func() string { return NoCallRecords },
	}).Parse(htmlSource)
}

// shownPairs is how many host pairs a cell shows before the rest fold
// into a details element: a missing entry between 200 phones and their
// servers must not become a wall of addresses.
const shownPairs = 3

// pairsCell renders host pairs as the first few, one a line, and the rest
// in a details element that says how many there are.
func pairsCell(pairs []string) template.HTML {
	var b strings.Builder
	for i, p := range pairs {
		switch {
		case i == shownPairs:
			fmt.Fprintf(&b, "<details><summary>%d more</summary>", len(pairs)-shownPairs)
		case i > 0:
			b.WriteString("<br>")
		}
		b.WriteString(template.HTMLEscapeString(p))
	}
	if len(pairs) > shownPairs {
		b.WriteString("</details>")
	}
	return template.HTML(b.String())
}

// flowCell renders a finding's flow; for findings between host pairs
// (missing entries), the ports then the pairs, folded like pairsCell.
func flowCell(f Finding) template.HTML {
	if f.Src != "" || f.Dst != "" || f.HostPairs == "" {
		return template.HTML(template.HTMLEscapeString(f.Flow()))
	}
	pairs := strings.Split(f.HostPairs, "; ")
	head := template.HTMLEscapeString(f.Ports)
	if head != "" {
		head += "<br>"
	}
	return template.HTML(head) + pairsCell(pairs)
}

type htmlView struct {
	*Report
	VerdictChart, TimelineChart, MediaChart *Chart
}

// WriteHTML renders the report as one self-contained HTML file: inline CSS
// and SVG, no script, font or network reference, for air-gapped networks.
func (r *Report) WriteHTML(w io.Writer) error {
	t, err := htmlTemplate()
	if err != nil {
		return fmt.Errorf("report template: %w", err)
	}
	v := htmlView{Report: r, VerdictChart: verdictChart(r.Verdicts), TimelineChart: timelineChart(r.Timeline), MediaChart: mediaChart(&r.Media)}
	if err := t.Execute(w, v); err != nil {
		return fmt.Errorf("render html report: %w", err)
	}
	return nil
}
