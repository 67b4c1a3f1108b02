package payerauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/utilreview/utilreview/service/queue"
)

// Defaults and bounds of the service's settings.
const (
	// DefaultTokenTTL is how long an access token of the token endpoint
	// lives: SMART Backend Services recommends 5 minutes.
	DefaultTokenTTL = 5 * time.Minute
	MaxTokenTTL     = time.Hour
	// DefaultClockSkew is the leeway on exp, nbf and iat, for clocks a
	// little apart; MaxClockSkew bounds it.
	DefaultClockSkew = 60 * time.Second
	MaxClockSkew     = 5 * time.Minute
	// MaxAssertionLifetime: an assertion's exp at most this far ahead
	// (SMART Backend Services).
	MaxAssertionLifetime = 5 * time.Minute
	// DefaultRateLimit requests per DefaultRateWindow per client.
	DefaultRateLimit  = 600
	DefaultRateWindow = time.Minute
	// TokenPath is the token endpoint's path under the public URL.
	TokenPath = "/payer/auth/token"
	// ClientAssertionType is the one client_assertion_type accepted.
	ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	maxTokenLength      = 16 << 10
	maxJTILength        = 256
)

// AssertionAlgorithms are the algorithms SMART Backend Services allows for
// client assertions; nothing else is accepted.
var AssertionAlgorithms = []string{"RS384", "ES384"}

// Config configures a Service.
type Config struct {
	// Registry is the clients file's content (LoadRegistry).
	Registry *Registry
	// TokenURL is the token endpoint's absolute URL as clients reach it
	// (UTILREVIEW_PUBLIC_URL + TokenPath): the aud of every assertion.
	TokenURL string
	// Prefix starts every Redis key (UTILREVIEW_REDIS_PREFIX, default
	// queue.DefaultPrefix): the keys share its hash tag.
	Prefix string
	// TokenTTL is the access tokens' lifetime (default DefaultTokenTTL).
	TokenTTL time.Duration
	// ClockSkew is the leeway on times (default DefaultClockSkew).
	ClockSkew time.Duration
	// RateLimit requests per RateWindow per client (defaults
	// DefaultRateLimit per DefaultRateWindow).
	RateLimit  int
	RateWindow time.Duration
	// HTTPClient fetches JWK Sets (default: http.Client with a timeout).
	HTTPClient *http.Client
	// JWKS cache bounds (defaults DefaultJWKS*, DefaultUnknownKIDPeriod).
	JWKSMinAge, JWKSMaxAge, JWKSDefaultAge, UnknownKIDPeriod time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger gets JWKS fetch failures; nil discards.
	Logger *slog.Logger
	// Registerer, when set, gets utilreview_payer_auth_decisions_total.
	Registerer prometheus.Registerer
}

// Service issues and verifies the payer API's access tokens. It keeps its
// state (used assertion ids, access tokens, rate counters) in Redis, so
// any replica verifies a token another issued and an assertion id used at
// one replica is refused at all. Safe for concurrent use.
type Service struct {
	cfg     Config
	rdb     redis.UniversalClient
	reg     *Registry
	clients map[string]keyfunc.Keyfunc // client_id → its keys
	issuers map[string]keyfunc.Keyfunc // issuer → its keys
	remote  map[string]*remoteJWKS     // jwks_url → cache (shared by registrations naming one URL)
	now     func() time.Time
	log     *slog.Logger
	// decisions counts decisions by event (token, access), outcome
	// (granted, refused, rate-limited) and reason (a fixed set).
	decisions *prometheus.CounterVec
}

