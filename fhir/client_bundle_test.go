package fhir

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// pagedServer serves a search over three pages linked by next links (HAPI's
// form: the base with _getpages), with an include and an outcome entry.
func pagedServer(t *testing.T, lastNext func(base string) string) (base string, requests *atomic.Int32) {
	t.Helper()
	requests = &atomic.Int32{}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	base = srv.URL + "/fhir"
	page := func(w http.ResponseWriter, entries, next string) {
		links := `{"relation":"self","url":"` + base + `/Encounter"}`
		if next != "" {
			links += `,{"relation":"next","url":"` + next + `"}`
		}
		w.Header().Set("Content-Type", fhirJSON)
		fmt.Fprintf(w, `{"resourceType":"Bundle","type":"searchset","link":[%s],"entry":[%s]}`, links, entries)
	}
	entry := func(typ, id, mode string) string {
		return fmt.Sprintf(`{"fullUrl":"%s/%s/%s","resource":{"resourceType":"%s","id":"%s"},"search":{"mode":"%s"}}`, base, typ, id, typ, id, mode)
	}
	mux.HandleFunc("/fhir/Encounter", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		page(w, entry("Encounter", "e1", "match")+","+entry("Patient", "p1", "include")+","+entry("OperationOutcome", "oo", "outcome"),
			base+"?_getpages=abc&_getpagesoffset=2")
	})
	mux.HandleFunc("/fhir", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		switch r.URL.Query().Get("_getpagesoffset") {
		case "2":
			page(w, entry("Encounter", "e2", "match")+`,{"fullUrl":"`+base+`/Encounter/e3","resource":{"resourceType":"Encounter","id":"e3"}}`,
				base+"?_getpages=abc&_getpagesoffset=4")
		case "4":
			page(w, entry("Encounter", "e4", "match"), lastNext(base))
		default:
			http.NotFound(w, r)
		}
	})
	return base, requests
}

func TestSearchFollowsNextLinks(t *testing.T) {
	t.Parallel()
	base, requests := pagedServer(t, func(string) string { return "" })
	c := newTestClient(t, base, ClientConfig{})
	var got []string
	err := c.Search(context.Background(), "Encounter", url.Values{"patient": {"p1"}}, func(e Entry) error {
		got = append(got, fmt.Sprintf("%s %s", e.Mode, RelativeRef(e.FullURL)))
		if len(e.Resource) == 0 {
			t.Errorf("entry %s without its resource", e.FullURL)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "[match Encounter/e1 include Patient/p1 match Encounter/e2 match Encounter/e3 match Encounter/e4]"
	if fmt.Sprint(got) != want {
		t.Errorf("got %v, want %s", got, want)
	}
	if n := requests.Load(); n != 3 {
		t.Errorf("server got %d requests, want 3 pages", n)
	}
}

func TestSearchStopsOnCallbackError(t *testing.T) {
	t.Parallel()
	base, requests := pagedServer(t, func(string) string { return "" })
	c := newTestClient(t, base, ClientConfig{})
	stop := errors.New("enough")
	n := 0
	err := c.Search(context.Background(), "Encounter", nil, func(Entry) error {
		n++
		return stop
	})
	if err != stop || n != 1 || requests.Load() != 1 {
		t.Errorf("got error %v after %d entries and %d requests; want the callback's error after 1 and 1", err, n, requests.Load())
	}
}

func TestSearchRefusesNextLinkOutsideTheBase(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	t.Cleanup(other.Close)
	tests := map[string]func(base string) string{
		"other server":     func(string) string { return other.URL + "/fhir?_getpages=abc&_getpagesoffset=6" },
		"sibling path":     func(base string) string { return base + "-admin?_getpages=abc" },
		"dot segments":     func(base string) string { return base + "/../admin?x=1" },
		"same page again":  func(base string) string { return base + "?_getpages=abc&_getpagesoffset=2" },
		"user info in URL": func(base string) string { return strings.Replace(base, "http://", "http://u:p@", 1) + "?_getpages=abc" },
	}
	for name, next := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			base, requests := pagedServer(t, next)
			c := newTestClient(t, base, ClientConfig{Auth: &tokens{}})
			entries := 0
			err := c.Search(context.Background(), "Encounter", nil, func(Entry) error { entries++; return nil })
			var fe *Error
			if !errors.As(err, &fe) || fe.Op != "search" || fe.Path != "Encounter" {
				t.Fatalf("got %v, want a search *Error", err)
			}
			if strings.Contains(err.Error(), "_getpages") {
				t.Errorf("Error() = %q shows the link's query", err)
			}
			if entries != 5 || requests.Load() != 3 {
				t.Errorf("got %d entries over %d requests, want 5 over 3 before the refusal", entries, requests.Load())
			}
		})
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the other server got %d requests", n)
	}
}

