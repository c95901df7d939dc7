package compliance

import (
	"fmt"
	"strconv"
)

// Chart geometry for the HTML report's inline SVG. The template draws
// these shapes; all text goes through html/template's escaping.

// Colors of the finding kinds and verdicts, fixed so a colour means the
// same thing in every chart.
var kindColors = map[string]string{
	"blocked": "#c62828", "missing": "#ef6c00", "wrong-direction": "#7b1fa2",
	"unexpected": "#f9a825", "unobservable": "#9e9e9e",
	"expected": "#2e7d32", "negotiated": "#00838f", "ignored": "#bdbdbd",
	"unclassified": "#e0e0e0", "unjudged": "#e0e0e0",
}

func colorOf(name string) string {
	if c, ok := kindColors[name]; ok {
		return c
	}
	return "#5c6bc0"
}

type svgRect struct {
	X, Y, W, H float64
	Fill       string
	Title      string
}

type svgText struct {
	X, Y   float64
	Text   string
	Anchor string
}

type legendItem struct {
	Name, Fill string
}

// Chart is one SVG drawing.
type Chart struct {
	Width, Height float64
	Label         string // aria-label
	Rects         []svgRect
	Bands         []svgRect // drawn under Rects
	Texts         []svgText
	Lines         []svgLine
	Legend        []legendItem
}

type svgLine struct{ X1, Y1, X2, Y2 float64 }

// ViewBox is the chart's viewBox attribute.
func (c *Chart) ViewBox() string {
	return "0 0 " + strconv.FormatFloat(c.Width, 'f', 0, 64) + " " + strconv.FormatFloat(c.Height, 'f', 0, 64)
}

// verdictChart draws flows by verdict as horizontal bars.
func verdictChart(cs []Count) *Chart {
	if len(cs) == 0 {
		return nil
	}
	const labelW, barMax, rowH = 110.0, 300.0, 22.0
	c := &Chart{Width: labelW + barMax + 90, Height: rowH*float64(len(cs)) + 8, Label: "flows by verdict"}
	var top int64
	for _, v := range cs {
		top = max(top, v.Count)
	}
	for i, v := range cs {
		y := 4 + rowH*float64(i)
		w := barMax * float64(v.Count) / float64(max(top, 1))
		c.Rects = append(c.Rects, svgRect{X: labelW, Y: y + 3, W: max(w, 1), H: rowH - 6, Fill: colorOf(v.Name), Title: fmt.Sprintf("%s: %d flows", v.Name, v.Count)})
		c.Texts = append(c.Texts,
			svgText{X: labelW - 6, Y: y + rowH/2 + 4, Text: v.Name, Anchor: "end"},
			svgText{X: labelW + max(w, 1) + 6, Y: y + rowH/2 + 4, Text: strconv.FormatInt(v.Count, 10), Anchor: "start"})
	}
	return c
}

// timelineChart draws findings over time as stacked bars per bucket.
func timelineChart(t Timeline) *Chart {
	if len(t.Buckets) == 0 {
		return nil
	}
	const left, right, top, bottom, plotH = 48.0, 12.0, 10.0, 40.0, 150.0
	plotW := min(max(12*float64(len(t.Buckets)), 360), 720)
	c := &Chart{Width: left + plotW + right, Height: top + plotH + bottom, Label: "findings over time, per " + t.Bucket}
	var peak int64
	for _, b := range t.Buckets {
		var sum int64
		for _, n := range b.Counts {
			sum += n
		}
		peak = max(peak, sum)
	}
	peak = max(peak, 1)
	step := plotW / float64(len(t.Buckets))
	for i, b := range t.Buckets {
		x := left + step*float64(i)
		y := top + plotH
		for k, n := range b.Counts {
			if n == 0 {
				continue
			}
			h := plotH * float64(n) / float64(peak)
			y -= h
			c.Rects = append(c.Rects, svgRect{X: x + 1, Y: y, W: max(step-2, 1), H: h, Fill: colorOf(t.Kinds[k]),
				Title: fmt.Sprintf("%s: %d %s", b.Start.UTC().Format("2006-01-02 15:04"), n, t.Kinds[k])})
		}
	}
	c.Lines = append(c.Lines, svgLine{left, top + plotH, left + plotW, top + plotH}, svgLine{left, top, left, top + plotH})
	c.Texts = append(c.Texts,
		svgText{X: left - 4, Y: top + 8, Text: strconv.FormatInt(peak, 10), Anchor: "end"},
		svgText{X: left - 4, Y: top + plotH, Text: "0", Anchor: "end"})
	format := "01-02 15:04"
	if t.Bucket == "day" || t.Bucket == "week" {
		format = "2006-01-02"
	}
	for _, i := range []int{0, len(t.Buckets) / 2, len(t.Buckets) - 1} {
		anchor := "middle"
		switch i {
		case 0:
			anchor = "start"
		case len(t.Buckets) - 1:
			anchor = "end"
		}
		x := left + step*float64(i) + step/2
		if anchor == "start" {
			x = left
		} else if anchor == "end" {
			x = left + plotW
		}
		c.Texts = append(c.Texts, svgText{X: x, Y: top + plotH + 16, Text: t.Buckets[i].Start.UTC().Format(format), Anchor: anchor})
	}
	for _, k := range t.Kinds {
		c.Legend = append(c.Legend, legendItem{Name: k, Fill: colorOf(k)})
	}
	return c
}

