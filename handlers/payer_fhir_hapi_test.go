package handlers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/payerapi"
	"github.com/utilreview/utilreview/service/payerapi/payerapitest"
	"github.com/utilreview/utilreview/service/payerauth"
)

const payerTestPublic = "https://ur.example.org"

// payerEnv is the payer API over the shared HAPI and Redis, behind a test
// middleware that puts the Principal named by the X-Test-Client header in
// the context (the authentication middleware's contract).
type payerEnv struct {
	t       *testing.T
	srv     *httptest.Server
	api     *payerapi.API
	logs    *bytes.Buffer
	a, b    payerauth.Identifier
	detsA   []payerapitest.Determination
	detsB   []payerapitest.Determination
	fhirURL string
	unique  string
	otherID string // a ClaimResponse of payer A's Organization without the determination identifier
	before  time.Time
}

func principals(a, b payerauth.Identifier) map[string]payerauth.Principal {
	return map[string]payerauth.Principal{
		"a":        {ClientID: "client-a", Payer: a, Scopes: []string{"system/ClaimResponse.rs"}},
		"a-read":   {ClientID: "client-a2", Payer: a, Scopes: []string{"system/ClaimResponse.read"}},
		"a-noscop": {ClientID: "client-a3", Payer: a, Scopes: []string{"system/Patient.rs"}},
		"b":        {ClientID: "client-b", Payer: b, Scopes: []string{"system/ClaimResponse.rs"}},
	}
}

func testPrincipal(ps map[string]payerauth.Principal) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if p, ok := ps[c.Request().Header.Get("X-Test-Client")]; ok {
				r := c.Request()
				c.SetRequest(r.WithContext(payerauth.WithPrincipal(r.Context(), p)))
			}
			return next(c)
		}
	}
}

