package payerauth

import (
	"crypto/elliptic"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/utilreview/utilreview/e2e/harness"
)

// tokenFixture: client-a (RSA, inline JWKS, payer A), client-b (P-384,
// JWKS at a URL, payer B), on the shared Redis.
type tokenFixture struct {
	svc    *Service
	clk    *clock
	rsaA   keypair
	ecB    keypair
	reg    *Registry
	prefix string
}

func newTokenFixture(t *testing.T, mod ...func(*Config)) *tokenFixture {
	t.Helper()
	rdb, prefix := harness.Redis(t)
	prefix += "{ur}:"
	f := &tokenFixture{clk: newClock(), prefix: prefix}
	f.rsaA = newRSA(t, "a-1", 0, jwt.SigningMethodRS384)
	f.ecB = newEC(t, "b-1", elliptic.P384(), jwt.SigningMethodES384)
	srv := newJWKSServer(t, "max-age=300", jwks(t, f.ecB))
	f.reg = &Registry{Clients: []Client{
		{ClientID: "client-a", Payer: payerA, Scopes: []string{"system/ClaimResponse.rs"}, JWKS: jwks(t, f.rsaA)},
		{ClientID: "client-b", Payer: payerB, Scopes: []string{"system/ClaimResponse.read"}, JWKSURL: srv.URL},
	}}
	f.svc = newTestService(t, rdb, prefix, f.reg, f.clk.Now, mod...)
	return f
}

func (f *tokenFixture) request(assertion, scope string) TokenRequest {
	return TokenRequest{GrantType: "client_credentials", ClientAssertionType: ClientAssertionType, ClientAssertion: assertion, Scope: scope}
}

// A good assertion (RS384 inline JWKS; ES384 JWKS URL) gets a token; the
// token authenticates as the client, for its payer, with the scopes asked.
func TestIssueTokenAndAuthenticate(t *testing.T) {
	f := newTokenFixture(t)
	cases := []struct {
		client string
		key    keypair
		scope  string
		payer  Payer
	}{
		{"client-a", f.rsaA, "system/ClaimResponse.rs", payerA},
		{"client-b", f.ecB, "system/ClaimResponse.read", payerB},
		{"client-b", f.ecB, "system/ClaimResponse.rs", payerB}, // .read registered covers .rs asked
	}
	for _, c := range cases {
		resp, err := f.svc.IssueToken(bg, f.request(c.key.sign(t, assertion(c.client, f.clk.Now())), c.scope))
		if err != nil {
			t.Fatalf("%s: IssueToken: %v", c.client, err)
		}
		if resp.TokenType != "bearer" || resp.ExpiresIn != 300 || resp.Scope != c.scope || len(resp.AccessToken) < 40 {
			t.Errorf("%s: response %+v", c.client, resp)
		}
		p, err := f.svc.Authenticate(bg, resp.AccessToken)
		if err != nil {
			t.Fatalf("%s: Authenticate: %v", c.client, err)
		}
		if p.ClientID != c.client || p.Issuer != "" || p.Payer != c.payer.Identifier() || !slices.Equal(p.Scopes, []string{c.scope}) {
			t.Errorf("%s: principal %+v", c.client, p)
		}
		if !p.Allows("ClaimResponse", 'r') || !p.Allows("ClaimResponse", 's') || p.Allows("Claim", 'r') {
			t.Errorf("%s: Allows wrong for %v", c.client, p.Scopes)
		}
	}
	// The token expires with the clock, even before Redis drops it.
	resp, err := f.svc.IssueToken(bg, f.request(f.rsaA.sign(t, assertion("client-a", f.clk.Now())), "system/ClaimResponse.rs"))
	if err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(DefaultTokenTTL)
	if _, err := f.svc.Authenticate(bg, resp.AccessToken); !isRefusal(err, ErrCodeInvalidToken, "expired") {
		t.Errorf("expired access token: %v", err)
	}
	if _, err := f.svc.Authenticate(bg, "not-a-token-we-issued"); !isRefusal(err, ErrCodeInvalidToken, "unknown-token") {
		t.Errorf("unknown access token: %v", err)
	}
}

func isRefusal(err error, code, reason string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code && (reason == "" || e.Reason == reason)
}

