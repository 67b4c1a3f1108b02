package payerauth

import (
	"crypto/elliptic"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testIssuer   = "https://login.payer-c.example/realms/payers"
	testAudience = "https://ur.hospital.example/payer/fhir"
)

// externalFixture: an external issuer whose JWKS (one RS256 and one ES256
// key) an httptest server publishes with Cache-Control max-age=120; its
// tokens name the client in azp and the payer in payer_id.
type externalFixture struct {
	svc  *Service
	clk  *clock
	srv  *jwksServer
	rs   keypair
	es   keypair
	jwks *remoteJWKS
}

func newExternalFixture(t testing.TB, cacheControl string) *externalFixture {
	t.Helper()
	f := &externalFixture{clk: newClock()}
	f.rs = newRSA(t, "rs-1", 0, jwt.SigningMethodRS256)
	f.es = newEC(t, "es-1", elliptic.P256(), jwt.SigningMethodES256)
	f.srv = newJWKSServer(t, cacheControl, jwks(t, f.rs, f.es))
	reg := &Registry{Issuers: []Issuer{{
		Issuer: testIssuer, JWKSURL: f.srv.URL, Audience: testAudience, ClientClaim: "azp",
		PayerClaim: "payer_id", Payers: map[string]Payer{"payer-c": payerA, "payer-d": payerB},
	}}}
	f.svc = newTestService(t, offlineRedis(), "{ur}:", reg, f.clk.Now)
	f.jwks = f.svc.remote[f.srv.URL]
	return f
}

func (f *externalFixture) claims() jwt.MapClaims {
	now := f.clk.Now()
	return jwt.MapClaims{
		"iss": testIssuer, "aud": []string{"account", testAudience}, "azp": "portal-c", "payer_id": "payer-c",
		"scope": "openid system/ClaimResponse.rs system/Patient.rs", "exp": now.Add(5 * time.Minute).Unix(),
		"iat": now.Unix(), "nbf": now.Unix(),
	}
}

// Tokens of a configured issuer verify against its JWKS (RS256, ES256):
// the client from the configured claim, the payer mapped from its claim,
// the scopes cut to what the issuer may grant (system/ClaimResponse.rs).
func TestExternalIssuerToken(t *testing.T) {
	f := newExternalFixture(t, "max-age=120")
	for _, k := range []keypair{f.rs, f.es} {
		p, err := f.svc.Authenticate(bg, k.sign(t, f.claims()))
		if err != nil {
			t.Fatalf("%s: %v", k.method.Alg(), err)
		}
		if p.ClientID != "portal-c" || p.Issuer != testIssuer || p.Payer != payerA.Identifier() ||
			!slices.Equal(p.Scopes, []string{"system/ClaimResponse.rs"}) {
			t.Errorf("%s: principal %+v", k.method.Alg(), p)
		}
	}
	c := f.claims()
	c["payer_id"] = "payer-d"
	c["scope"] = []any{"system/ClaimResponse.r"} // an array of scopes is read too
	p, err := f.svc.Authenticate(bg, f.rs.sign(t, c))
	if err != nil || p.Payer != payerB.Identifier() || !slices.Equal(p.Scopes, []string{"system/ClaimResponse.r"}) {
		t.Errorf("payer-d, scp array: %+v %v", p, err)
	}
	if f.srv.hits.Load() != 1 {
		t.Errorf("JWKS fetched %d times for three tokens within max-age, want 1", f.srv.hits.Load())
	}
}

// RS384 and ES384 too, when the issuer's algorithms allow them (the default).
func TestExternalIssuer384(t *testing.T) {
	f := newExternalFixture(t, "")
	rs := newRSA(t, "rs-384", 1, jwt.SigningMethodRS384)
	es := newEC(t, "es-384", elliptic.P384(), jwt.SigningMethodES384)
	f.srv.serve(jwks(t, rs, es))
	for _, k := range []keypair{rs, es} {
		if _, err := f.svc.Authenticate(bg, k.sign(t, f.claims())); err != nil {
			t.Errorf("%s: %v", k.method.Alg(), err)
		}
	}
}

