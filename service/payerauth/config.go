package payerauth

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/MicahParks/jwkset"
	"sigs.k8s.io/yaml"
)

// Registry is the payer API's client registrations and external issuers,
// as the clients file (UTILREVIEW_PAYER_CLIENTS_FILE) lists them. The file
// is JSON or YAML (YAML is a superset); see README "Payer clients".
type Registry struct {
	Clients []Client `json:"clients"`
	Issuers []Issuer `json:"issuers,omitempty"`
}

// Payer is a payer Organization: its business identifier and its name.
type Payer struct {
	System  string `json:"system"`
	Value   string `json:"value"`
	Display string `json:"display,omitempty"`
}

// Identifier is the payer's identifier alone.
func (p Payer) Identifier() Identifier { return Identifier{System: p.System, Value: p.Value} }

// Client is one payer client registered for SMART Backend Services at
// utilreview's own token endpoint.
type Client struct {
	// ClientID is the client's id: the iss and sub of its assertions.
	ClientID string `json:"client_id"`
	// Payer is whose determinations the client sees.
	Payer Payer `json:"payer"`
	// Scopes are the most the client may be granted, e.g.
	// system/ClaimResponse.rs.
	Scopes []string `json:"scopes"`
	// JWKS is the client's public key set inline, or JWKSURL where the
	// client publishes it; exactly one.
	JWKS    json.RawMessage `json:"jwks,omitempty"`
	JWKSURL string          `json:"jwks_url,omitempty"`
	// RateLimit, when above 0, replaces the service's requests per window
	// for this client.
	RateLimit int `json:"rate_limit,omitempty"`
}

// Issuer is an external authorization server whose access tokens (JWTs)
// the payer API accepts.
type Issuer struct {
	// Issuer is the tokens' iss, exactly.
	Issuer string `json:"issuer"`
	// JWKSURL is where the issuer publishes its signing keys.
	JWKSURL string `json:"jwks_url"`
	// Audience must be among the tokens' aud.
	Audience string `json:"audience"`
	// Algorithms are the signing algorithms accepted (default RS256,
	// RS384, ES256, ES384); only RS*, PS* and ES* are possible.
	Algorithms []string `json:"algorithms,omitempty"`
	// ClientClaim names the claim that identifies the client (default
	// client_id; azp or sub are common).
	ClientClaim string `json:"client_claim,omitempty"`
	// ScopeClaim names the claim with the granted scopes, a space-separated
	// string or an array (default scope).
	ScopeClaim string `json:"scope_claim,omitempty"`
	// Scopes are the most a token of this issuer is granted, whatever it
	// lists (default system/ClaimResponse.rs).
	Scopes []string `json:"scopes,omitempty"`
	// The payer, one of three ways: Payer, the one payer every token of
	// this issuer acts for; or PayerClaim with PayerSystem (the claim's
	// value is the payer's identifier value in that system); or PayerClaim
	// with Payers (the claim's value names one of these payers).
	Payer       *Payer           `json:"payer,omitempty"`
	PayerClaim  string           `json:"payer_claim,omitempty"`
	PayerSystem string           `json:"payer_system,omitempty"`
	Payers      map[string]Payer `json:"payers,omitempty"`
}

// DefaultIssuerAlgorithms are the algorithms an external issuer's tokens
// may use unless its registration says otherwise.
var DefaultIssuerAlgorithms = []string{"RS256", "RS384", "ES256", "ES384"}

// DefaultIssuerScopes bound what an external issuer's token is granted.
var DefaultIssuerScopes = []string{"system/ClaimResponse.rs"}

// asymmetricAlgorithms are the only algorithms a registration may name:
// a public key verifies them; HS* (a shared secret) and none never.
var asymmetricAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}

// LoadRegistry reads and checks the clients file. Every error names the
// file and the problem; all problems are listed at once.
func LoadRegistry(path string) (*Registry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("payer clients file %s: %w", path, errors.Unwrap(err))
	}
	r, err := ParseRegistry(b)
	if err != nil {
		return nil, fmt.Errorf("payer clients file %s: %w", path, err)
	}
	return r, nil
}

