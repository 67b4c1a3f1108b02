package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Run one with: go test ./fhir -run '^$' -fuzz '^FuzzReadBytes$' -fuzztime 2m
// The corpus under testdata/fuzz/<name>/ is replayed by plain go test.

func FuzzReadBytes(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/read/*.json")
	for _, p := range seeds {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data, false)
		}
	}
	if data, err := os.ReadFile("testdata/read/synthetic-export.ndjson"); err == nil {
		f.Add(data, true)
	}
	for _, s := range []string{
		encounterIMP,
		`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Bundle","type":"history","entry":[{"resource":{"resourceType":"Patient","id":"p"}}]}}]}`,
		`{"resourceType":"Bundle","type":"history","entry":[{"request":{"method":"DELETE"}},{"resource":null},{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient"}}]}`,
		`{"resourceType":"Claim","contained":[{"resourceType":"Coverage","id":"c","status":"active"},{},[],"x"]}`,
		`{"resource\u0054ype":"Patient","id":"\u00e9"}` + "\n" + `{"resourceType":"Patient"}`,
		`{"resourceType":"Encounter","status":"bogus"}`,
		"\xef\xbb\xbf[1,{\"a\":\"\\\"}\"}]",
		`{"resourceType":"Bundle","type":"batch","entry":{"resource":{}}}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	r := NewReader()
	f.Fuzz(func(t *testing.T, data []byte, ndjson bool) {
		name := "fuzz.json"
		if ndjson {
			name = "fuzz.ndjson"
		}
		orig := bytes.Clone(data)
		var emitted []*Resource
		errs := r.ReadBytes(name, data, func(res *Resource) { emitted = append(emitted, res) })
		if !bytes.Equal(orig, data) {
			t.Fatal("ReadBytes modified its input")
		}
		for _, err := range errs {
			var ie *InputError
			if !errors.As(err, &ie) || ie.Source.File != name {
				t.Fatalf("error %q is not an *InputError naming %s", err, name)
			}
		}
		for _, res := range emitted {
			checkEmitted(t, r, name, res)
			for _, c := range res.Contained {
				checkEmitted(t, r, name, c)
				if c.Container() != res {
					t.Fatalf("%s: contained %s has the wrong container", res.Source, c.ID)
				}
			}
		}
		// A lone object that is a valid, known, non-Bundle resource is either
		// emitted or reported, never both or neither.
		if !ndjson && json.Valid(data) {
			var head map[string]any
			_ = json.Unmarshal(data, &head)
			if typ, ok := head["resourceType"].(string); ok && typ != "Bundle" && resourceFactory(typ) != nil {
				if n := len(emitted) + len(errs); n != 1 && !(len(emitted) == 1 && len(errs) > 0) {
					t.Fatalf("single %s: %d emitted and %d errors, want exactly one of them (contained errors aside)",
						typ, len(emitted), len(errs))
				}
			}
		}
	})
}

func checkEmitted(t *testing.T, r *Reader, name string, res *Resource) {
	t.Helper()
	if res.Source.File != name {
		t.Fatalf("resource from %q, want %q", res.Source.File, name)
	}
	if resourceFactory(res.Type) == nil {
		t.Fatalf("emitted unknown type %q", res.Type)
	}
	// A map, not a struct: encoding/json matches struct fields without
	// regard to case, FHIR (and the reader) do not.
	var head map[string]any
	if err := json.Unmarshal(res.Raw, &head); err != nil {
		t.Fatalf("%s: Raw is not a JSON object: %v", res.Source, err)
	}
	if typ, _ := head["resourceType"].(string); typ != res.Type {
		t.Fatalf("%s: Raw has resourceType %q, Type is %q", res.Source, typ, res.Type)
	}
	if id, _ := head["id"].(string); id != res.ID {
		t.Fatalf("%s: Raw has id %q, ID is %q", res.Source, id, res.ID)
	}
	if (res.Value != nil) != r.Decodes(res.Type) {
		t.Fatalf("%s: Value %T for %s, decoded=%v", res.Source, res.Value, res.Type, r.Decodes(res.Type))
	}
	// The value is the one encoding/json decodes (decodeInto).
	if res.Value != nil {
		want := resourceFactory(res.Type)()
		if err := json.Unmarshal(res.Raw, want); err != nil || !reflect.DeepEqual(res.Value, want) {
			t.Fatalf("%s: Value is not what encoding/json decodes (%v)", res.Source, err)
		}
	}
}

func FuzzParseDateTime(f *testing.F) {
	for _, s := range []string{
		"2025", "2025-07", "2025-07-04", "2025-07-04T10:30:00Z", "2025-07-04T10:30:00.123+02:00",
		"2025-11-02T01:30:00", "2025-03-09T02:30:00", "2016-12-31T23:59:60Z", "2025-07-04T10:30", "garbage", "",
	} {
		f.Add(s)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		f.Skipf("time zone data: %v", err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, prec, err := ParseDateTime(s, ny)
		if err != nil {
			if !got.IsZero() || prec != 0 {
				t.Fatalf("error %v with a value %v %v", err, got, prec)
			}
			return
		}
		if prec < Year || prec > Subsecond {
			t.Fatalf("precision %d out of range", prec)
		}
		// The result printed in UTC reads back as the same instant (UTC, as
		// local mean time offsets have seconds, which FHIR cannot write).
		again, _, err := ParseDateTime(got.UTC().Format("2006-01-02T15:04:05.999999999Z07:00"), ny)
		if got.UTC().Year() >= 1 && (err != nil || !again.Equal(got)) { // year 0 in UTC has no FHIR form
			t.Fatalf("%q gave %v, which reads back as %v (%v)", s, got, again, err)
		}
		// With an explicit offset, the instant is the one the standard library reads.
		if prec >= Second && (strings.HasSuffix(s, "Z") || strings.LastIndexAny(s, "+-") > 10) {
			if std, err := time.Parse(time.RFC3339Nano, s); err == nil && !std.Equal(got) {
				t.Fatalf("%q: got %v, time.Parse says %v", s, got, std)
			}
		}
	})
}

func FuzzResolve(f *testing.F) {
	for _, s := range []string{
		"Patient/1", "Patient/1/_history/2", "http://a.example/fhir/Patient/1", "urn:uuid:0d4c6f3e-8a1b-4c2d-9e5f-000000000001",
		"#cov", "#", "Practitioner/nid", "/", "Patient/", "a/_history/", "http://x/_history/1", "?",
	} {
		f.Add(s, uint8(0))
	}
	ix, res := buildIndex(f)
	froms := []*Resource{nil}
	for _, r := range res {
		froms = append(froms, r)
	}
	f.Fuzz(func(t *testing.T, ref string, from uint8) {
		src := froms[int(from)%len(froms)]
		got := ix.Resolve(ref, src)
		if got == nil {
			return
		}
		// Whatever it finds was indexed or is contained in (or is) the container.
		switch {
		case strings.HasPrefix(ref, "#"):
			if src == nil {
				t.Fatalf("Resolve(%q, nil) found %v", ref, describeOrNil(got))
			}
		case got.container != nil:
			t.Fatalf("Resolve(%q) found contained %s outside its container", ref, describeOrNil(got))
		}
	})
}