// New builds a Service on rdb. Remote key sets are fetched when first
// needed.
func New(rdb redis.UniversalClient, cfg Config) (*Service, error) {
	switch {
	case rdb == nil:
		return nil, errors.New("payerauth.New: no Redis client")
	case cfg.Registry == nil:
		return nil, errors.New("payerauth.New: no registry")
	case cfg.TokenURL == "":
		return nil, errors.New("payerauth.New: no token URL")
	case cfg.TokenTTL < 0 || cfg.TokenTTL > MaxTokenTTL:
		return nil, fmt.Errorf("payerauth.New: token lifetime %s: want up to %s", cfg.TokenTTL, MaxTokenTTL)
	case cfg.ClockSkew < 0 || cfg.ClockSkew > MaxClockSkew:
		return nil, fmt.Errorf("payerauth.New: clock skew %s: want up to %s", cfg.ClockSkew, MaxClockSkew)
	case cfg.RateLimit < 0 || cfg.RateWindow < 0:
		return nil, errors.New("payerauth.New: negative rate limit")
	}
	if err := cfg.Registry.validate(); err != nil {
		return nil, fmt.Errorf("payerauth.New: %w", err)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.TokenTTL, DefaultTokenTTL)
	def(&cfg.ClockSkew, DefaultClockSkew)
	def(&cfg.RateWindow, DefaultRateWindow)
	def(&cfg.JWKSMinAge, DefaultJWKSMinAge)
	def(&cfg.JWKSMaxAge, DefaultJWKSMaxAge)
	def(&cfg.JWKSDefaultAge, DefaultJWKSAge)
	def(&cfg.UnknownKIDPeriod, DefaultUnknownKIDPeriod)
	if cfg.RateLimit == 0 {
		cfg.RateLimit = DefaultRateLimit
	}
	if cfg.Prefix == "" {
		cfg.Prefix = queue.DefaultPrefix
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: jwksFetchTimeout}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		cfg: cfg, rdb: rdb, reg: cfg.Registry, now: cfg.Now, log: cfg.Logger,
		clients: map[string]keyfunc.Keyfunc{}, issuers: map[string]keyfunc.Keyfunc{}, remote: map[string]*remoteJWKS{},
	}
	s.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "utilreview_payer_auth_decisions_total",
		Help: "Payer API authentication decisions by event (token, access), outcome (granted, refused, rate-limited) and reason.",
	}, []string{"event", "outcome", "reason"})
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(s.decisions); err != nil {
			return nil, fmt.Errorf("payerauth.New: %w", err)
		}
	}
	opts := jwksOptions{
		client: cfg.HTTPClient, now: cfg.Now, log: cfg.Logger, minAge: cfg.JWKSMinAge, maxAge: cfg.JWKSMaxAge,
		defaultAge: cfg.JWKSDefaultAge, unknownKIDPeriod: cfg.UnknownKIDPeriod,
	}
	storage := func(u string) jwkset.Storage {
		if r, ok := s.remote[u]; ok {
			return r
		}
		r := newRemoteJWKS(u, opts)
		s.remote[u] = r
		return r
	}
	for _, c := range cfg.Registry.Clients {
		var st jwkset.Storage
		if c.JWKSURL != "" {
			st = storage(c.JWKSURL)
		} else {
			keys, _, err := parseJWKS(c.JWKS)
			if err != nil {
				return nil, fmt.Errorf("payerauth.New: client %s: %w", c.ClientID, err)
			}
			mem := jwkset.NewMemoryStorage()
			for _, k := range keys {
				if err := mem.KeyWrite(context.Background(), k); err != nil {
					return nil, fmt.Errorf("payerauth.New: client %s: %w", c.ClientID, err)
				}
			}
			st = mem
		}
		kf, err := keyfunc.New(keyfunc.Options{Storage: st, UseWhitelist: []jwkset.USE{jwkset.UseSig, ""}})
		if err != nil {
			return nil, fmt.Errorf("payerauth.New: %w", err)
		}
		s.clients[c.ClientID] = kf
	}
	for _, is := range cfg.Registry.Issuers {
		kf, err := keyfunc.New(keyfunc.Options{Storage: storage(is.JWKSURL), UseWhitelist: []jwkset.USE{jwkset.UseSig, ""}})
		if err != nil {
			return nil, fmt.Errorf("payerauth.New: %w", err)
		}
		s.issuers[is.Issuer] = kf
	}
	return s, nil
}

// Registry is the registrations the service was built with.
func (s *Service) Registry() *Registry { return s.reg }