func TestBatchEntries(t *testing.T) {
	t.Parallel()
	answer := `{"resourceType":"Bundle","type":"batch-response","entry":[
	 {"resource":{"resourceType":"Bundle","type":"searchset","entry":[{"fullUrl":"http://x/fhir/Coverage/c1","resource":{"resourceType":"Coverage","id":"c1"},"search":{"mode":"match"}}]},
	  "response":{"status":"200 OK"}},
	 {"response":{"status":"201 Created","location":"Task/t1/_history/1","etag":"W/\"1\"","lastModified":"2026-11-29T13:40:22.645+00:00"}},
	 {"response":{"status":"404","outcome":{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found","diagnostics":"Resource Patient/secret-p is not known"}]}}}]}`
	rc := &recorder{answers: []func(http.ResponseWriter, *http.Request){fhirBody(200, answer)}}
	c := newTestClient(t, serve(t, rc), ClientConfig{})
	bundle := []byte(`{"resourceType":"Bundle","type":"batch","entry":[]}`)
	entries, err := c.Batch(context.Background(), bundle)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Fatalf("got %d entries, want 3", len(entries))
	}
	if r := rc.req(0); r.Method != "POST" || r.URL.Path != "/fhir" || r.Header.Get("Content-Type") != fhirJSON {
		t.Errorf("request %s %s (%s), want POST to the base", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
	}
	if got := rc.body(0); got != string(bundle) {
		t.Errorf("server got body %s", got)
	}
	if e := entries[0]; e.Response.Status != 200 {
		t.Errorf("entry 0 status %d", e.Response.Status)
	}
	var inner []string
	if err := c.SearchPages(context.Background(), entries[0].Resource, func(e Entry) error {
		inner = append(inner, e.Mode+" "+RelativeRef(e.FullURL))
		return nil
	}); err != nil || fmt.Sprint(inner) != "[match Coverage/c1]" {
		t.Errorf("SearchPages over entry 0: %v, %v", inner, err)
	}
	want1 := EntryResponse{Status: 201, Location: "Task/t1/_history/1", Etag: `W/"1"`, LastModified: "2026-11-29T13:40:22.645+00:00"}
	if e := entries[1]; *e.Response != want1 || e.Resource != nil {
		t.Errorf("entry 1 = %+v, want %+v", *e.Response, want1)
	}
	if e := entries[2]; e.Response.Status != 404 || e.Response.Outcome == nil || e.Response.Outcome.Issues[0].Code != "not-found" {
		t.Errorf("entry 2 response %+v", e.Response)
	}
}

func TestTransactionFailureIsAnError(t *testing.T) {
	t.Parallel()
	outcome := `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"conflict","diagnostics":"HAPI-2745: ` + secretDiagnostics + `"}]}`
	rc := &recorder{answers: []func(http.ResponseWriter, *http.Request){fhirBody(409, outcome)}}
	c := newTestClient(t, serve(t, rc), ClientConfig{})
	_, err := c.Transaction(context.Background(), []byte(`{"resourceType":"Bundle","type":"transaction"}`))
	if !IsStatus(err, 409) {
		t.Fatalf("got %v, want 409", err)
	}
	if text := err.Error(); !strings.Contains(text, "fhir transaction: POST [base]: 409 Conflict: error conflict [HAPI-2745]") || strings.Contains(text, "Zebulon") {
		t.Errorf("Error() = %q", text)
	}
}

func TestBundleAnswerChecked(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"not json":         `<html>`,
		"not a bundle":     `{"resourceType":"OperationOutcome"}`,
		"wrong type":       `{"resourceType":"Bundle","type":"batch-response","entry":[]}`,
		"entry without rs": `{"resourceType":"Bundle","type":"transaction-response","entry":[{"resource":{}}]}`,
	}
	for name, body := range tests {
		rc := &recorder{answers: []func(http.ResponseWriter, *http.Request){fhirBody(200, body)}}
		c := newTestClient(t, serve(t, rc), ClientConfig{})
		if _, err := c.Transaction(context.Background(), []byte(`{}`)); err == nil {
			t.Errorf("%s: got no error", name)
		}
	}
}

func TestHistoryPagesPassEveryEntry(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, "http://127.0.0.1:1/fhir", ClientConfig{})
	history := `{"resourceType":"Bundle","type":"history","entry":[
	 {"fullUrl":"http://x/fhir/Encounter/e1","request":{"method":"DELETE","url":"Encounter/e1"},"response":{"status":"204"}},
	 {"fullUrl":"http://x/fhir/Encounter/e2","resource":{"resourceType":"Encounter","id":"e2"},"request":{"method":"PUT","url":"Encounter/e2"}}]}`
	var got []string
	err := c.SearchPages(context.Background(), []byte(history), func(e Entry) error {
		got = append(got, fmt.Sprintf("%s %s %v", e.Request.Method, e.Request.URL, e.Resource != nil))
		return nil
	})
	if err != nil || fmt.Sprint(got) != "[DELETE Encounter/e1 false PUT Encounter/e2 true]" {
		t.Errorf("got %v, %v", got, err)
	}
	if err := c.SearchPages(context.Background(), []byte(`{"resourceType":"Bundle","type":"collection"}`), func(Entry) error { return nil }); err == nil {
		t.Error("a collection Bundle: got no error")
	}
}