// ParseRegistry parses and checks a registry in JSON or YAML.
func ParseRegistry(b []byte) (*Registry, error) {
	js, err := yaml.YAMLToJSON(b)
	if err != nil {
		return nil, fmt.Errorf("neither JSON nor YAML: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	var r Registry
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%v", err)
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

func (r *Registry) validate() error {
	var p []string
	add := func(format string, a ...any) { p = append(p, fmt.Sprintf(format, a...)) }
	if len(r.Clients) == 0 && len(r.Issuers) == 0 {
		add("no clients and no issuers: nobody could use the payer API")
	}
	ids := map[string]bool{}
	for i, c := range r.Clients {
		where := fmt.Sprintf("clients[%d]", i)
		if c.ClientID == "" {
			add("%s: client_id is required", where)
		} else {
			where = fmt.Sprintf("clients[%d] (%s)", i, c.ClientID)
			if ids[c.ClientID] {
				add("%s: client_id is registered twice", where)
			}
			ids[c.ClientID] = true
		}
		checkPayer(where+": payer", c.Payer, add)
		checkScopes(where, c.Scopes, true, add)
		switch {
		case len(c.JWKS) > 0 && c.JWKSURL != "":
			add("%s: give jwks or jwks_url, not both", where)
		case len(c.JWKS) > 0:
			if err := checkJWKS(c.JWKS); err != nil {
				add("%s: jwks: %v", where, err)
			}
		case c.JWKSURL != "":
			checkURL(where+": jwks_url", c.JWKSURL, add)
		default:
			add("%s: jwks (the public keys inline) or jwks_url is required", where)
		}
		if c.RateLimit < 0 {
			add("%s: rate_limit is negative", where)
		}
	}
	iss := map[string]bool{}
	for i, s := range r.Issuers {
		where := fmt.Sprintf("issuers[%d]", i)
		if s.Issuer == "" {
			add("%s: issuer is required", where)
		} else {
			where = fmt.Sprintf("issuers[%d] (%s)", i, s.Issuer)
			if iss[s.Issuer] {
				add("%s: issuer is configured twice", where)
			}
			iss[s.Issuer] = true
		}
		if s.JWKSURL == "" {
			add("%s: jwks_url is required", where)
		} else {
			checkURL(where+": jwks_url", s.JWKSURL, add)
		}
		if s.Audience == "" {
			add("%s: audience is required (the aud its tokens carry for this API)", where)
		}
		for _, a := range s.Algorithms {
			if !slices.Contains(asymmetricAlgorithms, a) {
				add("%s: algorithm %q: want one of %s (never HS* or none)", where, a, strings.Join(asymmetricAlgorithms, ", "))
			}
		}
		if s.Scopes != nil {
			checkScopes(where, s.Scopes, true, add)
		}
		ways := 0
		if s.Payer != nil {
			ways++
			checkPayer(where+": payer", *s.Payer, add)
		}
		if s.PayerSystem != "" {
			ways++
			if _, err := url.Parse(s.PayerSystem); err != nil {
				add("%s: payer_system is not a URI", where)
			}
		}
		if len(s.Payers) > 0 {
			ways++
			for k, py := range s.Payers {
				checkPayer(fmt.Sprintf("%s: payers[%q]", where, k), py, add)
			}
		}
		switch {
		case ways != 1:
			add("%s: name the payer one way: payer, or payer_claim with payer_system, or payer_claim with payers", where)
		case s.Payer != nil && s.PayerClaim != "":
			add("%s: payer_claim is not used with a fixed payer", where)
		case s.Payer == nil && s.PayerClaim == "":
			add("%s: payer_claim is required with payer_system or payers", where)
		}
	}
	if len(p) > 0 {
		return errors.New(strings.Join(p, "; "))
	}
	return nil
}

func checkPayer(where string, p Payer, add func(string, ...any)) {
	if p.System == "" || p.Value == "" {
		add("%s: system and value (the payer Organization's identifier) are required", where)
	}
	if strings.Contains(p.System, "|") {
		add("%s: system has a |", where)
	}
}

func checkScopes(where string, scopes []string, system bool, add func(string, ...any)) {
	if len(scopes) == 0 {
		add("%s: scopes are required, e.g. system/ClaimResponse.rs", where)
	}
	for _, s := range scopes {
		ss, ok := parseSMARTScope(s)
		if !ok || (system && ss.context != "system") {
			add("%s: scope %q: want a SMART system scope such as system/ClaimResponse.rs", where, s)
		}
	}
}

func checkURL(where, s string, add func(string, ...any)) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		add("%s: want an absolute http(s) URL", where)
	}
}

// checkJWKS checks an inline key set: public keys a signature can be
// verified with, at least one, none weak.
func checkJWKS(raw json.RawMessage) error {
	keys, weak, err := parseJWKS(raw)
	switch {
	case err != nil:
		return err
	case weak > 0:
		return fmt.Errorf("%d RSA key(s) shorter than %d bits", weak, minRSABits)
	case len(keys) == 0:
		return errors.New("no usable public key (RSA or EC)")
	}
	return nil
}

// minRSABits: shorter RSA keys are not trusted (NIST SP 800-131A).
const minRSABits = 2048

// parseJWKS reads a JWK Set's public keys; private parts are refused (a
// registration holds public keys only), unsupported key types (oct: a
// shared secret is never a verification key here) and RSA keys shorter
// than minRSABits are left out, the latter counted.
func parseJWKS(raw []byte) (keys []jwkset.JWK, weak int, err error) {
	var set jwkset.JWKSMarshal
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, 0, errors.New("not a JWK Set (want {\"keys\": [...]})")
	}
	for i, m := range set.Keys {
		if m.D != "" {
			return nil, 0, fmt.Errorf("key %d holds a private key: register the public key only", i)
		}
		if m.KTY != jwkset.KtyRSA && m.KTY != jwkset.KtyEC {
			continue
		}
		j, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if errors.Is(err, jwkset.ErrUnsupportedKey) {
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("key %d: %v", i, err)
		}
		if pub, ok := j.Key().(*rsa.PublicKey); ok && pub.N.BitLen() < minRSABits {
			weak++
			continue
		}
		keys = append(keys, j)
	}
	return keys, weak, nil
}

// client finds a registered client.
func (r *Registry) client(id string) (*Client, bool) {
	for i := range r.Clients {
		if r.Clients[i].ClientID == id {
			return &r.Clients[i], true
		}
	}
	return nil, false
}

// issuer finds a configured issuer.
func (r *Registry) issuer(iss string) (*Issuer, bool) {
	for i := range r.Issuers {
		if r.Issuers[i].Issuer == iss {
			return &r.Issuers[i], true
		}
	}
	return nil, false
}

// PayerName is the display name a registration gives the payer, "" when
// none does (for CapabilityStatements and logs; never needed to decide).
func (r *Registry) PayerName(id Identifier) string {
	for _, c := range r.Clients {
		if c.Payer.Identifier() == id && c.Payer.Display != "" {
			return c.Payer.Display
		}
	}
	for _, s := range r.Issuers {
		if s.Payer != nil && s.Payer.Identifier() == id && s.Payer.Display != "" {
			return s.Payer.Display
		}
		for _, p := range s.Payers {
			if p.Identifier() == id && p.Display != "" {
				return p.Display
			}
		}
	}
	return ""
}