func newPayerEnv(t *testing.T, exp payerapi.ExportConfig) *payerEnv {
	t.Helper()
	fhirURL := harness.FHIRURL(t)
	rdb, prefix := harness.Redis(t)
	unique := harness.UniqueID("pa")
	env := &payerEnv{t: t, fhirURL: fhirURL, unique: unique, logs: &bytes.Buffer{},
		a:      payerauth.Identifier{System: payerapitest.PayerSystem, Value: "A-" + unique},
		b:      payerauth.Identifier{System: payerapitest.PayerSystem, Value: "B-" + unique},
		before: time.Now().Add(-2 * time.Second).UTC()}
	start := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	var err error
	env.detsA, err = payerapitest.Load(fhirURL, payerapitest.Spec{Payer: env.a, Patients: []string{"MRN-A1-" + unique, "MRN-A2-" + unique},
		N: 5, Start: start, Unique: "a-" + unique})
	if err != nil {
		t.Fatal(err)
	}
	env.detsB, err = payerapitest.Load(fhirURL, payerapitest.Spec{Payer: env.b, Patients: []string{"MRN-B1-" + unique},
		N: 2, Start: start, Unique: "b-" + unique})
	if err != nil {
		t.Fatal(err)
	}
	// A ClaimResponse of payer A's Organization that is not a determination
	// (another system's identifier): never served.
	other := payerapitest.Determination{ID: "other-" + unique, Identifier: "x", Created: start}
	env.otherID = other.ID
	res := payerapitest.ClaimResponse(other, payerapitest.Spec{Payer: env.a, System: "urn:example:not-utilreview"},
		"Patient/pat-a-"+unique+"-0", "Organization/org-a-"+unique)
	harness.NewFHIR(t).Put("ClaimResponse/"+other.ID, res).MustStatus(t, http.StatusCreated, http.StatusOK)

	client, err := fhir.NewClient(fhir.ClientConfig{BaseURL: fhirURL})
	if err != nil {
		t.Fatal(err)
	}
	if exp.Poll == 0 {
		exp.Poll = 100 * time.Millisecond
	}
	env.api, err = payerapi.New(payerapi.Config{PublicURL: payerTestPublic, DeterminationSystem: payerapitest.DeterminationSystem,
		RedisPrefix: prefix, Export: exp}, client, rdb)
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	RegisterPayerFHIR(e.Group(PayerFHIRPrefix), e.Group(PayerFHIRPrefix, testPrincipal(principals(env.a, env.b))), env.api,
		slog.New(slog.NewJSONHandler(env.logs, nil)))
	env.srv = httptest.NewServer(e)
	t.Cleanup(env.srv.Close)
	return env
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request as client (a key of principals, "" for none) to a path
// under the payer API or to one of its absolute URLs.
func (env *payerEnv) do(method, client, pathOrURL string, header map[string]string) resp {
	env.t.Helper()
	u := pathOrURL
	if strings.HasPrefix(u, payerTestPublic) {
		u = strings.TrimPrefix(u, payerTestPublic)
	}
	if !strings.HasPrefix(u, PayerFHIRPrefix) {
		u = PayerFHIRPrefix + u
	}
	req, _ := http.NewRequest(method, env.srv.URL+u, nil)
	if client != "" {
		req.Header.Set("X-Test-Client", client)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	r, err := env.srv.Client().Do(req)
	if err != nil {
		env.t.Fatal(err)
	}
	defer r.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(r.Body)
	return resp{r.StatusCode, r.Header, buf.Bytes()}
}

func (env *payerEnv) get(client, path string) resp {
	env.t.Helper()
	return env.do(http.MethodGet, client, path, nil)
}

type searchBundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Link         []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []struct {
		FullURL  string `json:"fullUrl"`
		Resource struct {
			ID string `json:"id"`
		} `json:"resource"`
	} `json:"entry"`
}

func (b searchBundle) next() string {
	for _, l := range b.Link {
		if l.Relation == "next" {
			return l.URL
		}
	}
	return ""
}

func (b searchBundle) ids() []string {
	var ids []string
	for _, e := range b.Entry {
		ids = append(ids, e.Resource.ID)
	}
	slices.Sort(ids)
	return ids
}

func decodeBundle(t *testing.T, r resp) searchBundle {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", r.status, r.body)
	}
	var b searchBundle
	if err := json.Unmarshal(r.body, &b); err != nil || b.ResourceType != "Bundle" || b.Type != "searchset" {
		t.Fatalf("not a searchset Bundle: %s", r.body)
	}
	for _, e := range b.Entry {
		if e.FullURL != payerTestPublic+PayerFHIRPrefix+"/ClaimResponse/"+e.Resource.ID {
			t.Errorf("fullUrl %q is not the service's own", e.FullURL)
		}
	}
	for _, l := range b.Link {
		if !strings.HasPrefix(l.URL, payerTestPublic+PayerFHIRPrefix+"/") {
			t.Errorf("link %s %q is not the service's own", l.Relation, l.URL)
		}
	}
	return b
}