// TokenURL is the token endpoint's absolute URL.
func (s *Service) TokenURL() string { return s.cfg.TokenURL }

// Error is a refused request: an OAuth error code (RFC 6749 section 5.2 at
// the token endpoint; invalid_token, RFC 6750, for an access token), a
// description safe to answer (it names the problem, never a value of the
// request), and a short reason for the audit log. Client and Issuer are
// what the request claimed, for the audit log; unverified when refused.
type Error struct {
	Code        string
	Description string
	Reason      string
	Client      string
	Issuer      string
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

// Status is the HTTP status of the error at the token endpoint or the API.
func (e *Error) Status() int {
	switch e.Code {
	case "invalid_client", "invalid_token":
		return http.StatusUnauthorized
	default:
		return http.StatusBadRequest
	}
}

// OAuth error codes.
const (
	ErrCodeInvalidRequest       = "invalid_request"
	ErrCodeInvalidClient        = "invalid_client"
	ErrCodeInvalidGrant         = "invalid_grant"
	ErrCodeInvalidScope         = "invalid_scope"
	ErrCodeUnsupportedGrantType = "unsupported_grant_type"
	ErrCodeInvalidToken         = "invalid_token"
)

// RateLimitError refuses a request over the client's rate limit.
type RateLimitError struct {
	RetryAfter time.Duration
	Client     string
}

func (e *RateLimitError) Error() string { return "rate limit exceeded" }

// TokenRequest is a token endpoint request's parameters.
type TokenRequest struct {
	// ClientID is optional (SMART clients need not send it); when sent it
	// must be the assertion's iss.
	ClientID            string
	GrantType           string
	ClientAssertionType string
	ClientAssertion     string
	Scope               string
}

// TokenResponse is the token endpoint's answer (RFC 6749 section 5.1).
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
	// Principal is who the token stands for (not answered: for the audit).
	Principal Principal `json:"-"`
}

// assertionClaims are a client assertion's claims.
type assertionClaims struct {
	jwt.RegisteredClaims
}

// IssueToken answers a token request: it authenticates the client by its
// assertion (SMART Backend Services: a JWT signed RS384 or ES384 with one
// of the client's registered keys, iss = sub = client_id, aud = the token
// URL, exp at most 5 minutes ahead, a jti never seen before at any
// replica), grants the requested scopes when the registration covers them
// all, and stores a new opaque access token. Refusals are *Error; any
// other error is Redis failing.
func (s *Service) IssueToken(ctx context.Context, req TokenRequest) (TokenResponse, error) {
	resp, err := s.issueToken(ctx, req)
	s.count("token", err)
	return resp, err
}

// count records a decision; Redis failures are not decisions.
func (s *Service) count(event string, err error) {
	var e *Error
	var rl *RateLimitError
	switch {
	case err == nil:
		s.decisions.WithLabelValues(event, "granted", "").Inc()
	case errors.As(err, &e):
		s.decisions.WithLabelValues(event, "refused", e.Reason).Inc()
	case errors.As(err, &rl):
		s.decisions.WithLabelValues(event, "rate-limited", "").Inc()
	}
}

