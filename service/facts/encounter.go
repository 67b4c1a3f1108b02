package facts

import (
	"fmt"
	"sort"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/utilreview/utilreview/fhir"
)

// addEncounter makes the facts of an Encounter resource, or reports why it
// cannot be used and leaves it out of the checks.
func (b *builder) addEncounter(r *fhir.Resource) {
	er := r.Value.(*fm.Encounter)
	// samply decodes a missing status as "planned" (the zero value): only a
	// "planned" encounter needs the look at the raw JSON.
	if er.Status == fm.EncounterStatusPlanned && absent(r, "status") {
		b.problem(r, "encounter has no status")
		return
	}
	if er.Class.Code == nil || *er.Class.Code == "" {
		b.problem(r, "encounter has no class")
		return
	}
	ref, key, ok := identity(r, er.Identifier)
	if !ok {
		b.problem(r, "encounter "+errNoIdentity)
		return
	}
	p, ok := b.subjectPatient(er.Subject, r)
	if !ok {
		b.problem(r, "encounter subject is not a Patient")
		return
	}
	if p == nil {
		b.problem(r, "encounter has no subject: it cannot be grouped with a patient")
		return
	}
	per, err := b.parsePeriod(er.Period, "encounter period")
	if err != nil {
		b.problemErr(r, err)
		return
	}
	if per.endBefore {
		b.problem(r, "encounter period ends before it starts")
		return
	}
	e := &Encounter{
		Ref:     ref,
		Key:     key,
		Source:  r.Source,
		Patient: p,
		Status:  er.Status.Code(),
		Class:   *er.Class.Code,
		Start:   per.start,
		End:     per.end,

		StartPrecision: per.startPrec,
		EndPrecision:   per.endPrec,
		PartOf:         b.partOf(er.PartOf, r),
	}
	segs, firstPrec, err := b.segments(er, e)
	if err != nil {
		b.problemErr(r, err)
		return
	}
	e.Segments = segs
	if e.Start.IsZero() && len(segs) > 0 {
		e.Start, e.StartPrecision = segs[0].Start, firstPrec
	}
	if b.later(e.Start) {
		b.leaveOutLater(r) // a stay that began after as-of
		return
	}
	for i := range er.Type {
		e.Types = appendCodes(e.Types, &er.Type[i])
	}
	for i := range er.ReasonCode {
		e.Reasons = appendCodes(e.Reasons, &er.ReasonCode[i])
	}
	if h := er.Hospitalization; h != nil {
		e.DischargeDisposition = appendCodes(nil, h.DischargeDisposition)
		e.ReAdmission = appendCodes(nil, h.ReAdmission)
	}
	e.Attending = b.attending(er, r)
	e.ServiceProvider = b.refString(er.ServiceProvider, r)
	b.encounterAsOf(e)
	b.encounters[r] = e
	p.Encounters = append(p.Encounters, e)
}

