package payerauth

import (
	"slices"
	"strings"
	"testing"
)

func TestParseScopes(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  bool
	}{
		{"", nil, false},
		{"   ", nil, false},
		{"system/ClaimResponse.rs", []string{"system/ClaimResponse.rs"}, false},
		{"system/ClaimResponse.rs  system/ClaimResponse.rs openid", []string{"system/ClaimResponse.rs", "openid"}, false},
		{"system/ClaimResponse.rs\tsystem/Patient.rs", nil, true}, // RFC 6749: space only
		{`a "b"`, nil, true},
		{`a\b`, nil, true},
		{"é", nil, true},
		{strings.Repeat("x", maxScopeLength+1), nil, true},
		{strings.Repeat("s ", 20), []string{"s"}, false},
	}
	for _, c := range cases {
		got, err := ParseScopes(c.in)
		if (err != nil) != c.err || !slices.Equal(got, c.want) {
			t.Errorf("ParseScopes(%q) = %q, %v; want %q, error %v", c.in, got, err, c.want, c.err)
		}
	}
	var many []string
	for i := range maxScopes + 1 {
		many = append(many, "s"+strings.Repeat("x", i))
	}
	if _, err := ParseScopes(strings.Join(many, " ")); err == nil {
		t.Errorf("%d scopes accepted", len(many))
	}
}

// covers follows SMART App Launch v2 (section "Scopes for requesting
// clinical data"): v2 permission letters in the order c r u d s; v1 .read
// is .rs and .write .cud; a * type covers every type of its context.
func TestCovers(t *testing.T) {
	cases := []struct {
		registered, requested string
		want                  bool
	}{
		{"system/ClaimResponse.rs", "system/ClaimResponse.rs", true},
		{"system/ClaimResponse.rs", "system/ClaimResponse.r", true},
		{"system/ClaimResponse.rs", "system/ClaimResponse.s", true},
		{"system/ClaimResponse.rs", "system/ClaimResponse.read", true},
		{"system/ClaimResponse.read", "system/ClaimResponse.rs", true},
		{"system/ClaimResponse.r", "system/ClaimResponse.rs", false},
		{"system/ClaimResponse.rs", "system/ClaimResponse.cruds", false},
		{"system/ClaimResponse.rs", "system/ClaimResponse.*", false},
		{"system/*.rs", "system/ClaimResponse.rs", true},
		{"system/ClaimResponse.rs", "system/*.rs", false},
		{"system/ClaimResponse.rs", "system/Claim.rs", false},
		{"system/ClaimResponse.rs", "patient/ClaimResponse.rs", false},
		{"system/ClaimResponse.rs", "system/ClaimResponse.rs?status=active", true},  // narrower
		{"system/ClaimResponse.rs?status=active", "system/ClaimResponse.rs", false}, // wider than registered
		{"system/ClaimResponse.rs?status=active", "system/ClaimResponse.rs?status=active", true},
		{"system/ClaimResponse.rs", "system/ClaimResponse.sr", false}, // not a v2 scope
		{"system/ClaimResponse.rs", "system/claimresponse.rs", false},
		{"system/ClaimResponse.rs", "openid", false},
		{"openid", "openid", true},
	}
	for _, c := range cases {
		if got := covers(c.registered, c.requested); got != c.want {
			t.Errorf("covers(%q, %q) = %v, want %v", c.registered, c.requested, got, c.want)
		}
	}
}

// FuzzParseScopes: whatever the input, the scopes are distinct non-empty
// RFC 6749 scope tokens, and parsing them joined gives them back; covers
// never panics and every scope covers itself.
func FuzzParseScopes(f *testing.F) {
	for _, s := range []string{"", "system/ClaimResponse.rs", "system/ClaimResponse.read system/*.cruds openid",
		"system/ClaimResponse.rs?status=active", "a  b\tc", "system/.", "system/X.", "/.?", "\x00", "user/Patient.sr"} {
		f.Add(s, "system/ClaimResponse.rs")
	}
	f.Fuzz(func(t *testing.T, in, registered string) {
		out, err := ParseScopes(in)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, s := range out {
			if s == "" || strings.ContainsAny(s, " \t\n\"\\") || seen[s] || len(s) > maxScopeLength {
				t.Fatalf("ParseScopes(%q) gave %q", in, s)
			}
			seen[s] = true
			if !covers(s, s) {
				t.Fatalf("%q does not cover itself", s)
			}
			_ = covers(registered, s)
		}
		again, err := ParseScopes(strings.Join(out, " "))
		if err != nil || !slices.Equal(again, out) {
			t.Fatalf("ParseScopes not stable on %q: %q, %v", in, again, err)
		}
		granted, refused := grantScopes([]string{registered}, out)
		if len(granted)+len(refused) != len(out) {
			t.Fatalf("grantScopes lost scopes")
		}
	})
}
