package harness

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
)

// Stored is a Bundle's resources as PutBundle stored them.
type Stored struct {
	// Resources in the Bundle's order, as sent (ids suffixed, references
	// rewritten, tag added).
	Resources []map[string]any
	// File is a collection Bundle of the same resources, for the offline
	// review of exactly what the server holds.
	File string
}

// Refs are the "Type/id" of the stored resources of a type.
func (s *Stored) Refs(typ string) []string {
	var out []string
	for _, r := range s.Resources {
		if r["resourceType"] == typ {
			out = append(out, typ+"/"+r["id"].(string))
		}
	}
	return out
}

// PutBundle stores every resource of a Bundle file (collection, transaction,
// batch) on the FHIR server under its own id, as an EHR holds them: one
// transaction of PUT Type/id. References to the Bundle's resources (urn:uuid
// fullUrls as Synthea writes them, absolute URLs, Type/id) become Type/id;
// with idSuffix set every id gets "-<idSuffix>", so tests sharing the server
// each have their own copy of fixed example ids. tag, when its code is set,
// is added to every resource's meta.tag. It fails the test when the server
// refuses the transaction.
func (c *FHIR) PutBundle(path, idSuffix string, tag Tag) *Stored {
	c.t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		c.t.Fatal(err)
	}
	var in struct {
		Entry []struct {
			FullURL  string         `json:"fullUrl"`
			Resource map[string]any `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(data, &in); err != nil {
		c.t.Fatalf("%s: %v", path, err)
	}
	refs := map[string]string{}
	for _, e := range in.Entry {
		typ, _ := e.Resource["resourceType"].(string)
		id, _ := e.Resource["id"].(string)
		if typ == "" || id == "" {
			c.t.Fatalf("%s: an entry without resourceType or id", path)
		}
		to := typ + "/" + id
		if idSuffix != "" {
			to += "-" + idSuffix
		}
		refs[typ+"/"+id] = to
		if e.FullURL != "" {
			refs[e.FullURL] = to
		}
	}
	st := &Stored{}
	var entries []any
	for _, e := range in.Entry {
		r := rewriteRefs(e.Resource, refs).(map[string]any)
		if idSuffix != "" {
			r["id"] = r["id"].(string) + "-" + idSuffix
		}
		if tag.Code != "" {
			meta, _ := r["meta"].(map[string]any)
			if meta == nil {
				meta = map[string]any{}
			}
			tags, _ := meta["tag"].([]any)
			meta["tag"] = append(tags, map[string]any{"system": tag.System, "code": tag.Code})
			r["meta"] = meta
		}
		ref := r["resourceType"].(string) + "/" + r["id"].(string)
		st.Resources = append(st.Resources, r)
		entries = append(entries, map[string]any{"fullUrl": c.Base + "/" + ref, "resource": r, "request": map[string]any{"method": "PUT", "url": ref}})
	}
	c.Transaction(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries})

	var coll []any
	for _, r := range st.Resources {
		coll = append(coll, map[string]any{"fullUrl": c.Base + "/" + r["resourceType"].(string) + "/" + r["id"].(string), "resource": r})
	}
	out, err := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "collection", "entry": coll})
	if err != nil {
		c.t.Fatal(err)
	}
	st.File = filepath.Join(c.t.TempDir(), strings.TrimSuffix(filepath.Base(path), ".json")+".stored.json")
	if err := os.WriteFile(st.File, out, 0o644); err != nil {
		c.t.Fatal(err)
	}
	return st
}

// rewriteRefs replaces the reference strings found in refs, everywhere in v.
func rewriteRefs(v any, refs map[string]string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, y := range x {
			if s, ok := y.(string); ok && k == "reference" {
				if to, ok := refs[s]; ok {
					x[k] = to
				}
				continue
			}
			x[k] = rewriteRefs(y, refs)
		}
		return x
	case []any:
		for i := range x {
			x[i] = rewriteRefs(x[i], refs)
		}
		return x
	}
	return v
}