func TestExternalIssuerRefused(t *testing.T) {
	f := newExternalFixture(t, "max-age=120")
	now := f.clk.Now()
	set := func(k string, v any) jwt.MapClaims {
		c := f.claims()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	good := f.rs.sign(t, f.claims())
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, f.claims()).SignedString(jwt.UnsafeAllowNoneSignatureType)
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, f.claims())
	hs.Header["kid"] = "rs-1"
	hsWithPublicKey, _ := hs.SignedString(f.rs.publicPEM(t))
	rs512 := newRSA(t, "rs-1", 0, jwt.SigningMethodRS512).sign(t, f.claims())
	other := newRSA(t, "rs-1", 2, jwt.SigningMethodRS256)
	cases := []struct {
		name, token, reason string
	}{
		{"expired", f.rs.sign(t, set("exp", now.Add(-2*time.Minute).Unix())), "expired"},
		{"expired within the skew is good", "", ""},
		{"not yet valid", f.rs.sign(t, set("nbf", now.Add(2*time.Minute).Unix())), "not-yet-valid"},
		{"no exp", f.rs.sign(t, set("exp", nil)), "claim-missing"},
		{"wrong audience", f.rs.sign(t, set("aud", "https://other.example/fhir")), "wrong-audience"},
		{"no audience", f.rs.sign(t, set("aud", nil)), "wrong-audience"},
		{"wrong issuer", f.rs.sign(t, set("iss", "https://login.evil.example")), "unknown-issuer"},
		{"tampered", tamper(t, good, "payer_id", "payer-d"), "bad-signature"},
		{"signed by another key", other.sign(t, f.claims()), "bad-signature"},
		{"alg none", none, "algorithm"},
		{"HS256 with the RSA public key as secret", hsWithPublicKey, "algorithm"},
		{"RS512 not among the algorithms", rs512, "algorithm"},
		{"no client claim", f.rs.sign(t, set("azp", nil)), "no-client-claim"},
		{"unknown payer", f.rs.sign(t, set("payer_id", "payer-x")), "unknown-payer"},
		{"no payer", f.rs.sign(t, set("payer_id", nil)), "unknown-payer"},
		{"scope not a list", f.rs.sign(t, set("scope", 42)), "scope-syntax"},
		{"garbage", "a.b.c", "malformed"},
	}
	for _, c := range cases {
		if c.token == "" {
			// 30 s past exp, within the default 60 s leeway.
			if _, err := f.svc.Authenticate(bg, f.rs.sign(t, set("exp", now.Add(-30*time.Second).Unix()))); err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		_, err := f.svc.Authenticate(bg, c.token)
		var e *Error
		if !isRefusal(err, ErrCodeInvalidToken, "") {
			t.Errorf("%s: got %v, want invalid_token", c.name, err)
			continue
		}
		if e = err.(*Error); e.Reason != c.reason || e.Status() != 401 {
			t.Errorf("%s: reason %q (%s), want %q", c.name, e.Reason, e.Description, c.reason)
		}
	}
}

