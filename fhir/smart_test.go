package fhir

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// fakeClock is a settable clock shared by the token source and the token
// endpoint, so that tests of expiry do not sleep.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// tokenEndpoint is a SMART Backend Services token endpoint that verifies the
// client assertion as a server must: signature by the registered key (the
// JWKS), the algorithm, iss = sub = client_id, aud = its own URL, exp at most
// 5 minutes ahead, a kid it knows, and a jti it has not seen.
type tokenEndpoint struct {
	t        *testing.T
	clientID string
	kid      string
	key      crypto.PublicKey
	alg      string
	clock    *fakeClock
	url      string
	// expiresIn is the lifetime of the tokens it issues, in seconds.
	expiresIn int
	// refuse makes it answer invalid_client to everything.
	refuse bool

	mu         sync.Mutex
	seen       map[string]bool
	issued     int
	assertions []string
}

func newTokenEndpoint(t *testing.T, key crypto.Signer, alg string, clock *fakeClock) *tokenEndpoint {
	te := &tokenEndpoint{t: t, clientID: "ur-client", kid: "key-1", key: key.Public(), alg: alg, clock: clock, expiresIn: 300, seen: map[string]bool{}}
	srv := httptest.NewServer(te)
	t.Cleanup(srv.Close)
	te.url = srv.URL + "/auth/token"
	return te
}

func (te *tokenEndpoint) oauthError(w http.ResponseWriter, code, why string) {
	w.Header().Set("Content-Type", "application/json")
	status := http.StatusBadRequest
	if code == "invalid_client" {
		status = http.StatusUnauthorized
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": why})
}

func (te *tokenEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		te.oauthError(w, "invalid_request", "want a form POST")
		return
	}
	if err := r.ParseForm(); err != nil {
		te.oauthError(w, "invalid_request", "bad form")
		return
	}
	f := r.PostForm
	te.mu.Lock()
	defer te.mu.Unlock()
	te.assertions = append(te.assertions, f.Get("client_assertion"))
	if te.refuse {
		te.oauthError(w, "invalid_client", "the client's key is not registered")
		return
	}
	if f.Get("grant_type") != "client_credentials" || f.Get("client_assertion_type") != jwtBearerAssertion {
		te.oauthError(w, "invalid_request", "grant or assertion type")
		return
	}
	if f.Get("scope") != "system/Encounter.rs system/Task.cruds" {
		te.oauthError(w, "invalid_scope", "scope "+f.Get("scope"))
		return
	}
	var claims jwt.RegisteredClaims
	tok, err := jwt.ParseWithClaims(f.Get("client_assertion"), &claims, func(tok *jwt.Token) (any, error) {
		if tok.Header["kid"] != te.kid {
			return nil, fmt.Errorf("unknown kid %v", tok.Header["kid"])
		}
		return te.key, nil
	},
		jwt.WithValidMethods([]string{te.alg}),
		jwt.WithTimeFunc(te.clock.Now),
		jwt.WithIssuer(te.clientID),
		jwt.WithSubject(te.clientID),
		jwt.WithAudience(te.url),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	)
	if err != nil || !tok.Valid {
		te.oauthError(w, "invalid_client", fmt.Sprintf("assertion: %v", err))
		return
	}
	if exp := claims.ExpiresAt.Time; exp.After(te.clock.Now().Add(5 * time.Minute)) {
		te.oauthError(w, "invalid_client", "exp more than 5 minutes ahead")
		return
	}
	if claims.ID == "" || te.seen[claims.ID] {
		te.oauthError(w, "invalid_client", "jti missing or replayed")
		return
	}
	te.seen[claims.ID] = true
	te.issued++
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"access_token": fmt.Sprintf("access-%d", te.issued),
		"token_type":   "bearer",
		"expires_in":   te.expiresIn,
		"scope":        f.Get("scope"),
	})
}

func (te *tokenEndpoint) count() int {
	te.mu.Lock()
	defer te.mu.Unlock()
	return te.issued
}

