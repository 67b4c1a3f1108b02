package review

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/utilreview/utilreview/fhir"
)

// TestGroupSameAsStrings: grouping by hashed keys (index.group) makes the
// same groups as grouping by the strings themselves, as pass 1 did before
// (groupByStrings), over every test input, the Synthea copies as per-type
// NDJSON, and references written to take each way group resolves one.
func TestGroupSameAsStrings(t *testing.T) {
	ndjson := t.TempDir()
	writeSyntheaNDJSON(t, ndjson, 2)
	edge := t.TempDir()
	for name, data := range groupEdgeCases {
		if err := os.WriteFile(filepath.Join(edge, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	inputs := append(slices.Clone(indexedInputs), ndjson, edge)
	scanner := fhir.NewReader("-")
	for _, dir := range inputs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			files, _ := fhir.ListFiles([]string{dir})
			ix, err := passOne(context.Background(), scanner, files, 2, func() {})
			if err != nil {
				t.Fatal(err)
			}
			wantGroups, wantShared := groupByStrings(t, scanner, files, ix)
			groups, shared := ix.group()
			if fmt.Sprint(groups) != fmt.Sprint(wantGroups) {
				t.Errorf("groups differ:\n got %v\nwant %v", groups, wantGroups)
			}
			var sharedSeqs, wantSeqs []int32
			for _, l := range shared {
				sharedSeqs = append(sharedSeqs, l.seq)
			}
			for _, i := range wantShared {
				wantSeqs = append(wantSeqs, ix.all[i].seq)
			}
			if fmt.Sprint(sharedSeqs) != fmt.Sprint(wantSeqs) {
				t.Errorf("shared resources at %v, want %v", sharedSeqs, wantSeqs)
			}
			if dir == edge && len(groups) < 2 {
				t.Errorf("the edge cases make %d groups: they no longer test what joins and what does not", len(groups))
			}
		})
	}
}

// groupEdgeCases are files whose references take each way group resolves
// one, and a few where the strings differ while what they name is the same.
var groupEdgeCases = map[string]string{
	// By fullUrl first: "http://h/fhir/Patient/2" is p1's fullUrl, and its
	// Type/id is that of Patient 2 (which comes first, so that the two are
	// not one by their Type/id): c1 joins p1 only. c4 names p4 by its
	// fullUrl and Patient 3 by Type/id: it joins both. A urn: reference to
	// a missing Organization joins nothing (c1, cv2); one to a missing
	// Encounter, written three ways, joins c1, c2 and c3.
	"a-bundle.json": `{"resourceType":"Bundle","type":"collection","entry":[
	 {"fullUrl":"urn:uuid:7c1d","resource":{"resourceType":"Patient","id":"2"}},
	 {"fullUrl":"http://h/fhir/Patient/2","resource":{"resourceType":"Patient","id":"p1"}},
	 {"fullUrl":"urn:uuid:9e2a","resource":{"resourceType":"Claim","id":"c1",
	   "patient":{"reference":"http://h/fhir/Patient/2"},"provider":{"reference":"Organization/o1"},
	   "insurer":{"reference":"urn:x://h/Organization/o404"},
	   "item":[{"encounter":[{"reference":"urn:x://h/Encounter/e404"}]},{"encounter":[{"reference":"urn:x://h/Encounter/e404"}]}]}},
	 {"fullUrl":"urn:uuid:8d2e","resource":{"resourceType":"Patient","id":"3"}},
	 {"fullUrl":"http://h/fhir/Patient/3","resource":{"resourceType":"Patient","id":"p4"}},
	 {"fullUrl":"urn:uuid:9e2b","resource":{"resourceType":"Claim","id":"c4",
	   "patient":{"reference":"http://h/fhir/Patient/3"},"enterer":{"reference":"Patient/3"}}},
	 {"fullUrl":"urn:uuid:e3","resource":{"resourceType":"Claim","id":"c2","patient":{"reference":"Encounter/e404"},
	   "insurer":{"reference":"urn:x://h/Organization/o9"}}},
	 {"fullUrl":"urn:uuid:e4","resource":{"resourceType":"Claim","id":"c3","patient":{"reference":"http://h/fhir/Encounter/e404/_history/2"}}},
	 {"fullUrl":"urn:uuid:o1","resource":{"resourceType":"Organization","id":"o1"}},
	 {"fullUrl":"urn:uuid:o1","resource":{"resourceType":"Organization","id":"o1"}},
	 {"fullUrl":"http://h/fhir/Organization/o9","resource":{"resourceType":"Organization","id":"o9"}},
	 {"resource":{"resourceType":"Coverage","id":"cv","beneficiary":{"reference":"urn:uuid:7c1d"},"payor":[{"reference":"urn:uuid:o1"}]}},
	 {"resource":{"resourceType":"Coverage","id":"cv2","beneficiary":{"reference":"urn:uuid:missing"},"payor":[{"reference":"urn:x://h/Organization/o404"}]}},
	 {"resource":{"resourceType":"Coverage","id":"cv3","beneficiary":{"reference":"urn:uuid:missing"}}}
	]}`,
	// By Type/id and by identifier; the same Type/id twice; a missing
	// patient named twice; a reference written with escapes.
	"b.ndjson": strings.Join([]string{
		`{"resourceType":"Patient","id":"n1","identifier":[{"system":"mrn","value":"1"}]}`,
		`{"resourceType":"Patient","identifier":[{"system":"mrn","value":"1"}]}`,
		`{"resourceType":"Encounter","id":"e1","subject":{"identifier":{"system":"mrn","value":"9"}}}`,
		`{"resourceType":"Claim","id":"c9","patient":{"identifier":{"system":"mrn","value":"9"}},"contained":[{"resourceType":"Patient","identifier":[{"system":"mrn","value":"7"}]}]}`,
		`{"resourceType":"Patient","id":"n7","identifier":[{"system":"mrn","value":"7"}]}`,
		`{"resourceType":"Encounter","id":"e2","subject":{"reference":"Patient\/gone"}}`,
		`{"resourceType":"Condition","id":"d1","subject":{"reference":"Patient/gone"},"encounter":{"reference":"Encounter/e2"}}`,
		`{"resourceType":"Condition","id":"d2","subject":{"reference":"Practitioner/x"},"encounter":{"reference":"#e"}}`,
		`{"resourceType":"Condition","id":"d3","subject":{"reference":"Patient?identifier=mrn|1"}}`,
		`{"resourceType":"Encounter","id":"e2"}`,
		`{"resourceType":"Encounter","id":"e3","subject":{"reference":"http://h/fhir/Patient/2"}}`,
		`{"resourceType":"PractitionerRole","id":"r1"}`,
		`{"resourceType":"Task","id":"t1","owner":{"reference":"PractitionerRole/r1"},"for":{"reference":"Patient/n1"}}`,
		`{"resourceType":"Task","id":"t2","owner":{"reference":"PractitionerRole/r1"}}`,
	}, "\n") + "\n",
}

