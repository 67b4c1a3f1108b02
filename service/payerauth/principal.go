// Package payerauth authenticates the payer portal's clients (SMART Backend
// Services) and says what each may see: a Principal is one authenticated
// client of one payer, with the SMART v2 scopes it was granted.
package payerauth

import (
	"context"
	"strings"
)

// Identifier names a payer Organization as its business identifier
// (Organization.identifier system|value), e.g. its NPI.
type Identifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

// String is system|value, the FHIR token search form.
func (i Identifier) String() string { return i.System + "|" + i.Value }

// Principal is an authenticated payer client.
type Principal struct {
	// ClientID is the registered client (or the external token's subject).
	ClientID string
	// Issuer is the external issuer that signed the access token, "" for a
	// token utilreview's own token endpoint issued.
	Issuer string
	// Payer is the payer the client acts for: it sees that payer's
	// determinations and no other's.
	Payer Identifier
	// Scopes are the granted scopes, as the token lists them.
	Scopes []string
}

// Allows reports whether the granted scopes permit an interaction on a
// resource type at the system level. interaction is one SMART v2
// permission letter: 'c' create, 'r' read, 'u' update, 'd' delete, 's'
// search. SMART v1's `.read` implies `.rs`, `.write` implies `.cud`, and
// `*` implies all; the resource type may be `*`.
func (p Principal) Allows(resourceType string, interaction byte) bool {
	for _, s := range p.Scopes {
		rest, ok := strings.CutPrefix(s, "system/")
		if !ok {
			continue
		}
		typ, perms, ok := strings.Cut(rest, ".")
		if !ok || (typ != resourceType && typ != "*") {
			continue
		}
		perms, _, _ = strings.Cut(perms, "?") // v2 granular scopes narrow by a query; the payer filter applies anyway
		switch perms {
		case "*":
			return true
		case "read":
			if interaction == 'r' || interaction == 's' {
				return true
			}
			continue
		case "write":
			if interaction == 'c' || interaction == 'u' || interaction == 'd' {
				return true
			}
			continue
		}
		if v2Perms(perms) && strings.IndexByte(perms, interaction) >= 0 {
			return true
		}
	}
	return false
}

// v2Perms reports whether s is a SMART v2 permission string: a non-empty
// subsequence of "cruds", in that order.
func v2Perms(s string) bool {
	if s == "" {
		return false
	}
	order := "cruds"
	i := 0
	for j := 0; j < len(s); j++ {
		k := strings.IndexByte(order[i:], s[j])
		if k < 0 {
			return false
		}
		i += k + 1
	}
	return true
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the Principal WithPrincipal stored, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