func (te *tokenEndpoint) source(t *testing.T, key crypto.Signer) TokenSource {
	t.Helper()
	ts, err := NewSMARTTokenSource(SMARTConfig{
		ClientID: te.clientID, TokenURL: te.url, Key: key, KeyID: te.kid,
		Scopes: []string{"system/Encounter.rs", "system/Task.cruds"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts.(*smartSource).now = te.clock.Now
	return ts
}

func testKeys(t *testing.T) map[string]crypto.Signer {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]crypto.Signer{"RS384": rsaKey, "ES384": ecKey}
}

func TestSMARTTokenSource(t *testing.T) {
	t.Parallel()
	for alg, key := range testKeys(t) {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clock := &fakeClock{t: time.Now()}
			te := newTokenEndpoint(t, key, alg, clock)
			ts := te.source(t, key)

			// Reused while fresh.
			for range 5 {
				tok, err := ts.Token(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if tok != "access-1" {
					t.Fatalf("got token %q, want access-1", tok)
				}
				clock.Advance(30 * time.Second)
			}
			if n := te.count(); n != 1 {
				t.Fatalf("token endpoint issued %d tokens for 5 calls within the lifetime, want 1", n)
			}
			// 150 s of 300 passed; at 241 s, within a minute of expiry, a new one.
			clock.Advance(91 * time.Second)
			if tok, err := ts.Token(ctx); err != nil || tok != "access-2" {
				t.Fatalf("near expiry: got %q, %v; want access-2", tok, err)
			}
			// Invalidated (the FHIR server refused it): a new one, with a fresh jti.
			ts.(TokenInvalidator).Invalidate("access-2")
			if tok, err := ts.Token(ctx); err != nil || tok != "access-3" {
				t.Fatalf("after Invalidate: got %q, %v; want access-3", tok, err)
			}
			// Invalidating a token that is no longer the current one changes nothing.
			ts.(TokenInvalidator).Invalidate("access-2")
			if tok, _ := ts.Token(ctx); tok != "access-3" {
				t.Fatalf("after a stale Invalidate: got %q, want access-3", tok)
			}
			if n := te.count(); n != 3 {
				t.Errorf("issued %d tokens, want 3", n)
			}

			// The endpoint's replay check is real: the same assertion again is refused.
			te.mu.Lock()
			replay := te.assertions[0]
			te.mu.Unlock()
			res, err := http.PostForm(te.url, url.Values{
				"grant_type": {"client_credentials"}, "client_assertion_type": {jwtBearerAssertion},
				"client_assertion": {replay}, "scope": {"system/Encounter.rs system/Task.cruds"},
			})
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("replayed assertion: status %d, want 401", res.StatusCode)
			}
		})
	}
}

func TestSMARTAssertionClaims(t *testing.T) {
	t.Parallel()
	key := testKeys(t)["ES384"]
	s, err := NewSMARTTokenSource(SMARTConfig{ClientID: "c1", TokenURL: "https://auth.example/token", Key: key, KeyID: "k9"})
	if err != nil {
		t.Fatal(err)
	}
	src := s.(*smartSource)
	a1, err := src.assertion()
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := src.assertion()
	parse := func(a string) (jwt.MapClaims, map[string]any) {
		claims := jwt.MapClaims{}
		tok, err := jwt.ParseWithClaims(a, claims, func(*jwt.Token) (any, error) { return key.Public(), nil }, jwt.WithValidMethods([]string{"ES384"}))
		if err != nil {
			t.Fatal(err)
		}
		return claims, tok.Header
	}
	c1, h1 := parse(a1)
	c2, _ := parse(a2)
	if h1["kid"] != "k9" || h1["alg"] != "ES384" {
		t.Errorf("header %v", h1)
	}
	if c1["aud"] != "https://auth.example/token" || c1["iss"] != "c1" || c1["sub"] != "c1" {
		t.Errorf("claims %v", c1)
	}
	exp, iat := int64(c1["exp"].(float64)), int64(c1["iat"].(float64))
	if life := exp - iat; life < 60 || life > 300 {
		t.Errorf("exp - iat = %ds, want at most 300 s", life)
	}
	if c1["jti"] == c2["jti"] || len(c1["jti"].(string)) < 16 {
		t.Errorf("jti %v then %v, want a fresh random one each time", c1["jti"], c2["jti"])
	}
}

func TestSMARTInvalidClient(t *testing.T) {
	t.Parallel()
	key := testKeys(t)["RS384"]
	te := newTokenEndpoint(t, key, "RS384", &fakeClock{t: time.Now()})
	te.refuse = true
	ts := te.source(t, key)
	_, err := ts.Token(context.Background())
	if err == nil {
		t.Fatal("got no error")
	}
	te.mu.Lock()
	assertion := te.assertions[0]
	te.mu.Unlock()
	if !strings.Contains(err.Error(), "invalid_client") || !strings.Contains(err.Error(), "401") {
		t.Errorf("error %q lacks the OAuth error code and status", err)
	}
	if strings.Contains(err.Error(), assertion) || strings.Contains(err.Error(), "eyJ") {
		t.Errorf("error %q shows the assertion", err)
	}

	// Through the client: the token failure is the call's error, and no
	// request reaches the FHIR server.
	rc := &recorder{answers: []func(http.ResponseWriter, *http.Request){status(200)}}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv.URL+"/fhir", ClientConfig{Auth: ts})
	if _, err := c.Read(context.Background(), "Encounter", "e1"); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("client: got %v", err)
	}
	if rc.count() != 0 {
		t.Errorf("FHIR server got %d requests", rc.count())
	}
}

