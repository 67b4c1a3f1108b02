package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	gojson "github.com/goccy/go-json"
	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// testInputDirs are the directories of the repository's test inputs,
// relative to this package.
var testInputDirs = []string{
	"../testdata", "../e2e/testdata", "../handlers/testdata", "../service/*/testdata",
	"testdata", "../cmd/utilreview/testdata",
}

// decodeEdgeCases are resources on which JSON decoders are known to part
// from encoding/json: keys in another case or with escapes, repeated keys,
// nulls, strings with escapes or invalid UTF-8, numbers out of range, values
// of the wrong kind, codes the samply enums do not know.
var decodeEdgeCases = []string{
	`{"resourceType":"Patient","Gender":"male","BIRTHDATE":"2000-01-01","ID":"x"}`,
	`{"resourceType":"Patient","gend\u0065r":"female","\u0069d":"y"}`,
	`{"resourceType":"Patient","id":"a","id":"b","gender":"male","gender":"other"}`,
	`{"resourceType":"Patient","id":"a","ID":"b","Id":"c"}`,
	`{"resourceType":"Encounter","ſtatus":"finished","\u017ftatus":"planned","ſubject":{"reference":"Patient/1"}}`,
	"{\"resourceType\":\"Patient\",\"lin\u212a\":[{\"type\":\"seealso\",\"other\":{}}],\"\u212aey\":1}",
	`{"resourceType":"Encounter","STATUS":"planned","status":"finished"}`,
	`{"resourceType":"Encounter","status":"finished","STATUS":"planned"}`,
	`{"resourceType":"Patient","ſtatus":"x","K":"x","activ\u0065":true,"ACTIVE":false}`,
	`{"resourceType":"Patient","name":[{"ﬀamily":"x","family":"Ünïcödé \u00e9 \ud83d\ude00 \ud800 \"q\" \\ \/ \b\f\n\r\t"}]}`,
	"{\"resourceType\":\"Patient\",\"id\":\"\xff\xfe\",\"name\":[{\"text\":\"a\xc3\x28b\xed\xa0\x80\"}]}",
	`{"resourceType":"Patient","gender":null,"name":null,"active":null,"birthDate":null,"id":null}`,
	`{"resourceType":"Patient","name":[null,{"given":[null,"x"]}],"telecom":[]}`,
	`{"resourceType":"Encounter","status":null,"class":{"code":"IMP"}}`,
	`{"resourceType":"Encounter","status":"in-progress","class":null,"period":{"start":"2020"}}`,
	`{"resourceType":"Encounter","status":"bogus"}`,
	`{"resourceType":"Encounter","status":"in-pro\u0067ress"}`,
	`{"resourceType":"Encounter","status":" finished"}`,
	`{"resourceType":"Encounter","status":"finished\""}`,
	`{"resourceType":"Encounter","status":12}`,
	`{"resourceType":"Encounter","status":true}`,
	`{"resourceType":"Encounter","status":["finished"]}`,
	`{"resourceType":"Encounter","status":{"code":"finished"}}`,
	`{"resourceType":"Patient","gender":"male","active":"true"}`,
	`{"resourceType":"Patient","active":1}`,
	`{"resourceType":"Patient","name":{"family":"x"}}`,
	`{"resourceType":"Patient","name":"x"}`,
	`{"resourceType":"Patient","name":[{"given":"x"}]}`,
	`{"resourceType":"Patient","name":[[]]}`,
	`{"resourceType":"Patient","id":5}`,
	`{"resourceType":"Patient","id":["x"]}`,
	`{"resourceType":"Patient","meta":[]}`,
	`{"resourceType":"Patient","multipleBirthInteger":1.5}`,
	`{"resourceType":"Patient","multipleBirthInteger":1e2}`,
	`{"resourceType":"Patient","multipleBirthInteger":-0}`,
	`{"resourceType":"Patient","multipleBirthInteger":99999999999999999999}`,
	`{"resourceType":"Patient","multipleBirthInteger":"2"}`,
	`{"resourceType":"Claim","total":{"value":1e400,"currency":"USD"}}`,
	`{"resourceType":"Claim","total":{"value":-0.000000000000000000001e-9}}`,
	`{"resourceType":"Claim","total":{"value":"12.5"}}`,
	`{"resourceType":"Claim","total":{"value":"x"}}`,
	`{"resourceType":"Claim","total":{"value":true}}`,
	`{"resourceType":"Claim","total":{"value":null}}`,
	`{"resourceType":"Claim","item":[{"sequence":1,"net":{"value":123456789012345678901234567890.123}}]}`,
	`{"resourceType":"Claim","item":[{"sequence":-1}]}`,
	`{"resourceType":"Claim","item":[{"sequence":4294967296}]}`,
	`{"resourceType":"Claim","status":"active","use":"claim","unknown":{"deep":[1,{"a":[null,true]}]},"_status":{"extension":[]}}`,
	`{"resourceType":"ExplanationOfBenefit","contained":[{"resourceType":"Coverage","id":"c"}],"outcome":"complete"}`,
	`{"resourceType":"Coverage","status":"active","extension":[{"url":"u","valueDecimal":0.10,"valueBoolean":false,"valueString":""}]}`,
	`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient"}},{"resource":null},{"resource":[1, 2]},{"resource":"x"}]}`,
	`{"resourceType":"Bundle","type":"collection","entry":[{"resource":  {"resourceType" : "Patient" , "id":"p"}  }]}`,
	`{"resourceType":"Task","status":"ready","intent":"order","input":[{"type":{},"valueInteger":3,"valueUnsignedInt":-3}]}`,
	`{"resourceType":"Communication","status":"completed","payload":[{"contentString":"\u0000"}]}`,
	`{"resourceType":"Account","status":"active","coverage":[{"priority":0}],"text":{"status":"generated","div":"<div>\u003c</div>"}}`,
	`{"resourceType":"Organization","active":true,"alias":["a",null,"b"],"address":[{"line":[]}]}`,
}

