package handlers

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/service/payerauth"
	"github.com/utilreview/utilreview/service/queue"
)

const payerTokenURL = "https://ur.hospital.example/payer/auth/token"

// nopIntake satisfies New; the payer routes never queue anything.
type nopIntake struct{}

func (nopIntake) Admit(context.Context, queue.Entry) (queue.Admission, error) {
	return queue.Queued, nil
}
func (nopIntake) RequestCatchUp(context.Context, string) error                { return nil }
func (nopIntake) ObserveEvent(context.Context, string, []int64) (bool, error) { return false, nil }

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// payerFixture is a Server with the payer API's authentication on (client
// acme-portal: RSA, payer NPI 1111111112, system/ClaimResponse.rs; client
// beta-portal: the same key, no scope for ClaimResponse search) and one
// stand-in route under /payer/fhir that shows what a handler sees.
type payerFixture struct {
	srv  *Server
	key  *rsa.PrivateKey
	log  *syncBuffer
	auth *payerauth.Service
}

var (
	payerKeyOnce sync.Once
	payerKey     *rsa.PrivateKey
)

func newPayerFixture(t *testing.T, rateLimit int) *payerFixture {
	t.Helper()
	payerKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		payerKey = k
	})
	j, err := jwkset.NewJWKFromKey(payerKey.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: "k1", ALG: jwkset.AlgRS384}})
	if err != nil {
		t.Fatal(err)
	}
	set, _ := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{j.Marshal()}})
	reg, err := payerauth.ParseRegistry([]byte(`{"clients": [
	  {"client_id": "acme-portal", "payer": {"system": "http://hl7.org/fhir/sid/us-npi", "value": "1111111112"},
	   "scopes": ["system/ClaimResponse.rs"], "jwks": ` + string(set) + `},
	  {"client_id": "beta-portal", "payer": {"system": "http://hl7.org/fhir/sid/us-npi", "value": "2222222224"},
	   "scopes": ["system/ClaimResponse.r", "system/Claim.rs"], "jwks": ` + string(set) + `}]}`))
	if err != nil {
		t.Fatal(err)
	}
	rdb, prefix := harness.Redis(t)
	auth, err := payerauth.New(rdb, payerauth.Config{Registry: reg, TokenURL: payerTokenURL, Prefix: prefix + "{ur}:",
		RateLimit: rateLimit, RateWindow: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	srv, err := New(Config{WebhookSecret: "s3cret-webhook-token", PayerAuth: auth,
		Logger: slog.New(slog.NewJSONHandler(logs, nil))}, nopIntake{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if srv.payerAuth == nil {
		t.Fatal("New with PayerAuth made no /payer/fhir middleware")
	}
	// What the payer API's handlers do: the scope check, then their work,
	// noting the resources they answer with for the audit line.
	srv.echo.Group("/payer/fhir", srv.payerAuth).GET("/ClaimResponse", func(c echo.Context) error {
		p, err := RequirePayerScope(c, "ClaimResponse", 's')
		if err != nil {
			return err
		}
		payerauth.NoteResources(c.Request().Context(), "ClaimResponse/cr-1", "ClaimResponse/cr-2")
		return c.JSON(http.StatusOK, map[string]any{"client": p.ClientID, "payer": p.Payer.String(), "scopes": p.Scopes})
	})
	return &payerFixture{srv: srv, key: payerKey, log: logs, auth: auth}
}

func (f *payerFixture) assertion(t *testing.T, client string, mod func(jwt.MapClaims)) string {
	t.Helper()
	now := time.Now()
	c := jwt.MapClaims{"iss": client, "sub": client, "aud": payerTokenURL, "exp": now.Add(4 * time.Minute).Unix(),
		"jti": harness.UniqueID("jti")}
	if mod != nil {
		mod(c)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS384, c)
	tok.Header["kid"] = "k1"
	s, err := tok.SignedString(f.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *payerFixture) do(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(w, r)
	return w
}

func (f *payerFixture) tokenRequest(form url.Values) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/payer/auth/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return f.do(r)
}

func tokenForm(assertion, scope string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "scope": {scope},
		"client_assertion_type": {payerauth.ClientAssertionType}, "client_assertion": {assertion}}
}

func (f *payerFixture) get(token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/payer/fhir/ClaimResponse", nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return f.do(r)
}

// token gets an access token over HTTP.
func (f *payerFixture) token(t *testing.T, client, scope string) string {
	t.Helper()
	w := f.tokenRequest(tokenForm(f.assertion(t, client, nil), scope))
	if w.Code != http.StatusOK {
		t.Fatalf("token: %d %s", w.Code, w.Body)
	}
	var resp struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
		Scope       string `json:"scope"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
		t.Fatal(err)
	}
	if resp.TokenType != "bearer" || resp.ExpiresIn != 300 || resp.Scope != scope || resp.AccessToken == "" {
		t.Errorf("token response %s", w.Body)
	}
	if w.Header().Get("Cache-Control") != "no-store" || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Errorf("token response headers %v", w.Header())
	}
	return resp.AccessToken
}

// A good assertion gets a token over HTTP; the token opens /payer/fhir with
// the client's Principal in the request's context; the audit log has one
// line per decision, with the client and never the token or assertion.
func TestPayerTokenAndMiddleware(t *testing.T) {
	f := newPayerFixture(t, 100)
	tok := f.token(t, "acme-portal", "system/ClaimResponse.rs")
	w := f.get(tok)
	if w.Code != http.StatusOK {
		t.Fatalf("GET with the token: %d %s", w.Code, w.Body)
	}
	var seen map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &seen)
	if seen["client"] != "acme-portal" || seen["payer"] != "http://hl7.org/fhir/sid/us-npi|1111111112" {
		t.Errorf("the handler saw %v", seen)
	}
	logs := f.log.String()
	if strings.Contains(logs, tok) {
		t.Error("the audit log holds the access token")
	}
	var token, access map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "payer audit" {
			switch m["event"] {
			case "token":
				token = m
			case "access":
				access = m
			}
		}
	}
	if token == nil || token["client_id"] != "acme-portal" || token["outcome"] != "granted" || token["time"] == nil ||
		token["payer"] != "http://hl7.org/fhir/sid/us-npi|1111111112" {
		t.Errorf("token audit line %v", token)
	}
	if access == nil || access["client_id"] != "acme-portal" || access["outcome"] != "granted" || access["status"] != float64(200) ||
		access["route"] != "/payer/fhir/ClaimResponse" || access["payer"] != "http://hl7.org/fhir/sid/us-npi|1111111112" {
		t.Errorf("access audit line %v", access)
	}
	if refs, _ := access["resources"].([]any); len(refs) != 2 || refs[0] != "ClaimResponse/cr-1" {
		t.Errorf("audit resources %v", access["resources"])
	}
}

// No token, or a bad one: 401 with WWW-Authenticate and an OperationOutcome.
// A token without the scope: 403 from the handler's check.
func TestPayerMiddlewareRefuses(t *testing.T) {
	f := newPayerFixture(t, 100)
	w := f.get("")
	if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") != `Bearer realm="utilreview payer API"` ||
		!strings.Contains(w.Body.String(), `"resourceType":"OperationOutcome"`) {
		t.Errorf("no token: %d %v %s", w.Code, w.Header(), w.Body)
	}
	for _, bad := range []string{"made-up", "a.b.c", f.assertion(t, "acme-portal", nil)} {
		w := f.get(bad)
		if w.Code != http.StatusUnauthorized || !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="invalid_token"`) ||
			!strings.Contains(w.Body.String(), `"code":"security"`) {
			t.Errorf("token %.10s: %d %v %s", bad, w.Code, w.Header(), w.Body)
		}
	}
	// beta-portal holds system/ClaimResponse.r: read, not search.
	w = f.get(f.token(t, "beta-portal", "system/ClaimResponse.r"))
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), `"code":"forbidden"`) ||
		!strings.Contains(w.Header().Get("WWW-Authenticate"), `error="insufficient_scope", scope="system/ClaimResponse.s"`) {
		t.Errorf("no search scope: %d %s", w.Code, w.Body)
	}
}

