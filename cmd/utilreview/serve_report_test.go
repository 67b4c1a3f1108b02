package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/service/report"
)

// TestServeCommitteeReport: the live service serves the committee report at
// GET /reports/committee behind the admin token, computed in the background
// from the FHIR server: 202 with Retry-After first, then 200 with the report
// (JSON and the HTML page), without a new computation per view.
func TestServeCommitteeReport(t *testing.T) {
	l := newLiveEnv(t, "2026-06-01T12:00:00-04:00")
	token := "admin-" + harness.UniqueID("report")
	l.env["UTILREVIEW_ADMIN_TOKEN"] = token
	base, _ := l.start(t, "")
	get := func(query, auth string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, base+"/reports/committee"+query, nil)
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	const period = "?from=2026-03-01&to=2026-04-30"
	if resp := get(period, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without the admin token: %d, want 401", resp.StatusCode)
	}
	first := get(period+"&format=json", token)
	first.Body.Close()
	if first.StatusCode != http.StatusAccepted && first.StatusCode != http.StatusOK {
		t.Fatalf("first view: %d, want 202 (or 200)", first.StatusCode)
	}
	if first.StatusCode == http.StatusAccepted && first.Header.Get("Retry-After") == "" {
		t.Error("202 without Retry-After")
	}
	var rep report.Report
	var modified string
	harness.Eventually(t, 120*time.Second, 250*time.Millisecond, "the committee report is computed", func() (bool, error) {
		resp := get(period+"&format=json", token)
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("status %d", resp.StatusCode)
		}
		modified = resp.Header.Get("Last-Modified")
		data, _ := io.ReadAll(resp.Body)
		return true, json.Unmarshal(data, &rep)
	})
	if rep.From != "2026-03-01" || rep.To != "2026-04-30" || rep.Table("timeliness-by-month") == nil {
		t.Errorf("report %s..%s with %d sections", rep.From, rep.To, len(rep.Sections))
	}
	// Later views are the cached report (the same computation instant).
	page := get(period, token)
	data, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != 200 || page.Header.Get("Last-Modified") != modified || len(data) < 1000 {
		t.Errorf("HTML view: %d, Last-Modified %q (JSON's %q), %d bytes", page.StatusCode, page.Header.Get("Last-Modified"), modified, len(data))
	}
}
