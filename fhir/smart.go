package fhir

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/golang-jwt/jwt/v5"
)

// SMARTConfig configures a SMART Backend Services token source (SMART App
// Launch 2.2, client_credentials with a private_key_jwt client assertion).
type SMARTConfig struct {
	ClientID string
	TokenURL string
	// Key signs the assertion: an *rsa.PrivateKey (RS384, at least 2048
	// bits) or an *ecdsa.PrivateKey on P-384 (ES384). LoadPrivateKeyFile
	// reads one.
	Key    crypto.Signer
	KeyID  string   // the kid of the key in the JWKS registered with the server
	Scopes []string // e.g. system/Encounter.rs
	// HTTPClient posts to the token endpoint; default: a client with a 30s timeout.
	HTTPClient *http.Client
}

const (
	jwtBearerAssertion = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// assertionLifetime stays under the 5 minutes SMART allows, leaving room
	// for clock skew.
	assertionLifetime = 4 * time.Minute
	// tokenRefreshMargin: a token is replaced this long before it expires,
	// or at half its life when that is shorter.
	tokenRefreshMargin = 60 * time.Second
	// defaultTokenLifetime is assumed when the server gives no expires_in
	// (SMART requires it; tokens typically live 300 s).
	defaultTokenLifetime  = 300 * time.Second
	maxTokenResponseBytes = 1 << 20
)

// NewSMARTTokenSource returns a TokenSource that gets access tokens with the
// client_credentials grant and a signed JWT assertion (fresh jti for every
// request), and reuses each token until shortly before it expires. It also
// implements TokenInvalidator, so a token the FHIR server refuses is replaced.
//
// golang.org/x/oauth2 is not used: it has no private_key_jwt client, its
// TokenSource takes no context (a token request could not be cancelled with
// the request waiting for it), and its ReuseTokenSource cannot drop a token
// the server refused.
func NewSMARTTokenSource(cfg SMARTConfig) (TokenSource, error) {
	if cfg.ClientID == "" {
		return nil, errors.New("smart: client id is empty")
	}
	u, err := url.Parse(cfg.TokenURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("smart: token URL must be an absolute http(s) URL")
	}
	method, err := signingMethod(cfg.Key)
	if err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &smartSource{cfg: cfg, method: method, http: hc, now: time.Now, fetching: make(chan struct{}, 1)}, nil
}

func signingMethod(key crypto.Signer) (jwt.SigningMethod, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, fmt.Errorf("smart: RSA key of %d bits, want at least 2048", k.N.BitLen())
		}
		return jwt.SigningMethodRS384, nil
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P384() {
			return nil, fmt.Errorf("smart: EC key on %s, want P-384 (ES384)", k.Curve.Params().Name)
		}
		return jwt.SigningMethodES384, nil
	case nil:
		return nil, errors.New("smart: no signing key")
	default:
		return nil, fmt.Errorf("smart: unsupported key type %T, want an RSA or P-384 EC private key", key)
	}
}

type smartSource struct {
	cfg    SMARTConfig
	method jwt.SigningMethod
	http   *http.Client
	now    func() time.Time

	// fetching is held by the one caller that asks the token endpoint while
	// others wait for its token; a channel, so a waiter can give up when its
	// context ends.
	fetching chan struct{}

	mu      sync.Mutex
	token   string
	refresh time.Time // when the token is to be replaced
}

func (s *smartSource) cached() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && s.now().Before(s.refresh) {
		return s.token
	}
	return ""
}

func (s *smartSource) Token(ctx context.Context) (string, error) {
	if tok := s.cached(); tok != "" {
		return tok, nil
	}
	select {
	case s.fetching <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-s.fetching }()
	if tok := s.cached(); tok != "" {
		return tok, nil // fetched by the caller this one waited for
	}
	tok, lifetime, err := s.fetch(ctx)
	if err != nil {
		return "", err
	}
	margin := min(tokenRefreshMargin, lifetime/2)
	s.mu.Lock()
	s.token, s.refresh = tok, s.now().Add(lifetime-margin)
	s.mu.Unlock()
	return tok, nil
}

func (s *smartSource) Invalidate(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if token == s.token {
		s.token = ""
	}
}

