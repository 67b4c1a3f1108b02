package fhir

import "strings"

// Index finds the resources read by their references. It is not safe for
// concurrent Add; Resolve may run concurrently once adding is done.
//
// Duplicates: when two resources have the same Type/id (or the same
// fullUrl), the one added last wins. ReadPaths emits files in a fixed order
// (arguments in order, directories in lexical order) and each file in input
// order, so adding every emitted resource gives the same answer every run.
type Index struct {
	byRef map[typeID]*Resource // Type/id, as a pair so that Add builds no string
	byURL map[string]*Resource // Bundle.entry.fullUrl (urn:uuid:, urn:oid:, absolute URLs)
	// byBase holds the RESTful fullUrls split into service base and Type/id,
	// so that a relative reference resolves against a base without building
	// the joined string.
	byBase map[baseRef]*Resource
}

type baseRef struct{ base, typeID string }

type typeID struct{ typ, id string }

// NewIndex returns an empty Index.
func NewIndex() *Index {
	return &Index{
		byRef:  make(map[typeID]*Resource),
		byURL:  make(map[string]*Resource),
		byBase: make(map[baseRef]*Resource),
	}
}

// Add indexes r by its Type/id and its fullUrl. Contained resources are not
// indexed globally: they resolve as "#id" from their container.
func (ix *Index) Add(r *Resource) {
	if r == nil || r.container != nil {
		return
	}
	if r.ID != "" {
		ix.byRef[typeID{r.Type, r.ID}] = r
	}
	if r.FullURL != "" {
		ix.byURL[r.FullURL] = r
		if base := fullURLBase(r.FullURL); base != "" {
			ref, _ := typeAndID(r.FullURL)
			ix.byBase[baseRef{base, ref}] = r
		}
	}
}

// Resolve finds the resource a reference points to, or nil:
//   - "#id": a resource contained in from (or a sibling, when from is itself
//     contained); "#" alone is the container;
//   - "urn:uuid:..." and "urn:oid:...": the entry with that fullUrl;
//   - an absolute URL: the entry with that fullUrl, else the resource with the
//     URL's trailing Type/id ("/_history/n" ignored);
//   - "Type/id" (or "Type/id/_history/n"): the resource with that Type/id,
//     else, inside a Bundle whose fullUrls are absolute, the entry whose
//     fullUrl is from's base + "/Type/id" (FHIR's rule for relative
//     references in Bundles).
//
// Conditional references ("Patient?identifier=...") are not resolved. The
// lookups do not allocate.
func (ix *Index) Resolve(ref string, from *Resource) *Resource {
	if ref == "" {
		return nil
	}
	if ref[0] == '#' {
		return resolveContained(ref[1:], from)
	}
	if strings.HasPrefix(ref, "urn:") {
		return ix.byURL[ref]
	}
	if strings.IndexByte(ref, '?') >= 0 {
		return nil
	}
	absolute := strings.Contains(ref, "://")
	if absolute {
		if r := ix.byURL[ref]; r != nil {
			return r
		}
	}
	rel, ok := typeAndID(ref)
	if !ok {
		return nil
	}
	slash := strings.IndexByte(rel, '/') // typeAndID guarantees one
	if r := ix.byRef[typeID{rel[:slash], rel[slash+1:]}]; r != nil {
		return r
	}
	if absolute || from == nil {
		return nil
	}
	if from.container != nil {
		from = from.container
	}
	base := fullURLBase(from.FullURL)
	if base == "" {
		return nil
	}
	return ix.byBase[baseRef{base, rel}]
}

func resolveContained(id string, from *Resource) *Resource {
	if from == nil {
		return nil
	}
	if from.container != nil {
		from = from.container
	}
	if id == "" {
		return from
	}
	for _, c := range from.Contained {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// typeAndID returns the trailing "Type/id" of a reference, without any
// "/_history/n"; ok is false when the reference does not end in one.
func typeAndID(ref string) (string, bool) {
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	ref = strings.TrimSuffix(ref, "/")
	slash := strings.LastIndexByte(ref, '/')
	if slash <= 0 || slash == len(ref)-1 {
		return "", false
	}
	start := strings.LastIndexByte(ref[:slash], '/') + 1
	if c := ref[start]; c < 'A' || c > 'Z' { // resource types start upper case
		return "", false
	}
	return ref[start:], true
}

// fullURLBase is the service base of an absolute RESTful fullUrl
// ("http://x/fhir/Patient/1" gives "http://x/fhir"), or "".
func fullURLBase(fullURL string) string {
	if !strings.HasPrefix(fullURL, "http://") && !strings.HasPrefix(fullURL, "https://") {
		return ""
	}
	typeID, ok := typeAndID(fullURL)
	if !ok {
		return ""
	}
	u := fullURL
	if i := strings.Index(u, "/_history/"); i >= 0 {
		u = u[:i]
	}
	u = strings.TrimSuffix(u, "/")
	base := strings.TrimSuffix(u, typeID)
	return strings.TrimSuffix(base, "/")
}
