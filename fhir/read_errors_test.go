package fhir

import (
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// decodeErrs reads one resource and returns its error texts.
func decodeErrs(t *testing.T, r *Reader, data string) []string {
	t.Helper()
	var out []string
	for _, err := range r.ReadBytes("a.json", []byte(data), func(*Resource) {}) {
		out = append(out, err.Error())
	}
	return out
}

var jsonKey = regexp.MustCompile(`"([A-Za-z]+)":|"resourceType":"([A-Za-z]+)"`)

// withoutNames removes from an error text the element and type names of
// the input (they are not values, and a value may share letters with them).
func withoutNames(text, data string) string {
	for _, m := range jsonKey.FindAllStringSubmatch(data, -1) {
		for _, name := range m[1:] {
			if name != "" {
				text = strings.ReplaceAll(text, name, "")
			}
		}
	}
	return text
}

// leaks returns the first substring of 4 bytes of value found in text.
func leaks(text, value string) string {
	for i := 0; i+4 <= len(value); i++ {
		if strings.Contains(text, value[i:i+4]) {
			return value[i : i+4]
		}
	}
	return ""
}

func TestDecodeErrorMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, data, want string
	}{
		{"enum code", `{"resourceType":"Patient","gender":"Secretgender-JohnSmith"}`,
			"a.json:1: Patient.gender: not a valid code"},
		{"enum code, element also nested", `{"resourceType":"Encounter","status":"JohnSmithStatus","class":{"code":"IMP"}}`,
			"a.json:1: Encounter.status: not a valid code"},
		{"enum given an object", `{"resourceType":"Patient","gender":{"name":"John Smith"}}`,
			"a.json:1: Patient.gender: not a valid code"},
		{"enum given a number", `{"resourceType":"Patient","gender":19541106}`,
			"a.json:1: Patient.gender: not a valid code"},
		{"object given a string", `{"resourceType":"Encounter","status":"finished","class":"JohnSmithClass"}`,
			"a.json:1: Encounter.class: expected an object (Coding), got a string"},
		{"array given a string", `{"resourceType":"Patient","name":"John Smith"}`,
			"a.json:1: Patient.name: expected an array, got a string"},
		{"string given a number", `{"resourceType":"Patient","birthDate":19541106}`,
			"a.json:1: Patient.birthDate: expected a string, got a number"},
		{"boolean given a string", `{"resourceType":"Patient","active":"yes John"}`,
			"a.json:1: Patient.active: expected a boolean, got a string"},
		{"nested element", `{"resourceType":"Encounter","status":"finished","class":{"code":"IMP"},"period":{"start":19541106}}`,
			"a.json:1: Encounter.period.start: expected a string, got a number"},
		{"unknown resourceType", `{"resourceType":"JohnSmith"}`,
			"a.json:1: unknown resourceType (not an R4 resource type)"},
	}
	r := NewReader()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			errs := decodeErrs(t, r, tt.data)
			if len(errs) != 1 || errs[0] != tt.want {
				t.Fatalf("got %q, want %q", errs, tt.want)
			}
		})
	}
}

// TestDecodeErrorsQuoteNoValue: whatever value sits in an element, no
// substring of 4 bytes of it appears in the error (values may be PHI).
// The values are random, in an alphabet that no element or type name uses
// in runs of 4 (upper case and digits), plus realistic seeds.
func TestDecodeErrorsQuoteNoValue(t *testing.T) {
	t.Parallel()
	// Elements of several kinds: codes, objects, arrays, strings, booleans,
	// nested and contained.
	templates := []string{
		`{"resourceType":"Patient","gender":%s}`,
		`{"resourceType":"Patient","birthDate":%s}`,
		`{"resourceType":"Patient","name":%s}`,
		`{"resourceType":"Patient","name":[{"family":%s}]}`,
		`{"resourceType":"Patient","active":%s}`,
		`{"resourceType":"Encounter","status":%s,"class":{"code":"IMP"}}`,
		`{"resourceType":"Encounter","status":"finished","class":%s}`,
		`{"resourceType":"Encounter","status":"finished","class":{"code":"IMP"},"period":{"start":%s}}`,
		`{"resourceType":"Claim","status":"active","use":%s}`,
		`{"resourceType":"Claim","status":"active","use":"claim","item":[{"sequence":%s}]}`,
		`{"resourceType":"Claim","id":"c","contained":[{"resourceType":"Coverage","id":"x","status":%s}]}`,
		`{"resourceType":%s}`,
	}
	seeds := []string{"Secretgender-JohnSmith", "JohnSmithStatus", "1954-06-11 John", "SSN 123-45-6789"}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -"
	for i := 0; i < 50; i++ {
		b := make([]byte, 6+rng.IntN(20))
		for j := range b {
			b[j] = alphabet[rng.IntN(len(alphabet))]
		}
		seeds = append(seeds, string(b))
	}
	r := NewReader()
	for _, secret := range seeds {
		s, _ := json.Marshal(secret)
		// The secret as a string, inside an object, inside an array, and
		// its digits as a number where it has some.
		values := []string{string(s), `{"text":` + string(s) + `}`, `[` + string(s) + `]`}
		if d := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, secret); len(d) >= 4 && d[0] != '0' {
			values = append(values, d)
		}
		for _, tmpl := range templates {
			for _, v := range values {
				data := strings.Replace(tmpl, "%s", v, 1)
				for _, e := range decodeErrs(t, r, data) {
					e = withoutNames(e, data)
					if l := leaks(e, secret); l != "" {
						t.Errorf("input %s: error %q quotes %q of the value", data, e, l)
					}
					if d := strings.Trim(v, `"`); len(v) > 0 && v[0] >= '1' && v[0] <= '9' {
						if l := leaks(e, d); l != "" {
							t.Errorf("input %s: error %q quotes %q of the number", data, e, l)
						}
					}
				}
			}
		}
	}
}
