package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/utilreview/utilreview/service/checks"
)

// fhirClient is the little of FHIR the e2e mode needs: a transaction, a
// search that says whether anything matched, a Subscription's create, read
// and delete; over the loopback-only dialer.
type fhirClient struct {
	base string
	http *http.Client
}

func newFHIRClient(base string) *fhirClient {
	return &fhirClient{base: base, http: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext:         dialLoopback,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     time.Minute,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do sends a request and reads the answer; an error unless the status is
// one of want.
func (c *fhirClient) do(ctx context.Context, method, path string, body any, header http.Header, want ...int) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/"+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/fhir+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	for _, w := range want {
		if resp.StatusCode == w {
			return b, nil
		}
	}
	// The body is an OperationOutcome whose text may quote the resource:
	// name the status only.
	return nil, fmt.Errorf("%s %s: status %d", method, strings.SplitN(path, "?", 2)[0], resp.StatusCode)
}

func (c *fhirClient) put(ctx context.Context, path string, resource any) error {
	_, err := c.do(ctx, http.MethodPut, path, resource, nil, http.StatusOK, http.StatusCreated)
	return err
}

func (c *fhirClient) delete(ctx context.Context, path string) error {
	_, err := c.do(ctx, http.MethodDelete, path, nil, nil, http.StatusOK, http.StatusNoContent, http.StatusNotFound, http.StatusGone)
	return err
}

// transaction posts a transaction Bundle; the response is not needed.
func (c *fhirClient) transaction(ctx context.Context, bundle any) error {
	_, err := c.do(ctx, http.MethodPost, "", bundle, http.Header{"Prefer": {"return=minimal"}}, http.StatusOK)
	return err
}

// found runs a search and reports whether it matched anything.
func (c *fhirClient) found(ctx context.Context, query string) (bool, error) {
	ids, err := c.searchIDs(ctx, query)
	return len(ids) > 0, err
}