// segments builds the class timeline. From classHistory: sorted by start, an
// open end filled with the next segment's start, and the current class
// continuing from the last segment's end when it differs from that
// segment's class. Without classHistory: one segment, the class over the
// period (none when the period has no start).
//
// firstPrec is the precision of the earliest segment's start.
func (b *builder) segments(er *fm.Encounter, e *Encounter) (segs []Segment, firstPrec fhir.Precision, err error) {
	if len(er.ClassHistory) == 0 {
		if e.Start.IsZero() {
			return nil, 0, nil
		}
		return []Segment{{Class: e.Class, Start: e.Start, End: e.End}}, e.StartPrecision, nil
	}
	segs = make([]Segment, 0, len(er.ClassHistory)+1)
	var firstStart time.Time
	for i := range er.ClassHistory {
		h := &er.ClassHistory[i]
		if h.Class.Code == nil || *h.Class.Code == "" {
			return nil, 0, fmt.Errorf("encounter classHistory[%d] has no class", i)
		}
		field := fmt.Sprintf("encounter classHistory[%d].period", i)
		per, err := b.parsePeriod(&h.Period, field)
		if err != nil {
			return nil, 0, err
		}
		if per.endBefore {
			return nil, 0, fmt.Errorf("%s ends before it starts", field)
		}
		if per.start.IsZero() {
			// A class with no start cannot be placed on the timeline.
			return nil, 0, fmt.Errorf("%s has no start", field)
		}
		if len(segs) == 0 || per.start.Before(firstStart) {
			firstStart, firstPrec = per.start, per.startPrec
		}
		segs = append(segs, Segment{Class: *h.Class.Code, Start: per.start, End: per.end})
	}
	sort.SliceStable(segs, func(i, j int) bool { return segs[i].Start.Before(segs[j].Start) })
	for i := 0; i < len(segs)-1; i++ {
		if segs[i].End.IsZero() || segs[i].End.After(segs[i+1].Start) {
			// Open, or overlapping the next class: the next class begins where this one ends.
			segs[i].End = segs[i+1].Start
		}
	}
	last := &segs[len(segs)-1]
	switch {
	case last.Class == e.Class:
		if last.End.IsZero() && !e.End.IsZero() {
			// The current class lasts to the end of the stay.
			last.End = e.End
		}
	case !last.End.IsZero():
		segs = append(segs, Segment{Class: e.Class, Start: last.End, End: e.End})
	default:
		// The history's last class is still open, yet the encounter's class
		// differs: when the change happened is unknown, and guessing would move
		// the inpatient order.
		return nil, 0, fmt.Errorf("encounter classHistory ends with an open %s period but the encounter class is %s: the time of the change is missing", last.Class, e.Class)
	}
	return segs, firstPrec, nil
}

// attending is the participant of type ATND (attender), else the first
// participant with an individual.
func (b *builder) attending(er *fm.Encounter, r *fhir.Resource) string {
	first := ""
	for i := range er.Participant {
		pt := &er.Participant[i]
		if pt.Individual == nil {
			continue
		}
		for j := range pt.Type {
			if hasCode(&pt.Type[j], "ATND") {
				return b.refString(pt.Individual, r)
			}
		}
		if first == "" {
			first = b.refString(pt.Individual, r)
		}
	}
	return first
}

// finishEncounter adds what needs the claims: diagnoses, procedures, DRG and
// payer.
func (b *builder) finishEncounter(r *fhir.Resource, e *Encounter) {
	er := r.Value.(*fm.Encounter)
	sort.SliceStable(e.Claims, func(i, j int) bool { return claimLess(e.Claims[i], e.Claims[j]) })
	b.encounterDiagnoses(r, er, e)
	b.encounterProcedures(r, e)
	for _, c := range e.Claims {
		if c.DRG != "" {
			e.DRG = c.DRG
			break
		}
	}
	b.encounterPayer(r, e)
}

// principalUses mark an Encounter.diagnosis as the principal one.
var principalUses = []string{"DD", "billing", "principal"}

// encounterDiagnoses merges Encounter.diagnosis, the Conditions recorded in
// the stay and the diagnoses of its claims; the same code reached twice is
// kept once.
func (b *builder) encounterDiagnoses(r *fhir.Resource, er *fm.Encounter, e *Encounter) {
	// A stay has a handful of diagnoses: linear scans cost less than maps.
	add := func(codes []Code, principal bool) {
		if len(codes) == 0 {
			return
		}
		for i := range e.Diagnoses {
			if sameCode(e.Diagnoses[i].Codes, codes) {
				e.Diagnoses[i].Principal = e.Diagnoses[i].Principal || principal
				return
			}
		}
		e.Diagnoses = append(e.Diagnoses, Diagnosis{Codes: codes, Principal: principal})
	}
	var seenCond []*fhir.Resource
	ownPrincipal := false
	for i := range er.Diagnosis {
		d := &er.Diagnosis[i]
		cond := b.resolveType(&d.Condition, r, "Condition")
		cv, ok := valueOf[*fm.Condition](cond)
		if !ok {
			continue // a Procedure or an unresolved reference gives no diagnosis code
		}
		if b.conditionLater(cond) {
			continue // recorded after as-of
		}
		seenCond = append(seenCond, cond)
		principal := (d.Rank != nil && *d.Rank == 1) || hasCode(d.Use, principalUses...)
		ownPrincipal = ownPrincipal || principal
		add(appendCodes(nil, cv.Code), principal)
	}
	for _, cond := range b.conditionsByEnc[r] {
		if !containsResource(seenCond, cond) {
			add(appendCodes(nil, cond.Value.(*fm.Condition).Code), false)
		}
	}
	for _, c := range e.Claims {
		for _, d := range c.Diagnoses {
			// The stay's own principal diagnosis wins over a claim's.
			add(d.Codes, d.Principal && !ownPrincipal)
		}
	}
	if len(e.Diagnoses) == 0 && len(e.Reasons) > 0 {
		// Synthea often gives a stay no diagnosis at all (none on the
		// encounter, no Condition of the stay, none on its claims), only
		// reasonCode, one SNOMED CT concept: then the reason stands in for the
		// principal diagnosis, so that readmission cohorts can use it.
		for i := range er.ReasonCode {
			add(appendCodes(nil, &er.ReasonCode[i]), len(e.Diagnoses) == 0)
		}
	}
}