// The JWKS is cached for its Cache-Control max-age and fetched again
// after; a token with an unknown kid makes one fetch at once (a rotated
// key is found), and more unknown kids within the period make none.
func TestJWKSCache(t *testing.T) {
	f := newExternalFixture(t, "public, max-age=120")
	auth := func(k keypair) error {
		_, err := f.svc.Authenticate(bg, k.sign(t, f.claims()))
		return err
	}
	if err := auth(f.rs); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(100 * time.Second)
	if err := auth(f.es); err != nil || f.srv.hits.Load() != 1 {
		t.Fatalf("within max-age: %v, %d fetches, want 1", err, f.srv.hits.Load())
	}
	f.clk.Advance(21 * time.Second)
	if err := auth(f.rs); err != nil || f.srv.hits.Load() != 2 {
		t.Fatalf("past max-age: %v, %d fetches, want 2", err, f.srv.hits.Load())
	}
	// Rotation: the issuer now signs with a new key. The first token with
	// its kid finds it by one fetch at once; the old key is gone.
	f.clk.Advance(DefaultUnknownKIDPeriod)
	rotated := newRSA(t, "rs-2", 1, jwt.SigningMethodRS256)
	f.srv.serve(jwks(t, rotated))
	if err := auth(rotated); err != nil || f.srv.hits.Load() != 3 {
		t.Fatalf("rotated key: %v, %d fetches, want 3", err, f.srv.hits.Load())
	}
	if err := auth(f.rs); !isRefusal(err, ErrCodeInvalidToken, "unverifiable") {
		t.Errorf("retired key: %v", err)
	}
	// Made-up kids do not make it fetch on every request.
	for _, kid := range []string{"x1", "x2", "x3"} {
		if err := auth(newRSA(t, kid, 2, jwt.SigningMethodRS256)); !isRefusal(err, ErrCodeInvalidToken, "unverifiable") {
			t.Errorf("kid %s: %v", kid, err)
		}
	}
	if f.srv.hits.Load() != 3 {
		t.Errorf("%d fetches after unknown kids within the period, want 3", f.srv.hits.Load())
	}
	f.clk.Advance(DefaultUnknownKIDPeriod)
	_ = auth(newRSA(t, "x4", 2, jwt.SigningMethodRS256))
	if f.srv.hits.Load() != 4 {
		t.Errorf("%d fetches for an unknown kid after the period, want 4", f.srv.hits.Load())
	}
}

func TestCacheAge(t *testing.T) {
	r := newRemoteJWKS("http://x", jwksOptions{minAge: 30 * time.Second, maxAge: 24 * time.Hour, defaultAge: time.Hour})
	cases := map[string]time.Duration{
		"":                               time.Hour,
		"max-age=120":                    120 * time.Second,
		"public, max-age=600, immutable": 600 * time.Second,
		"Max-Age=\"90\"":                 90 * time.Second,
		"max-age=5":                      30 * time.Second, // bounded below
		"max-age=999999999999999999":     24 * time.Hour,   // bounded above, no overflow
		"no-cache":                       30 * time.Second,
		"no-store, max-age=600":          30 * time.Second,
		"max-age=-1":                     time.Hour,
		"max-age=abc":                    time.Hour,
	}
	for cc, want := range cases {
		if got := r.cacheAge(cc); got != want {
			t.Errorf("cacheAge(%q) = %s, want %s", cc, got, want)
		}
	}
}

// An unreachable JWKS refuses the token (unverifiable) and keeps what it
// held; it is tried again after the minimum age, not on every request.
func TestJWKSUnreachable(t *testing.T) {
	f := newExternalFixture(t, "max-age=60")
	if _, err := f.svc.Authenticate(bg, f.rs.sign(t, f.claims())); err != nil {
		t.Fatal(err)
	}
	f.srv.Close()
	f.clk.Advance(61 * time.Second)
	if _, err := f.svc.Authenticate(bg, f.rs.sign(t, f.claims())); err != nil {
		t.Errorf("keys held through an outage: %v", err)
	}
	if n := f.jwks.Fetches(); n != 2 {
		t.Errorf("%d fetch attempts, want 2", n)
	}
	if _, err := f.svc.Authenticate(bg, f.rs.sign(t, f.claims())); err != nil || f.jwks.Fetches() != 2 {
		t.Errorf("second request in the outage: %v, %d attempts, want 2", err, f.jwks.Fetches())
	}
}

// Many requests at once on a cold (or expired) cache make one fetch.
func TestJWKSConcurrentReaders(t *testing.T) {
	f := newExternalFixture(t, "max-age=60")
	tok := f.rs.sign(t, f.claims())
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := f.svc.Authenticate(bg, tok)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := f.srv.hits.Load(); n != 1 {
		t.Errorf("%d fetches for 20 concurrent requests, want 1", n)
	}
}