type decodeInput struct {
	name string // file (and position) or edge case number
	typ  string
	raw  []byte
}

// testDecodeInputs returns every resource of the repository's test inputs
// (the fuzz corpus of FuzzReadBytes included) and of decodeEdgeCases, as the
// reader sees them: each resource of an R4 type, Bundle entries and
// contained resources included.
func testDecodeInputs(t *testing.T) []decodeInput {
	t.Helper()
	type file struct {
		name string
		data []byte
	}
	var files []file
	for _, pattern := range testInputDirs {
		dirs, err := filepath.Glob(pattern)
		if err != nil || len(dirs) == 0 {
			t.Fatalf("no test inputs in %s: %v", pattern, err)
		}
		for _, dir := range dirs {
			err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				if isInputFile(p) {
					data, err := os.ReadFile(p)
					files = append(files, file{p, data})
					return err
				}
				if filepath.Base(filepath.Dir(p)) == "FuzzReadBytes" {
					data, ndjson, err := readFuzzInput(p)
					if err != nil {
						return err
					}
					name := p + ".json"
					if ndjson {
						name = p + ".ndjson"
					}
					files = append(files, file{name, data})
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, s := range decodeEdgeCases {
		files = append(files, file{"edge case " + strconv.Itoa(i), []byte(s)})
	}

	// A reader that decodes no type emits every resource (its Raw), also
	// those a decoding reader would report as malformed.
	r := NewReader("none")
	var out []decodeInput
	var add func(name string, typ string, raw []byte)
	add = func(name string, typ string, raw []byte) {
		out = append(out, decodeInput{name, typ, raw})
		var top map[string]json.RawMessage
		if json.Unmarshal(raw, &top) != nil {
			return
		}
		var contained []json.RawMessage
		if json.Unmarshal(top["contained"], &contained) != nil {
			return
		}
		for i, c := range contained {
			var peek map[string]json.RawMessage
			var typ string
			if json.Unmarshal(c, &peek) != nil || json.Unmarshal(peek["resourceType"], &typ) != nil || resourceFactory(typ) == nil {
				continue
			}
			add(name+" contained["+strconv.Itoa(i)+"]", typ, c)
		}
	}
	for _, f := range files {
		r.ReadBytes(f.name, f.data, func(res *Resource) {
			add(f.name+" "+res.Source.String(), res.Type, res.Raw)
		})
	}
	return out
}

// readFuzzInput reads a FuzzReadBytes corpus file: go test fuzz v1, then
// []byte("...") and bool(ndjson).
func readFuzzInput(p string) (data []byte, ndjson bool, err error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, false, err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 || lines[0] != "go test fuzz v1" ||
		!strings.HasPrefix(lines[1], "[]byte(") || !strings.HasSuffix(lines[1], ")") {
		return nil, false, &os.PathError{Op: "parse fuzz input", Path: p, Err: os.ErrInvalid}
	}
	s, err := strconv.Unquote(lines[1][len("[]byte(") : len(lines[1])-1])
	if err != nil {
		return nil, false, err
	}
	return []byte(s), lines[2] == "bool(true)", nil
}

// TestDecodeIntoEqual compares the reader's decodeInto, and goccy/go-json
// on its own, with encoding/json on every resource of the test inputs, into
// the samply struct of its type. decodeInto must give encoding/json's value
// and error. goccy/go-json must succeed with a reflect.DeepEqual value where
// encoding/json succeeds, and fail where it fails: decodeInto would correct
// a failure, but not a value that differs, and each failure costs a second
// decode.
//
// The other decoders measured for issue 12 are not equal (docs/benchmarks.md,
// "Faster decoders"): segmentio/encoding fails on a decimal written as a
// string ("value":"12.5", which encoding/json accepts into json.Number);
// sonic's ConfigStd does not match the key "ſubject" (long s) to subject,
// as encoding/json's case folding does; goccy/go-json v0.10.5 matches keys
// in another case only in structs of up to 16 fields (goccy/go-json issue
// 568), so {"resourceType":"Coverage","Id":"0"} of the fuzz corpus loses its
// id.
func TestDecodeIntoEqual(t *testing.T) {
	inputs := testDecodeInputs(t)
	if len(inputs) < 1000 {
		t.Fatalf("only %d resources in the test inputs", len(inputs))
	}
	var stdFails int
	for _, in := range inputs {
		want := resourceFactory(in.typ)()
		werr := json.Unmarshal(in.raw, want)
		if werr != nil {
			stdFails++
		}
		got := resourceFactory(in.typ)()
		if err := decodeInto(in.raw, got); !reflect.DeepEqual(err, werr) {
			t.Errorf("%s (%s): decodeInto's error is %v, encoding/json's %v", in.name, in.typ, err, werr)
		} else if werr == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%s (%s): decodeInto's value differs%s", in.name, in.typ, valueDiff(got, want, in.raw))
		}

		got = resourceFactory(in.typ)()
		gerr := gojson.Unmarshal(in.raw, got)
		switch {
		case werr != nil && gerr == nil:
			t.Errorf("%s (%s): encoding/json fails (%v), goccy/go-json succeeds: %s", in.name, in.typ, werr, clip(in.raw))
		case werr == nil && gerr != nil:
			t.Errorf("%s (%s): goccy/go-json fails (%v), encoding/json succeeds: %s", in.name, in.typ, gerr, clip(in.raw))
		case werr == nil && !reflect.DeepEqual(got, want):
			t.Errorf("%s (%s): goccy/go-json's value differs%s", in.name, in.typ, valueDiff(got, want, in.raw))
		}
	}
	if stdFails == 0 || stdFails == len(inputs) {
		t.Fatalf("encoding/json rejects %d of %d resources: the inputs lack valid or invalid ones", stdFails, len(inputs))
	}
	t.Logf("%d resources, %d of them rejected by encoding/json", len(inputs), stdFails)
}

// TestDecodeIntoFallback makes the fast decoder fail, after filling part of
// the value, and panic: decodeInto must still give encoding/json's value
// and error.
func TestDecodeIntoFallback(t *testing.T) {
	inputs := []string{
		`{"resourceType":"Encounter","id":"e","status":"finished","class":{"code":"IMP"}}`,
		`{"resourceType":"Encounter","status":"bogus","class":{"code":"IMP"}}`,
		`{"resourceType":"Encounter","status":"finished","class":[]}`,
	}
	for _, fast := range []struct {
		name      string
		unmarshal func([]byte, any) error
	}{
		{"fails", func(raw []byte, v any) error {
			e := v.(*fm.Encounter)
			e.Id = new("from the fast decoder")
			e.Status = fm.EncounterStatusCancelled
			e.Text = &fm.Narrative{Div: "<div/>"}
			return errors.New("fast decoder failed")
		}},
		{"panics", func(raw []byte, v any) error {
			v.(*fm.Encounter).Language = new("de")
			panic("fast decoder panicked")
		}},
	} {
		t.Run(fast.name, func(t *testing.T) {
			defer func(f func([]byte, any) error) { fastUnmarshal = f }(fastUnmarshal)
			fastUnmarshal = fast.unmarshal
			for _, s := range inputs {
				var want, got fm.Encounter
				werr := json.Unmarshal([]byte(s), &want)
				err := decodeInto([]byte(s), &got)
				if !reflect.DeepEqual(err, werr) {
					t.Errorf("%s: error %v, encoding/json's %v", s, err, werr)
				} else if werr == nil && !reflect.DeepEqual(got, want) {
					t.Errorf("%s: value differs%s", s, valueDiff(&got, &want, []byte(s)))
				}
			}
		})
	}
}

func valueDiff(got, want any, raw []byte) string {
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	return "\n got " + clip(g) + "\nwant " + clip(w) + "\ninput " + clip(raw)
}

func clip(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// FuzzDecodeInto compares goccy/go-json and decodeInto with encoding/json on
// valid JSON (the reader's scan rejects the rest before decoding) into the
// samply struct of an engine type.
// Run: go test ./fhir -run '^$' -fuzz '^FuzzDecodeInto$' -fuzztime 2m
func FuzzDecodeInto(f *testing.F) {
	for i, s := range decodeEdgeCases {
		f.Add(uint8(i), []byte(s))
	}
	for i, s := range []string{
		`{"resourceType":"Claim","status":"active","use":"claim","item":[{"sequence":1,"net":{"value":12.50,"currency":"USD"}}],"insurance":[{"sequence":1,"focal":true,"coverage":{"reference":"Coverage/1"}}]}`,
		`{"resourceType":"Encounter","status":"finished","class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"IMP"},"period":{"start":"2020-01-01T00:00:00Z"},"hospitalization":{"dischargeDisposition":{"coding":[{"code":"home"}]}}}`,
		`{"resourceType":"Task","status":"requested","intent":"order","input":[{"type":{"text":"x"},"valueString":"y"}],"restriction":{"period":{"end":"2020"}}}`,
	} {
		f.Add(uint8(i), []byte(s))
	}
	f.Fuzz(func(t *testing.T, ti uint8, data []byte) {
		if !json.Valid(data) {
			return
		}
		typ := EngineTypes[int(ti)%len(EngineTypes)]
		want := resourceFactory(typ)()
		werr := json.Unmarshal(data, want)
		got := resourceFactory(typ)()
		if err := decodeInto(data, got); !reflect.DeepEqual(err, werr) {
			t.Fatalf("%s: decodeInto's error is %v, encoding/json's %v", typ, err, werr)
		} else if werr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: decodeInto's value differs%s", typ, valueDiff(got, want, data))
		}
		got = resourceFactory(typ)()
		gerr := gojson.Unmarshal(data, got)
		switch {
		case werr != nil && gerr == nil:
			t.Fatalf("%s: encoding/json fails (%v), goccy/go-json succeeds", typ, werr)
		case werr == nil && gerr != nil:
			t.Fatalf("%s: goccy/go-json fails (%v), encoding/json succeeds", typ, gerr)
		case werr == nil && !reflect.DeepEqual(got, want):
			t.Fatalf("%s: goccy/go-json's value differs%s", typ, valueDiff(got, want, data))
		}
	})
}