func (s *Service) issueToken(ctx context.Context, req TokenRequest) (TokenResponse, error) {
	switch {
	case req.GrantType == "":
		return TokenResponse{}, &Error{Code: ErrCodeInvalidRequest, Description: "grant_type is required", Reason: "no-grant-type"}
	case req.GrantType != "client_credentials":
		return TokenResponse{}, &Error{Code: ErrCodeUnsupportedGrantType, Description: "only grant_type client_credentials is supported", Reason: "grant-type"}
	case req.ClientAssertionType != ClientAssertionType || req.ClientAssertion == "":
		return TokenResponse{}, &Error{Code: ErrCodeInvalidClient, Description: "client authentication by a client_assertion of type " + ClientAssertionType + " is required", Reason: "no-assertion"}
	}
	client, claims, err := s.verifyAssertion(req.ClientAssertion)
	if err != nil {
		return TokenResponse{}, err
	}
	if req.ClientID != "" && req.ClientID != client.ClientID {
		return TokenResponse{}, &Error{Code: ErrCodeInvalidClient, Description: "client_id is not the client assertion's iss", Reason: "client-id-mismatch", Client: client.ClientID}
	}
	if d, err := s.AllowToken(ctx, client.ClientID); err != nil {
		return TokenResponse{}, err
	} else if !d.Allowed {
		return TokenResponse{}, &RateLimitError{RetryAfter: d.RetryAfter, Client: client.ClientID}
	}
	requested, err := ParseScopes(req.Scope)
	if err != nil {
		return TokenResponse{}, &Error{Code: ErrCodeInvalidScope, Description: err.Error(), Reason: "scope-syntax", Client: client.ClientID}
	}
	if len(requested) == 0 {
		return TokenResponse{}, &Error{Code: ErrCodeInvalidScope, Description: "scope is required (e.g. system/ClaimResponse.rs)", Reason: "no-scope", Client: client.ClientID}
	}
	granted, refused := grantScopes(client.Scopes, requested)
	if len(refused) > 0 {
		return TokenResponse{}, &Error{Code: ErrCodeInvalidScope, Description: "the client is not registered for scope " + strings.Join(refused, " "), Reason: "scope-not-registered", Client: client.ClientID}
	}
	// The assertion is good: its jti is spent now, at every replica, until
	// it would have expired anyway (plus the leeway the check allowed).
	now := s.now()
	ttl := claims.ExpiresAt.Sub(now) + s.cfg.ClockSkew
	fresh, err := s.rdb.SetNX(ctx, s.jtiKey(client.ClientID, claims.ID), "1", max(ttl, time.Second)).Result()
	if err != nil {
		return TokenResponse{}, fmt.Errorf("payerauth: remember the assertion id: %w", err)
	}
	if !fresh {
		return TokenResponse{}, &Error{Code: ErrCodeInvalidClient, Description: "the client assertion was already used (jti)", Reason: "replayed", Client: client.ClientID}
	}
	p := Principal{ClientID: client.ClientID, Payer: client.Payer.Identifier(), Scopes: granted}
	tok, err := newToken()
	if err != nil {
		return TokenResponse{}, err
	}
	rec, _ := json.Marshal(storedToken{ClientID: p.ClientID, Payer: p.Payer, Scopes: p.Scopes, Expires: now.Add(s.cfg.TokenTTL).UnixMilli()})
	if err := s.rdb.Set(ctx, s.tokenKey(tok), rec, s.cfg.TokenTTL).Err(); err != nil {
		return TokenResponse{}, fmt.Errorf("payerauth: store the access token: %w", err)
	}
	return TokenResponse{
		AccessToken: tok, TokenType: "bearer", ExpiresIn: int(s.cfg.TokenTTL / time.Second),
		Scope: strings.Join(granted, " "), Principal: p,
	}, nil
}

