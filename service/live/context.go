package live

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/worklist"
)

// patientContext is what the server holds about one patient, as the
// offline review would read it from files.
type patientContext struct {
	resources []*fhir.Resource
	requests  []*worklist.Request
}

// contextSearches are facts.PatientSearches and the service's own
// CommunicationRequests of the patient (the worklist reconciles them).
func contextSearches(patient, system string) []string {
	v := url.Values{"subject": {patient}, "identifier": {system + "|"}, "_count": {"500"}}
	return append(facts.PatientSearches(patient), "CommunicationRequest?"+v.Encode())
}

// fetchContext reads the patient's context in one batch of searches,
// following the pages of each.
func (p *Processor) fetchContext(ctx context.Context, patient string) (*patientContext, error) {
	searches := contextSearches(patient, p.system)
	bw := fhir.NewBundleWriter(make([]byte, 0, 2048), "batch")
	for _, s := range searches {
		bw.Add(fhir.BundleEntry{Request: fhir.BundleRequest{Method: http.MethodGet, URL: s}})
	}
	entries, err := p.fhir.Batch(ctx, bw.Finish())
	if err != nil {
		return nil, err
	}
	if len(entries) != len(searches) {
		return nil, fmt.Errorf("live: batch answered %d entries for %d searches", len(entries), len(searches))
	}
	pc := &patientContext{}
	seen := map[string]bool{}
	reader := fhir.NewReader()
	add := func(raw json.RawMessage) error {
		head, err := fhir.SummarizeResource(raw)
		if err != nil {
			return fmt.Errorf("live: a search answered a resource that is not JSON")
		}
		key := head.Type + "/" + head.ID
		if head.ID == "" || seen[key] {
			return nil
		}
		seen[key] = true
		if head.Type == "CommunicationRequest" {
			r, err := p.request(raw, key)
			if err != nil {
				return err
			}
			pc.requests = append(pc.requests, r)
			return nil
		}
		for _, e := range reader.ReadBytes("fhir:"+key, raw, func(r *fhir.Resource) { pc.resources = append(pc.resources, r) }) {
			// The resource is still reviewed where it can be; the problem
			// names the resource and element, never values.
			p.cfg.Logger.WarnContext(ctx, "resource problem", "problem", e.Error())
		}
		return nil
	}
	for i, e := range entries {
		status := 0
		if e.Response != nil {
			status = e.Response.Status
		}
		if i == 0 {
			// The Patient read: absent is fine (the other resources still
			// name the patient); anything else must have worked.
			if status == http.StatusNotFound || status == http.StatusGone {
				continue
			}
		}
		if status >= 300 || e.Resource == nil {
			return nil, &fhir.Error{Op: "live context", Method: http.MethodGet, Path: searchType(searches[i]), Status: status, Issues: outcomeIssues(e)}
		}
		if i == 0 {
			if err := add(e.Resource); err != nil {
				return nil, err
			}
			continue
		}
		err := p.fhir.SearchPages(ctx, e.Resource, func(x fhir.Entry) error {
			if x.Resource == nil || x.Mode == "outcome" {
				return nil
			}
			return add(x.Resource)
		})
		if err != nil {
			return nil, err
		}
	}
	return pc, nil
}

// searchType is the resource type a search or read path starts with.
func searchType(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '?' || s[i] == '/' {
			return s[:i]
		}
	}
	return s
}

func outcomeIssues(e fhir.Entry) []fhir.Issue {
	if e.Response == nil || e.Response.Outcome == nil {
		return nil
	}
	return e.Response.Outcome.Issues
}

// request reads a CommunicationRequest utilreview wrote, for revoking it.
func (p *Processor) request(raw json.RawMessage, ref string) (*worklist.Request, error) {
	var cr struct {
		Meta struct {
			VersionID string `json:"versionId"`
		} `json:"meta"`
		Status     string `json:"status"`
		Identifier []struct {
			System, Value string
		} `json:"identifier"`
		BasedOn []struct {
			Identifier struct {
				System, Value string
			} `json:"identifier"`
		} `json:"basedOn"`
	}
	if err := json.Unmarshal(raw, &cr); err != nil {
		return nil, fmt.Errorf("live: %s is not a CommunicationRequest", ref)
	}
	r := &worklist.Request{Ref: ref, Version: cr.Meta.VersionID, Status: cr.Status, Raw: raw}
	for _, id := range cr.Identifier {
		if id.System == p.system {
			r.Identifier = id.Value
		}
	}
	for _, b := range cr.BasedOn {
		if b.Identifier.System == p.system {
			r.BasedOnTask = b.Identifier.Value
		}
	}
	return r, nil
}

// patientOf finds the patient of a resource the entry names without one (a
// delete notification, or a Provenance): the resource as the server holds
// it, or, deleted, its last version with content in its history. "" when
// none names a patient the server can be asked about.
func (p *Processor) patientOf(ctx context.Context, resource string) (string, error) {
	ref, ok := fhir.ParseReference(resource)
	if !ok || ref.Type == "" {
		return "", nil
	}
	if ref.Type == "Patient" {
		return ref.Relative(), nil
	}
	patientIn := func(body []byte) (string, error) {
		s, err := fhir.SummarizeResource(body)
		if err != nil {
			return "", nil
		}
		return s.Patient, nil
	}
	if ref.Type == "Provenance" {
		patientIn = func(body []byte) (string, error) { return p.patientOfTarget(ctx, body) }
	}
	resp, err := p.fhir.Read(ctx, ref.Type, ref.ID)
	switch {
	case err == nil:
		return patientIn(resp.Body)
	case fhir.IsStatus(err, http.StatusNotFound), fhir.IsStatus(err, http.StatusGone):
	default:
		return "", err
	}
	var patient string
	hist, err := p.fhir.Do(ctx, http.MethodGet, ref.Type+"/"+ref.ID+"/_history?_count=10", nil, nil)
	if err != nil {
		if fhir.IsStatus(err, http.StatusNotFound) || fhir.IsStatus(err, http.StatusGone) {
			return "", nil
		}
		return "", err
	}
	err = p.fhir.SearchPages(ctx, hist.Body, func(e fhir.Entry) error {
		if patient != "" || e.Resource == nil {
			return nil
		}
		var err error
		patient, err = patientIn(e.Resource)
		return err
	})
	return patient, err
}

// patientOfTarget is the patient of the first of a Provenance's targets
// that is one of utilreview's Tasks: a Provenance written after a Task's
// completion can name the clinician who determined it, so the Task's
// patient is reviewed again. Other Provenances name no patient to review.
func (p *Processor) patientOfTarget(ctx context.Context, provenance []byte) (string, error) {
	for _, ref := range fhir.Targets(provenance, "Task") {
		resp, err := p.fhir.Read(ctx, "Task", ref.ID)
		switch {
		case fhir.IsStatus(err, http.StatusNotFound), fhir.IsStatus(err, http.StatusGone):
			continue
		case err != nil:
			return "", err
		}
		var task struct {
			Identifier []struct{ System string } `json:"identifier"`
		}
		ours := false
		if json.Unmarshal(resp.Body, &task) == nil {
			for _, id := range task.Identifier {
				ours = ours || id.System == p.system
			}
		}
		if !ours {
			continue
		}
		if s, err := fhir.SummarizeResource(resp.Body); err == nil && s.Patient != "" {
			return s.Patient, nil
		}
	}
	return "", nil
}

// findPatient is the patient with the reference among the facts' patients.
func findPatient(ps []*facts.Patient, ref string) *facts.Patient {
	for _, p := range ps {
		if p.Ref == ref {
			return p
		}
	}
	return nil
}