// Every kind of bad assertion is refused as invalid_client (401), with the
// reason the audit log records. SMART Backend Services: RS384/ES384 only,
// iss = sub = client_id, aud = the token URL, exp at most 5 minutes ahead,
// jti once.
func TestAssertionRefused(t *testing.T) {
	f := newTokenFixture(t)
	now := f.clk.Now()
	other := newRSA(t, "a-1", 1, jwt.SigningMethodRS384) // same kid, not the registered key
	with := func(k, v string) jwt.MapClaims {
		c := assertion("client-a", now)
		if v == "" {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	withTime := func(k string, d time.Duration) jwt.MapClaims {
		c := assertion("client-a", now)
		c[k] = now.Add(d).Unix()
		return c
	}
	good := f.rsaA.sign(t, assertion("client-a", now))
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, assertion("client-a", now)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, assertion("client-a", now))
	hs.Header["kid"] = "a-1"
	hsWithPublicKey, err := hs.SignedString(f.rsaA.publicPEM(t))
	if err != nil {
		t.Fatal(err)
	}
	rs256 := newRSA(t, "a-1", 0, jwt.SigningMethodRS256).sign(t, assertion("client-a", now))
	cases := []struct {
		name, token, reason string
	}{
		{"expired", f.rsaA.sign(t, withTime("exp", -2*time.Minute)), "expired"},
		{"not yet valid", f.rsaA.sign(t, withTime("nbf", 3*time.Minute)), "not-yet-valid"},
		{"issued in the future", f.rsaA.sign(t, withTime("iat", 3*time.Minute)), "issued-in-future"},
		{"exp too far ahead", f.rsaA.sign(t, withTime("exp", 10*time.Minute)), "exp-too-far"},
		{"no exp", f.rsaA.sign(t, with("exp", "")), "claim-missing"},
		{"wrong audience", f.rsaA.sign(t, with("aud", "https://other.example/token")), "wrong-audience"},
		{"unregistered issuer", f.rsaA.sign(t, with("iss", "client-z")), "unknown-client"},
		{"sub not iss", f.rsaA.sign(t, with("sub", "client-b")), "sub-not-iss"},
		{"other client's iss with A's key", f.rsaA.sign(t, func() jwt.MapClaims {
			c := assertion("client-b", now)
			return c
		}()), "unverifiable"},
		{"no jti", f.rsaA.sign(t, with("jti", "")), "no-jti"},
		{"tampered exp", tamper(t, good, "exp", now.Add(270*time.Second).Unix()), "bad-signature"},
		{"tampered iss", tamper(t, good, "iss", "client-b"), "unverifiable"}, // B's keys have no kid a-1
		{"tampered jti", tamper(t, good, "jti", "other"), "bad-signature"},
		{"signed by another key", other.sign(t, assertion("client-a", now)), "bad-signature"},
		{"alg none", none, "algorithm"},
		{"HS256 with the RSA public key as secret", hsWithPublicKey, "algorithm"},
		{"RS256", rs256, "algorithm"},
		{"jku not registered", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS384, assertion("client-a", now))
			tok.Header["kid"], tok.Header["jku"] = "a-1", "https://evil.example/jwks"
			s, _ := tok.SignedString(f.rsaA.priv)
			return s
		}(), "jku"},
		{"garbage", "abc.def.ghi", "malformed"},
		{"empty", "", "no-assertion"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.svc.IssueToken(bg, f.request(c.token, "system/ClaimResponse.rs"))
			var e *Error
			if !errors.As(err, &e) || e.Code != ErrCodeInvalidClient || e.Status() != 401 {
				t.Fatalf("got %v, want invalid_client", err)
			}
			if e.Reason != c.reason {
				t.Errorf("reason %q, want %q (%s)", e.Reason, c.reason, e.Description)
			}
		})
	}
	// The good one still works: none of the above spent its jti.
	if _, err := f.svc.IssueToken(bg, f.request(good, "system/ClaimResponse.rs")); err != nil {
		t.Errorf("good assertion after the refusals: %v", err)
	}
}

