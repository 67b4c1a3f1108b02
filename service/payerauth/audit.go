package payerauth

import (
	"context"
	"sync"
)

// maxAuditResources bounds the resource ids one audit line lists; the
// line says how many more there were.
const maxAuditResources = 100

// Audit collects what one payer API request touched, for its audit line:
// the handler notes the resource ids it answered with (NoteResources), the
// authentication middleware writes the line when the request ends. Ids
// only: never a resource's content.
type Audit struct {
	mu        sync.Mutex
	resources []string
	more      int
	operation string
	requested string
}

type auditKey struct{}

// WithAudit returns ctx carrying a new Audit.
func WithAudit(ctx context.Context) (context.Context, *Audit) {
	a := &Audit{}
	return context.WithValue(ctx, auditKey{}, a), a
}

// NoteResources records resource references (Type/id) a payer API request
// read, searched or exported, for the request's audit line. Without an
// Audit in ctx it does nothing.
func NoteResources(ctx context.Context, refs ...string) {
	a, ok := ctx.Value(auditKey{}).(*Audit)
	if !ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range refs {
		if len(a.resources) < maxAuditResources {
			a.resources = append(a.resources, r)
		} else {
			a.more++
		}
	}
}

// Resources are the references noted, and how many more were left out.
func (a *Audit) Resources() (refs []string, more int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.resources...), a.more
}

// NoteOperation records the request's operation (read, search,
// export-status, ...) and the id or export job it named, answered or not,
// for the request's audit line. It reports whether ctx carries an Audit (a
// handler without one writes its own line).
func NoteOperation(ctx context.Context, operation, requested string) bool {
	a, ok := ctx.Value(auditKey{}).(*Audit)
	if !ok {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.operation, a.requested = operation, requested
	return true
}

// Operation is what NoteOperation recorded.
func (a *Audit) Operation() (operation, requested string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.operation, a.requested
}
