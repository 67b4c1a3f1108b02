package worklist

import (
	"fmt"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
)

// Transaction writes a transaction Bundle finding by finding: each Task and
// CommunicationRequest is a conditional create (POST with ifNoneExist on its
// identifier), so posting the Bundle twice creates nothing the second time;
// the CodeSystems, when added, are PUT to CodeSystem/<id>. References point
// at the input resources by their own ids: post the Bundle to a server that
// holds them.
type Transaction struct {
	w    *Writer
	asOf time.Time
	bw   *fhir.BundleWriter
	// seen holds the identifiers written, so that a finding raised twice is
	// written once (two conditional creates of one identifier in a
	// transaction fail on the server).
	seen map[string]struct{}
}

// NewTransaction starts a transaction Bundle appended to buf (which may be nil).
func (w *Writer) NewTransaction(buf []byte, asOf time.Time) *Transaction {
	return &Transaction{w: w, asOf: asOf, bw: fhir.NewBundleWriter(buf, "transaction"), seen: make(map[string]struct{})}
}

// AddCodeSystems adds utilreview's CodeSystems.
func (t *Transaction) AddCodeSystems() {
	for _, cs := range t.w.CodeSystems() {
		t.bw.Add(fhir.BundleEntry{
			FullURL:  fullURL(cs.URL),
			Resource: cs,
			Request:  fhir.BundleRequest{Method: "PUT", URL: "CodeSystem/" + cs.ID},
		})
	}
}

// Add adds the finding's Task and, when the check asks for one, its
// CommunicationRequest. A finding without a check id or a focus cannot be
// identified and is refused; one already added is skipped.
func (t *Transaction) Add(f *checks.Finding) error {
	if f.Check == "" {
		return fmt.Errorf("worklist: finding without a check id (focus %q)", f.FocusRef)
	}
	if focusKey(f) == "" {
		return fmt.Errorf("worklist: %s finding without a focus", f.Check)
	}
	id := t.w.Identifier(f)
	if _, dup := t.seen[id.Value]; dup {
		return nil
	}
	t.seen[id.Value] = struct{}{}
	t.bw.Add(conditionalCreate("Task", id, t.w.Task(f, t.asOf)))
	if cr := t.w.CommunicationRequest(f, t.asOf); cr != nil {
		t.bw.Add(conditionalCreate("CommunicationRequest", cr.Identifier[0], cr))
	}
	return nil
}

// Len is the number of entries so far.
func (t *Transaction) Len() int { return t.bw.Len() }

// Take returns the Bundle's JSON written so far and forgets it, so that a
// large Bundle can be written out entry by entry; the bytes are valid until
// the next Add. Finish then returns the rest.
func (t *Transaction) Take() []byte { return t.bw.Take() }

// Finish returns the Bundle's JSON (the rest of it, after Take); the
// Transaction must not be used after.
func (t *Transaction) Finish() []byte { return t.bw.Finish() }

func conditionalCreate(resourceType string, id fhir.Identifier, r fhir.JSONAppender) fhir.BundleEntry {
	return fhir.BundleEntry{
		FullURL:  fullURL(id.Token()),
		Resource: r,
		Request: fhir.BundleRequest{
			Method:      "POST",
			URL:         resourceType,
			IfNoneExist: "identifier=" + escapeToken(id.Token()),
		},
	}
}

// TransactionBundle is the transaction Bundle of the findings' Tasks and
// CommunicationRequests, with utilreview's CodeSystems first when asked.
func (w *Writer) TransactionBundle(findings []checks.Finding, asOf time.Time, includeCodeSystems bool) ([]byte, error) {
	t := w.NewTransaction(make([]byte, 0, 2048*(len(findings)+1)), asOf)
	if includeCodeSystems {
		t.AddCodeSystems()
	}
	for i := range findings {
		if err := t.Add(&findings[i]); err != nil {
			return nil, fmt.Errorf("transaction bundle: finding %d: %w", i, err)
		}
	}
	return t.Finish(), nil
}

// escapeToken percent-encodes what would break the ifNoneExist query
// ("&", "#", "+", "%", spaces...), keeping the token readable: letters,
// digits and -._~:/| stay as they are.
func escapeToken(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !tokenSafe(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if tokenSafe(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&0xf])
	}
	return string(b)
}

func tokenSafe(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', ':', '/', '|':
		return true
	}
	return false
}
