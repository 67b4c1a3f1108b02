package payerauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"
)

const testTokenURL = "https://ur.hospital.example/payer/auth/token"

var (
	payerA = Payer{System: "http://hl7.org/fhir/sid/us-npi", Value: "1111111112", Display: "Payer A"}
	payerB = Payer{System: "http://hl7.org/fhir/sid/us-npi", Value: "2222222224", Display: "Payer B"}
)

// keypair is a test signing key with its kid and JWS algorithm.
type keypair struct {
	kid    string
	method jwt.SigningMethod
	priv   crypto.Signer
}

var (
	rsaOnce sync.Once
	rsaKeys []*rsa.PrivateKey
)

// rsaKey returns one of a few RSA keys generated once per test binary
// (2048-bit generation is slow, and the fuzz targets need keys too).
func rsaKey(t testing.TB, i int) *rsa.PrivateKey {
	t.Helper()
	rsaOnce.Do(func() {
		for range 3 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaKeys = append(rsaKeys, k)
		}
	})
	return rsaKeys[i]
}

func newRSA(t testing.TB, kid string, i int, method jwt.SigningMethod) keypair {
	return keypair{kid: kid, method: method, priv: rsaKey(t, i)}
}

func newEC(t testing.TB, kid string, curve elliptic.Curve, method jwt.SigningMethod) keypair {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return keypair{kid: kid, method: method, priv: k}
}

// sign signs claims with the key, its kid in the header.
func (k keypair) sign(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(k.method, claims)
	tok.Header["kid"] = k.kid
	s, err := tok.SignedString(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// publicPEM is the key's public half as PEM: what an attacker would use as
// an HMAC secret.
func (k keypair) publicPEM(t testing.TB) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// jwks is a JWK Set of the keys' public halves.
func jwks(t testing.TB, keys ...keypair) json.RawMessage {
	t.Helper()
	var set jwkset.JWKSMarshal
	for _, k := range keys {
		j, err := jwkset.NewJWKFromKey(k.priv.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
			KID: k.kid, ALG: jwkset.ALG(k.method.Alg()), USE: jwkset.UseSig,
		}})
		if err != nil {
			t.Fatal(err)
		}
		set.Keys = append(set.Keys, j.Marshal())
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// clock is a test clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// jwksServer serves a JWK Set with a Cache-Control header and counts the
// fetches; the set can be swapped (key rotation).
type jwksServer struct {
	*httptest.Server
	hits atomic.Int64
	mu   sync.Mutex
	body []byte
	cc   string
}

func newJWKSServer(t testing.TB, cacheControl string, set json.RawMessage) *jwksServer {
	t.Helper()
	s := &jwksServer{body: set, cc: cacheControl}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		body, cc := s.body, s.cc
		s.mu.Unlock()
		if cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) serve(set json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body = set
}

// assertion is a good client assertion's claims for client at now.
func assertion(client string, now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": client, "sub": client, "aud": testTokenURL,
		"exp": now.Add(4 * time.Minute).Unix(), "iat": now.Unix(), "jti": randomID(),
	}
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// tamper changes one claim of a signed token and keeps its signature.
func tamper(t testing.TB, tok, claim string, value any) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m[claim] = value
	b, _ = json.Marshal(m)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

// newTestService builds a service on rdb under prefix.
func newTestService(t testing.TB, rdb redis.UniversalClient, prefix string, reg *Registry, now func() time.Time, mod ...func(*Config)) *Service {
	t.Helper()
	if err := reg.validate(); err != nil {
		t.Fatalf("registry: %v", err)
	}
	cfg := Config{Registry: reg, TokenURL: testTokenURL, Prefix: prefix, Now: now}
	for _, m := range mod {
		m(&cfg)
	}
	s, err := New(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// offlineRedis is a client that is never called (the fuzz targets verify
// tokens without Redis).
func offlineRedis() redis.UniversalClient {
	return redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
}

var bg = context.Background()
