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
	}).Parse(htmlSource)
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
