package payerauth

import (
	"errors"
	"fmt"
	"strings"
)

// Bounds on a scope parameter: a payer client asks for a few scopes; these
// keep a hostile request from costing more than a small one.
const (
	maxScopes      = 50
	maxScopeLength = 256
)

// ParseScopes splits an OAuth scope parameter (RFC 6749 section 3.3: scope
// tokens separated by spaces, each of the characters %x21 / %x23-5B /
// %x5D-7E) into its distinct scopes, in order. An empty parameter is no
// scopes. Errors name the problem, never the value.
func ParseScopes(s string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, tok := range strings.Split(s, " ") {
		if tok == "" {
			continue
		}
		if len(tok) > maxScopeLength {
			return nil, fmt.Errorf("a scope is longer than %d characters", maxScopeLength)
		}
		for i := 0; i < len(tok); i++ {
			if c := tok[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
				return nil, errors.New("a scope has a character RFC 6749 does not allow")
			}
		}
		if seen[tok] {
			continue
		}
		seen[tok] = true
		if out = append(out, tok); len(out) > maxScopes {
			return nil, fmt.Errorf("more than %d scopes", maxScopes)
		}
	}
	return out, nil
}

// smartScope is a SMART scope `context/Type.perms[?query]` with its
// permissions normalised to SMART v2 letters (v1 `read` is `rs`, `write`
// is `cud`, `*` is `cruds`).
type smartScope struct {
	context, typ, perms, query string
}

// parseSMARTScope parses a SMART v1 or v2 resource scope; ok is false for
// anything else (openid, launch, a malformed scope).
func parseSMARTScope(s string) (smartScope, bool) {
	ctx, rest, ok := strings.Cut(s, "/")
	if !ok || (ctx != "system" && ctx != "user" && ctx != "patient") {
		return smartScope{}, false
	}
	rest, query, _ := strings.Cut(rest, "?")
	typ, perms, ok := strings.Cut(rest, ".")
	if !ok || typ == "" || (typ != "*" && !isResourceType(typ)) {
		return smartScope{}, false
	}
	switch perms {
	case "read":
		perms = "rs"
	case "write":
		perms = "cud"
	case "*":
		perms = "cruds"
	default:
		if !v2Perms(perms) {
			return smartScope{}, false
		}
	}
	return smartScope{context: ctx, typ: typ, perms: perms, query: query}, true
}

// isResourceType reports whether s has the shape of a FHIR resource type
// name: an upper-case letter, then letters.
func isResourceType(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// covers reports whether the registered (or issuer-allowed) scope g grants
// the requested scope r: the same scope, or a SMART scope of the same
// context on the same type (or `*`) whose permissions include r's. A
// registered scope narrowed by a query grants only itself, and a requested
// narrowed scope is granted by an unnarrowed one (it asks for less).
func covers(g, r string) bool {
	if g == r {
		return true
	}
	gs, ok1 := parseSMARTScope(g)
	rs, ok2 := parseSMARTScope(r)
	if !ok1 || !ok2 || gs.context != rs.context || gs.query != "" {
		return false
	}
	if gs.typ != "*" && gs.typ != rs.typ {
		return false
	}
	for i := 0; i < len(rs.perms); i++ {
		if strings.IndexByte(gs.perms, rs.perms[i]) < 0 {
			return false
		}
	}
	return true
}

// grantScopes returns the requested scopes that some allowed scope covers,
// and those none does.
func grantScopes(allowed, requested []string) (granted, refused []string) {
	for _, r := range requested {
		ok := false
		for _, g := range allowed {
			if covers(g, r) {
				ok = true
				break
			}
		}
		if ok {
			granted = append(granted, r)
		} else {
			refused = append(refused, r)
		}
	}
	return granted, refused
}
