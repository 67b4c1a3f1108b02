package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/facts"
)

// Server is what the report reads from a FHIR server: searches (paged) and
// batches of searches. *fhir.Client is one.
type Server interface {
	Search(ctx context.Context, typ string, params url.Values, each func(e fhir.Entry) error) error
	SearchPages(ctx context.Context, page []byte, each func(e fhir.Entry) error) error
	Batch(ctx context.Context, bundle []byte) ([]fhir.Entry, error)
	Do(ctx context.Context, method, path string, body []byte, header http.Header) (*fhir.Response, error)
	Base() string
}

// fetchWorkers is how many patients' contexts are read at once.
const fetchWorkers = 4

// ServerOptions say what to read from the server for a period.
type ServerOptions struct {
	From, To time.Time // the period's first and last day, as in Options
	Location *time.Location
	// Lookback is how far before the period stays and Tasks are searched
	// (an index stay of a readmission, a Task raised before the period and
	// due in it). Default 31 days.
	Lookback time.Duration
	// Params are added to the period searches (e.g. _tag to restrict the
	// report to one facility's resources).
	Params url.Values
}

// FetchServer reads from a FHIR server what the report needs for the period,
// as the offline report reads it from files: the patients with a stay
// (Encounter?date), a Task (Task?_lastUpdated) or a claim (Claim?created)
// in the period (from Lookback before it), then each patient's whole
// context in one batch of searches (every type service/facts reads, with
// payer Organizations), pages followed. A completed Task without
// executionPeriod.end gets as meta.lastUpdated the instant of the version
// in which it became completed, from its _history, so that later writes
// (a note utilreview adds) do not move its completion.
func FetchServer(ctx context.Context, srv Server, opt ServerOptions) ([]*fhir.Resource, error) {
	loc := opt.Location
	if loc == nil {
		loc = time.UTC
	}
	lookback := opt.Lookback
	if lookback == 0 {
		lookback = 31 * 24 * time.Hour
	}
	from := day(opt.From, loc).Add(-lookback)
	end := day(opt.To, loc).AddDate(0, 0, 1)
	patients := map[string]bool{}
	addPatient := func(raw json.RawMessage, field string) {
		var r map[string]json.RawMessage
		if json.Unmarshal(raw, &r) != nil {
			return
		}
		var ref struct{ Reference string }
		if json.Unmarshal(r[field], &ref) == nil && strings.HasPrefix(ref.Reference, "Patient/") {
			patients[ref.Reference] = true
		}
	}
	searches := []struct {
		typ, field string
		params     url.Values
	}{
		{"Encounter", "subject", url.Values{"date": {"ge" + fhir.FormatDateTime(from), "lt" + fhir.FormatDateTime(end)}}},
		{"Task", "for", url.Values{"_lastUpdated": {"ge" + fhir.FormatDateTime(from)}}},
		{"Claim", "patient", url.Values{"created": {"ge" + fhir.FormatDateTime(from), "lt" + fhir.FormatDateTime(end)}}},
	}
	for _, s := range searches {
		params := url.Values{"_count": {"500"}, "_elements": {s.field}}
		for k, v := range s.params {
			params[k] = v
		}
		for k, v := range opt.Params {
			params[k] = append(params[k], v...)
		}
		if err := srv.Search(ctx, s.typ, params, func(e fhir.Entry) error {
			if e.Mode == "match" {
				addPatient(e.Resource, s.field)
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("report.FetchServer: %s search: %w", s.typ, err)
		}
	}
	refs := make([]string, 0, len(patients))
	for p := range patients {
		refs = append(refs, p)
	}
	sort.Strings(refs)
	// A few patients at a time (the client bounds its own requests in
	// flight too); results in patient order, so the report does not depend
	// on which answer came first.
	contexts := make([][]json.RawMessage, len(refs))
	errs := make([]error, len(refs))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(fetchWorkers, len(refs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				contexts[i], errs[i] = fetchPatient(ctx, srv, refs[i])
			}
		}()
	}
	for i := range refs {
		next <- i
	}
	close(next)
	wg.Wait()
	seen := map[string]bool{}
	var raws []json.RawMessage
	for i, got := range contexts {
		if errs[i] != nil {
			return nil, fmt.Errorf("report.FetchServer: %w", errs[i])
		}
		for _, raw := range got {
			var head struct {
				ResourceType, ID string
				Status           string
				ExecutionPeriod  *struct{ End string }
			}
			if json.Unmarshal(raw, &head) != nil || head.ID == "" || seen[head.ResourceType+"/"+head.ID] {
				continue
			}
			seen[head.ResourceType+"/"+head.ID] = true
			if head.ResourceType == "Task" && head.Status == "completed" && (head.ExecutionPeriod == nil || head.ExecutionPeriod.End == "") {
				var err error
				if raw, err = withCompletion(ctx, srv, head.ID, raw); err != nil {
					return nil, fmt.Errorf("report.FetchServer: %w", err)
				}
			}
			raws = append(raws, raw)
		}
	}
	var buf bytes.Buffer
	buf.WriteString(`{"resourceType":"Bundle","type":"collection","entry":[`)
	for i, raw := range raws {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"resource":`)
		buf.Write(raw)
		buf.WriteByte('}')
	}
	buf.WriteString(`]}`)
	var out []*fhir.Resource
	if errs := fhir.NewReader().ReadBytes(srv.Base(), buf.Bytes(), func(r *fhir.Resource) { out = append(out, r) }); len(errs) > 0 {
		return out, fmt.Errorf("report.FetchServer: %d resource(s) could not be read, the first: %w", len(errs), errs[0])
	}
	return out, nil
}

func fetchPatient(ctx context.Context, srv Server, patient string) ([]json.RawMessage, error) {
	searches := facts.PatientSearches(patient)
	bw := fhir.NewBundleWriter(make([]byte, 0, 2048), "batch")
	for _, s := range searches {
		bw.Add(fhir.BundleEntry{Request: fhir.BundleRequest{Method: http.MethodGet, URL: s}})
	}
	entries, err := srv.Batch(ctx, bw.Finish())
	if err != nil {
		return nil, err
	}
	if len(entries) != len(searches) {
		return nil, fmt.Errorf("a batch answered %d entries for %d searches", len(entries), len(searches))
	}
	var out []json.RawMessage
	for i, e := range entries {
		if e.Response != nil && (e.Response.Status < 200 || e.Response.Status > 299) {
			if i == 0 && (e.Response.Status == 404 || e.Response.Status == 410) {
				continue // a Patient the server does not hold: the other searches still name it
			}
			return nil, fmt.Errorf("search %d of a patient's context answered %d", i, e.Response.Status)
		}
		if len(e.Resource) == 0 {
			continue
		}
		if i == 0 {
			out = append(out, e.Resource)
			continue
		}
		if err := srv.SearchPages(ctx, e.Resource, func(x fhir.Entry) error {
			if len(x.Resource) > 0 {
				out = append(out, x.Resource)
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// withCompletion sets a completed Task's meta.lastUpdated to the instant of
// the version in which its status became completed (the first version of
// its last run of completed versions), from the Task's _history.
func withCompletion(ctx context.Context, srv Server, id string, raw json.RawMessage) (json.RawMessage, error) {
	resp, err := srv.Do(ctx, http.MethodGet, "Task/"+url.PathEscape(id)+"/_history?_count=100", nil, nil)
	if err != nil {
		return nil, err
	}
	type version struct {
		Status string
		Meta   struct{ LastUpdated, VersionID string }
	}
	var versions []version
	if err := srv.SearchPages(ctx, resp.Body, func(e fhir.Entry) error {
		var v version
		if len(e.Resource) > 0 && json.Unmarshal(e.Resource, &v) == nil && v.Meta.LastUpdated != "" {
			versions = append(versions, v)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	// Oldest first, by instant (a history is newest first, but do not rely on it).
	sort.SliceStable(versions, func(i, j int) bool {
		a, _, _ := fhir.ParseDateTime(versions[i].Meta.LastUpdated, time.UTC)
		b, _, _ := fhir.ParseDateTime(versions[j].Meta.LastUpdated, time.UTC)
		return a.Before(b)
	})
	completed := ""
	for i := len(versions) - 1; i >= 0 && versions[i].Status == "completed"; i-- {
		completed = versions[i].Meta.LastUpdated
	}
	if completed == "" {
		return raw, nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	meta, _ := m["meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	meta["lastUpdated"] = completed
	m["meta"] = meta
	return json.Marshal(m)
}