// groupByStrings groups the resources of ix.all as pass 1 did when it kept
// their strings (and as group must still do): it reads each again for its
// id, references and identifiers, then joins them with maps keyed by the
// strings. It returns the groups and the indexes of the shared resources.
func groupByStrings(t *testing.T, scanner *fhir.Reader, files []string, ix *index) (groups [][]int32, shared []int32) {
	t.Helper()
	type strs struct {
		typ, id, fullURL string
		refs             []string
		idents, weak     []string
	}
	all := make([]strs, len(ix.all))
	open := newOpenFiles(files)
	defer open.close()
	for i := range ix.all {
		rs, errs := readLocated(scanner, open, ix, &ix.all[i])
		if len(rs) != 1 {
			t.Fatalf("resource %d: read again %d resources (%v), want 1", i, len(rs), errs)
		}
		r := rs[0]
		s := strs{typ: r.Type, id: r.ID, fullURL: r.FullURL}
		if !sharedTypes[r.Type] {
			eachReference(r.Raw, func(ref []byte) {
				if keptByStrings(string(ref)) && !slices.Contains(s.refs, string(ref)) {
					s.refs = append(s.refs, string(ref))
				}
			})
			s.idents, s.weak = patientIdentifiers(r)
		}
		all[i] = s
	}

	parent := make([]int, len(all))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	union := func(a, b int) {
		ra, rb := find(a), find(b)
		if ra < rb {
			parent[rb] = ra
		} else if rb < ra {
			parent[ra] = rb
		}
	}
	byRef := map[string]int{}
	byURL := map[string]int{}
	virtual := map[string]int{}
	for i, l := range all {
		if l.id != "" {
			key := l.typ + "/" + l.id
			if j, ok := byRef[key]; ok && !sharedTypes[l.typ] {
				union(i, j)
			}
			byRef[key] = i
		}
		if l.fullURL != "" {
			if j, ok := byURL[l.fullURL]; ok && !sharedTypes[l.typ] && !sharedTypes[all[j].typ] {
				union(i, j)
			}
			byURL[l.fullURL] = i
			if rel := fhir.RelativeRef(l.fullURL); rel != "" {
				if _, ok := byRef[rel]; !ok {
					byRef[rel] = i
				}
			}
		}
	}
	idents := map[string]int{}
	for i, l := range all {
		if sharedTypes[l.typ] {
			shared = append(shared, int32(i))
			continue
		}
		for _, key := range l.idents {
			if j, ok := idents[key]; ok {
				union(i, j)
			} else {
				idents[key] = i
			}
		}
		for _, ref := range l.refs {
			j, ok := -1, false
			if strings.HasPrefix(ref, "urn:") || strings.Contains(ref, "://") {
				j, ok = byURL[ref]
			}
			rel := fhir.RelativeRef(ref)
			if !ok && rel != "" {
				j, ok = byRef[rel]
			}
			if ok {
				if !sharedTypes[all[j].typ] {
					union(i, j)
				}
				continue
			}
			typ, _, _ := strings.Cut(rel, "/")
			if rel == "" || !joinType(typ) {
				continue
			}
			if v, ok := virtual[rel]; ok {
				union(i, v)
			} else {
				virtual[rel] = i
			}
		}
	}
	for i, l := range all {
		for _, key := range l.weak {
			if j, ok := idents[key]; ok {
				union(i, j)
			}
		}
	}
	index := map[int]int{}
	for i, l := range all {
		if sharedTypes[l.typ] {
			continue
		}
		r := find(i)
		g, ok := index[r]
		if !ok {
			g = len(groups)
			index[r] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], int32(i))
	}
	return groups, shared
}

// keptByStrings is keepReference as it was written for groupByStrings.
func keptByStrings(ref string) bool {
	if ref == "" || ref[0] == '#' || strings.Contains(ref, "?") {
		return false
	}
	if strings.HasPrefix(ref, "urn:") {
		return true
	}
	rel := fhir.RelativeRef(ref)
	if rel == "" {
		return strings.Contains(ref, "://")
	}
	typ, _, _ := strings.Cut(rel, "/")
	return joinType(typ)
}