func idsOf(ds []payerapitest.Determination, keep func(payerapitest.Determination) bool) []string {
	var ids []string
	for _, d := range ds {
		if keep == nil || keep(d) {
			ids = append(ids, d.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

func wantOutcome(t *testing.T, r resp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	var oo struct {
		ResourceType string `json:"resourceType"`
	}
	if json.Unmarshal(r.body, &oo); oo.ResourceType != "OperationOutcome" {
		t.Fatalf("status %d without an OperationOutcome: %s", r.status, r.body)
	}
}

// TestPayerAPIReadAndSearch: payer A reads its determinations by id and by
// each supported search parameter, and pages through them; payer B sees
// none of them, not even through A's paging links (issue 9 §3, §4).
func TestPayerAPIReadAndSearch(t *testing.T) {
	t.Parallel()
	env := newPayerEnv(t, payerapi.ExportConfig{})
	allA := idsOf(env.detsA, nil)

	t.Run("read", func(t *testing.T) {
		for _, client := range []string{"a", "a-read"} {
			r := env.get(client, "/ClaimResponse/"+env.detsA[0].ID)
			if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(`"id":"`+env.detsA[0].ID+`"`)) {
				t.Fatalf("%s: read: %d %s", client, r.status, r.body)
			}
			if r.header.Get("ETag") != `W/"1"` || r.header.Get("Last-Modified") == "" {
				t.Errorf("read without ETag W/\"1\" and Last-Modified: %v", r.header)
			}
		}
		// Another payer's, one that does not exist, one that is not a
		// determination, a malformed id: all the same 404.
		for _, c := range []struct{ client, id string }{
			{"b", env.detsA[0].ID}, {"a", env.detsB[0].ID}, {"a", "no-such-" + env.unique}, {"a", env.otherID}, {"a", "bad%20id"},
		} {
			wantOutcome(t, env.get(c.client, "/ClaimResponse/"+c.id), http.StatusNotFound)
		}
	})

	t.Run("search", func(t *testing.T) {
		created2 := env.detsA[2].Created.Format(time.RFC3339)
		tests := []struct {
			name, query string
			want        []string
		}{
			{"all", "", allA},
			{"identifier", "identifier=" + url.QueryEscape(payerapitest.DeterminationSystem+"|"+env.detsA[3].Identifier), []string{env.detsA[3].ID}},
			{"identifier value only", "identifier=" + url.QueryEscape(env.detsA[1].Identifier), []string{env.detsA[1].ID}},
			{"patient.identifier", "patient.identifier=" + url.QueryEscape(payerapitest.PatientSystem+"|"+env.detsA[0].Patient),
				idsOf(env.detsA, func(d payerapitest.Determination) bool { return d.Patient == env.detsA[0].Patient })},
			{"created ge", "created=" + url.QueryEscape("ge"+created2),
				idsOf(env.detsA, func(d payerapitest.Determination) bool { return !d.Created.Before(env.detsA[2].Created) })},
			{"created range", "created=" + url.QueryEscape("gt"+env.detsA[0].Created.Format(time.RFC3339)) + "&created=" + url.QueryEscape("lt"+env.detsA[4].Created.Format(time.RFC3339)),
				[]string{env.detsA[1].ID, env.detsA[2].ID, env.detsA[3].ID}},
			{"created day", "created=2026-11-01", allA},
			{"_lastUpdated gt", "_lastUpdated=" + url.QueryEscape("gt"+env.before.Format(time.RFC3339)), allA},
			{"_lastUpdated lt", "_lastUpdated=" + url.QueryEscape("lt"+env.before.Format(time.RFC3339)), nil},
			{"another payer's identifier", "identifier=" + url.QueryEscape(env.detsB[0].Identifier), nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				b := decodeBundle(t, env.get("a", "/ClaimResponse?"+tt.query))
				if got := b.ids(); !slices.Equal(got, tt.want) {
					t.Errorf("ids %v, want %v", got, tt.want)
				}
			})
		}
		// Payer B finds only its own, whatever it asks.
		b := decodeBundle(t, env.get("b", "/ClaimResponse?identifier="+url.QueryEscape(env.detsA[3].Identifier)))
		if len(b.Entry) != 0 {
			t.Errorf("payer B found payer A's determination: %v", b.ids())
		}
		if got := decodeBundle(t, env.get("b", "/ClaimResponse")).ids(); !slices.Equal(got, idsOf(env.detsB, nil)) {
			t.Errorf("payer B: %v, want its own %v", got, idsOf(env.detsB, nil))
		}
	})

	t.Run("paging", func(t *testing.T) {
		var got []string
		next, pages := "/ClaimResponse?_count=2", 0
		var firstNext string
		for next != "" {
			b := decodeBundle(t, env.get("a", next))
			if len(b.Entry) > 2 {
				t.Fatalf("page of %d entries with _count=2", len(b.Entry))
			}
			got = append(got, b.ids()...)
			next = b.next()
			if pages == 0 {
				firstNext = next
			}
			if pages++; pages > 5 {
				t.Fatal("more than 5 pages")
			}
		}
		slices.Sort(got)
		if pages != 3 || !slices.Equal(got, allA) {
			t.Errorf("%d pages with %v, want 3 pages with %v", pages, got, allA)
		}
		if strings.Contains(firstNext, env.fhirURL) || strings.Contains(firstNext, "_getpages") {
			t.Errorf("next link passes the FHIR server's through: %s", firstNext)
		}
		// Payer B replaying A's next link: 404; A again: still its page.
		wantOutcome(t, env.get("b", firstNext), http.StatusNotFound)
		if b := decodeBundle(t, env.get("a", firstNext)); len(b.Entry) != 2 {
			t.Errorf("replayed next link: %d entries, want 2", len(b.Entry))
		}
		wantOutcome(t, env.get("a", "/ClaimResponse?_page=AAAAAAAAAAAAAAAAAAAAAA"), http.StatusNotFound)
		wantOutcome(t, env.get("a", "/ClaimResponse?_page=x"), http.StatusNotFound)
		wantOutcome(t, env.get("a", strings.Replace(firstNext, "?", "?identifier=x&", 1)), http.StatusBadRequest)
	})

	t.Run("refused", func(t *testing.T) {
		wantOutcome(t, env.get("", "/ClaimResponse/"+env.detsA[0].ID), http.StatusUnauthorized)
		wantOutcome(t, env.get("", "/ClaimResponse"), http.StatusUnauthorized)
		wantOutcome(t, env.get("a-noscop", "/ClaimResponse/"+env.detsA[0].ID), http.StatusForbidden)
		wantOutcome(t, env.get("a-noscop", "/ClaimResponse"), http.StatusForbidden)
		for _, q := range []string{"status=active", "patient=Patient/1", "identifier:text=x", "_sort=created", "_include=ClaimResponse:patient",
			"created=2026-13-01", "created=ap2026-11-01", "created=" + url.QueryEscape("ge2026-11-01T10:00:00"), "identifier=a,b", "identifier=",
			"_count=0", "_count=1000", "_count=x", "_format=xml", "identifier=a&identifier=b"} {
			r := env.get("a", "/ClaimResponse?"+q)
			wantOutcome(t, r, http.StatusBadRequest)
			if bytes.Contains(r.body, []byte("MRN")) {
				t.Errorf("%s: the refusal shows a value: %s", q, r.body)
			}
		}
		wantOutcome(t, env.get("a", "/ClaimResponse/"+env.detsA[0].ID+"?identifier=x"), http.StatusBadRequest)
	})

	t.Run("audit", func(t *testing.T) {
		logs := env.logs.String()
		if !strings.Contains(logs, `"audit":"payer-api"`) || !strings.Contains(logs, env.detsA[0].ID) ||
			!strings.Contains(logs, `"client_id":"client-b"`) || !strings.Contains(logs, `"outcome":"not-found"`) {
			t.Errorf("audit lines missing: %.2000s", logs)
		}
		if !strings.Contains(logs, `"requested":"`+env.detsA[0].ID+`"`) {
			t.Errorf("payer B's attempt at A's determination is not audited with the id")
		}
		if strings.Contains(logs, "MRN-") {
			t.Errorf("audit log shows a patient identifier value")
		}
	})
}

// TestPayerAPIMetadata: the CapabilityStatement and SMART configuration are
// public and say what the API serves.
func TestPayerAPIMetadata(t *testing.T) {
	t.Parallel()
	env := newPayerEnv(t, payerapi.ExportConfig{})
	r := env.get("", "/metadata")
	var cs struct {
		ResourceType string `json:"resourceType"`
		Rest         []struct {
			Security struct {
				Service []struct {
					Coding []struct{ Code string } `json:"coding"`
				} `json:"service"`
				Extension []struct {
					URL       string `json:"url"`
					Extension []struct {
						URL      string `json:"url"`
						ValueURI string `json:"valueUri"`
					} `json:"extension"`
				} `json:"extension"`
			} `json:"security"`
			Resource []struct {
				Type        string `json:"type"`
				Interaction []struct{ Code string }
				SearchParam []struct{ Name string }
			} `json:"resource"`
			Operation []struct{ Name string } `json:"operation"`
		} `json:"rest"`
	}
	if err := json.Unmarshal(r.body, &cs); err != nil || r.status != 200 || cs.ResourceType != "CapabilityStatement" {
		t.Fatalf("metadata: %d %s", r.status, r.body)
	}
	rest := cs.Rest[0]
	if rest.Security.Service[0].Coding[0].Code != "SMART-on-FHIR" || rest.Security.Extension[0].Extension[0].ValueURI != payerTestPublic+"/payer/auth/token" {
		t.Errorf("security: %+v", rest.Security)
	}
	var names []string
	for _, p := range rest.Resource[0].SearchParam {
		names = append(names, p.Name)
	}
	if rest.Resource[0].Type != "ClaimResponse" || len(rest.Resource) != 1 || !slices.Equal(names, []string{"identifier", "patient", "created", "_lastUpdated"}) ||
		len(rest.Operation) != 1 || rest.Operation[0].Name != "export" {
		t.Errorf("resources and operations: %s", r.body)
	}
	var sc map[string]any
	r = env.get("", "/.well-known/smart-configuration")
	if err := json.Unmarshal(r.body, &sc); err != nil || r.status != 200 || sc["token_endpoint"] != payerTestPublic+"/payer/auth/token" {
		t.Fatalf("smart-configuration: %d %s", r.status, r.body)
	}
}

// exportEnv kicks an export off as client and returns its status URL.
func (env *payerEnv) kickoff(client, query string) string {
	env.t.Helper()
	r := env.do(http.MethodGet, client, "/$export"+query, map[string]string{"Prefer": "respond-async", "Accept": "application/fhir+json"})
	if r.status != http.StatusAccepted || r.header.Get("Content-Location") == "" {
		env.t.Fatalf("kick-off: %d %s", r.status, r.body)
	}
	return r.header.Get("Content-Location")
}

type manifest struct {
	TransactionTime     string `json:"transactionTime"`
	Request             string `json:"request"`
	RequiresAccessToken bool   `json:"requiresAccessToken"`
	Output              []struct {
		Type  string `json:"type"`
		URL   string `json:"url"`
		Count int    `json:"count"`
	} `json:"output"`
	Error []any `json:"error"`
}

func (env *payerEnv) waitManifest(client, status string) manifest {
	env.t.Helper()
	var m manifest
	harness.Eventually(env.t, 60*time.Second, 100*time.Millisecond, "export complete", func() (bool, error) {
		r := env.get(client, status)
		switch r.status {
		case http.StatusAccepted:
			if r.header.Get("X-Progress") == "" || r.header.Get("Retry-After") == "" {
				env.t.Fatalf("202 without X-Progress and Retry-After: %v", r.header)
			}
			return false, nil
		case http.StatusOK:
			if r.header.Get("Expires") == "" {
				env.t.Fatalf("manifest without Expires")
			}
			return true, json.Unmarshal(r.body, &m)
		}
		env.t.Fatalf("status poll: %d %s", r.status, r.body)
		return false, nil
	})
	return m
}

// readExport reads every output file of a manifest as client and returns
// the ids, sorted, failing on a duplicate.
func (env *payerEnv) readExport(client string, m manifest) []string {
	env.t.Helper()
	var ids []string
	for _, o := range m.Output {
		r := env.get(client, o.URL)
		if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/fhir+ndjson" || r.header.Get("Expires") == "" {
			env.t.Fatalf("file %s: %d %v %s", o.URL, r.status, r.header, r.body)
		}
		sc := bufio.NewScanner(bytes.NewReader(r.body))
		sc.Buffer(nil, 1<<20)
		n := 0
		for sc.Scan() {
			var res struct {
				ResourceType, ID string
			}
			if err := json.Unmarshal(sc.Bytes(), &res); err != nil || res.ResourceType != "ClaimResponse" {
				env.t.Fatalf("NDJSON line: %v %s", err, sc.Bytes())
			}
			ids = append(ids, res.ID)
			n++
		}
		if n != o.Count {
			env.t.Errorf("file %s: %d lines, manifest count %d", o.URL, n, o.Count)
		}
	}
	slices.Sort(ids)
	if c := slices.Compact(slices.Clone(ids)); len(c) != len(ids) {
		env.t.Errorf("duplicates in the export: %v", ids)
	}
	return ids
}

// TestPayerAPIExport: payer A exports its determinations (Bulk Data); payer
// B gets 404 on A's status and file URLs and cannot cancel A's job; DELETE
// cancels; bad kick-offs are refused.
func TestPayerAPIExport(t *testing.T) {
	t.Parallel()
	env := newPayerEnv(t, payerapi.ExportConfig{PageSize: 2, FileBytes: 2500})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = env.api.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	status := env.kickoff("a", "?_type=ClaimResponse")
	if !strings.HasPrefix(status, payerTestPublic+PayerFHIRPrefix+"/$export-status/") {
		t.Fatalf("Content-Location %q is not the service's", status)
	}
	// B polling A's job before and after completion: 404.
	wantOutcome(t, env.get("b", status), http.StatusNotFound)
	m := env.waitManifest("a", status)
	if !m.RequiresAccessToken || m.TransactionTime == "" || !strings.HasSuffix(m.Request, "/$export?_type=ClaimResponse") || m.Error == nil {
		t.Errorf("manifest: %+v", m)
	}
	if len(m.Output) < 2 {
		t.Errorf("FileBytes 2500 should cut 5 determinations into several files, got %d", len(m.Output))
	}
	if got := env.readExport("a", m); !slices.Equal(got, idsOf(env.detsA, nil)) {
		t.Errorf("export: %v, want %v", got, idsOf(env.detsA, nil))
	}
	wantOutcome(t, env.get("b", status), http.StatusNotFound)
	wantOutcome(t, env.get("b", m.Output[0].URL), http.StatusNotFound)
	wantOutcome(t, env.do(http.MethodDelete, "b", status, nil), http.StatusNotFound)
	// Another client of payer A: the job is the kick-off client's.
	wantOutcome(t, env.get("a-read", status), http.StatusNotFound)
	wantOutcome(t, env.get("a-read", m.Output[0].URL), http.StatusNotFound)
	wantOutcome(t, env.get("", m.Output[0].URL), http.StatusUnauthorized)
	wantOutcome(t, env.get("a-noscop", m.Output[0].URL), http.StatusForbidden)

	// _since: only what changed since (the load happened before now).
	since := time.Now().UTC().Add(time.Second).Format(time.RFC3339)
	m2 := env.waitManifest("a", env.kickoff("a", "?_type=ClaimResponse&_since="+url.QueryEscape(since)))
	if len(m2.Output) != 0 {
		t.Errorf("_since after the load: %+v, want no output", m2.Output)
	}

	// DELETE cancels: the status and the files are gone.
	wantOutcome(t, env.do(http.MethodDelete, "a", status, nil), http.StatusAccepted)
	wantOutcome(t, env.get("a", status), http.StatusNotFound)
	wantOutcome(t, env.get("a", m.Output[0].URL), http.StatusNotFound)

	// Refused kick-offs.
	wantOutcome(t, env.do(http.MethodGet, "a", "/$export", nil), http.StatusBadRequest) // no Prefer
	for _, q := range []string{"?_type=Patient", "?_since=2026-11-01", "?_since=yesterday", "?_typeFilter=x", "?_outputFormat=text/csv", "?_elements=id"} {
		wantOutcome(t, env.do(http.MethodGet, "a", "/$export"+q, map[string]string{"Prefer": "respond-async"}), http.StatusBadRequest)
	}
	wantOutcome(t, env.do(http.MethodGet, "", "/$export", map[string]string{"Prefer": "respond-async"}), http.StatusUnauthorized)
}