// The token endpoint's refusals are RFC 6749 JSON errors.
func TestPayerTokenEndpointErrors(t *testing.T) {
	f := newPayerFixture(t, 100)
	good := f.assertion(t, "acme-portal", nil)
	if w := f.tokenRequest(tokenForm(good, "system/ClaimResponse.rs")); w.Code != http.StatusOK {
		t.Fatalf("first use: %d %s", w.Code, w.Body)
	}
	cases := []struct {
		name   string
		form   url.Values
		ctype  string
		status int
		code   string
	}{
		{"replayed assertion", tokenForm(good, "system/ClaimResponse.rs"), "", 401, "invalid_client"},
		{"expired assertion", tokenForm(f.assertion(t, "acme-portal", func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-5 * time.Minute).Unix() }), "system/ClaimResponse.rs"), "", 401, "invalid_client"},
		{"wrong audience", tokenForm(f.assertion(t, "acme-portal", func(c jwt.MapClaims) { c["aud"] = "https://elsewhere.example/token" }), "system/ClaimResponse.rs"), "", 401, "invalid_client"},
		{"unregistered scope", tokenForm(f.assertion(t, "acme-portal", nil), "system/Patient.rs"), "", 400, "invalid_scope"},
		{"grant type", url.Values{"grant_type": {"password"}}, "", 400, "unsupported_grant_type"},
		{"no grant type", url.Values{}, "", 400, "invalid_request"},
		{"repeated parameter", url.Values{"grant_type": {"client_credentials", "client_credentials"}}, "", 400, "invalid_request"},
		{"JSON body", tokenForm(good, "x"), "application/json", 400, "invalid_request"},
	}
	for _, c := range cases {
		r := httptest.NewRequest(http.MethodPost, "/payer/auth/token", strings.NewReader(c.form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if c.ctype != "" {
			r.Header.Set("Content-Type", c.ctype)
		}
		w := f.do(r)
		var body struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != c.status || body.Error != c.code || body.Description == "" || w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d %s, want %d %s", c.name, w.Code, w.Body, c.status, c.code)
		}
	}
	if strings.Contains(f.log.String(), good) {
		t.Error("the audit log holds a client assertion")
	}
	if w := f.do(httptest.NewRequest(http.MethodGet, "/payer/auth/token", nil)); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET token endpoint: %d", w.Code)
	}
}