// verifyAssertion checks a client assertion's signature and claims; it
// does not touch Redis (the jti is spent by the caller).
func (s *Service) verifyAssertion(raw string) (*Client, *assertionClaims, error) {
	if len(raw) > maxTokenLength {
		return nil, nil, &Error{Code: ErrCodeInvalidClient, Description: "the client assertion is too long", Reason: "too-long"}
	}
	var client *Client
	claims := &assertionClaims{}
	parser := jwt.NewParser(
		jwt.WithValidMethods(AssertionAlgorithms), jwt.WithAudience(s.cfg.TokenURL), jwt.WithExpirationRequired(),
		jwt.WithLeeway(s.cfg.ClockSkew), jwt.WithTimeFunc(s.now), jwt.WithIssuedAt(),
	)
	tok, err := parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		c, ok := s.reg.client(claims.Issuer)
		if !ok {
			return nil, errUnknownClient
		}
		if jku, ok := t.Header["jku"]; ok && jku != c.JWKSURL {
			return nil, errJKU
		}
		client = c
		return s.clients[c.ClientID].Keyfunc(t)
	})
	if err != nil {
		e := jwtError(err, ErrCodeInvalidClient, "client assertion")
		if tok != nil && tok.Method != nil && !containsString(AssertionAlgorithms, tok.Method.Alg()) {
			e.Reason, e.Description = "algorithm", "client assertion: signed with an algorithm not accepted (RS384 or ES384)"
		}
		e.Client = truncate(claims.Issuer)
		return nil, nil, e
	}
	refuse := func(desc, reason string) (*Client, *assertionClaims, error) {
		return nil, nil, &Error{Code: ErrCodeInvalidClient, Description: desc, Reason: reason, Client: client.ClientID}
	}
	switch {
	case claims.Subject != claims.Issuer:
		return refuse("the client assertion's sub must equal its iss (the client_id)", "sub-not-iss")
	case claims.ID == "":
		return refuse("the client assertion has no jti", "no-jti")
	case len(claims.ID) > maxJTILength:
		return refuse("the client assertion's jti is too long", "jti-too-long")
	case claims.ExpiresAt.Sub(s.now()) > MaxAssertionLifetime+s.cfg.ClockSkew:
		return refuse("the client assertion's exp is more than 5 minutes ahead", "exp-too-far")
	}
	return client, claims, nil
}

var (
	errUnknownClient = errors.New("unknown client")
	errJKU           = errors.New("jku is not the registered jwks_url")
	errUnknownIssuer = errors.New("issuer not configured")
	errAlgorithm     = errors.New("algorithm not accepted")
)

// jwtError classifies a jwt parse error as a refusal with a reason.
func jwtError(err error, code, what string) *Error {
	reason, desc := "invalid", what+" not accepted"
	switch {
	case errors.Is(err, errUnknownClient):
		reason, desc = "unknown-client", what+": iss is not a registered client_id"
	case errors.Is(err, errUnknownIssuer):
		reason, desc = "unknown-issuer", what+": iss is not a configured issuer"
	case errors.Is(err, errAlgorithm):
		reason, desc = "algorithm", what+": signed with an algorithm not accepted"
	case errors.Is(err, errJKU):
		reason, desc = "jku", what+": jku is not the registered JWKS URL"
	case errors.Is(err, jwt.ErrTokenMalformed):
		reason, desc = "malformed", what+" is not a well-formed JWT"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		reason, desc = "bad-signature", what+": the signature does not verify"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		reason, desc = "unverifiable", what+": signed with an algorithm or key not accepted"
	case errors.Is(err, jwt.ErrTokenExpired):
		reason, desc = "expired", what+" has expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		reason, desc = "not-yet-valid", what+" is not valid yet (nbf)"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		reason, desc = "issued-in-future", what+" is issued in the future (iat)"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		reason, desc = "wrong-audience", what+": aud is not this service"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		reason, desc = "wrong-issuer", what+": iss is not the expected issuer"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		reason, desc = "claim-missing", what+" lacks a required claim (exp)"
	}
	return &Error{Code: code, Description: desc, Reason: reason}
}

// storedToken is an access token's record in Redis.
type storedToken struct {
	ClientID string     `json:"client_id"`
	Payer    Identifier `json:"payer"`
	Scopes   []string   `json:"scopes"`
	Expires  int64      `json:"exp"` // Unix ms
}

// newToken is 32 random bytes, base64url: unguessable, opaque.
func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("payerauth: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Authenticate verifies a bearer token: an access token of the token
// endpoint (looked up in Redis), or a JWT of a configured external issuer
// (verified against its JWKS). Refusals are *Error with code
// invalid_token; any other error is Redis failing.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	p, err := s.authenticate(ctx, token)
	if err != nil {
		s.count("access", err)
	}
	return p, err
}

