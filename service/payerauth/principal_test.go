package payerauth

import (
	"context"
	"testing"
)

func TestAllows(t *testing.T) {
	cases := []struct {
		scopes      []string
		typ         string
		interaction byte
		want        bool
	}{
		{[]string{"system/ClaimResponse.rs"}, "ClaimResponse", 'r', true},
		{[]string{"system/ClaimResponse.rs"}, "ClaimResponse", 's', true},
		{[]string{"system/ClaimResponse.rs"}, "ClaimResponse", 'u', false},
		{[]string{"system/ClaimResponse.r"}, "ClaimResponse", 's', false},
		{[]string{"system/ClaimResponse.s"}, "ClaimResponse", 's', true},
		{[]string{"system/ClaimResponse.read"}, "ClaimResponse", 's', true}, // v1 .read implies .rs
		{[]string{"system/ClaimResponse.read"}, "ClaimResponse", 'd', false},
		{[]string{"system/ClaimResponse.write"}, "ClaimResponse", 'r', false},
		{[]string{"system/*.rs"}, "ClaimResponse", 'r', true},
		{[]string{"system/*.*"}, "ClaimResponse", 's', true},
		{[]string{"system/Claim.rs"}, "ClaimResponse", 'r', false},
		{[]string{"patient/ClaimResponse.rs"}, "ClaimResponse", 'r', false}, // not a system scope
		{[]string{"user/ClaimResponse.read"}, "ClaimResponse", 'r', false},
		{[]string{"system/ClaimResponse.sr"}, "ClaimResponse", 'r', false}, // v2 letters out of order: not a scope
		{[]string{"system/ClaimResponse.rs?status=active"}, "ClaimResponse", 's', true},
		{[]string{"system/ClaimResponse"}, "ClaimResponse", 'r', false},
		{[]string{"system/ClaimResponse."}, "ClaimResponse", 'r', false},
		{nil, "ClaimResponse", 'r', false},
		{[]string{"launch", "system/ClaimResponse.cruds"}, "ClaimResponse", 'd', true},
	}
	for _, c := range cases {
		if got := (Principal{Scopes: c.scopes}).Allows(c.typ, c.interaction); got != c.want {
			t.Errorf("%v Allows(%s, %c) = %v, want %v", c.scopes, c.typ, c.interaction, got, c.want)
		}
	}
}

func TestPrincipalContext(t *testing.T) {
	if _, ok := FromContext(context.Background()); ok {
		t.Fatal("a bare context carries a principal")
	}
	p := Principal{ClientID: "c", Payer: Identifier{System: "http://hl7.org/fhir/sid/us-npi", Value: "1234567893"}}
	got, ok := FromContext(WithPrincipal(context.Background(), p))
	if !ok || got.ClientID != "c" || got.Payer.String() != "http://hl7.org/fhir/sid/us-npi|1234567893" {
		t.Errorf("FromContext = %+v, %v", got, ok)
	}
}