func TestTokenRequestRefused(t *testing.T) {
	f := newTokenFixture(t)
	a := func() string { return f.rsaA.sign(t, assertion("client-a", f.clk.Now())) }
	cases := []struct {
		name string
		req  TokenRequest
		code string
	}{
		{"no grant_type", TokenRequest{ClientAssertionType: ClientAssertionType, ClientAssertion: a(), Scope: "system/ClaimResponse.rs"}, ErrCodeInvalidRequest},
		{"authorization_code", TokenRequest{GrantType: "authorization_code", ClientAssertionType: ClientAssertionType, ClientAssertion: a()}, ErrCodeUnsupportedGrantType},
		{"client_id not the assertion's iss", TokenRequest{ClientID: "client-b", GrantType: "client_credentials", ClientAssertionType: ClientAssertionType, ClientAssertion: a(), Scope: "system/ClaimResponse.rs"}, ErrCodeInvalidClient},
		{"wrong assertion type", TokenRequest{GrantType: "client_credentials", ClientAssertionType: "urn:ietf:params:oauth:client-assertion-type:saml2-bearer", ClientAssertion: a()}, ErrCodeInvalidClient},
		// SMART v2 scopes: the registration (system/ClaimResponse.rs) does not cover these.
		{"unregistered scope", f.request(a(), "system/ClaimResponse.rs system/Patient.rs"), ErrCodeInvalidScope},
		{"write scope", f.request(a(), "system/ClaimResponse.cruds"), ErrCodeInvalidScope},
		{"no scope", f.request(a(), ""), ErrCodeInvalidScope},
		{"bad scope characters", f.request(a(), "system/ClaimResponse.rs \"x\""), ErrCodeInvalidScope},
	}
	for _, c := range cases {
		_, err := f.svc.IssueToken(bg, c.req)
		var e *Error
		if !errors.As(err, &e) || e.Code != c.code {
			t.Errorf("%s: got %v, want %s", c.name, err, c.code)
		}
		if e != nil && e.Code != ErrCodeInvalidClient && e.Status() != 400 {
			t.Errorf("%s: status %d, want 400", c.name, e.Status())
		}
	}
	// client_id, when sent, must be the assertion's.
	req := f.request(a(), "system/ClaimResponse.rs")
	req.ClientID = "client-a"
	if _, err := f.svc.IssueToken(bg, req); err != nil {
		t.Errorf("client_id sent: %v", err)
	}
	// A narrower scope than registered is granted as asked, no more: the
	// token allows read, not search.
	resp, err := f.svc.IssueToken(bg, f.request(a(), "system/ClaimResponse.r"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.Authenticate(bg, resp.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Scope != "system/ClaimResponse.r" || !p.Allows("ClaimResponse", 'r') || p.Allows("ClaimResponse", 's') {
		t.Errorf("narrow scope: %q %v", resp.Scope, p.Scopes)
	}
}

// An assertion's jti is spent at every replica: the same assertion at a
// second Service on the same Redis is refused, as at the first.
func TestAssertionReplayAcrossReplicas(t *testing.T) {
	f := newTokenFixture(t)
	rdb2, _ := harness.Redis(t)
	second := newTestService(t, rdb2, f.prefix, f.reg, f.clk.Now)
	tok := f.rsaA.sign(t, assertion("client-a", f.clk.Now()))
	if _, err := f.svc.IssueToken(bg, f.request(tok, "system/ClaimResponse.rs")); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*Service{"same replica": f.svc, "second replica": second} {
		if _, err := s.IssueToken(bg, f.request(tok, "system/ClaimResponse.rs")); !isRefusal(err, ErrCodeInvalidClient, "replayed") {
			t.Errorf("%s: replayed assertion: %v", name, err)
		}
	}
	// The jti is remembered until the assertion expires (plus the skew),
	// and no longer.
	ttl, err := rdb2.PTTL(bg, second.jtiKey("client-a", mustClaim(t, tok, "jti"))).Result()
	if err != nil || ttl <= 4*time.Minute || ttl > 5*time.Minute+time.Second {
		t.Errorf("jti key TTL %s (%v), want the assertion's 4 minutes + 60 s skew", ttl, err)
	}
	// A token of the first replica is good at the second.
	resp, err := f.svc.IssueToken(bg, f.request(f.ecB.sign(t, assertion("client-b", f.clk.Now())), "system/ClaimResponse.rs"))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := second.Authenticate(bg, resp.AccessToken); err != nil || p.ClientID != "client-b" {
		t.Errorf("token at the second replica: %+v %v", p, err)
	}
	// Each replica counts its own decisions.
	for _, c := range []struct {
		s                      *Service
		event, outcome, reason string
		want                   float64
	}{
		{f.svc, "token", "granted", "", 2},
		{f.svc, "token", "refused", "replayed", 1},
		{second, "token", "refused", "replayed", 1},
		{second, "token", "granted", "", 0},
	} {
		if got := decisions(t, c.s, c.event, c.outcome, c.reason); got != c.want {
			t.Errorf("decisions{%s,%s,%s} = %g, want %g", c.event, c.outcome, c.reason, got, c.want)
		}
	}
}

func mustClaim(t *testing.T, tok, name string) string {
	t.Helper()
	var c jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil {
		t.Fatal(err)
	}
	s, _ := c[name].(string)
	return s
}

// The rate limit counts per client across replicas, in fixed windows; the
// refusal says how long until the window ends.
func TestRateLimit(t *testing.T) {
	f := newTokenFixture(t, func(c *Config) { c.RateLimit, c.RateWindow = 3, time.Minute })
	rdb2, _ := harness.Redis(t)
	second := newTestService(t, rdb2, f.prefix, f.reg, f.clk.Now, func(c *Config) { c.RateLimit, c.RateWindow = 3, time.Minute })
	// Start at the beginning of a window so that the test does not cross one.
	f.clk.Advance(time.Minute - time.Duration(f.clk.Now().UnixNano()%int64(time.Minute)))
	a := Principal{ClientID: "client-a", Payer: payerA.Identifier()}
	b := Principal{ClientID: "client-b", Payer: payerB.Identifier()}
	for i, s := range []*Service{f.svc, second, f.svc} {
		if d, err := s.Allow(bg, a); err != nil || !d.Allowed || d.Remaining != 2-i {
			t.Fatalf("request %d: %+v %v", i+1, d, err)
		}
	}
	f.clk.Advance(20 * time.Second)
	d, err := second.Allow(bg, a)
	if err != nil || d.Allowed || d.RetryAfter != 40*time.Second {
		t.Errorf("4th request: %+v %v, want refused with 40 s to wait", d, err)
	}
	if d, err := f.svc.Allow(bg, b); err != nil || !d.Allowed {
		t.Errorf("another client: %+v %v", d, err)
	}
	// An external issuer's client of the same id is another bucket.
	if d, err := f.svc.Allow(bg, Principal{ClientID: "client-a", Issuer: "https://idp.example"}); err != nil || !d.Allowed {
		t.Errorf("same id at an issuer: %+v %v", d, err)
	}
	f.clk.Advance(40 * time.Second)
	if d, err := f.svc.Allow(bg, a); err != nil || !d.Allowed {
		t.Errorf("next window: %+v %v", d, err)
	}
}

// A client over its rate limit at the token endpoint is refused before its
// assertion is spent.
func TestTokenRateLimit(t *testing.T) {
	f := newTokenFixture(t, func(c *Config) { c.RateLimit = 1; c.RateWindow = time.Hour })
	f.clk.Advance(time.Hour - time.Duration(f.clk.Now().UnixNano()%int64(time.Hour)))
	if _, err := f.svc.IssueToken(bg, f.request(f.rsaA.sign(t, assertion("client-a", f.clk.Now())), "system/ClaimResponse.rs")); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.IssueToken(bg, f.request(f.rsaA.sign(t, assertion("client-a", f.clk.Now())), "system/ClaimResponse.rs"))
	var rl *RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != time.Hour || rl.Client != "client-a" {
		t.Errorf("second token request: %v, want a rate-limit refusal", err)
	}
}

// Every key the service writes is under the prefix and carries its one
// hash tag, so all of them live in one Redis Cluster slot with the queue's.
func TestKeysUnderPrefix(t *testing.T) {
	f := newTokenFixture(t)
	resp, err := f.svc.IssueToken(bg, f.request(f.rsaA.sign(t, assertion("client-a", f.clk.Now())), "system/ClaimResponse.rs"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.Authenticate(bg, resp.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Allow(bg, p); err != nil {
		t.Fatal(err)
	}
	keys, err := f.svc.rdb.Keys(bg, strings.ReplaceAll(f.prefix, "{", `\{`)+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, k := range keys {
		if strings.Contains(k, resp.AccessToken) {
			t.Errorf("key %q holds the access token", k)
		}
		rest := strings.TrimPrefix(k, f.prefix)
		if strings.ContainsAny(rest, "{}") {
			t.Errorf("key %q has a second hash tag", k)
		}
		kind, _, _ := strings.Cut(strings.TrimPrefix(rest, "payerauth:"), ":")
		kinds[kind] = true
	}
	for _, want := range []string{"jti", "token", "rate"} {
		if !kinds[want] {
			t.Errorf("no %s key under the prefix among %q", want, keys)
		}
	}
}

func TestSMARTConfiguration(t *testing.T) {
	f := newTokenFixture(t)
	c := f.svc.SMARTConfiguration()
	if c.TokenEndpoint != testTokenURL || !slices.Equal(c.TokenEndpointAuthSigningAlgs, []string{"RS384", "ES384"}) ||
		!slices.Equal(c.GrantTypesSupported, []string{"client_credentials"}) ||
		!slices.Equal(c.ScopesSupported, []string{"system/ClaimResponse.read", "system/ClaimResponse.rs"}) ||
		!slices.Contains(c.Capabilities, "client-confidential-asymmetric") {
		t.Errorf("SMART configuration %+v", c)
	}
}

// decisions reads the service's decision counter for one label set.
func decisions(t *testing.T, s *Service, event, outcome, reason string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.decisions)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"event": event, "outcome": outcome, "reason": reason}
	for _, mf := range mfs {
	metrics:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if want[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
