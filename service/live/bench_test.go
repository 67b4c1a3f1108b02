package live_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/live"
	"github.com/utilreview/utilreview/service/review"
	"github.com/utilreview/utilreview/service/rules"
	"github.com/utilreview/utilreview/service/worklist"
)

// memoryFHIR answers the processor's batch of searches from resources held
// in memory, as a FHIR server would (searchset Bundles of JSON bytes), so a
// benchmark measures the service's CPU per patient review (decoding, facts,
// checks, plan, Bundle) without network waits.
type memoryFHIR struct {
	byPatient map[string]map[string][]json.RawMessage // patient -> type -> resources
	orgs      []json.RawMessage
	pages     map[string][]byte // built once: serving a page is the server's work, not the service's
	writes    int
}

func newMemoryFHIR(tb testing.TB, files ...string) (*memoryFHIR, []string) {
	tb.Helper()
	m := &memoryFHIR{byPatient: map[string]map[string][]json.RawMessage{}, pages: map[string][]byte{}}
	var patients []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var b struct {
			Entry []struct {
				FullURL  string          `json:"fullUrl"`
				Resource json.RawMessage `json:"resource"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(data, &b); err != nil {
			tb.Fatal(err)
		}
		// Synthea writes urn:uuid references; a server holds Type/id.
		urns := map[string]string{}
		for _, e := range b.Entry {
			s, err := fhir.SummarizeResource(e.Resource)
			if err == nil && strings.HasPrefix(e.FullURL, "urn:uuid:") {
				urns[e.FullURL] = s.Type + "/" + s.ID
			}
		}
		for _, e := range b.Entry {
			raw := []byte(e.Resource)
			for from, to := range urns {
				raw = []byte(strings.ReplaceAll(string(raw), `"`+from+`"`, `"`+to+`"`))
			}
			s, err := fhir.SummarizeResource(raw)
			if err != nil {
				tb.Fatal(err)
			}
			switch {
			case s.Type == "Organization":
				m.orgs = append(m.orgs, raw)
			case s.Patient != "":
				if m.byPatient[s.Patient] == nil {
					m.byPatient[s.Patient] = map[string][]json.RawMessage{}
					patients = append(patients, s.Patient)
				}
				m.byPatient[s.Patient][s.Type] = append(m.byPatient[s.Patient][s.Type], raw)
			}
		}
	}
	return m, patients
}

func (m *memoryFHIR) Batch(_ context.Context, bundle []byte) ([]fhir.Entry, error) {
	var b struct {
		Entry []struct {
			Request struct{ URL string } `json:"request"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		return nil, err
	}
	out := make([]fhir.Entry, len(b.Entry))
	for i, e := range b.Entry {
		path, query, _ := strings.Cut(e.Request.URL, "?")
		if query == "" { // the Patient read
			rs := m.byPatient[path]["Patient"]
			if len(rs) == 0 {
				out[i] = fhir.Entry{Response: &fhir.EntryResponse{Status: 404}}
				continue
			}
			out[i] = fhir.Entry{Resource: rs[0], Response: &fhir.EntryResponse{Status: 200}}
			continue
		}
		q, err := url.ParseQuery(query)
		if err != nil {
			return nil, err
		}
		var patient string
		for _, k := range []string{"subject", "patient", "beneficiary"} {
			if v := q.Get(k); v != "" {
				patient = v
			}
		}
		page, ok := m.pages[e.Request.URL]
		if !ok {
			matches := m.byPatient[patient][path]
			if path == "Coverage" || path == "Claim" {
				matches = append(append([]json.RawMessage(nil), matches...), m.orgs...)
			}
			if page, err = json.Marshal(searchset(matches)); err != nil {
				return nil, err
			}
			m.pages[e.Request.URL] = page
		}
		out[i] = fhir.Entry{Resource: page, Response: &fhir.EntryResponse{Status: 200}}
	}
	return out, nil
}

func searchset(rs []json.RawMessage) map[string]any {
	entries := make([]any, len(rs))
	for i, r := range rs {
		entries[i] = map[string]any{"resource": r}
	}
	return map[string]any{"resourceType": "Bundle", "type": "searchset", "entry": entries}
}

func (m *memoryFHIR) SearchPages(_ context.Context, page []byte, each func(fhir.Entry) error) error {
	var b struct {
		Entry []struct {
			Resource json.RawMessage `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(page, &b); err != nil {
		return err
	}
	for _, e := range b.Entry {
		if err := each(fhir.Entry{Resource: e.Resource, Mode: "match"}); err != nil {
			return err
		}
	}
	return nil
}

func (m *memoryFHIR) Transaction(context.Context, []byte) ([]fhir.Entry, error) {
	m.writes++
	return nil, nil
}

var errUnused = errors.New("not used by the benchmark")

func (m *memoryFHIR) Read(context.Context, string, string) (*fhir.Response, error) {
	return nil, errUnused
}

func (m *memoryFHIR) Do(context.Context, string, string, []byte, http.Header) (*fhir.Response, error) {
	return nil, errUnused
}

func (m *memoryFHIR) Search(context.Context, string, url.Values, func(fhir.Entry) error) error {
	return errUnused
}

// BenchmarkReviewPatient is the service's CPU per patient review, decoding
// included, network excluded: the examples' patients (small stays and
// claims) and a Synthea-sized patient (hundreds of resources). The figure
// reported is ns/patient.
func BenchmarkReviewPatient(b *testing.B) {
	for _, bc := range []struct {
		name  string
		files []string
		asOf  time.Time
		// includeMoot: Trenton Turner's stays are all history as of
		// 2021-04-01 (issue 7), so the review raises their findings only
		// as missed, with IncludeMoot; the work is the same either way.
		includeMoot bool
	}{
		{"examples", []string{"../../testdata/examples/ur-scenarios.json"}, time.Date(2026, 11, 20, 17, 0, 0, 0, time.UTC), false},
		{"synthea-trenton-turner", []string{"../../e2e/testdata/synthea-trenton-turner.json"}, time.Date(2021, 4, 1, 16, 0, 0, 0, time.UTC), true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			mem, patients := newMemoryFHIR(b, bc.files...)
			reg, err := rules.LoadDefaults()
			if err != nil {
				b.Fatal(err)
			}
			loc, _ := time.LoadLocation("America/New_York")
			w := worklist.New(worklist.Config{Location: loc})
			p, err := live.New(live.Config{
				Review: review.Options{Location: loc, Rules: reg, Writer: w, Checks: checks.Config{Location: loc}, IncludeMoot: bc.includeMoot},
				Now:    func() time.Time { return bc.asOf }, WindowDays: 20000,
			}, mem, nil)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			findings := 0
			for _, pt := range patients {
				out, err := p.ReviewPatient(ctx, pt)
				if err != nil {
					b.Fatal(err)
				}
				findings += out.Findings
			}
			if findings == 0 {
				b.Fatalf("no findings over %d patients: the benchmark would measure nothing", len(patients))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				for _, pt := range patients {
					if _, err := p.ReviewPatient(ctx, pt); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(patients)), "ns/patient")
			b.ReportMetric(float64(findings)/float64(len(patients)), "findings/patient")
		})
	}
}
