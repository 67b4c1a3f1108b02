package report

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/utilreview/utilreview/fhir"
)

// hapiClient is a client of the shared test FHIR server, or a skip.
func hapiClient(t *testing.T) *fhir.Client {
	t.Helper()
	base := os.Getenv("UTILREVIEW_TEST_FHIR_URL")
	if testing.Short() || base == "" {
		t.Skip("needs a FHIR server: UTILREVIEW_TEST_FHIR_URL (make test starts HAPI), not under -short")
	}
	c, err := fhir.NewClient(fhir.ClientConfig{BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var refPattern = regexp.MustCompile(`"reference":"([A-Za-z]+)/([^"/]+)"`)

// TestReportFromServer puts the fixture on a real FHIR server (ids and a
// _tag unique to the run) and computes the report from the server: every
// number equals the report over the same resources from a file, except where
// a Task's completion instant comes from the server. t2 is completed without
// executionPeriod, so its completion is the instant of the version in which
// it became completed, read from its _history; a later write (a note) must
// not move it.
func TestReportFromServer(t *testing.T) {
	c := hapiClient(t)
	ctx := context.Background()
	run := "rpt" + strconv.FormatInt(time.Now().UnixNano(), 36)
	tag := "https://utilreview.dev/fhir/test-run|" + run
	var t2 map[string]any
	bw := fhir.NewBundleWriter(nil, "transaction")
	for _, r := range fixtureResources() {
		typ, id := r["resourceType"].(string), r["id"].(string)
		r["id"] = run + "-" + id
		r["meta"] = obj{"tag": []any{obj{"system": "https://utilreview.dev/fhir/test-run", "code": run}}}
		if typ == "Task" && id == "t2" {
			r["status"] = "in-progress" // completed below, then annotated
			t2 = r
		}
		data, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		data = refPattern.ReplaceAll(data, []byte(`"reference":"$1/`+run+`-$2"`))
		bw.Add(fhir.BundleEntry{FullURL: c.Base() + "/" + typ + "/" + run + "-" + id, Resource: fhir.RawJSON(data), Request: fhir.BundleRequest{Method: http.MethodPut, URL: typ + "/" + run + "-" + id}})
	}
	if _, err := c.Transaction(ctx, bw.Finish()); err != nil {
		t.Fatalf("loading the fixture: %v", err)
	}
	put := func(r map[string]any) {
		data, _ := json.Marshal(r)
		data = refPattern.ReplaceAll(data, []byte(`"reference":"$1/`+run+`-$2"`))
		if _, err := c.Update(ctx, "Task", r["id"].(string), data, ""); err != nil {
			t.Fatal(err)
		}
	}
	// Undo the prefixing of references for the updates (put prefixes them again).
	unprefix := func(r map[string]any) map[string]any {
		data, _ := json.Marshal(r)
		data = regexp.MustCompile(`"reference":"([A-Za-z]+)/`+run+`-`).ReplaceAll(data, []byte(`"reference":"$1/`))
		var m map[string]any
		_ = json.Unmarshal(data, &m)
		return m
	}
	t2 = unprefix(t2)
	t2["status"] = "completed"
	put(t2) // version 2: completed
	time.Sleep(1100 * time.Millisecond)
	t2["note"] = []any{obj{"text": "utilreview: the finding no longer holds"}}
	put(t2) // version 3: a later write
	resp, err := c.Do(ctx, http.MethodGet, "Task/"+run+"-t2/_history/2", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var v2 struct{ Meta struct{ LastUpdated string } }
	if err := json.Unmarshal(resp.Body, &v2); err != nil {
		t.Fatal(err)
	}
	completed, _, err := fhir.ParseDateTime(v2.Meta.LastUpdated, time.UTC)
	if err != nil {
		t.Fatal(err)
	}

	loc := newYork(t)
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, loc), time.Date(2026, 4, 30, 0, 0, 0, 0, loc)
	resources, err := FetchServer(ctx, c, ServerOptions{From: from, To: to, Location: loc, Params: url.Values{"_tag": {tag}}})
	if err != nil {
		t.Fatal(err)
	}
	// The Task read carries its completion instant (version 2), not its last write's (version 3).
	var cur struct {
		Meta struct{ LastUpdated, VersionID string }
	}
	if r, err := c.Read(ctx, "Task", run+"-t2"); err != nil || json.Unmarshal(r.Body, &cur) != nil || cur.Meta.VersionID != "3" {
		t.Fatalf("t2 is not at version 3: %v %+v", err, cur)
	}
	found := false
	for _, r := range resources {
		if r.Type == "Task" && r.ID == run+"-t2" {
			var m struct{ Meta struct{ LastUpdated string } }
			_ = json.Unmarshal(r.Raw, &m)
			if m.Meta.LastUpdated != v2.Meta.LastUpdated || m.Meta.LastUpdated == cur.Meta.LastUpdated {
				t.Errorf("t2's completion instant %s, want version 2's %s (version 3: %s)", m.Meta.LastUpdated, v2.Meta.LastUpdated, cur.Meta.LastUpdated)
			}
			found = true
		}
	}
	if !found {
		t.Fatal("t2 was not read from the server")
	}
	opts := Options{From: from, To: to, Now: time.Date(2026, 6, 1, 12, 0, 0, 0, loc), Review: reviewOptions(t, loc)}
	got, problems, err := Compute(ctx, resources, opts)
	if err != nil || len(problems) > 0 {
		t.Fatalf("report from the server: %v %v", err, problems)
	}
	want := fixtureReport(t)

	// t2: authored 10 March 09:00 EDT, completed at version 2.
	t2Hours := completed.Sub(time.Date(2026, 3, 10, 9, 0, 0, 0, loc)).Hours()
	fromServer := map[string]float64{
		// 22 h (t1), t2, 192 h (t9): t2 is the largest (December), so the median is t9's.
		"timeliness-by-month|2026-03|median-hours-to-complete":             192,
		"timeliness-by-check|admission-review|median-hours-to-complete":    (22 + t2Hours) / 2,
		"timeliness-by-owner|UR nurses|median-hours-to-complete":           (22 + t2Hours) / 2,
		"determinations-by-month|2026-03|median-turnaround-hours":          (22 + t2Hours) / 2,
		"determinations-by-payer|Acme Health Plan|median-turnaround-hours": (22 + t2Hours) / 2,
		"timeliness-by-payer|Acme Health Plan|median-hours-to-complete":    192, // t1 22 h, t9 192 h and t2
	}
	compared := 0
	for _, s := range want.Sections {
		for _, wt := range s.Tables {
			gt := got.Table(wt.ID)
			if gt == nil || len(gt.Rows) != len(wt.Rows) {
				t.Errorf("%s: rows differ from the file's report: %v, want %v", wt.ID, gt, wt.Rows)
				continue
			}
			for _, row := range wt.Rows {
				for i, col := range wt.Columns {
					g, gok := gt.Value(col, row.Keys...)
					key := fmt.Sprintf("%s|%s|%s", wt.ID, joinKeys(row.Keys), col)
					if exp, ok := fromServer[key]; ok {
						if !gok || *num(exp) != g {
							t.Errorf("%s = %v, want %v (t2 completed at its version 2, %s)", key, g, *num(exp), v2.Meta.LastUpdated)
						}
						delete(fromServer, key)
						continue
					}
					w := row.Values[i]
					if gok != (w != nil) || (w != nil && *w != g) {
						t.Errorf("%s = %v, the file's report %s", key, g, FormatValue(w))
					}
					compared++
				}
			}
		}
	}
	for k := range fromServer {
		t.Errorf("%s: not in the report", k)
	}
	t.Logf("%d numbers equal to the file's report; t2 completed at %s", compared, v2.Meta.LastUpdated)
}

func joinKeys(keys []string) string {
	out := ""
	for i, k := range keys {
		if i > 0 {
			out += KeySeparator
		}
		out += k
	}
	return out
}
