package fhir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// describe renders what a test expects of an emitted resource: type, id,
// where it was found, fullUrl, and whether it was decoded.
func describe(r *Resource) string {
	s := r.Type + "/" + r.ID + " @" + r.Source.String()
	if r.FullURL != "" {
		s += " url=" + r.FullURL
	}
	if r.Value != nil {
		s += " decoded"
	}
	for _, c := range r.Contained {
		s += " [#" + c.ID + " " + c.Type
		if c.Value != nil {
			s += " decoded"
		}
		s += "]"
	}
	return s
}

func readAll(t *testing.T, r *Reader, name, data string) ([]string, []string) {
	t.Helper()
	var got []string
	errs := r.ReadBytes(name, []byte(data), func(res *Resource) { got = append(got, describe(res)) })
	var msgs []string
	for _, err := range errs {
		var ie *InputError
		if !errors.As(err, &ie) {
			t.Errorf("error %v is a %T, want *InputError", err, err)
		}
		msgs = append(msgs, err.Error())
	}
	return got, msgs
}

const encounterIMP = `{"resourceType":"Encounter","id":"e1","status":"finished","class":{"code":"IMP"}}`

func TestReadBytesShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, data string
		want             []string
	}{
		{
			name: "single resource",
			file: "enc.json",
			data: encounterIMP,
			want: []string{"Encounter/e1 @enc.json decoded"},
		},
		{
			name: "resourceType after other keys, byte order mark, surrounding space",
			file: "enc.json",
			data: "\xef\xbb\xbf \n" + `{"id":"e2","status":"planned","class":{"code":"AMB"},"resourceType":"Encounter"}` + "\n",
			want: []string{"Encounter/e2 @enc.json decoded"},
		},
		{
			name: "type not decoded is still emitted",
			file: "obs.json",
			data: `{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"}}`,
			want: []string{"Observation/o1 @obs.json"},
		},
		{
			name: "escaped key and value still recognised",
			file: "p.json",
			data: `{"resource\u0054ype":"Pat\u0069ent","i\u0064":"p\u00e91"}`,
			want: []string{"Patient/p\u00e91 @p.json decoded"},
		},
		{
			name: "transaction bundle with urn:uuid fullUrls",
			file: "b.json",
			data: `{"resourceType":"Bundle","type":"transaction","entry":[
				{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"p1"},"request":{"method":"POST","url":"Patient"}},
				{"fullUrl":"urn:uuid:2","resource":` + encounterIMP + `}]}`,
			want: []string{
				"Patient/p1 @b.json entry 0 url=urn:uuid:1 decoded",
				"Encounter/e1 @b.json entry 1 url=urn:uuid:2 decoded",
			},
		},
		{
			name: "entry keys in any order, type after entry",
			file: "b.json",
			data: `{"entry":[{"resource":{"resourceType":"Patient","id":"p1"},"fullUrl":"http://x/fhir/Patient/p1"}],"resourceType":"Bundle","type":"batch"}`,
			want: []string{"Patient/p1 @b.json entry 0 url=http://x/fhir/Patient/p1 decoded"},
		},
		{
			name: "history bundle: DELETE entry without resource skipped quietly",
			file: "h.json",
			data: `{"resourceType":"Bundle","type":"history","entry":[
				{"fullUrl":"http://x/fhir/Patient/p1","request":{"method":"DELETE","url":"Patient/p1"}},
				{"fullUrl":"http://x/fhir/Patient/p2","resource":null},
				{"fullUrl":"http://x/fhir/Patient/p3","resource":{"resourceType":"Patient","id":"p3"}}]}`,
			want: []string{"Patient/p3 @h.json entry 2 url=http://x/fhir/Patient/p3 decoded"},
		},
		{
			name: "searchset without entries",
			file: "s.json",
			data: `{"resourceType":"Bundle","type":"searchset","total":0}`,
		},
		{
			name: "collection with a nested collection bundle, flattened",
			file: "c.json",
			data: `{"resourceType":"Bundle","type":"collection","entry":[
				{"resource":{"resourceType":"Patient","id":"p1"}},
				{"fullUrl":"urn:uuid:b","resource":{"resourceType":"Bundle","type":"collection","entry":[
					{"fullUrl":"urn:uuid:o","resource":{"resourceType":"Organization","id":"o1"}},
					{"resource":{"resourceType":"Bundle","type":"collection"}}]}}]}`,
			want: []string{
				"Patient/p1 @c.json entry 0 decoded",
				"Organization/o1 @c.json entry 1 (inner Bundle entry 0) url=urn:uuid:o decoded",
				"Bundle/ @c.json entry 1 (inner Bundle entry 1)",
			},
		},
		{
			name: "contained resources of decoded types",
			file: "eob.json",
			data: `{"resourceType":"ExplanationOfBenefit","id":"x1","contained":[
				{"resourceType":"ServiceRequest","id":"referral","status":"completed","intent":"order","subject":{"display":"p"}},
				{"resourceType":"Coverage","id":"coverage","status":"active","beneficiary":{"display":"p"},"payor":[{"display":"medicare"}]}],
				"status":"active","use":"claim","created":"2025-01-01","outcome":"complete"}`,
			want: []string{"ExplanationOfBenefit/x1 @eob.json decoded [#referral ServiceRequest] [#coverage Coverage decoded]"},
		},
		{
			name: "contained of a type not decoded are not read",
			file: "o.json",
			data: `{"resourceType":"Observation","id":"o1","contained":[{"resourceType":"Coverage","id":"c"}]}`,
			want: []string{"Observation/o1 @o.json"},
		},
		{
			name: "ndjson by name: blank lines, CRLF, a Bundle on a line",
			file: "export.ndjson",
			data: "\n" + `{"resourceType":"Patient","id":"p1"}` + "\r\n  \r\n" + encounterIMP + "\n" +
				`{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p2"}}]}`,
			want: []string{
				"Patient/p1 @export.ndjson:2 decoded",
				"Encounter/e1 @export.ndjson:4 decoded",
				"Patient/p2 @export.ndjson:5 entry 0 decoded",
			},
		},
		{
			name: "ndjson content in a .json file",
			file: "export.json",
			data: `{"resourceType":"Patient","id":"p1"}` + "\n" + `{"resourceType":"Patient","id":"p2"}` + "\n",
			want: []string{"Patient/p1 @export.json:1 decoded", "Patient/p2 @export.json:2 decoded"},
		},
		{
			name: "empty ndjson file",
			file: "empty.jsonl",
			data: "\n\n",
		},
	}
	r := NewReader()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, errs := readAll(t, r, tc.file, tc.data)
			if len(errs) > 0 {
				t.Errorf("errors: %q", errs)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("emitted\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestReadBytesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, data string
		wantErrs         []string
		want             []string // what is still emitted
	}{
		{
			name:     "invalid JSON: line and column",
			file:     "bad.json",
			data:     "{\n  \"resourceType\": \"Patient\",\n  \"id\": x1\n}",
			wantErrs: []string{"bad.json:3: invalid JSON at column 9: invalid character 'x' looking for beginning of value"},
		},
		{
			name:     "truncated JSON",
			file:     "cut.json",
			data:     "{\"resourceType\":\n\"Patient\"",
			wantErrs: []string{"cut.json:2: invalid JSON at column 9: unexpected end of JSON input"},
		},
		{
			name:     "trailing garbage after a multi-line resource",
			file:     "tail.json",
			data:     "{\n\"resourceType\":\"Patient\"\n}\n}",
			wantErrs: []string{"tail.json:4: invalid JSON at column 1: invalid character '}' after top-level value"},
		},
		{
			name:     "empty file",
			file:     "empty.json",
			data:     " \n",
			wantErrs: []string{"empty.json: empty file: no JSON resource"},
		},
		{
			name:     "not an object",
			file:     "arr.json",
			data:     `[{"resourceType":"Patient"}]`,
			wantErrs: []string{"arr.json:1: not a JSON object: a FHIR resource must be an object"},
		},
		{
			name:     "missing resourceType",
			file:     "hooks.json",
			data:     `{"hookInstance":"x"}`,
			wantErrs: []string{"hooks.json:1: missing resourceType"},
		},
		{
			name:     "resourceType not a string",
			file:     "n.json",
			data:     `{"resourceType":7}`,
			wantErrs: []string{"n.json:1: resourceType is not a string"},
		},
		{
			name:     "unknown resourceType",
			file:     "u.json",
			data:     `{"resourceType":"Pateint","id":"p1"}`,
			wantErrs: []string{`u.json:1: unknown resourceType (not an R4 resource type)`},
		},
		{
			name:     "Bundle without type",
			file:     "b.json",
			data:     "{\"resourceType\":\"Bundle\",\n\"entry\":[]}",
			wantErrs: []string{"b.json:1: Bundle has no type"},
		},
		{
			name:     "Bundle of an unsupported type",
			file:     "doc.json",
			data:     "{\"resourceType\":\"Bundle\",\n\"type\":\"document\",\"entry\":[{\"resource\":{\"resourceType\":\"Patient\"}}]}",
			wantErrs: []string{`doc.json:2: Bundle type "document" is not supported (want transaction, batch, collection, searchset or history)`},
		},
		{
			name: "entry with an unknown enum code; the other entries are read",
			file: "b.json",
			data: "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[\n" +
				"{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p1\"}},\n" +
				"{\"resource\":{\"resourceType\":\"Encounter\",\"id\":\"e1\",\"status\":\"bogus\"}},\n" +
				"{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p2\"}}]}",
			wantErrs: []string{"b.json:3 entry 1 Encounter/e1: Encounter.status: not a valid code"},
			want:     []string{"Patient/p1 @b.json entry 0 decoded", "Patient/p2 @b.json entry 2 decoded"},
		},
		{
			name:     "entry with a value of the wrong JSON type",
			file:     "b.json",
			data:     `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"Encounter","period":"2025"}}]}`,
			wantErrs: []string{"b.json:1 entry 0: Encounter.period: expected an object (Period), got a string"},
		},
		{
			name: "entry problems: not an object, no resourceType, fullUrl not a string",
			file: "b.json",
			data: "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":[\n7,\n{\"resource\":{\"id\":\"x\"}},\n" +
				"{\"fullUrl\":1,\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p1\"}}]}",
			wantErrs: []string{
				"b.json:2 entry 0: Bundle entry is not a JSON object",
				"b.json:3 entry 1: missing resourceType",
				"b.json:4 entry 2: entry.fullUrl is not a string",
			},
			want: []string{"Patient/p1 @b.json entry 2 decoded"},
		},
		{
			name:     "Bundle.entry not an array",
			file:     "b.json",
			data:     `{"resourceType":"Bundle","type":"batch","entry":{}}`,
			wantErrs: []string{"b.json:1: Bundle.entry is not an array"},
		},
		{
			name:     "nested Bundle without type",
			file:     "b.json",
			data:     "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[\n{\"resource\":{\"resourceType\":\"Bundle\"}}]}",
			wantErrs: []string{"b.json:2 entry 0: Bundle has no type"},
		},
		{
			name: "contained resource that fails to decode; the container is kept",
			file: "c.json",
			data: "{\"resourceType\":\"Claim\",\"id\":\"c1\",\"contained\":[\n" +
				"{\"resourceType\":\"Coverage\",\"id\":\"cov\",\"status\":\"lapsed\"},\n{\"id\":\"x\"}]}",
			wantErrs: []string{
				"c.json:2 Claim/c1 contained #cov: Coverage.status: not a valid code",
				"c.json:3 Claim/c1 contained #x: missing resourceType",
			},
			want: []string{"Claim/c1 @c.json decoded"},
		},
		{
			name: "contained without id, and not an object: named by position",
			file: "c.json",
			data: `{"resourceType":"Claim","id":"c1","contained":[{"resourceType":"Coverage","status":"x"},7]}`,
			wantErrs: []string{
				"c.json:1 Claim/c1 contained #[0]: Coverage.status: not a valid code",
				"c.json:1 Claim/c1 contained #[1]: contained resource is not a JSON object",
			},
			want: []string{"Claim/c1 @c.json decoded"},
		},
		{
			name:     "contained not an array",
			file:     "c.json",
			data:     `{"resourceType":"Claim","id":"c1","contained":{}}`,
			wantErrs: []string{"c.json:1 Claim/c1: contained is not an array"},
			want:     []string{"Claim/c1 @c.json decoded"},
		},
		{
			name: "nested Bundle of an unsupported type inside a collection",
			file: "b.json",
			data: "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p\"}},\n" +
				"{\"resource\":{\"resourceType\":\"Bundle\",\"type\":\"message\",\"entry\":[]}}]}",
			wantErrs: []string{`b.json:2 entry 1: Bundle type "message" is not supported (want transaction, batch, collection, searchset or history)`},
			want:     []string{"Patient/p @b.json entry 0 decoded"},
		},
		{
			name: "ndjson: a bad line, the others read",
			file: "x.ndjson",
			data: `{"resourceType":"Patient","id":"p1"}` + "\n" + `{"resourceType":"Patient","id":}` + "\n" +
				`{"id":"p3"}` + "\n" + `{"resourceType":"Patient","id":"p4"}`,
			wantErrs: []string{
				"x.ndjson:2: invalid JSON at column 32: invalid character '}' looking for beginning of value",
				"x.ndjson:3: missing resourceType",
			},
			want: []string{"Patient/p1 @x.ndjson:1 decoded", "Patient/p4 @x.ndjson:4 decoded"},
		},
	}
	r := NewReader()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, errs := readAll(t, r, tc.file, tc.data)
			if !reflect.DeepEqual(errs, tc.wantErrs) {
				t.Errorf("errors\n got %q\nwant %q", errs, tc.wantErrs)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("emitted\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestNewReaderTypes(t *testing.T) {
	t.Parallel()
	r := NewReader("Observation", "NotAType")
	if !r.Decodes("Observation") || r.Decodes("Encounter") || r.Decodes("NotAType") {
		t.Fatalf("Decodes: got Observation=%v Encounter=%v NotAType=%v, want true false false",
			r.Decodes("Observation"), r.Decodes("Encounter"), r.Decodes("NotAType"))
	}
	var got []any
	errs := r.ReadBytes("o.ndjson", []byte(`{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"}}`+"\n"+encounterIMP),
		func(res *Resource) { got = append(got, res.Value) })
	if len(errs) != 0 || len(got) != 2 {
		t.Fatalf("got %d resources, errors %v; want 2, none", len(got), errs)
	}
	if o, ok := got[0].(*fm.Observation); !ok || o.Id == nil || *o.Id != "o1" {
		t.Errorf("Value 0: got %#v, want *fhir.Observation with id o1", got[0])
	}
	if got[1] != nil {
		t.Errorf("Value 1: got %T, want nil (Encounter not requested)", got[1])
	}
	for _, name := range EngineTypes {
		if !NewReader().Decodes(name) {
			t.Errorf("default reader does not decode engine type %s", name)
		}
	}
}

func TestReadPaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"b.json":               `{"resourceType":"Patient","id":"b"}`,
		"a/z.ndjson":           `{"resourceType":"Patient","id":"az1"}` + "\n" + `{"resourceType":"Patient","id":"az2"}`,
		"a/y.JSONL":            `{"resourceType":"Patient","id":"ay"}`,
		"a/notes.txt":          "not read",
		"a/.hidden.json":       `{"resourceType":"Patient","id":"hidden"}`,
		".git/x.json":          `{"resourceType":"Patient","id":"git"}`,
		"c/broken.json":        `{"resourceType":`,
		"explicit/readme.data": `{"resourceType":"Patient","id":"explicit"}`,
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(dir, "missing.json")
	var got []string
	errs := NewReader().ReadPaths(
		[]string{dir, missing, filepath.Join(dir, "explicit", "readme.data")},
		func(r *Resource) {
			rel, _ := filepath.Rel(dir, r.Source.File)
			got = append(got, r.ID+"@"+filepath.ToSlash(rel))
		})
	want := []string{"ay@a/y.JSONL", "az1@a/z.ndjson", "az2@a/z.ndjson", "b@b.json", "explicit@explicit/readme.data"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("emitted\n got %q\nwant %q", got, want)
	}
	if len(errs) != 2 {
		t.Fatalf("got errors %q, want 2 (broken file, missing path)", errs)
	}
	if want := filepath.Join(dir, "c", "broken.json") + ":1: invalid JSON at column 16: unexpected end of JSON input"; errs[0].Error() != want {
		t.Errorf("error 0: got %q, want %q", errs[0], want)
	}
	if want := missing + ": cannot read: no such file or directory"; errs[1].Error() != want {
		t.Errorf("error 1: got %q, want %q", errs[1], want)
	}
	if !errors.Is(errs[1], fs.ErrNotExist) {
		t.Errorf("error 1: errors.Is(err, fs.ErrNotExist) is false, want true")
	}
}

func TestReadTestdataFiles(t *testing.T) {
	t.Parallel()
	var got []string
	errs := NewReader().ReadPaths([]string{"testdata/read"}, func(r *Resource) {
		got = append(got, describe(r))
	})
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := []string{
		"Parameters/SubscriptionNotificationParameters @testdata/read/Bundle-PASSubscriptionNotification.json entry 0 url=http://example.org/Parameters/SubscriptionNotificationParameters",
		"ClaimResponse/PractitionerRequestorResponseExample @testdata/read/Bundle-PASSubscriptionNotification.json entry 1 (inner Bundle entry 0) url=http://example.org/fhir/ClaimResponse/PractitionerRequestorResponseExample decoded",
		"Organization/UMOExample @testdata/read/Bundle-PASSubscriptionNotification.json entry 1 (inner Bundle entry 1) url=http://example.org/fhir/Organization/UMOExample decoded",
		"Organization/InsurerExample @testdata/read/Bundle-PASSubscriptionNotification.json entry 1 (inner Bundle entry 2) url=http://example.org/fhir/Organization/InsurerExample decoded",
		"Patient/SubscriberExample @testdata/read/Bundle-PASSubscriptionNotification.json entry 1 (inner Bundle entry 3) url=http://example.org/fhir/Patient/SubscriberExample decoded",
		"Practitioner/ReferralPractitionerExample @testdata/read/Bundle-PASSubscriptionNotification.json entry 1 (inner Bundle entry 4) url=http://example.org/fhir/Practitioner/ReferralPractitionerExample",
		"Claim/100152 @testdata/read/Claim-100152.json decoded [#org-insurer Organization decoded] [#org-org Organization decoded] [#provider-1 Practitioner] [#patient-1 Patient decoded] [#coverage-1 Coverage decoded]",
		"Coverage/InsuranceExample @testdata/read/Coverage-InsuranceExample.json decoded",
		"Encounter/f201 @testdata/read/Encounter-f201.json decoded",
		"Patient/p1 @testdata/read/synthetic-export.ndjson:1 decoded",
		"Encounter/e1 @testdata/read/synthetic-export.ndjson:2 decoded",
		"Claim/c1 @testdata/read/synthetic-export.ndjson:4 decoded",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("emitted\n got %q\nwant %q", got, want)
	}
}

// TestScanSpans: the reader says where a resource's contained resources and
// the members that name its patient are, as its scan met them, and when a
// key may stand for one of them under another spelling.
func TestScanSpans(t *testing.T) {
	raw := `{"resourceType":"Claim","id":"c","contained":[{"resourceType":"Patient","id":"p"}],"patient":{"reference":"#p"},"for" : {"display":"x"}}`
	var got *Resource
	if errs := NewReader("-").ReadBytes("c.json", []byte(raw), func(r *Resource) { got = r }); len(errs) > 0 || got == nil {
		t.Fatalf("read: %v", errs)
	}
	sc := got.Scan
	span := func(sp [2]int) string { return string(got.Raw[sp[0]:sp[1]]) }
	if !sc.Scanned || sc.Folded {
		t.Errorf("Scanned %v Folded %v, want true and false", sc.Scanned, sc.Folded)
	}
	for _, c := range []struct{ got, want string }{
		{span(sc.Contained), `[{"resourceType":"Patient","id":"p"}]`},
		{span(sc.Patient[1]), `{"reference":"#p"}`},
		{span(sc.Patient[3]), `{"display":"x"}`},
		{span(sc.Patient[0]), ``},
	} {
		if c.got != c.want {
			t.Errorf("span %q, want %q", c.got, c.want)
		}
	}
	for _, odd := range []string{`"Subject":{}`, `"subject":{},"subject":{}`, `"subj\u0065ct":{}`, `"ſubject":{}`, `"CONTAINED":[]`} {
		var r *Resource
		NewReader("-").ReadBytes("x.json", []byte(`{"resourceType":"Encounter",`+odd+`}`), func(res *Resource) { r = res })
		if r == nil || !r.Scan.Folded {
			t.Errorf("%s: not Folded", odd)
		}
	}
}
