package handlers_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/handlers"
	"github.com/utilreview/utilreview/service/payerapi"
	"github.com/utilreview/utilreview/service/payerauth"
)

// payerServer is the service's Server with the payer API on, over a FHIR
// server and a Redis that are never reached: these tests answer before any
// I/O (public routes, refusals).
func payerServer(t *testing.T, auth echo.MiddlewareFunc) *testServer {
	t.Helper()
	client, err := fhir.NewClient(fhir.ClientConfig{BaseURL: "http://127.0.0.1:1/fhir", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = rdb.Close() })
	api, err := payerapi.New(payerapi.Config{PublicURL: "https://ur.example.org/", DeterminationSystem: "https://utilreview.dev/fhir/identifier/determination"}, client, rdb)
	if err != nil {
		t.Fatal(err)
	}
	return newTestServer(t, func(c *handlers.Config) { c.PayerFHIR, c.PayerFHIRAuth = api, auth })
}

// withPrincipal stands in for the payer authentication middleware.
func withPrincipal(p payerauth.Principal) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.SetRequest(c.Request().WithContext(payerauth.WithPrincipal(c.Request().Context(), p)))
			return next(c)
		}
	}
}

// TestPayerFHIRRoutes: metadata and the SMART configuration are public;
// every other route needs the Principal (401 without the authentication
// middleware), a ClaimResponse scope (403) and supported parameters (400),
// each answered with an OperationOutcome, and audit-logged.
func TestPayerFHIRRoutes(t *testing.T) {
	payer := payerauth.Identifier{System: "urn:example:payer", Value: "P1"}
	tests := []struct {
		name   string
		auth   echo.MiddlewareFunc
		method string
		target string
		header []string
		want   int
	}{
		{"metadata without a token", nil, http.MethodGet, "/payer/fhir/metadata", nil, http.StatusOK},
		{"smart-configuration without a token", nil, http.MethodGet, "/payer/fhir/.well-known/smart-configuration", nil, http.StatusOK},
		{"read without a principal", nil, http.MethodGet, "/payer/fhir/ClaimResponse/1", nil, http.StatusUnauthorized},
		{"search without a principal", nil, http.MethodGet, "/payer/fhir/ClaimResponse", nil, http.StatusUnauthorized},
		{"export without a principal", nil, http.MethodGet, "/payer/fhir/$export", []string{"Prefer", "respond-async"}, http.StatusUnauthorized},
		{"file without a principal", nil, http.MethodGet, "/payer/fhir/$export-file/AAAAAAAAAAAAAAAAAAAAAA/1", nil, http.StatusUnauthorized},
		{"read with another type's scope", withPrincipal(payerauth.Principal{ClientID: "c", Payer: payer, Scopes: []string{"system/Patient.rs"}}),
			http.MethodGet, "/payer/fhir/ClaimResponse/1", nil, http.StatusForbidden},
		{"search with read only", withPrincipal(payerauth.Principal{ClientID: "c", Payer: payer, Scopes: []string{"system/ClaimResponse.r"}}),
			http.MethodGet, "/payer/fhir/ClaimResponse?identifier=x", nil, http.StatusForbidden},
		{"unsupported parameter", withPrincipal(payerauth.Principal{ClientID: "c", Payer: payer, Scopes: []string{"system/ClaimResponse.rs"}}),
			http.MethodGet, "/payer/fhir/ClaimResponse?status=active", nil, http.StatusBadRequest},
		{"export without Prefer", withPrincipal(payerauth.Principal{ClientID: "c", Payer: payer, Scopes: []string{"system/ClaimResponse.rs"}}),
			http.MethodGet, "/payer/fhir/$export", nil, http.StatusBadRequest},
		{"export of another type", withPrincipal(payerauth.Principal{ClientID: "c", Payer: payer, Scopes: []string{"system/ClaimResponse.rs"}}),
			http.MethodGet, "/payer/fhir/$export?_type=Patient", []string{"Prefer", "respond-async"}, http.StatusBadRequest},
		{"a malformed job id", withPrincipal(payerauth.Principal{ClientID: "c", Payer: payer, Scopes: []string{"system/ClaimResponse.rs"}}),
			http.MethodGet, "/payer/fhir/$export-status/nope", nil, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := payerServer(t, tt.auth)
			w := ts.do(request(tt.method, tt.target, nil, tt.header...))
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("not JSON: %s", w.Body)
			}
			if tt.want >= 400 && body["resourceType"] != "OperationOutcome" {
				t.Errorf("refusal without an OperationOutcome: %s", w.Body)
			}
			if tt.want == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			// RFC 6750 §3.1: a missing scope says which one is needed.
			if tt.want == http.StatusForbidden && !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="insufficient_scope", scope="system/ClaimResponse.`) {
				t.Errorf("403 with WWW-Authenticate %q, want insufficient_scope naming the scope", w.Header().Get("WWW-Authenticate"))
			}
			if strings.Contains(tt.target, "ClaimResponse") && !strings.Contains(ts.logbuf.String(), `"msg":"payer access"`) {
				t.Errorf("no audit line: %s", ts.logbuf.String())
			}
		})
	}
}