// assertion is the signed client_assertion JWT.
func (s *smartSource) assertion() (string, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("smart: random jti: %w", err)
	}
	now := s.now()
	claims := jwt.MapClaims{
		"iss": s.cfg.ClientID,
		"sub": s.cfg.ClientID,
		"aud": s.cfg.TokenURL, // a string, as SMART's examples have it
		"exp": now.Add(assertionLifetime).Unix(),
		"iat": now.Unix(),
		"jti": hex.EncodeToString(jti),
	}
	t := jwt.NewWithClaims(s.method, claims)
	if s.cfg.KeyID != "" {
		t.Header["kid"] = s.cfg.KeyID
	}
	signed, err := t.SignedString(s.cfg.Key)
	if err != nil {
		return "", fmt.Errorf("smart: sign the client assertion: %w", err)
	}
	return signed, nil
}

// fetch asks the token endpoint for a token; errors carry the OAuth error
// code and description, never the assertion.
func (s *smartSource) fetch(ctx context.Context) (string, time.Duration, error) {
	assertion, err := s.assertion()
	if err != nil {
		return "", 0, err
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {jwtBearerAssertion},
		"client_assertion":      {assertion},
	}
	if len(s.cfg.Scopes) > 0 {
		form.Set("scope", strings.Join(s.cfg.Scopes, " "))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, errors.New("smart token request: cannot build the request")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	res, err := s.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", 0, fmt.Errorf("smart token request: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxTokenResponseBytes))
	if err != nil {
		return "", 0, fmt.Errorf("smart token request: read the answer: %w", err)
	}
	var tr struct {
		AccessToken      string          `json:"access_token"`
		TokenType        string          `json:"token_type"`
		ExpiresIn        json.Number     `json:"expires_in"`
		Error            string          `json:"error"`
		ErrorDescription string          `json:"error_description"`
		Scope            json.RawMessage `json:"scope"`
	}
	jsonErr := json.Unmarshal(body, &tr)
	if res.StatusCode != http.StatusOK || tr.Error != "" {
		if jsonErr == nil && tr.Error != "" {
			msg := fmt.Sprintf("smart token request: %s (HTTP %d)", printable(tr.Error, 64), res.StatusCode)
			if d := printable(tr.ErrorDescription, 200); d != "" {
				msg += ": " + d
			}
			return "", 0, errors.New(msg)
		}
		return "", 0, fmt.Errorf("smart token request: HTTP %d without an OAuth error", res.StatusCode)
	}
	if jsonErr != nil {
		return "", 0, errors.New("smart token request: the answer is not JSON")
	}
	if tr.AccessToken == "" {
		return "", 0, errors.New("smart token request: the answer has no access_token")
	}
	if !strings.EqualFold(tr.TokenType, "bearer") {
		return "", 0, fmt.Errorf("smart token request: token_type %q, want bearer", printable(tr.TokenType, 32))
	}
	lifetime := defaultTokenLifetime
	if tr.ExpiresIn != "" {
		secs, err := tr.ExpiresIn.Int64()
		if err != nil || secs <= 0 {
			return "", 0, errors.New("smart token request: expires_in is not a positive number of seconds")
		}
		lifetime = time.Duration(secs) * time.Second
	}
	return tr.AccessToken, lifetime, nil
}

// printable keeps a server's error text to printable characters, cut at n.
func printable(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, s)
	if len(s) > n {
		s = s[:n] + "..."
	}
	return strings.TrimSpace(s)
}

// LoadPrivateKeyFile reads a PEM private key: PKCS#1 ("RSA PRIVATE KEY"),
// PKCS#8 ("PRIVATE KEY", RSA or EC) or SEC1 ("EC PRIVATE KEY"; an "EC
// PARAMETERS" block before it is skipped). Errors name the file, never its
// content.
func LoadPrivateKeyFile(path string) (crypto.Signer, error) {
	fail := func(err error) error { return fmt.Errorf("private key file %s: %w", path, err) }
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fail(err)
	}
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, fail(errors.New("no PEM private key found"))
		}
		if block.Headers["Proc-Type"] != "" {
			return nil, fail(errors.New("encrypted PEM keys are not supported"))
		}
		switch block.Type {
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, fail(errors.New("malformed PKCS#1 RSA key"))
			}
			return k, nil
		case "EC PRIVATE KEY":
			k, err := x509.ParseECPrivateKey(block.Bytes)
			if err != nil {
				return nil, fail(errors.New("malformed SEC1 EC key"))
			}
			return k, nil
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fail(errors.New("malformed PKCS#8 key"))
			}
			switch k := k.(type) {
			case *rsa.PrivateKey:
				return k, nil
			case *ecdsa.PrivateKey:
				return k, nil
			default:
				return nil, fail(fmt.Errorf("PKCS#8 key of type %T: want RSA or EC", k))
			}
		case "ENCRYPTED PRIVATE KEY":
			return nil, fail(errors.New("encrypted PEM keys are not supported"))
		}
	}
}