func (s *Service) authenticate(ctx context.Context, token string) (Principal, error) {
	switch {
	case token == "":
		return Principal{}, &Error{Code: ErrCodeInvalidToken, Description: "no access token", Reason: "no-token"}
	case len(token) > maxTokenLength:
		return Principal{}, &Error{Code: ErrCodeInvalidToken, Description: "the access token is too long", Reason: "too-long"}
	case strings.Count(token, ".") == 2:
		return s.verifyExternal(token)
	}
	rec, err := s.rdb.Get(ctx, s.tokenKey(token)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Principal{}, &Error{Code: ErrCodeInvalidToken, Description: "the access token is unknown or has expired", Reason: "unknown-token"}
	}
	if err != nil {
		return Principal{}, fmt.Errorf("payerauth: read the access token: %w", err)
	}
	var st storedToken
	if err := json.Unmarshal(rec, &st); err != nil {
		return Principal{}, fmt.Errorf("payerauth: access token record: %w", err)
	}
	if !s.now().Before(time.UnixMilli(st.Expires)) {
		return Principal{}, &Error{Code: ErrCodeInvalidToken, Description: "the access token is unknown or has expired", Reason: "expired", Client: st.ClientID}
	}
	return Principal{ClientID: st.ClientID, Payer: st.Payer, Scopes: st.Scopes}, nil
}

// externalClaims are an external access token's claims: the registered
// ones and the rest, for the configured client, scope and payer claims.
type externalClaims struct {
	jwt.RegisteredClaims
	all map[string]any
}

func (c *externalClaims) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &c.RegisteredClaims); err != nil {
		return err
	}
	return json.Unmarshal(b, &c.all)
}

// verifyExternal verifies a JWT of a configured issuer: signature by a key
// of its JWKS with one of its algorithms, iss, aud, exp (required), nbf
// and iat with the leeway; then maps its claims to a Principal.
func (s *Service) verifyExternal(raw string) (Principal, error) {
	var is *Issuer
	claims := &externalClaims{}
	_, err := jwt.NewParser(
		jwt.WithExpirationRequired(), jwt.WithLeeway(s.cfg.ClockSkew), jwt.WithTimeFunc(s.now), jwt.WithIssuedAt(),
	).ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		var ok bool
		if is, ok = s.reg.issuer(claims.Issuer); !ok {
			return nil, errUnknownIssuer
		}
		// The issuer's algorithms, checked before any key is looked up:
		// none and HS* are never among them, so an HS256 token "signed"
		// with an RSA public key as its secret is refused here.
		algs := is.Algorithms
		if len(algs) == 0 {
			algs = DefaultIssuerAlgorithms
		}
		if alg, _ := t.Header["alg"].(string); !containsString(algs, alg) {
			return nil, errAlgorithm
		}
		return s.issuers[is.Issuer].Keyfunc(t)
	})
	if err == nil {
		// The audience is the issuer's own; checked once the issuer is known.
		if !containsString(claims.Audience, is.Audience) {
			err = jwt.ErrTokenInvalidAudience
		}
	}
	if err != nil {
		e := jwtError(err, ErrCodeInvalidToken, "the access token")
		e.Issuer = truncate(claims.Issuer)
		return Principal{}, e
	}
	refuse := func(desc, reason string, client string) (Principal, error) {
		return Principal{}, &Error{Code: ErrCodeInvalidToken, Description: desc, Reason: reason, Client: truncate(client), Issuer: is.Issuer}
	}
	clientClaim := is.ClientClaim
	if clientClaim == "" {
		clientClaim = "client_id"
	}
	client, _ := claims.all[clientClaim].(string)
	if client == "" {
		return refuse("the access token has no "+clientClaim+" claim naming the client", "no-client-claim", "")
	}
	payer, ok := is.payerOf(claims.all)
	if !ok {
		return refuse("the access token names no payer this service knows", "unknown-payer", client)
	}
	tokScopes, ok := scopeClaim(claims.all, is.ScopeClaim)
	if !ok {
		return refuse("the access token's scope claim is not a scope list", "scope-syntax", client)
	}
	allowed := is.Scopes
	if allowed == nil {
		allowed = DefaultIssuerScopes
	}
	granted, _ := grantScopes(allowed, tokScopes)
	return Principal{ClientID: client, Issuer: is.Issuer, Payer: payer, Scopes: granted}, nil
}

