package facts

import (
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/utilreview/utilreview/fhir"
)

// A review as of a past instant (Options.AsOf) sees only what existed then,
// judged by the clinical and billing dates the resources carry, never by
// meta.lastUpdated (resources loaded into a server today keep their
// clinical dates):
//   - a Claim created after it, an Encounter that began after it, a
//     Communication sent after it, a ClaimResponse or ExplanationOfBenefit
//     created after it are left out (counted in Set.Later);
//   - a Condition recorded (else with an onset) after it and a Procedure
//     performed after it are not evidence of the stay;
//   - an Encounter in progress then is seen in progress: an end after it is
//     cleared with the discharge disposition, a finished status reads
//     in-progress, classes that began after it are dropped and class
//     periods that ended after it are open again;
//   - a death after it is not known.
//
// Tasks are the worklist's own state, not clinical facts: they are kept.

// later reports whether a known time is after the build's as-of.
func (b *builder) later(t time.Time) bool {
	return !b.opts.AsOf.IsZero() && !t.IsZero() && t.After(b.opts.AsOf)
}

// leaveOutLater counts a resource left out because it did not exist yet.
func (b *builder) leaveOutLater(r *fhir.Resource) {
	if b.set.Later == nil {
		b.set.Later = make(map[string]int)
	}
	b.set.Later[r.Type]++
}

// encounterAsOf makes e the encounter as it stood at as-of (see above).
func (b *builder) encounterAsOf(e *Encounter) {
	asOf := b.opts.AsOf
	if asOf.IsZero() {
		return
	}
	if e.End.After(asOf) {
		e.End, e.EndPrecision = time.Time{}, 0
		// The disposition is known only at discharge.
		e.DischargeDisposition = nil
		if e.Status == "finished" {
			e.Status = "in-progress"
		}
	}
	dropped := false
	kept := e.Segments[:0]
	for _, s := range e.Segments {
		if s.Start.After(asOf) {
			dropped = true
			continue
		}
		if s.End.After(asOf) {
			s.End = time.Time{}
		}
		kept = append(kept, s)
	}
	e.Segments = kept
	if dropped && len(kept) > 0 {
		// The class at as-of is the one that had begun last.
		e.Class = kept[len(kept)-1].Class
	}
}

// conditionLater reports a Condition that entered the record after as-of:
// its recordedDate, else its onset, is after it. A Condition with neither
// date (or an unreadable one) is kept.
func (b *builder) conditionLater(r *fhir.Resource) bool {
	if b.opts.AsOf.IsZero() {
		return false
	}
	c, ok := valueOf[*fm.Condition](r)
	if !ok {
		return false
	}
	var when *string
	switch {
	case c.RecordedDate != nil:
		when = c.RecordedDate
	case c.OnsetDateTime != nil:
		when = c.OnsetDateTime
	case c.OnsetPeriod != nil:
		when = c.OnsetPeriod.Start
	}
	if when == nil {
		return false
	}
	t, err := b.parseTime(*when)
	return err == nil && b.later(t)
}

// createdLater reports a ClaimResponse or ExplanationOfBenefit created after
// as-of (an unreadable created is kept), and returns its created time.
func (b *builder) createdLater(created string) (time.Time, bool) {
	if created == "" {
		return time.Time{}, false
	}
	t, err := b.parseTime(created)
	if err != nil {
		return time.Time{}, false
	}
	return t, b.later(t)
}
