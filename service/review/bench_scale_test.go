package review

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// uuidPattern is what rewriteUUIDs finds, written as a regular expression.
var uuidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// TestRewriteUUIDsMatchesRegexp checks the hand-written rewrite against the
// regular expression, on edge cases and on the Synthea files.
func TestRewriteUUIDsMatchesRegexp(t *testing.T) {
	viaRegexp := func(data []byte, k int) []byte {
		prefix := []byte(fmt.Sprintf("%08x", 0x10000000+k))
		return uuidPattern.ReplaceAllFunc(data, func(u []byte) []byte {
			out := append([]byte(nil), u...)
			copy(out, prefix)
			return out
		})
	}
	inputs := []string{
		"",
		"-",
		"e925b0f3-8006-43f6-aa31-94bd215e55e7",
		"urn:uuid:e925b0f3-8006-43f6-aa31-94bd215e55e7\"",
		"0e925b0f3-8006-43f6-aa31-94bd215e55e7",                            // a longer hex run: the match starts one later
		"e925b0f3-8006-43f6-aa31-94bd215e55e7-8006-43f6-aa31-94bd215e55e7", // no overlap
		"e925b0f3-8006-43f6-aa31-94bd215e55e7e925b0f3-8006-43f6-aa31-94bd215e55e7",
		"E925B0F3-8006-43F6-AA31-94BD215E55E7", // uppercase is not rewritten
		"e925b0f3-8006-43f6-aa31-94bd215e55",   // too short
		"1999-01-02T03:04:05-05:00",
	}
	names, _ := filepath.Glob(filepath.Join(syntheaDir, "*.json"))
	if len(names) > 3 && testing.Short() {
		names = names[:3]
	}
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, string(data))
	}
	for i, in := range inputs {
		got, want := rewriteUUIDs([]byte(in), 7), viaRegexp([]byte(in), 7)
		if !bytes.Equal(got, want) {
			t.Errorf("input %d (%.60q): rewriteUUIDs differs from the regexp", i, in)
		}
	}
}

// TestScaledCopiesAreDistinct checks what the benchmarks' 10x and 100x rest
// on: each copy made by loadSynthea is a distinct set of patients, so n
// copies give n times the patients, encounters, claims and findings, each
// finding with its own Task identifier, and not the same patients read n
// times (which would merge into one and leave the checks' work unchanged).
func TestScaledCopiesAreDistinct(t *testing.T) {
	n := 10
	if testing.Short() {
		n = 3
	}
	opt := testOptions(t)
	// As of 2021 nearly every Synthea finding is moot: raise them, so that
	// copies sharing an identifier would show.
	opt.IncludeMoot = true
	one, _ := loadSynthea(t, 1)
	many, _ := loadSynthea(t, n)
	base, err := RunFiles(context.Background(), one, opt)
	if err != nil {
		t.Fatal(err)
	}
	scaled, err := RunFiles(context.Background(), many, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(base.Errors) != 0 || len(scaled.Errors) != 0 {
		t.Fatalf("input errors: 1x %v; %dx %v", base.Errors, n, scaled.Errors)
	}
	if len(base.Findings) == 0 {
		t.Fatal("no findings at 1x: the scaling would prove nothing")
	}
	count := func(r *Result) (patients, encounters, claims int) {
		for _, p := range r.Set.Patients {
			encounters += len(p.Encounters)
			claims += len(p.Claims)
		}
		return len(r.Set.Patients), encounters, claims
	}
	p1, e1, c1 := count(base)
	pn, en, cn := count(scaled)
	for _, c := range []struct {
		what      string
		got, want int
	}{
		{"patients", pn, n * p1},
		{"encounters", en, n * e1},
		{"claims", cn, n * c1},
		{"resources", scaled.Resources, n * base.Resources},
		{"findings", len(scaled.Findings), n * len(base.Findings)},
		{"closed findings", scaled.Closed, n * base.Closed},
	} {
		if c.got != c.want {
			t.Errorf("%dx: got %d %s, want %d", n, c.got, c.what, c.want)
		}
	}
	patientKeys := make(map[string]bool)
	for _, p := range scaled.Set.Patients {
		patientKeys[p.Key] = true
	}
	if len(patientKeys) != pn {
		t.Errorf("%dx: %d patients but %d distinct patient keys", n, pn, len(patientKeys))
	}
	keys := make(map[string]bool)
	for _, f := range scaled.Findings {
		keys[f.Check+"|"+f.FocusKey+"|"+f.Episode] = true
	}
	if len(keys) != len(scaled.Findings) {
		t.Errorf("%dx: %d findings but %d distinct check|focus|episode keys: copies share identifiers", n, len(scaled.Findings), len(keys))
	}
	// The reference decodes the very bytes the review reads.
	if !bytes.Equal(many[0].Data, one[0].Data) || bytes.Equal(many[1].Data, one[0].Data) {
		t.Error("copy 0 must be the original bytes and copy 1 must differ")
	}
}