// sameCode reports whether two code lists start with the same coding: the
// same diagnosis or procedure reached by two routes.
func sameCode(a, b []Code) bool {
	return len(a) > 0 && len(b) > 0 && a[0].System == b[0].System && a[0].Code == b[0].Code
}

func containsResource(list []*fhir.Resource, r *fhir.Resource) bool {
	for _, x := range list {
		if x == r {
			return true
		}
	}
	return false
}

// encounterProcedures takes the Procedure resources of the stay and the
// procedures of its claims, the same code on the same day kept once.
func (b *builder) encounterProcedures(r *fhir.Resource, e *Encounter) {
	add := func(p Procedure) {
		if len(p.Codes) == 0 {
			return
		}
		for _, q := range e.Procedures {
			if sameCode(q.Codes, p.Codes) && sameDay(q.Performed, p.Performed) {
				return
			}
		}
		e.Procedures = append(e.Procedures, p)
	}
	for _, pr := range b.proceduresByEnc[r] {
		if p, ok := b.procedureOf(pr); ok && !b.later(p.Performed) {
			add(p)
		}
	}
	for _, c := range e.Claims {
		for _, p := range c.Procedures {
			add(p)
		}
	}
}

// sameDay compares calendar days (times are already in the facility
// location); two unknown times are the same day.
func sameDay(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero() == b.IsZero()
	}
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// procedureOf reads a Procedure resource once; ok is false when its
// performed time cannot be read (reported once).
func (b *builder) procedureOf(r *fhir.Resource) (Procedure, bool) {
	if c, ok := b.procedures[r]; ok {
		return c.p, c.ok
	}
	p, ok := b.readProcedure(r)
	b.procedures[r] = procedureEntry{p, ok}
	return p, ok
}

func (b *builder) readProcedure(r *fhir.Resource) (Procedure, bool) {
	pr, ok := valueOf[*fm.Procedure](r)
	if !ok {
		return Procedure{}, false
	}
	p := Procedure{Codes: appendCodes(nil, pr.Code)}
	switch {
	case pr.PerformedDateTime != nil:
		t, err := b.parseTime(*pr.PerformedDateTime)
		if err != nil {
			b.problemErr(r, wrapField("procedure performedDateTime", err))
			return p, false
		}
		p.Performed = t
	case pr.PerformedPeriod != nil:
		per, err := b.parsePeriod(pr.PerformedPeriod, "procedure performedPeriod")
		if err != nil {
			b.problemErr(r, err)
			return p, false
		}
		p.Performed = per.start
	}
	return p, true
}

type procedureEntry struct {
	p  Procedure
	ok bool
}

// partOf is Encounter.partOf as "Encounter/id": the resolved target's
// reference, else the reference as written when it names an Encounter;
// "" otherwise (absent, urn:uuid not in the input, another type).
func (b *builder) partOf(ref *fm.Reference, from *fhir.Resource) string {
	s := b.refString(ref, from)
	if refType(s) != "Encounter" {
		return ""
	}
	return s
}
