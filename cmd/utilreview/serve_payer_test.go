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

// Two replicas of `serve` with one clients file and one Redis: a token
// request's assertion used at the first is refused at the second (its jti
// is spent in Redis), and a fresh one is good at either.
func TestServePayerTokenAcrossReplicas(t *testing.T) {
	l := newLiveEnv(t, "2026-11-20T12:00:00-05:00")
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	j, err := jwkset.NewJWKFromKey(key.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: "k1"}})
	if err != nil {
		t.Fatal(err)
	}
	set, _ := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{j.Marshal()}})
	clients := filepath.Join(t.TempDir(), "clients.json")
	if err := os.WriteFile(clients, []byte(`{"clients": [{"client_id": "acme-portal", "payer": {"system": "http://hl7.org/fhir/sid/us-npi",
	  "value": "1111111112"}, "scopes": ["system/ClaimResponse.rs"], "jwks": `+string(set)+`}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	l.env["UTILREVIEW_SUBSCRIPTIONS"] = "off"
	l.env["UTILREVIEW_PAYER_CLIENTS_FILE"] = clients
	l.redisOf(t) // the replicas' keys go when the test ends, after they stop
	first := l.runAt(t, "127.0.0.1:0", "", serveOptions{})
	second := l.runAt(t, "127.0.0.1:0", first.base, serveOptions{}) // behind the same public URL
	tokenURL := first.base + "/payer/auth/token"
	assertion := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS384, jwt.MapClaims{"iss": "acme-portal", "sub": "acme-portal", "aud": tokenURL,
			"exp": time.Now().Add(4 * time.Minute).Unix(), "jti": harness.UniqueID("jti")})
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	post := func(base, a string) (int, string) {
		resp, err := http.PostForm(base+"/payer/auth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"system/ClaimResponse.rs"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	a := assertion()
	if code, body := post(first.base, a); code != http.StatusOK || !strings.Contains(body, `"token_type":"bearer"`) {
		t.Fatalf("first replica: %d %s", code, body)
	}
	if code, body := post(second.base, a); code != http.StatusUnauthorized || !strings.Contains(body, `"error":"invalid_client"`) {
		t.Errorf("the same assertion at the second replica: %d %s", code, body)
	}
	if code, body := post(second.base, assertion()); code != http.StatusOK {
		t.Errorf("a fresh assertion at the second replica: %d %s", code, body)
	}
	if !strings.Contains(second.log.String(), `"reason":"replayed"`) {
		t.Error("the second replica's audit log has no replayed refusal")
	}
}
