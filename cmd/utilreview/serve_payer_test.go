package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/utilreview/utilreview/e2e/harness"
)

// The payer API's settings: off without a clients file; the file is loaded
// and checked with the rest of the configuration, its problems named with
// the file; the public URL is required for the assertions' audience.
func TestServePayerConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "clients.yaml")
	if err := os.WriteFile(good, []byte(`
issuers:
  - issuer: https://login.payer.example
    jwks_url: https://login.payer.example/jwks
    audience: https://ur.hospital.example/payer/fhir
    payer: {system: "http://hl7.org/fhir/sid/us-npi", value: "1111111112"}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("clients:\n  - client_id: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"UTILREVIEW_FHIR_URL": "http://127.0.0.1:1/fhir", "UTILREVIEW_REDIS_URL": "redis://127.0.0.1:1",
		"UTILREVIEW_WEBHOOK_SECRET": "s3cret-s3cret-s3cret-s3cret", "UTILREVIEW_SUBSCRIPTIONS": "off"}
	parse := func(env map[string]string) (*serveConfig, error) {
		return parseServeFlags(nil, func(k string) string {
			if v, ok := env[k]; ok {
				return v
			}
			return base[k]
		}, io.Discard, io.Discard)
	}
	cfg, err := parse(nil)
	if err != nil || cfg.PayerClients != nil || cfg.PayerTokenTTL != 5*time.Minute || cfg.PayerRateLimit != 600 {
		t.Fatalf("no clients file: %v %+v", err, cfg)
	}
	cfg, err = parse(map[string]string{"UTILREVIEW_PAYER_CLIENTS_FILE": good, "UTILREVIEW_PUBLIC_URL": "https://ur.hospital.example",
		"UTILREVIEW_PAYER_RATE_LIMIT": "120", "UTILREVIEW_PAYER_RATE_WINDOW": "30s", "UTILREVIEW_PAYER_TOKEN_TTL": "10m", "UTILREVIEW_PAYER_CLOCK_SKEW": "30s"})
	if err != nil || cfg.PayerClients == nil || len(cfg.PayerClients.Issuers) != 1 || cfg.PayerRateLimit != 120 ||
		cfg.PayerRateWindow != 30*time.Second || cfg.PayerTokenTTL != 10*time.Minute || cfg.PayerClockSkew != 30*time.Second {
		t.Fatalf("clients file: %v %+v", err, cfg)
	}
	cases := []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{"UTILREVIEW_PAYER_CLIENTS_FILE": bad, "UTILREVIEW_PUBLIC_URL": "https://ur.hospital.example"},
			[]string{"UTILREVIEW_PAYER_CLIENTS_FILE: payer clients file " + bad, "payer: system and value", "jwks (the public keys inline) or jwks_url is required"}},
		{map[string]string{"UTILREVIEW_PAYER_CLIENTS_FILE": filepath.Join(dir, "absent.yaml"), "UTILREVIEW_PUBLIC_URL": "https://ur.hospital.example"},
			[]string{"absent.yaml"}},
		{map[string]string{"UTILREVIEW_PAYER_CLIENTS_FILE": good}, []string{"UTILREVIEW_PUBLIC_URL (--public-url) is required with UTILREVIEW_PAYER_CLIENTS_FILE"}},
		{map[string]string{"UTILREVIEW_PAYER_CLIENTS_FILE": good, "UTILREVIEW_PUBLIC_URL": "https://ur.hospital.example",
			"UTILREVIEW_PAYER_TOKEN_TTL": "2h", "UTILREVIEW_PAYER_RATE_LIMIT": "0", "UTILREVIEW_PAYER_CLOCK_SKEW": "10m"},
			[]string{"UTILREVIEW_PAYER_TOKEN_TTL 2h0m0s", "UTILREVIEW_PAYER_RATE_LIMIT 0", "UTILREVIEW_PAYER_CLOCK_SKEW 10m0s"}},
	}
	for _, c := range cases {
		_, err := parse(c.env)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %v, want %q", c.env, err, w)
			}
		}
	}
}

// payerClient is a registered payer client of the test: its RSA key signs
// the client assertions (RS384) of SMART Backend Services.
type payerClient struct {
	id    string
	payer [2]string // system, value
	key   *rsa.PrivateKey
}

func newPayerClient(t *testing.T, id, system, value string) *payerClient {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &payerClient{id: id, payer: [2]string{system, value}, key: key}
}

// writePayerClients writes a clients file registering cs with scopes.
func writePayerClients(t *testing.T, scopes []string, cs ...*payerClient) string {
	t.Helper()
	var clients []map[string]any
	for _, c := range cs {
		j, err := jwkset.NewJWKFromKey(c.key.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: c.id + "-k1"}})
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, map[string]any{"client_id": c.id, "payer": map[string]string{"system": c.payer[0], "value": c.payer[1]},
			"scopes": scopes, "jwks": jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{j.Marshal()}}})
	}
	b, err := json.Marshal(map[string]any{"clients": clients})
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "clients.json")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// assertion is a fresh client assertion for the token endpoint tokenURL.
func (c *payerClient) assertion(t *testing.T, tokenURL string) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS384, jwt.MapClaims{"iss": c.id, "sub": c.id, "aud": tokenURL,
		"exp": time.Now().Add(4 * time.Minute).Unix(), "jti": harness.UniqueID("jti")})
	tok.Header["kid"] = c.id + "-k1"
	s, err := tok.SignedString(c.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// postToken asks base's token endpoint for scope with assertion a.
func postToken(t *testing.T, base, a, scope string) (int, string) {
	t.Helper()
	resp, err := http.PostForm(base+"/payer/auth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {scope},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// token is an access token for scope from the service at base, whose
// public URL is publicBase.
func (c *payerClient) token(t *testing.T, base, publicBase, scope string) string {
	t.Helper()
	code, body := postToken(t, base, c.assertion(t, publicBase+"/payer/auth/token"), scope)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("token for %s: %d %s", c.id, code, body)
	}
	return tok.AccessToken
}

// payerGet is a GET with a bearer token ("" none) and extra headers.
func payerGet(t *testing.T, method, u, token string, header map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// Two replicas of `serve` with one clients file and one Redis: a token
// request's assertion used at the first is refused at the second (its jti
// is spent in Redis), and a fresh one is good at either.
func TestServePayerTokenAcrossReplicas(t *testing.T) {
	l := newLiveEnv(t, "2026-11-20T12:00:00-05:00")
	acme := newPayerClient(t, "acme-portal", "http://hl7.org/fhir/sid/us-npi", "1111111112")
	l.env["UTILREVIEW_SUBSCRIPTIONS"] = "off"
	l.env["UTILREVIEW_PAYER_CLIENTS_FILE"] = writePayerClients(t, []string{"system/ClaimResponse.rs"}, acme)
	l.redisOf(t) // the replicas' keys go when the test ends, after they stop
	first := l.runAt(t, "127.0.0.1:0", "", serveOptions{})
	second := l.runAt(t, "127.0.0.1:0", first.base, serveOptions{}) // behind the same public URL
	tokenURL := first.base + "/payer/auth/token"
	a := acme.assertion(t, tokenURL)
	if code, body := postToken(t, first.base, a, "system/ClaimResponse.rs"); code != http.StatusOK || !strings.Contains(body, `"token_type":"bearer"`) {
		t.Fatalf("first replica: %d %s", code, body)
	}
	if code, body := postToken(t, second.base, a, "system/ClaimResponse.rs"); code != http.StatusUnauthorized || !strings.Contains(body, `"error":"invalid_client"`) {
		t.Errorf("the same assertion at the second replica: %d %s", code, body)
	}
	if code, body := postToken(t, second.base, acme.assertion(t, tokenURL), "system/ClaimResponse.rs"); code != http.StatusOK {
		t.Errorf("a fresh assertion at the second replica: %d %s", code, body)
	}
	if !strings.Contains(second.log.String(), `"reason":"replayed"`) {
		t.Error("the second replica's audit log has no replayed refusal")
	}
}

// TestServePayerAPI: with a clients file the service answers the payer API
// at <public-url>/payer/fhir: metadata and the SMART configuration without
// a token, naming the service's token endpoint; the determinations only
// with a token (401 without, an OperationOutcome).
func TestServePayerAPI(t *testing.T) {
	t.Parallel()
	l := newLiveEnv(t, "")
	acme := newPayerClient(t, "acme-portal", "http://hl7.org/fhir/sid/us-npi", "1111111112")
	l.env["UTILREVIEW_PAYER_CLIENTS_FILE"] = writePayerClients(t, []string{"system/ClaimResponse.rs"}, acme)
	l.env["UTILREVIEW_SUBSCRIPTIONS"] = "off"
	p := l.run(t, "127.0.0.1:0", serveOptions{})

	code, _, body := payerGet(t, http.MethodGet, p.base+"/payer/fhir/metadata", "", nil)
	if code != http.StatusOK || !strings.Contains(string(body), `"valueUri":"`+p.base+`/payer/auth/token"`) {
		t.Fatalf("metadata: %d %s", code, body)
	}
	code, _, body = payerGet(t, http.MethodGet, p.base+"/payer/fhir/.well-known/smart-configuration", "", nil)
	if code != http.StatusOK || !strings.Contains(string(body), `"token_endpoint":"`+p.base+`/payer/auth/token"`) {
		t.Fatalf("smart-configuration: %d %s", code, body)
	}
	code, _, body = payerGet(t, http.MethodGet, p.base+"/payer/fhir/ClaimResponse?identifier=x", "", nil)
	var oo struct{ ResourceType string }
	_ = json.Unmarshal(body, &oo)
	if code != http.StatusUnauthorized || oo.ResourceType != "OperationOutcome" {
		t.Fatalf("search without a token: %d %s", code, body)
	}
	tok := acme.token(t, p.base, p.base, "system/ClaimResponse.rs")
	code, _, body = payerGet(t, http.MethodGet, p.base+"/payer/fhir/ClaimResponse?identifier=x", tok, nil)
	if code != http.StatusOK || !strings.Contains(string(body), `"type":"searchset"`) {
		t.Fatalf("search with a token: %d %s", code, body)
	}
}

// TestServePayerAPIConfig: the export settings are checked at start.
func TestServePayerAPIConfig(t *testing.T) {
	t.Parallel()
	clients := writePayerClients(t, []string{"system/ClaimResponse.rs"}, newPayerClient(t, "c", "http://hl7.org/fhir/sid/us-npi", "1111111112"))
	base := map[string]string{
		"UTILREVIEW_FHIR_URL": "http://127.0.0.1:1/fhir", "UTILREVIEW_REDIS_URL": "redis://127.0.0.1:1/0",
		"UTILREVIEW_WEBHOOK_SECRET": "0123456789abcdef0123", "UTILREVIEW_SUBSCRIPTIONS": "off",
		"UTILREVIEW_PAYER_CLIENTS_FILE": clients, "UTILREVIEW_PUBLIC_URL": "https://ur.example.org",
	}
	tests := []struct {
		name  string
		extra map[string]string
		want  string // "" accepted
	}{
		{"ok", nil, ""},
		{"size bound too large", map[string]string{"UTILREVIEW_PAYER_EXPORT_MAX_MB": "1024"}, "UTILREVIEW_PAYER_EXPORT_MAX_MB"},
		{"zero TTL", map[string]string{"UTILREVIEW_PAYER_EXPORT_TTL": "0s"}, "UTILREVIEW_PAYER_EXPORT_TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tt.extra {
				env[k] = v
			}
			cfg, err := parseServeFlags(nil, func(k string) string { return env[k] }, io.Discard, io.Discard)
			if tt.want == "" {
				if err != nil || cfg.PayerClients == nil || cfg.PayerExportMaxMB != 64 || cfg.PayerExportTTL != time.Hour {
					t.Fatalf("%v %+v", err, cfg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one naming %s", err, tt.want)
			}
		})
	}
}