// mediaChart draws the observed media ports as a histogram over the
// documented ranges, which are shaded.
func mediaChart(m *Media) *Chart {
	if len(m.Ports) == 0 {
		return nil
	}
	const left, right, top, bottom, plotH, plotW = 48.0, 16.0, 10.0, 40.0, 130.0, 640.0
	c := &Chart{Width: left + plotW + right, Height: top + plotH + bottom, Label: "media ports against documented ranges"}
	lo, hi := float64(m.Ports[0].Lo), float64(m.Ports[len(m.Ports)-1].Hi)+1
	xOf := func(p float64) float64 { return left + plotW*(p-lo)/(hi-lo) }
	for _, r := range m.Ranges {
		c.Bands = append(c.Bands, svgRect{X: xOf(float64(r.Lo)), Y: top, W: max(xOf(float64(r.Hi)+1)-xOf(float64(r.Lo)), 1), H: plotH,
			Fill: "#c8e6c9", Title: fmt.Sprintf("documented: %s %s", r.Entry, r.Text())})
	}
	var peak int64
	for _, b := range m.Ports {
		peak = max(peak, b.InRange+b.Unconstrained+b.OutOfRange)
	}
	peak = max(peak, 1)
	for _, b := range m.Ports {
		x, w := xOf(float64(b.Lo)), max(xOf(float64(b.Hi)+1)-xOf(float64(b.Lo))-1, 1)
		y := top + plotH
		for _, part := range []struct {
			n    int64
			fill string
			what string
		}{{b.InRange, "#1565c0", "in a documented range"}, {b.Unconstrained, "#9aa0a6", "outside the ranges, not constrained by one"},
			{b.OutOfRange, "#c62828", "out of its documented range (finding)"}} {
			if part.n == 0 {
				continue
			}
			h := plotH * float64(part.n) / float64(peak)
			y -= h
			c.Rects = append(c.Rects, svgRect{X: x, Y: y, W: w, H: h, Fill: part.fill, Title: fmt.Sprintf("ports %d-%d: %d %s", b.Lo, b.Hi, part.n, part.what)})
		}
	}
	c.Lines = append(c.Lines, svgLine{left, top + plotH, left + plotW, top + plotH})
	c.Texts = append(c.Texts,
		svgText{X: left, Y: top + plotH + 16, Text: strconv.Itoa(int(lo)), Anchor: "start"},
		svgText{X: left + plotW, Y: top + plotH + 16, Text: strconv.Itoa(int(hi) - 1), Anchor: "end"},
		svgText{X: left - 4, Y: top + 8, Text: strconv.FormatInt(peak, 10), Anchor: "end"},
		svgText{X: left + plotW/2, Y: top + plotH + 32, Text: "UDP port", Anchor: "middle"})
	c.Legend = []legendItem{{"documented range", "#c8e6c9"}, {"media endpoint in a range", "#1565c0"},
		{"outside the ranges, not constrained (e.g. the sending side)", "#9aa0a6"}, {"out of its documented range (a finding)", "#c62828"}}
	return c
}