// The client with a SMART source: the FHIR server sees the issued token, and
// a 401 brings one fresh token from the endpoint.
func TestSMARTWithClient(t *testing.T) {
	t.Parallel()
	key := testKeys(t)["ES384"]
	te := newTokenEndpoint(t, key, "ES384", &fakeClock{t: time.Now()})
	ts := te.source(t, key)
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r.Header.Get("Authorization"))
		if len(seen) == 2 { // the server revokes access-1 after one use
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(200)
	}))
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv.URL+"/fhir", ClientConfig{Auth: ts})
	for range 3 {
		if _, err := c.Read(context.Background(), "Encounter", "e1"); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := "[Bearer access-1 Bearer access-1 Bearer access-2 Bearer access-2]"
	if fmt.Sprint(seen) != want {
		t.Errorf("FHIR server saw %v, want %s", seen, want)
	}
	if n := te.count(); n != 2 {
		t.Errorf("token endpoint issued %d tokens, want 2", n)
	}
}

func TestSMARTConfigChecked(t *testing.T) {
	t.Parallel()
	keys := testKeys(t)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	ok := SMARTConfig{ClientID: "c", TokenURL: "https://auth.example/token", Key: keys["RS384"]}
	tests := map[string]func(c *SMARTConfig){
		"no client id":  func(c *SMARTConfig) { c.ClientID = "" },
		"relative url":  func(c *SMARTConfig) { c.TokenURL = "/token" },
		"no key":        func(c *SMARTConfig) { c.Key = nil },
		"P-256 key":     func(c *SMARTConfig) { c.Key = p256 },
		"1024-bit RSA":  func(c *SMARTConfig) { c.Key = small },
		"ed25519-ish":   func(c *SMARTConfig) { c.Key = otherSigner{} },
		"nil interface": func(c *SMARTConfig) { var s crypto.Signer; c.Key = s },
	}
	for name, mutate := range tests {
		cfg := ok
		mutate(&cfg)
		if _, err := NewSMARTTokenSource(cfg); err == nil {
			t.Errorf("%s: got no error", name)
		}
	}
	if _, err := NewSMARTTokenSource(ok); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

type otherSigner struct{}

func (otherSigner) Public() crypto.PublicKey { return nil }
func (otherSigner) Sign(_ io.Reader, _ []byte, _ crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("no")
}

func TestLoadPrivateKeyFile(t *testing.T) {
	t.Parallel()
	keys := testKeys(t)
	rsaKey, ecKey := keys["RS384"].(*rsa.PrivateKey), keys["ES384"].(*ecdsa.PrivateKey)
	pkcs8 := func(k any) []byte {
		b, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	ecParams := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22}})
	dir := t.TempDir()
	tests := []struct {
		name string
		data []byte
		want crypto.PublicKey
	}{
		{"pkcs1", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}), rsaKey.Public()},
		{"pkcs8-rsa", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8(rsaKey)}), rsaKey.Public()},
		{"pkcs8-ec", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8(ecKey)}), ecKey.Public()},
		{"sec1-with-params", append(ecParams, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})...), ecKey.Public()},
	}
	for _, tt := range tests {
		path := filepath.Join(dir, tt.name+".pem")
		if err := os.WriteFile(path, tt.data, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := LoadPrivateKeyFile(path)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if eq, ok := got.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(tt.want) {
			t.Errorf("%s: loaded a different key", tt.name)
		}
		if _, err := NewSMARTTokenSource(SMARTConfig{ClientID: "c", TokenURL: "https://a.example/t", Key: got}); err != nil {
			t.Errorf("%s: the loaded key is not usable: %v", tt.name, err)
		}
	}
	bad := map[string][]byte{
		"not pem":     []byte("SECRETKEYMATERIAL"),
		"certificate": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("SECRETKEYMATERIAL")}),
		"corrupt":     pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte("SECRETKEYMATERIAL")}),
	}
	for name, data := range bad {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		os.WriteFile(path, data, 0o600)
		_, err := LoadPrivateKeyFile(path)
		if err == nil || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: got %v, want an error naming the file only", name, err)
		}
	}
	if _, err := LoadPrivateKeyFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file: got no error")
	}
}