// searchIDs runs a search and returns the ids of its first page's matches.
func (c *fhirClient) searchIDs(ctx context.Context, query string) ([]string, error) {
	b, err := c.do(ctx, http.MethodGet, query, nil, nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var bundle struct {
		Entry []struct {
			Resource struct {
				ID string `json:"id"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(bundle.Entry))
	for _, e := range bundle.Entry {
		ids = append(ids, e.Resource.ID)
	}
	return ids, nil
}

// taskQuery finds the admission-notification Task on an Encounter.
func taskQuery(encounterID string) string {
	v := url.Values{}
	v.Set("focus", "Encounter/"+encounterID)
	v.Set("code", checks.CheckAdmissionNotification)
	v.Set("_count", "1")
	v.Set("_elements", "id")
	return "Task?" + v.Encode()
}

// createSubscription creates the tool's rest-hook Subscription on Encounters
// with the run's tag, full-resource payload to endpoint, and returns its id.
func (c *fhirClient) createSubscription(ctx context.Context, tag runTag, endpoint, secret string) (string, error) {
	sub := map[string]any{
		"resourceType": "Subscription",
		"meta":         map[string]any{"tag": []runTag{tag}},
		"status":       "requested",
		"reason":       "loadgen e2e: HAPI's delivery latency for the run's writes",
		"criteria":     "Encounter?_tag=" + tag.param(),
		"channel": map[string]any{
			"type":     "rest-hook",
			"endpoint": endpoint,
			"payload":  "application/fhir+json",
			"header":   []string{"Authorization: Bearer " + secret},
		},
	}
	b, err := c.do(ctx, http.MethodPost, "Subscription", sub, nil, http.StatusCreated)
	if err != nil {
		return "", fmt.Errorf("creating the tool's Subscription: %w", err)
	}
	var created struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &created); err != nil || created.ID == "" {
		return "", fmt.Errorf("creating the tool's Subscription: no id in the answer")
	}
	return created.ID, nil
}

// Under load HAPI activates Subscriptions late (over a minute) and can undo
// a delete: its activation writes back the version it read, so a
// Subscription deleted while requested, or just after its activation, comes
// back (docs/fhir-server-behaviour.md, "Subscriptions under load"). The tool
// removes its own as `utilreview subscriptions remove` does.
const (
	subscriptionActivation = 3 * time.Minute
	subscriptionQuiet      = 30 * time.Second
	subscriptionRemoval    = 10 * time.Minute // the bound on removal, however HAPI answers
)

// removeSubscription removes the tool's Subscription (and any copy a late
// activation brings back: every Subscription with the run's tag): one still
// requested is left to the server to activate first, unless it is late; a
// delete that fails (HAPI answers 500 when a lock times out, or answers
// after the client's timeout) is tried again next round; done when none has
// been seen for subscriptionQuiet. An error names what is left at the
// deadline of ctx.
func (c *fhirClient) removeSubscription(ctx context.Context, tag runTag) error {
	query := "Subscription?_tag=" + url.QueryEscape(tag.param()) + "&_elements=id,status"
	late := time.Now().Add(subscriptionActivation)
	quiet := time.Now()
	var lastErr error
	for {
		b, err := c.do(ctx, http.MethodGet, query, nil, nil, http.StatusOK)
		var found struct {
			Entry []struct {
				Resource struct {
					ID     string `json:"id"`
					Status string `json:"status"`
				} `json:"resource"`
			} `json:"entry"`
		}
		if err == nil {
			err = json.Unmarshal(b, &found)
		}
		switch {
		case err != nil:
			lastErr = err
		case len(found.Entry) == 0:
			if time.Since(quiet) >= subscriptionQuiet {
				return nil
			}
		default:
			quiet = time.Now()
			for _, e := range found.Entry {
				if e.Resource.Status == "requested" && time.Now().Before(late) {
					continue
				}
				if err := c.delete(ctx, "Subscription/"+e.Resource.ID); err != nil {
					lastErr = err
				}
			}
		}
		if err := sleep(ctx, time.Second); err != nil {
			return fmt.Errorf("Subscriptions tagged %s may be left: %w (last error: %v)", tag.param(), err, lastErr)
		}
	}
}

// waitActive waits until HAPI has activated the Subscription (asynchronous:
// 0.2 s on an idle machine, over a minute under load); an error when it is
// not active by the timeout or is gone.
func (c *fhirClient) waitActive(ctx context.Context, id string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	status := ""
	for time.Now().Before(deadline) {
		b, err := c.do(ctx, http.MethodGet, "Subscription/"+id, nil, nil, http.StatusOK, http.StatusNotFound, http.StatusGone)
		if err == nil {
			var s struct {
				Status string `json:"status"`
			}
			_ = json.Unmarshal(b, &s)
			if status = s.Status; status == "active" {
				return nil
			}
			if status == "" {
				return fmt.Errorf("the tool's Subscription/%s is gone", id)
			}
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("the tool's Subscription/%s is %q, not active, after %s", id, status, timeout)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// The resources of one write are those of the admission-notification
// scenario of testdata/examples/ur-scenarios.json (patient p5): a Patient, a
// Coverage naming the payer Organization, an inpatient Encounter (class IMP,
// in progress) that started an hour ago. That scenario's payer is the
// fictional commercial Acme Health Plan: the Medicare fee-for-service rule
// set disables the admission-notification check (Traditional Medicare
// requires none), so a Medicare stay would never get this Task. Every
// resource carries the run's tag; ids are client-assigned (PUT Type/id).

func payerOrganization(id string, tag runTag) map[string]any {
	return map[string]any{
		"resourceType": "Organization", "id": id,
		"meta":   map[string]any{"tag": []runTag{tag}},
		"active": true, "name": "Acme Health Plan",
		"type": []any{map[string]any{"coding": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "pay"}}}},
	}
}

// admissionBundle is write id's transaction for the server at base: Patient
// pat-<id>, Coverage cov-<id>, Encounter enc-<id>.
func admissionBundle(base, id, payer string, tag runTag, now time.Time) map[string]any {
	meta := map[string]any{"tag": []runTag{tag}}
	pat, cov, enc := "pat-"+id, "cov-"+id, "enc-"+id
	start := now.Add(-time.Hour).Truncate(time.Second)
	entry := func(typ, rid string, r map[string]any) map[string]any {
		r["resourceType"], r["id"], r["meta"] = typ, rid, meta
		return map[string]any{
			"fullUrl":  base + "/" + typ + "/" + rid,
			"resource": r,
			"request":  map[string]any{"method": "PUT", "url": typ + "/" + rid},
		}
	}
	return map[string]any{
		"resourceType": "Bundle",
		"type":         "transaction",
		"entry": []any{
			entry("Patient", pat, map[string]any{
				"identifier": []any{map[string]any{"system": "urn:oid:2.16.840.1.113883.19.5.99999.1", "value": "MRN-" + id}},
				"name":       []any{map[string]any{"family": "Example", "given": []string{"Synthetic"}}},
				"gender":     "unknown",
				"birthDate":  "1980-02-14",
			}),
			entry("Coverage", cov, map[string]any{
				"status":      "active",
				"beneficiary": map[string]any{"reference": "Patient/" + pat},
				"period":      map[string]any{"start": fmt.Sprintf("%d-01-01", start.Year())},
				"payor":       []any{map[string]any{"reference": "Organization/" + payer}},
			}),
			entry("Encounter", enc, map[string]any{
				"identifier": []any{map[string]any{"system": "urn:oid:2.16.840.1.113883.19.5.99999.2", "value": "VE-" + id}},
				"status":     "in-progress",
				"class":      map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
				"subject":    map[string]any{"reference": "Patient/" + pat},
				"period":     map[string]any{"start": start.Format(time.RFC3339)},
				"reasonCode": []any{map[string]any{"coding": []any{map[string]any{
					"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "K35.80"}}}},
			}),
		},
	}
}

// receiver is the tool's rest-hook endpoint on 127.0.0.1: it records when
// each Encounter's first notification arrived and answers 204.
type receiver struct {
	url   string
	srv   *http.Server
	mu    sync.Mutex
	first map[string]*arrival
}

type arrival struct {
	at   time.Time
	done chan struct{}
}

func startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{url: "http://" + ln.Addr().String(), first: map[string]*arrival{}}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serveHTTP), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

func (r *receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	_, _ = io.Copy(io.Discard, req.Body)
	if id, ok := strings.CutPrefix(req.URL.Path, "/Encounter/"); ok && req.Method == http.MethodPut {
		a := r.get(id)
		r.mu.Lock()
		if a.at.IsZero() {
			a.at = now
			close(a.done)
		}
		r.mu.Unlock()
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) get(id string) *arrival {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, ok := r.first[id]
	if !ok {
		a = &arrival{done: make(chan struct{})}
		r.first[id] = a
	}
	return a
}

// expect returns a channel closed when the Encounter's first notification
// has arrived.
func (r *receiver) expect(id string) <-chan struct{} { return r.get(id).done }

// arrival is when the Encounter's first notification arrived.
func (r *receiver) arrival(id string) (time.Time, bool) {
	a := r.get(id)
	r.mu.Lock()
	defer r.mu.Unlock()
	return a.at, !a.at.IsZero()
}

func (r *receiver) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
}

// checkReady requires the service's /readyz to answer 200 or 204.
func checkReady(ctx context.Context, base string) error {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: dialLoopback}}
	defer c.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("service not ready: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("service not ready: %s/readyz answered %d", base, resp.StatusCode)
	}
	return nil
}
