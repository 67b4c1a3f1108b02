package payerauth

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The clients file as the README documents it, in YAML and in JSON.
func TestLoadRegistry(t *testing.T) {
	k := newRSA(t, "acme-2026", 0, jwt.SigningMethodRS384)
	yml := `
clients:
  - client_id: acme-portal
    payer:
      system: http://hl7.org/fhir/sid/us-npi
      value: "1111111112"
      display: Acme Health Plan
    scopes: [system/ClaimResponse.rs]
    jwks: ` + string(jwks(t, k)) + `
  - client_id: beta-portal
    payer: {system: "http://hl7.org/fhir/sid/us-npi", value: "2222222224"}
    scopes: [system/ClaimResponse.read]
    jwks_url: https://portal.beta.example/.well-known/jwks.json
    rate_limit: 1200
issuers:
  - issuer: https://login.payer-c.example/realms/payers
    jwks_url: https://login.payer-c.example/realms/payers/protocol/openid-connect/certs
    audience: https://ur.hospital.example/payer/fhir
    algorithms: [RS256, ES256]
    client_claim: azp
    payer_claim: payer_npi
    payer_system: http://hl7.org/fhir/sid/us-npi
`
	r, err := LoadRegistry(writeFile(t, "clients.yaml", yml))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Clients) != 2 || r.Clients[0].Payer.Display != "Acme Health Plan" || r.Clients[1].RateLimit != 1200 ||
		len(r.Issuers) != 1 || r.Issuers[0].ClientClaim != "azp" {
		t.Errorf("registry %+v", r)
	}
	if r.PayerName(payerA.Identifier()) != "Acme Health Plan" {
		t.Errorf("PayerName = %q", r.PayerName(payerA.Identifier()))
	}
	js := `{"clients": [{"client_id": "acme-portal", "payer": {"system": "urn:oid:2.16.840.1.113883.4.4", "value": "12-3456789"},
	  "scopes": ["system/ClaimResponse.rs"], "jwks": ` + string(jwks(t, k)) + `}]}`
	if _, err := LoadRegistry(writeFile(t, "clients.json", js)); err != nil {
		t.Errorf("JSON: %v", err)
	}
}

// Loading errors name the file and each problem.
func TestLoadRegistryErrors(t *testing.T) {
	k := newRSA(t, "k", 0, jwt.SigningMethodRS384)
	pub := string(jwks(t, k))
	client := func(extra string) string {
		return `{"clients": [{"client_id": "c", "payer": {"system": "s", "value": "v"}, "scopes": ["system/ClaimResponse.rs"]` + extra + `}]}`
	}
	weakKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	weak := string(jwks(t, keypair{kid: "weak", method: jwt.SigningMethodRS384, priv: weakKey}))
	cases := []struct {
		name, content, want string
	}{
		{"weak RSA key", client(`, "jwks": ` + weak), "1 RSA key(s) shorter than 2048 bits"},
		{"HMAC key", client(`, "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}`), "no usable public key"},
		{"not YAML", "clients: [", "neither JSON nor YAML"},
		{"unknown field", `{"clients": [], "clent": 1}`, `unknown field "clent"`},
		{"empty", `{}`, "no clients and no issuers"},
		{"no keys", client(``), "jwks (the public keys inline) or jwks_url is required"},
		{"both", client(`, "jwks": ` + pub + `, "jwks_url": "https://x.example/jwks"`), "jwks or jwks_url, not both"},
		{"private key", client(`, "jwks": {"keys": [{"kty": "EC", "crv": "P-384", "x": "a", "y": "b", "d": "c"}]}`), "holds a private key"},
		{"empty JWKS", client(`, "jwks": {"keys": []}`), "no usable public key"},
		{"bad jwks_url", client(`, "jwks_url": "ftp://x"`), "jwks_url: want an absolute http(s) URL"},
		{"bad scope", `{"clients": [{"client_id": "c", "payer": {"system": "s", "value": "v"}, "scopes": ["patient/ClaimResponse.rs"], "jwks": ` + pub + `}]}`, `scope "patient/ClaimResponse.rs"`},
		{"no payer", `{"clients": [{"client_id": "c", "scopes": ["system/ClaimResponse.rs"], "jwks": ` + pub + `}]}`, "payer: system and value"},
		{"twice", `{"clients": [{"client_id": "c", "payer": {"system": "s", "value": "v"}, "scopes": ["system/ClaimResponse.rs"], "jwks": ` + pub + `},
		  {"client_id": "c", "payer": {"system": "s", "value": "v"}, "scopes": ["system/ClaimResponse.rs"], "jwks": ` + pub + `}]}`, "registered twice"},
		{"HS256 issuer", `{"issuers": [{"issuer": "https://i", "jwks_url": "https://i/jwks", "audience": "a", "algorithms": ["HS256"], "payer": {"system": "s", "value": "v"}}]}`, `algorithm "HS256"`},
		{"none issuer", `{"issuers": [{"issuer": "https://i", "jwks_url": "https://i/jwks", "audience": "a", "algorithms": ["none"], "payer": {"system": "s", "value": "v"}}]}`, `algorithm "none"`},
		{"issuer without audience", `{"issuers": [{"issuer": "https://i", "jwks_url": "https://i/jwks", "payer": {"system": "s", "value": "v"}}]}`, "audience is required"},
		{"issuer payer two ways", `{"issuers": [{"issuer": "https://i", "jwks_url": "https://i/jwks", "audience": "a", "payer": {"system": "s", "value": "v"}, "payer_claim": "p", "payer_system": "s"}]}`, "name the payer one way"},
		{"issuer payer_system without claim", `{"issuers": [{"issuer": "https://i", "jwks_url": "https://i/jwks", "audience": "a", "payer_system": "s"}]}`, "payer_claim is required"},
	}
	for _, c := range cases {
		path := writeFile(t, "clients.yaml", c.content)
		_, err := LoadRegistry(path)
		if err == nil {
			t.Errorf("%s: loaded", c.name)
			continue
		}
		if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want the path and %q", c.name, err, c.want)
		}
	}
	if _, err := LoadRegistry(filepath.Join(t.TempDir(), "absent.yaml")); err == nil || !strings.Contains(err.Error(), "absent.yaml") {
		t.Errorf("absent file: %v", err)
	}
}

// The clients file the README shows loads as it is (with a real modulus in
// place of its "...").
func TestREADMEClientsFile(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "### Payer API: clients and tokens")
	if ok {
		_, rest, ok = strings.Cut(rest, "```yaml\n")
	}
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README: no clients file example")
	}
	set := string(jwks(t, newRSA(t, "acme-2026", 0, jwt.SigningMethodRS384)))
	var m struct {
		Keys []struct {
			N string `json:"n"`
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(set), &m); err != nil {
		t.Fatal(err)
	}
	example = strings.Replace(example, `"n": "..."`, `"n": "`+m.Keys[0].N+`"`, 1)
	r, err := ParseRegistry([]byte(example))
	if err != nil {
		t.Fatalf("the README's clients file: %v", err)
	}
	if len(r.Clients) != 2 || len(r.Issuers) != 1 || r.Clients[1].RateLimit != 1200 || r.Issuers[0].PayerSystem == "" {
		t.Errorf("the README's clients file read as %+v", r)
	}
}
