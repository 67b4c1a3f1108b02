package payerauth

import (
	"crypto/elliptic"
	"errors"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzAssertion: the assertion parser never panics, refuses with an
// *Error, and accepts only what the registered key signed: an accepted
// assertion carries the claims of a seed that was signed.
func FuzzAssertion(f *testing.F) {
	clk := newClock()
	k := newRSA(f, "a-1", 0, jwt.SigningMethodRS384)
	e := newEC(f, "b-1", elliptic.P384(), jwt.SigningMethodES384)
	reg := &Registry{Clients: []Client{
		{ClientID: "client-a", Payer: payerA, Scopes: []string{"system/ClaimResponse.rs"}, JWKS: jwks(f, k)},
		{ClientID: "client-b", Payer: payerB, Scopes: []string{"system/ClaimResponse.rs"}, JWKS: jwks(f, e)},
	}}
	svc := newTestService(f, offlineRedis(), "{ur}:", reg, clk.Now)
	signed := map[string]string{} // jti → client of a validly signed seed
	for i, c := range []string{"client-a", "client-b", "client-a"} {
		cl := assertion(c, clk.Now())
		cl["jti"] = "seed-" + string(rune('a'+i))
		key := k
		if c == "client-b" {
			key = e
		}
		tok := key.sign(f, cl)
		signed[cl["jti"].(string)] = c
		f.Add(tok)
		f.Add(tamper(f, tok, "iss", "client-b"))
		f.Add(tok[:len(tok)-3])
		f.Add(strings.Replace(tok, ".", "..", 1))
	}
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, assertion("client-a", clk.Now())).SignedString(jwt.UnsafeAllowNoneSignatureType)
	f.Add(none)
	f.Add("")
	f.Add("...")
	f.Add("eyJhbGciOiJSUzM4NCJ9.e30.")
	f.Fuzz(func(t *testing.T, tok string) {
		client, claims, err := svc.verifyAssertion(tok)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Code != ErrCodeInvalidClient {
				t.Fatalf("refusal %v is not an invalid_client Error", err)
			}
			return
		}
		if want, ok := signed[claims.ID]; !ok || client.ClientID != want || claims.Subject != want {
			t.Fatalf("accepted an assertion nobody signed: client %s jti %q", client.ClientID, claims.ID)
		}
	})
}

// FuzzAccessToken: Authenticate's JWT path (an external issuer's token)
// never panics, refuses with invalid_token, and accepts only the signed
// seed's claims.
func FuzzAccessToken(f *testing.F) {
	x := newExternalFixture(f, "max-age=3600")
	good := x.claims()
	good["azp"] = "portal-fuzz"
	f.Add(x.rs.sign(f, good))
	f.Add(x.es.sign(f, good))
	f.Add(tamper(f, x.rs.sign(f, good), "payer_id", "payer-d"))
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, good)
	hsTok, _ := hs.SignedString(x.rs.publicPEM(f))
	f.Add(hsTok)
	f.Add("a.b.c")
	f.Add("..")
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.")
	f.Fuzz(func(t *testing.T, tok string) {
		if strings.Count(tok, ".") != 2 {
			return // the opaque path is a Redis lookup, not parsing
		}
		p, err := x.svc.Authenticate(bg, tok)
		if err != nil {
			if !isRefusal(err, ErrCodeInvalidToken, "") {
				t.Fatalf("refusal %v is not invalid_token", err)
			}
			return
		}
		if p.ClientID != "portal-fuzz" || p.Payer != payerA.Identifier() || p.Issuer != testIssuer {
			t.Fatalf("accepted a token nobody signed: %+v", p)
		}
	})
}
