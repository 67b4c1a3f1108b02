package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
)

// WriteJSON writes the report as one JSON document.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// CSVHeader is the CSV's header: one line per number, so that a
// spreadsheet's pivot table rebuilds any table of the report.
var CSVHeader = []string{"table", "keys", "column", "value"}

// KeySeparator joins a row's keys in the CSV's keys column.
const KeySeparator = " | "

// WriteCSV writes every number of the report, one per line: table id, the
// row's keys joined by KeySeparator, the column, the value ("" for not
// applicable).
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, s := range r.Sections {
		for _, t := range s.Tables {
			for _, row := range t.Rows {
				keys := strings.Join(row.Keys, KeySeparator)
				for i, col := range t.Columns {
					if err := cw.Write([]string{t.ID, keys, col, FormatValue(row.Values[i])}); err != nil {
						return err
					}
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// Palette is Okabe and Ito's colour-blind safe palette (yellow left out: too
// little contrast on white).
var Palette = []string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000"}

// WriteHTML writes the report as one self-contained page: inline CSS and
// SVG, no script, no external URL.
func WriteHTML(w io.Writer, r *Report) error {
	return page.Execute(w, r)
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"chart": chartSVG,
	"fmt":   FormatValue,
	"at":    func(r *Report) string { return r.AsOf.Format("2006-01-02 15:04 MST") },
}).Parse(pageHTML))

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>UR committee report {{.From}} to {{.To}}</title>
<style>
:root { --ink: #1a1a1a; --muted: #555; --rule: #ccc; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: var(--ink); margin: 0 auto; max-width: 1000px; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.3rem; border-bottom: 2px solid var(--ink); padding-bottom: .2rem; margin-top: 2.2rem; }
h3 { font-size: 1.05rem; margin: 1.6rem 0 .3rem; }
p.meta, p.note { color: var(--muted); margin: .2rem 0 .6rem; }
nav ol { columns: 2; padding-left: 1.2rem; }
a { color: #0060a0; }
figure { margin: .4rem 0; }
svg { max-width: 100%; height: auto; display: block; }
svg text { font: 11px system-ui, sans-serif; fill: var(--ink); }
.legend { display: flex; flex-wrap: wrap; gap: .3rem 1rem; font-size: .85rem; margin: .2rem 0 .4rem; padding: 0; list-style: none; }
.legend span { display: inline-block; width: .9rem; height: .9rem; vertical-align: -.1rem; margin-right: .3rem; border-radius: 2px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: .85rem; margin: .3rem 0 1rem; }
th, td { border-bottom: 1px solid var(--rule); padding: .2rem .5rem; text-align: right; white-space: nowrap; }
th { background: #f2f2f2; white-space: normal; vertical-align: bottom; }
th.key, td.key { text-align: left; }
caption { text-align: left; font-weight: 600; padding-bottom: .2rem; }
.empty { color: var(--muted); font-style: italic; }
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav { display: none; }
  h2 { break-before: page; }
  section.section:first-of-type h2 { break-before: auto; }
  .measure { break-inside: avoid; }
  .scroll { overflow: visible; }
  a { color: inherit; text-decoration: none; }
}
</style>
</head>
<body>
<header>
<h1>Utilization review committee report</h1>
<p class="meta">Period {{.From}} to {{.To}} ({{.TimeZone}}); computed as of {{at .}}. Every number is defined in the README's "UR committee report"; the same numbers are in the JSON and CSV outputs.</p>
</header>
<nav aria-label="Sections"><ol>{{range .Sections}}<li><a href="#{{.ID}}">{{.Title}}</a></li>{{end}}</ol></nav>
<main>
{{range .Sections}}<section class="section" id="{{.ID}}">
<h2>{{.Title}}</h2>
{{range .Tables}}<div class="measure" id="m-{{.ID}}" data-table="{{.ID}}">
<h3>{{.Title}}</h3>
{{if .Note}}<p class="note">{{.Note}}</p>{{end}}
{{if .Chart}}{{chart .}}{{end}}
{{if .Rows}}<div class="scroll"><table data-table="{{.ID}}">
<caption>{{.Title}}</caption>
<thead><tr>{{range .Keys}}<th class="key" scope="col">{{.}}</th>{{end}}{{range .Columns}}<th scope="col">{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr>{{range .Keys}}<td class="key">{{.}}</td>{{end}}{{range .Values}}<td>{{fmt .}}</td>{{end}}</tr>
{{end}}</tbody>
</table></div>{{else}}<p class="empty">No data in the period.</p>{{end}}
</div>
{{end}}</section>
{{end}}</main>
</body>
</html>
`

// chartSVG draws a table's chart: one polyline with a point per row for
// each series (line), or a group of bars per row (bar). Every point and bar
// carries a <title> with its number, so the chart reads with a screen
// reader and on hover.
func chartSVG(t *Table) template.HTML {
	const (
		width, height          = 900.0, 280.0
		left, right, top, base = 56.0, 16.0, 16.0, 70.0
	)
	plotW, plotH := width-left-right, height-top-base
	series := make([]int, 0, len(t.Chart.Series))
	for _, s := range t.Chart.Series {
		for i, c := range t.Columns {
			if c == s {
				series = append(series, i)
			}
		}
	}
	maxV := 0.0
	for _, r := range t.Rows {
		for _, i := range series {
			if v := r.Values[i]; v != nil && *v > maxV {
				maxV = *v
			}
		}
	}
	top5 := niceMax(maxV)
	y := func(v float64) float64 { return top + plotH - v/top5*plotH }
	var b strings.Builder
	titleID := "c-" + t.ID
	fmt.Fprintf(&b, `<figure><svg viewBox="0 0 %g %g" width="%g" height="%g" role="img" aria-labelledby="%s" class="chart chart-%s" data-table="%s" data-points="%d">`,
		width, height, width, height, titleID, t.Chart.Kind, esc(t.ID), t.Points())
	fmt.Fprintf(&b, `<title id="%s">%s</title>`, titleID, esc(t.Title))
	// Axes and grid: 0, half and the top.
	for _, f := range []float64{0, 0.5, 1} {
		v := top5 * f
		fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%.1f" y2="%.1f" stroke="#ccc"/>`, left, width-right, y(v), y(v))
		fmt.Fprintf(&b, `<text x="%g" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`, left-6, y(v), esc(short(v)))
	}
	n := len(t.Rows)
	if n == 0 {
		fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle">no data in the period</text>`, left+plotW/2, top+plotH/2)
	}
	slot := plotW / math.Max(1, float64(n))
	label := func(i int) string { return strings.Join(t.Rows[i].Keys, " ") }
	every := (n + 23) / 24 // at most 24 labels: a long period labels every k-th month
	for i := range t.Rows {
		if every > 1 && i%every != 0 {
			continue
		}
		x := left + slot*(float64(i)+0.5)
		lbl := label(i)
		if len(lbl) > 18 {
			lbl = lbl[:17] + "…"
		}
		if n > 8 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%g" text-anchor="end" transform="rotate(-40 %.1f %g)">%s</text>`, x, top+plotH+14, x, top+plotH+14, esc(lbl))
		} else {
			fmt.Fprintf(&b, `<text x="%.1f" y="%g" text-anchor="middle">%s</text>`, x, top+plotH+16, esc(lbl))
		}
	}
	switch t.Chart.Kind {
	case "line":
		radius := math.Max(1.5, math.Min(4, slot/3)) // points stay apart over a long period
		for si, col := range series {
			colour := Palette[si%len(Palette)]
			var pts []string
			for i, r := range t.Rows {
				if v := r.Values[col]; v != nil {
					pts = append(pts, fmt.Sprintf("%.1f,%.1f", left+slot*(float64(i)+0.5), y(*v)))
				}
			}
			if len(pts) > 1 {
				fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, colour, strings.Join(pts, " "))
			}
			for i, r := range t.Rows {
				v := 0.0
				if r.Values[col] != nil {
					v = *r.Values[col]
				}
				fmt.Fprintf(&b, `<circle class="point" cx="%.1f" cy="%.1f" r="%.1f" fill="%s" data-series="%s" data-value="%s"><title>%s, %s: %s</title></circle>`,
					left+slot*(float64(i)+0.5), y(v), radius, colour, esc(t.Columns[col]), esc(FormatValue(r.Values[col])), esc(label(i)), esc(t.Columns[col]), esc(orNA(r.Values[col])))
			}
		}
	default:
		group := slot * 0.8
		bw := group / math.Max(1, float64(len(series)))
		for i, r := range t.Rows {
			x0 := left + slot*float64(i) + slot*0.1
			for si, col := range series {
				v := 0.0
				if r.Values[col] != nil {
					v = *r.Values[col]
				}
				h := top + plotH - y(v)
				fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" data-series="%s" data-value="%s"><title>%s, %s: %s</title></rect>`,
					x0+bw*float64(si), y(v), math.Max(1, bw-1), h, Palette[si%len(Palette)], esc(t.Columns[col]), esc(FormatValue(r.Values[col])), esc(label(i)), esc(t.Columns[col]), esc(orNA(r.Values[col])))
			}
		}
	}
	b.WriteString(`</svg>`)
	b.WriteString(`<ul class="legend">`)
	for si, col := range series {
		fmt.Fprintf(&b, `<li><span style="background:%s"></span>%s</li>`, Palette[si%len(Palette)], esc(t.Columns[col]))
	}
	b.WriteString(`</ul></figure>`)
	return template.HTML(b.String())
}

func orNA(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return FormatValue(v)
}

// niceMax is a round upper bound for the axis (1, 2 or 5 times a power of ten).
func niceMax(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func short(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

func esc(s string) string { return template.HTMLEscapeString(s) }
