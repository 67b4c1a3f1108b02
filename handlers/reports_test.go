package handlers_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/utilreview/utilreview/handlers"
	"github.com/utilreview/utilreview/service/report"
)

// fakeReports answers what it is set to and records the periods asked.
type fakeReports struct {
	mu    sync.Mutex
	rep   *report.Report
	err   error
	asked [][2]string
}

func (f *fakeReports) Committee(from, to time.Time) (*report.Report, time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, [2]string{from.Format(time.DateOnly), to.Format(time.DateOnly)})
	return f.rep, time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), f.err
}

func TestCommitteeReportRoute(t *testing.T) {
	t.Parallel()
	reports := &fakeReports{}
	ts := newTestServer(t, func(c *handlers.Config) { c.Reports = reports })
	auth := []string{"Authorization", "Bearer " + adminToken}
	const path = "/reports/committee?from=2026-03-01&to=2026-04-30"

	// Behind the admin credential.
	checkOutcome(t, ts.do(request(http.MethodGet, path, nil)), 401, "login")
	checkOutcome(t, ts.do(request(http.MethodGet, path, nil, "Authorization", "Bearer "+secret)), 403, "forbidden")
	if len(reports.asked) != 0 {
		t.Fatal("a refused request reached the reports")
	}

	// Being computed: 202 and Retry-After.
	w := ts.do(request(http.MethodGet, path, nil, auth...))
	if w.Code != http.StatusAccepted || w.Header().Get("Retry-After") == "" {
		t.Fatalf("while computing: %d, Retry-After %q, want 202 with one", w.Code, w.Header().Get("Retry-After"))
	}
	if got := reports.asked[0]; got != [2]string{"2026-03-01", "2026-04-30"} {
		t.Errorf("asked %v", got)
	}

	// Computed: HTML by default, JSON and CSV on request, the same report.
	reports.rep = &report.Report{From: "2026-03-01", To: "2026-04-30", TimeZone: "America/New_York",
		Sections: []report.Section{{ID: "s", Title: "S", Tables: []*report.Table{{ID: "t", Title: "T", Keys: []string{"month"}, Columns: []string{"n"},
			Rows: []report.Row{{Keys: []string{"2026-03"}, Values: []*float64{ptr(3)}}}, Chart: &report.Chart{Kind: "bar", Series: []string{"n"}}}}}}}
	for _, c := range []struct{ query, ctype, has string }{
		{"", "text/html", `data-table="t"`},
		{"&format=json", "application/json", `"2026-03"`},
		{"&format=csv", "text/csv", "t,2026-03,n,3"},
	} {
		w := ts.do(request(http.MethodGet, path+c.query, nil, auth...))
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), c.ctype) || !strings.Contains(w.Body.String(), c.has) {
			t.Errorf("format %q: %d %s, body %.200s", c.query, w.Code, w.Header().Get("Content-Type"), w.Body)
		}
		if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Last-Modified") == "" {
			t.Errorf("format %q: headers %v", c.query, w.Header())
		}
	}
	var rep report.Report
	w = ts.do(request(http.MethodGet, path+"&format=json", nil, auth...))
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil || rep.Table("t") == nil {
		t.Errorf("JSON: %v", err)
	}

	// A failed computation: 503, its cause not answered.
	reports.err = errors.New("fhir: 500 from http://fhir.internal/secret-path")
	w = ts.do(request(http.MethodGet, path, nil, auth...))
	checkOutcome(t, w, 503, "transient")
	if strings.Contains(w.Body.String(), "secret-path") {
		t.Error("the cause reached the caller")
	}
	reports.err = nil

	// Bad periods.
	for _, q := range []string{"", "?from=2026-03-01", "?from=2026-03&to=2026-04-30", "?from=2026-04-30&to=2026-03-01",
		"?from=2020-01-01&to=2026-01-01", path[len("/reports/committee"):] + "&format=pdf"} {
		checkOutcome(t, ts.do(request(http.MethodGet, "/reports/committee"+q, nil, auth...)), 400, "structure")
	}
}

func TestCommitteeReportRouteDisabled(t *testing.T) {
	t.Parallel()
	// Without reports, or without an admin token, the route does not exist.
	for _, edit := range []func(*handlers.Config){
		nil,
		func(c *handlers.Config) { c.Reports = &fakeReports{}; c.AdminToken = "" },
	} {
		ts := newTestServer(t, edit)
		checkOutcome(t, ts.do(request(http.MethodGet, "/reports/committee?from=2026-03-01&to=2026-04-30", nil, "Authorization", "Bearer "+adminToken)), 404, "not-found")
	}
}

func ptr(v float64) *float64 { return &v }