// payerOf maps a token's claims to the payer, as the issuer is configured.
func (is *Issuer) payerOf(claims map[string]any) (Identifier, bool) {
	if is.Payer != nil {
		return is.Payer.Identifier(), true
	}
	v, _ := claims[is.PayerClaim].(string)
	if v == "" {
		return Identifier{}, false
	}
	if is.PayerSystem != "" {
		return Identifier{System: is.PayerSystem, Value: v}, true
	}
	p, ok := is.Payers[v]
	return p.Identifier(), ok
}

// scopeClaim reads the scopes of a token: a space-separated string (RFC
// 9068 scope) or an array of strings (scp, as some issuers write it).
func scopeClaim(claims map[string]any, name string) ([]string, bool) {
	if name == "" {
		name = "scope"
	}
	switch v := claims[name].(type) {
	case nil:
		return nil, true
	case string:
		s, err := ParseScopes(v)
		return s, err == nil
	case []any:
		var parts []string
		for _, x := range v {
			str, ok := x.(string)
			if !ok || strings.Contains(str, " ") {
				return nil, false
			}
			parts = append(parts, str)
		}
		s, err := ParseScopes(strings.Join(parts, " "))
		return s, err == nil
	}
	return nil, false
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// truncate bounds a value the request claimed before it is logged.
func truncate(s string) string {
	if len(s) > 128 {
		return s[:128] + "…"
	}
	return s
}

// RateDecision is the rate limiter's answer.
type RateDecision struct {
	Allowed    bool
	Limit      int
	Remaining  int
	RetryAfter time.Duration // when refused: until the window ends
}

// Allow counts one request of the principal's client in the current
// window (fixed windows, shared by every replica through Redis) and says
// whether it is within the limit.
func (s *Service) Allow(ctx context.Context, p Principal) (RateDecision, error) {
	d, err := s.allow(ctx, "api", p.Issuer, p.ClientID)
	switch {
	case err != nil:
	case d.Allowed:
		s.decisions.WithLabelValues("access", "granted", "").Inc()
	default:
		s.decisions.WithLabelValues("access", "rate-limited", "").Inc()
	}
	return d, err
}

// allow counts a request in the bucket kind of the client.
func (s *Service) allow(ctx context.Context, kind, issuer, client string) (RateDecision, error) {
	limit := s.cfg.RateLimit
	if issuer == "" {
		if c, ok := s.reg.client(client); ok && c.RateLimit > 0 {
			limit = c.RateLimit
		}
	}
	now := s.now()
	w := s.cfg.RateWindow
	idx := now.UnixNano() / int64(w)
	end := time.Unix(0, (idx+1)*int64(w))
	key := s.cfg.Prefix + "payerauth:rate:" + kind + ":" + digest(issuer+"\x00"+client) + ":" + strconv.FormatInt(idx, 10)
	var incr *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		incr = p.Incr(ctx, key)
		p.PExpire(ctx, key, 2*w)
		return nil
	})
	if err != nil {
		return RateDecision{}, fmt.Errorf("payerauth: rate count: %w", err)
	}
	n := int(incr.Val())
	d := RateDecision{Allowed: n <= limit, Limit: limit, Remaining: max(0, limit-n)}
	if !d.Allowed {
		d.RetryAfter = end.Sub(now)
	}
	return d, nil
}

// AllowToken counts a token request of a client (a bucket apart from its
// API requests, with the same limit).
func (s *Service) AllowToken(ctx context.Context, client string) (RateDecision, error) {
	return s.allow(ctx, "token", "", client)
}

func (s *Service) jtiKey(client, jti string) string {
	return s.cfg.Prefix + "payerauth:jti:" + digest(client+"\x00"+jti)
}

// tokenKey holds a token's record under its SHA-256: Redis (a dump, a
// MONITOR) never holds a usable token.
func (s *Service) tokenKey(tok string) string {
	return s.cfg.Prefix + "payerauth:token:" + digest(tok)
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
