package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "write docs/report-screenshot.png from the fixture's report (TestHTMLInChromium)")

// artifactDir is where the browser test leaves the page, its screenshot
// and its PDF: $UTILREVIEW_TEST_ARTIFACTS, else utilreview-report under the
// system's temporary directory (kept after the test, for a person to look at).
func artifactDir(t *testing.T) string {
	dir := os.Getenv("UTILREVIEW_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "utilreview-report")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// pageState is what the test reads from the page as the browser rendered it.
type pageState struct {
	Charts map[string]struct {
		Title  string
		Marks  int
		Values []string
		Width  float64
		Height float64
	}
	Tables   map[string][][]string
	External []string
	Sections int
}

const readPage = `(() => {
  const charts = {};
  document.querySelectorAll('svg.chart').forEach(s => {
    const marks = [...s.querySelectorAll('.point, .bar')];
    const r = s.getBoundingClientRect();
    const title = s.querySelector(':scope > title');
    charts[s.dataset.table] = {Title: title ? title.textContent : '', Marks: marks.length,
      Values: marks.map(e => e.dataset.value), Width: r.width, Height: r.height};
  });
  const tables = {};
  document.querySelectorAll('table[data-table]').forEach(t => {
    tables[t.dataset.table] = [...t.tBodies[0].rows].map(r => [...r.cells].map(c => c.textContent));
  });
  const external = [...document.querySelectorAll('[src],[href],[xlink\\:href]')]
    .map(e => e.getAttribute('src') || e.getAttribute('href') || e.getAttribute('xlink:href'))
    .filter(u => !u.startsWith('#'));
  return {Charts: charts, Tables: tables, External: external, Sections: document.querySelectorAll('section.section').length};
})()`

// TestHTMLInChromium opens the report's page in headless Chromium: no
// error in the console, every chart present with a <title> and as many bars
// or points as its JSON table has rows times series, the same numbers in the
// page's tables, its charts, the JSON and the CSV; it leaves the page, a
// screenshot and a PDF (print stylesheet) as artefacts.
func TestHTMLInChromium(t *testing.T) {
	b := startBrowser(t)
	dir := artifactDir(t)

	// The error detection itself: a page with a missing image must report it.
	bad := filepath.Join(t.TempDir(), "bad.html")
	if err := os.WriteFile(bad, []byte(`<!DOCTYPE html><html><body><img src="missing.png" alt=""></body></html>`), 0o644); err != nil {
		t.Fatal(err)
	}
	if errs := b.openExpectingError("file://" + bad); len(errs) == 0 {
		t.Fatal("a page with a missing image reported no error: the console check would see nothing")
	}

	checkPage(t, b, fixtureReport(t), filepath.Join(dir, "report.html"), true)

	// The print stylesheet: under print media the navigation is hidden, each
	// section after the first starts a page, and a chart stays with its table.
	b.call(b.session, "Emulation.setEmulatedMedia", map[string]any{"media": "print"}, nil)
	var printed struct {
		Nav, FirstBreak, SecondBreak, Measure string
	}
	b.eval(`(() => { const h = document.querySelectorAll('section.section h2');
	  return {Nav: getComputedStyle(document.querySelector('nav')).display,
	    FirstBreak: getComputedStyle(h[0]).breakBefore, SecondBreak: getComputedStyle(h[1]).breakBefore,
	    Measure: getComputedStyle(document.querySelector('.measure')).breakInside}; })()`, &printed)
	if printed.Nav != "none" || printed.FirstBreak == "page" || printed.SecondBreak != "page" || printed.Measure != "avoid" {
		t.Errorf("print stylesheet not in effect: %+v", printed)
	}
	b.pdf(filepath.Join(dir, "report.pdf"))
	b.call(b.session, "Emulation.setEmulatedMedia", map[string]any{"media": ""}, nil)
	b.screenshot(filepath.Join(dir, "report.png"), 1100, 0)
	b.screenshot(filepath.Join(dir, "report-top.png"), 1100, 1500)
	for _, name := range []string{"report.png", "report.pdf"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() < 10000 {
			t.Errorf("%s: %v, %d bytes", name, err, fi.Size())
		}
	}
	pdf, _ := os.ReadFile(filepath.Join(dir, "report.pdf"))
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Error("report.pdf is not a PDF")
	}

	// The Synthea report (ten years by month: 120 points a line) on the page too.
	loc := newYork(t)
	syn, problems, err := Compute(context.Background(), readFiles(t, syntheaFiles(t, 1)), Options{
		From: time.Date(2015, 1, 1, 0, 0, 0, 0, loc), To: time.Date(2024, 12, 31, 0, 0, 0, 0, loc),
		Now: time.Date(2026, 1, 1, 0, 0, 0, 0, loc), Review: reviewOptions(t, loc)})
	if err != nil || len(problems) > 0 {
		t.Fatalf("Synthea: %v %v", err, problems)
	}
	checkPage(t, b, syn, filepath.Join(dir, "synthea.html"), false)
	b.screenshot(filepath.Join(dir, "synthea.png"), 1100, 0)
	t.Logf("artefacts: %s (report.html, report.png, report.pdf, synthea.html, synthea.png)", dir)
	if *updateScreenshot {
		b.screenshot(filepath.Join("..", "..", "docs", "report-screenshot.png"), 1100, 1500)
	}
}

// checkPage writes rep's page to htmlPath, opens it, and holds the page, the
// JSON and the CSV to the same numbers; requireData: every chart must have
// bars or points.
func checkPage(t *testing.T, b *browser, rep *Report, htmlPath string, requireData bool) {
	t.Helper()
	var page, js, cs bytes.Buffer
	if err := WriteHTML(&page, rep); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	if err := WriteCSV(&cs, rep); err != nil {
		t.Fatal(err)
	}
	// Self-contained: no URL at all in the file, not even a namespace.
	if m := regexp.MustCompile(`(?i)(https?:|//[a-z0-9.-]+\.[a-z]{2,}|url\()`).Find(page.Bytes()); m != nil {
		t.Errorf("the page names an external URL: %q", m)
	}
	if err := os.WriteFile(htmlPath, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if errs := b.open("file://" + htmlPath); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
	var st pageState
	b.eval(readPage, &st)
	if len(st.External) > 0 {
		t.Errorf("the page loads or links outside itself: %v", st.External)
	}

	// The JSON, decoded, is the reference the page and the CSV are held to.
	var fromJSON Report
	if err := json.Unmarshal(js.Bytes(), &fromJSON); err != nil {
		t.Fatal(err)
	}
	if st.Sections != len(fromJSON.Sections) {
		t.Errorf("page sections = %d, want %d", st.Sections, len(fromJSON.Sections))
	}
	csvValues := readCSV(t, cs.Bytes())
	charts := 0
	for _, sec := range fromJSON.Sections {
		for _, tb := range sec.Tables {
			checkTable(t, tb, st, csvValues, requireData)
			if tb.Chart != nil {
				charts++
			}
		}
	}
	if len(st.Charts) != charts {
		t.Errorf("page charts = %d, want %d (one per table with a chart)", len(st.Charts), charts)
	}
	if len(csvValues) != 0 {
		t.Errorf("the CSV has %d numbers the JSON does not: %v", len(csvValues), csvValues)
	}

}

// checkTable holds one table of the JSON against the page and the CSV, and
// removes its numbers from csvValues.
func checkTable(t *testing.T, tb *Table, st pageState, csvValues map[string]string, requireData bool) {
	t.Helper()
	// The CSV: one line per number.
	for _, row := range tb.Rows {
		for i, col := range tb.Columns {
			key := tb.ID + "\x00" + strings.Join(row.Keys, KeySeparator) + "\x00" + col
			got, ok := csvValues[key]
			if !ok {
				t.Errorf("CSV: no %s %v %s", tb.ID, row.Keys, col)
				continue
			}
			if want := FormatValue(row.Values[i]); got != want {
				t.Errorf("CSV %s %v %s = %q, JSON %q", tb.ID, row.Keys, col, got, want)
			}
			delete(csvValues, key)
		}
	}
	// The page's table: keys then values, as FormatValue writes them.
	cells, ok := st.Tables[tb.ID]
	if len(tb.Rows) > 0 && !ok {
		t.Errorf("page: no table %s", tb.ID)
	}
	if len(cells) != len(tb.Rows) {
		t.Errorf("page table %s: %d rows, JSON %d", tb.ID, len(cells), len(tb.Rows))
	} else {
		for r, row := range tb.Rows {
			want := append([]string(nil), row.Keys...)
			for _, v := range row.Values {
				want = append(want, FormatValue(v))
			}
			if strings.Join(cells[r], "\x00") != strings.Join(want, "\x00") {
				t.Errorf("page table %s row %d = %q, JSON %q", tb.ID, r, cells[r], want)
			}
		}
	}
	if tb.Chart == nil {
		if _, ok := st.Charts[tb.ID]; ok {
			t.Errorf("page: a chart for %s, which has none", tb.ID)
		}
		return
	}
	ch, ok := st.Charts[tb.ID]
	if !ok {
		t.Errorf("page: no chart for %s", tb.ID)
		return
	}
	if ch.Title != tb.Title {
		t.Errorf("chart %s <title> = %q, want %q", tb.ID, ch.Title, tb.Title)
	}
	if ch.Width <= 0 || ch.Height <= 0 {
		t.Errorf("chart %s is not drawn (%gx%g)", tb.ID, ch.Width, ch.Height)
	}
	if requireData && ch.Marks == 0 {
		t.Errorf("chart %s is empty: the fixture gives every chart data", tb.ID)
	}
	if want := len(tb.Rows) * len(tb.Chart.Series); ch.Marks != want {
		t.Errorf("chart %s: %d bars or points, want %d (%d rows x %d series)", tb.ID, ch.Marks, want, len(tb.Rows), len(tb.Chart.Series))
		return
	}
	// The chart's numbers, in drawing order: a line per series; bars row by row.
	var want []string
	col := func(name string) int {
		for i, c := range tb.Columns {
			if c == name {
				return i
			}
		}
		t.Fatalf("chart %s: no column %s", tb.ID, name)
		return -1
	}
	if tb.Chart.Kind == "line" {
		for _, s := range tb.Chart.Series {
			for _, row := range tb.Rows {
				want = append(want, FormatValue(row.Values[col(s)]))
			}
		}
	} else {
		for _, row := range tb.Rows {
			for _, s := range tb.Chart.Series {
				want = append(want, FormatValue(row.Values[col(s)]))
			}
		}
	}
	if strings.Join(ch.Values, ",") != strings.Join(want, ",") {
		t.Errorf("chart %s values %v, JSON %v", tb.ID, ch.Values, want)
	}
}

func readCSV(t *testing.T, data []byte) map[string]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 || strings.Join(recs[0], ",") != strings.Join(CSVHeader, ",") {
		t.Fatalf("CSV header = %v, want %v", recs[0], CSVHeader)
	}
	out := map[string]string{}
	for _, r := range recs[1:] {
		key := r[0] + "\x00" + r[1] + "\x00" + r[2]
		if _, dup := out[key]; dup {
			t.Errorf("CSV: %s %s %s twice", r[0], r[1], r[2])
		}
		out[key] = r[3]
	}
	return out
}