// Over the client's rate limit: 429 with Retry-After and an OperationOutcome.
func TestPayerRateLimit(t *testing.T) {
	f := newPayerFixture(t, 2)
	tok := f.token(t, "acme-portal", "system/ClaimResponse.rs")
	for i := range 2 {
		if w := f.get(tok); w.Code != http.StatusOK {
			t.Fatalf("request %d: %d %s", i+1, w.Code, w.Body)
		}
	}
	w := f.get(tok)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), `"code":"throttled"`) {
		t.Errorf("over the limit: %d %v %s", w.Code, w.Header(), w.Body)
	}
	if !strings.Contains(f.log.String(), `"outcome":"rate-limited"`) {
		t.Error("no audit line for the rate-limited request")
	}
}

// Without PayerAuth the payer routes do not exist.
func TestPayerAuthOff(t *testing.T) {
	srv, err := New(Config{WebhookSecret: "s3cret-webhook-token"}, nopIntake{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/payer/auth/token", strings.NewReader("grant_type=client_credentials"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	srv.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusNotFound || srv.payerAuth != nil {
		t.Errorf("token endpoint with the payer API off: %d", w.Code)
	}
}

// The README's recipe: a key made with openssl, its JWK Set and a client
// assertion from scripts/payer-assertion.sh, traded for a token that opens
// /payer/fhir.
func TestPayerTokenWithOpenSSLScript(t *testing.T) {
	for _, tool := range []string{"bash", "openssl", "xxd"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "key.pem")
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).Output()
		if err != nil {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		return strings.TrimSpace(string(out))
	}
	run("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key)
	set := run("../scripts/payer-assertion.sh", "jwks", key, "acme-2026")
	reg, err := payerauth.ParseRegistry([]byte(`{"clients": [{"client_id": "acme-portal", "payer": {"system": "http://hl7.org/fhir/sid/us-npi",
	  "value": "1111111112"}, "scopes": ["system/ClaimResponse.rs"], "jwks": ` + set + `}]}`))
	if err != nil {
		t.Fatal(err)
	}
	rdb, prefix := harness.Redis(t)
	auth, err := payerauth.New(rdb, payerauth.Config{Registry: reg, TokenURL: payerTokenURL, Prefix: prefix + "{ur}:"})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{WebhookSecret: "s3cret-webhook-token", PayerAuth: auth}, nopIntake{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.echo.Group("/payer/fhir", srv.payerAuth).GET("/metadata", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	f := &payerFixture{srv: srv, log: &syncBuffer{}, auth: auth}
	assertion := run("../scripts/payer-assertion.sh", "assertion", key, "acme-2026", "acme-portal", payerTokenURL)
	w := f.tokenRequest(tokenForm(assertion, "system/ClaimResponse.rs"))
	var resp struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); w.Code != http.StatusOK || err != nil {
		t.Fatalf("token: %d %s", w.Code, w.Body)
	}
	r := httptest.NewRequest(http.MethodGet, "/payer/fhir/metadata", nil)
	r.Header.Set("Authorization", "Bearer "+resp.AccessToken)
	if w := f.do(r); w.Code != http.StatusNoContent {
		t.Errorf("with the token: %d %s", w.Code, w.Body)
	}
}

// Access tokens of an external issuer at /payer/fhir: a good one passes
// with its Principal; expired, not yet valid, wrong audience, wrong
// issuer, tampered, alg none and HS256 signed with the RSA public key are
// 401 with WWW-Authenticate error="invalid_token" and an OperationOutcome.
func TestPayerExternalTokens(t *testing.T) {
	key := newPayerFixture(t, 100).key // the shared test key
	j, err := jwkset.NewJWKFromKey(key.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: "idp-1"}})
	if err != nil {
		t.Fatal(err)
	}
	set, _ := json.Marshal(jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{j.Marshal()}})
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "max-age=300")
		_, _ = w.Write(set)
	}))
	defer idp.Close()
	const iss, aud = "https://login.hospital.example/realms/payers", "https://ur.hospital.example/payer/fhir"
	reg, err := payerauth.ParseRegistry([]byte(`{"issuers": [{"issuer": "` + iss + `", "jwks_url": "` + idp.URL + `", "audience": "` + aud + `",
	  "client_claim": "azp", "payer_claim": "payer_npi", "payer_system": "http://hl7.org/fhir/sid/us-npi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	rdb, prefix := harness.Redis(t)
	auth, err := payerauth.New(rdb, payerauth.Config{Registry: reg, TokenURL: payerTokenURL, Prefix: prefix + "{ur}:"})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{WebhookSecret: "s3cret-webhook-token", PayerAuth: auth}, nopIntake{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.echo.Group("/payer/fhir", srv.payerAuth).GET("/ClaimResponse", func(c echo.Context) error {
		p, err := RequirePayerScope(c, "ClaimResponse", 's')
		if err != nil {
			return err
		}
		return c.String(http.StatusOK, p.Issuer+" "+p.ClientID+" "+p.Payer.String())
	})
	f := &payerFixture{srv: srv, auth: auth}
	now := time.Now()
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": iss, "aud": aud, "azp": "acme-portal", "payer_npi": "1111111112",
			"scope": "system/ClaimResponse.rs", "exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	sign := func(c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
		tok.Header["kid"] = "idp-1"
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := sign(claims(nil))
	if w := f.get(good); w.Code != http.StatusOK || w.Body.String() != iss+" acme-portal http://hl7.org/fhir/sid/us-npi|1111111112" {
		t.Fatalf("good external token: %d %s", w.Code, w.Body)
	}
	parts := strings.Split(good, ".")
	otherPayload := strings.Split(sign(claims(func(c jwt.MapClaims) { c["payer_npi"] = "2222222224" })), ".")[1]
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	der, _ := x509.MarshalPKIXPublicKey(key.Public())
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(nil))
	hs.Header["kid"] = "idp-1"
	hsTok, _ := hs.SignedString(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	cases := map[string]string{
		"expired":        sign(claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-5 * time.Minute).Unix() })),
		"not yet valid":  sign(claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(5 * time.Minute).Unix() })),
		"wrong audience": sign(claims(func(c jwt.MapClaims) { c["aud"] = "https://other.example/fhir" })),
		"wrong issuer":   sign(claims(func(c jwt.MapClaims) { c["iss"] = "https://login.evil.example" })),
		"tampered":       parts[0] + "." + otherPayload + "." + parts[2],
		"alg none":       none,
		"HS256 with the RSA public key as secret": hsTok,
	}
	for name, tok := range cases {
		w := f.get(tok)
		if w.Code != http.StatusUnauthorized || !strings.Contains(w.Header().Get("WWW-Authenticate"), `error="invalid_token"`) ||
			!strings.Contains(w.Body.String(), `"resourceType":"OperationOutcome"`) {
			t.Errorf("%s: %d %v %s", name, w.Code, w.Header(), w.Body)
		}
	}
	// A good token without the search scope: 403 from the handler's check.
	if w := f.get(sign(claims(func(c jwt.MapClaims) { c["scope"] = "system/ClaimResponse.r" }))); w.Code != http.StatusForbidden {
		t.Errorf("no search scope: %d %s", w.Code, w.Body)
	}
}
