package facts

import (
	"errors"
	"slices"
	"sort"
	"strings"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/utilreview/utilreview/fhir"
)

// Options tune Build.
type Options struct {
	// Location is the facility time zone: dateTimes without an offset and
	// partial dates are read in it, and every time in the facts is placed in
	// it. nil means UTC.
	Location *time.Location
	// NoPayer reports whether a display text standing in for a payer means
	// "no payer" (Synthea's "no_insurance"). The CLI wires it from the rule
	// sets; nil means no display text does.
	NoPayer func(display string) bool
	// AsOf, when set, builds the facts as they stood at that instant, by
	// the resources' clinical and billing dates (see asof.go): what began,
	// was created or was sent later is left out, and a stay in progress then
	// is seen in progress.
	AsOf time.Time
}

// MSDRGSystem is the code system of CMS MS-DRGs. Only codings in it are
// taken as a stay's DRG: the HL7 example DRG system reuses the same numbers
// for other meanings.
const MSDRGSystem = "https://www.cms.gov/Medicare/Medicare-Fee-for-Service-Payment/AcuteInpatientPPS/MS-DRG-Classifications-and-Software"

// ClaimEncounterExtension is the R5 backport extension Claim.encounter.
const ClaimEncounterExtension = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Claim.encounter"

// readTypes are the resource types Build reads, in the order the live
// service fetches them; the others are counted in Set.Skipped.
var readTypes = []string{
	"Patient", "Encounter", "Claim", "Coverage", "ExplanationOfBenefit", "ClaimResponse",
	"Condition", "Procedure", "Organization", "Account", "Task", "Communication",
}

// ReadTypes are the resource types Build reads: a change to a resource of
// one of them can change a finding.
func ReadTypes() []string { return append([]string(nil), readTypes...) }

// ContextTypes are the types Build reads besides ReadTypes, only to say
// who determined a completed Task (Provenance agents, PractitionerRoles of
// owners and agents): not followed for changes on their own.
func ContextTypes() []string { return []string{"Provenance", "PractitionerRole"} }

// readType reports whether Build reads resources of the type.
func readType(t string) bool { return slices.Contains(readTypes, t) }

// builder holds the state of one Build call.
type builder struct {
	opts Options
	loc  *time.Location
	ix   *fhir.Index
	set  *Set

	// resources of each type, in input order
	patientRes, encounterRes, claimRes, coverageRes, eobRes, responseRes []*fhir.Resource
	conditionRes, procedureRes, accountRes, taskRes, commRes             []*fhir.Resource
	// Provenances, read only for the agents of the Tasks they target
	provenanceRes []*fhir.Resource
	// roleRes are the input's PractitionerRoles and roles their index: who a
	// Task's owner or a Provenance agent is, for the reviewer set.
	roleRes []*fhir.Resource
	roles   map[string]RoleOf

	// position of each top-level resource in the input, for input ordering
	pos map[*fhir.Resource]int

	patientsByRes map[*fhir.Resource]*Patient
	patientsByRef map[string]*Patient
	// Patient resources by each business identifier "system|value", for
	// logical references (Reference.identifier without reference)
	patientsByIdent map[string]*Patient
	patientPos      map[*Patient]int
	// Patient resources left out because nothing could refer to them
	leftOut map[*fhir.Resource]bool

	encounters map[*fhir.Resource]*Encounter
	claims     map[*fhir.Resource]*Claim

	// links found in one pass and used in another, keyed by the resource they point at
	conditionsByEnc map[*fhir.Resource][]*fhir.Resource
	proceduresByEnc map[*fhir.Resource][]*fhir.Resource
	accountsByEnc   map[*fhir.Resource][]*fhir.Resource
	coveragesByPat  map[*Patient][]patientCoverage
	eobsByClaim     map[*fhir.Resource][]*fhir.Resource
	// the payer choice of each claim, reused by its encounters
	claimPayer map[*Claim]payerChoice
	// Procedure resources already read (a claim and its stay may share one)
	procedures map[*fhir.Resource]procedureEntry
	// input position of each problem's resource, to report in input order
	problemPos []int
}

// Build groups resources into per-patient facts. It never fails: bad input
// becomes a Problem naming its source, and what cannot be used is left out.
// The same resources in the same order always give the same Set.
func Build(resources []*fhir.Resource, opts Options) *Set {
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	b := &builder{
		opts:            opts,
		loc:             loc,
		ix:              fhir.NewIndex(),
		set:             &Set{Read: make(map[string]int), Skipped: make(map[string]int)},
		pos:             make(map[*fhir.Resource]int, len(resources)),
		patientsByRes:   make(map[*fhir.Resource]*Patient),
		patientsByRef:   make(map[string]*Patient),
		patientsByIdent: make(map[string]*Patient),
		patientPos:      make(map[*Patient]int),
		leftOut:         make(map[*fhir.Resource]bool),
		encounters:      make(map[*fhir.Resource]*Encounter),
		claims:          make(map[*fhir.Resource]*Claim),
		conditionsByEnc: make(map[*fhir.Resource][]*fhir.Resource),
		proceduresByEnc: make(map[*fhir.Resource][]*fhir.Resource),
		accountsByEnc:   make(map[*fhir.Resource][]*fhir.Resource),
		coveragesByPat:  make(map[*Patient][]patientCoverage),
		eobsByClaim:     make(map[*fhir.Resource][]*fhir.Resource),
		claimPayer:      make(map[*Claim]payerChoice),
		procedures:      make(map[*fhir.Resource]procedureEntry),
	}
	b.sortInput(resources)

	// Order matters only where one kind of fact needs another: patients
	// first, encounters before claims (claims link to them), everything that
	// links to an encounter before the encounter's diagnoses and payer.
	for _, r := range b.patientRes {
		b.addPatient(r)
	}
	for _, r := range b.encounterRes {
		b.addEncounter(r)
	}
	b.indexLinks()
	for _, r := range b.claimRes {
		b.addClaim(r)
	}
	b.markAccepted()
	for _, r := range b.claimRes {
		if c := b.claims[r]; c != nil {
			b.finishClaim(r, c)
		}
	}
	for _, r := range b.encounterRes {
		if e := b.encounters[r]; e != nil {
			b.finishEncounter(r, e)
		}
	}
	b.roles = b.practitionerRoles()
	agents := b.provenanceAgents()
	for _, r := range b.taskRes {
		b.addTask(r, agents)
	}
	for _, r := range b.commRes {
		b.addCommunication(r)
	}
	b.finishPatients()
	b.sortProblems()
	return b.set
}

// sortInput counts, indexes and buckets the input by type.
func (b *builder) sortInput(resources []*fhir.Resource) {
	for i, r := range resources {
		if r == nil {
			continue
		}
		b.set.Read[r.Type]++
		if r.Type == "Provenance" && r.Container() == nil {
			// Read only for who determined a Task (agent); a change to a
			// Provenance alone is not followed.
			b.provenanceRes = append(b.provenanceRes, r)
			continue
		}
		if r.Type == "PractitionerRole" && r.Container() == nil {
			// Read only for who a Task's owner or a Provenance's agent is.
			b.roleRes = append(b.roleRes, r)
			continue
		}
		if !readType(r.Type) {
			b.set.Skipped[r.Type]++
			continue
		}
		b.pos[r] = i
		b.ix.Add(r)
		if r.Value == nil {
			// The reader reports resources it could not decode; nothing to build.
			continue
		}
		switch r.Value.(type) {
		case *fm.Patient:
			b.patientRes = append(b.patientRes, r)
		case *fm.Encounter:
			b.encounterRes = append(b.encounterRes, r)
		case *fm.Claim:
			b.claimRes = append(b.claimRes, r)
		case *fm.Coverage:
			b.coverageRes = append(b.coverageRes, r)
		case *fm.ExplanationOfBenefit:
			b.eobRes = append(b.eobRes, r)
		case *fm.ClaimResponse:
			b.responseRes = append(b.responseRes, r)
		case *fm.Condition:
			b.conditionRes = append(b.conditionRes, r)
		case *fm.Procedure:
			b.procedureRes = append(b.procedureRes, r)
		case *fm.Account:
			b.accountRes = append(b.accountRes, r)
		case *fm.Task:
			b.taskRes = append(b.taskRes, r)
		case *fm.Communication:
			b.commRes = append(b.commRes, r)
		}
		// Organizations are only reached through references.
	}
}

// problem records an input problem of resource r.
func (b *builder) problem(r *fhir.Resource, msg string) {
	b.problemErr(r, errors.New(msg))
}

// problemErr records an input problem with a cause.
func (b *builder) problemErr(r *fhir.Resource, err error) {
	ref := r.Ref()
	if c := r.Container(); c != nil {
		ref = c.Ref()
	}
	b.set.Problems = append(b.set.Problems, &fhir.InputError{Source: r.Source, Ref: ref, Err: err})
	b.problemPos = append(b.problemPos, b.pos[r])
}

// sortProblems puts problems in input order (they are found type by type),
// so that a person reads them file by file, entry by entry.
func (b *builder) sortProblems() {
	ps := b.set.Problems
	idx := make([]int, len(ps))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return b.problemPos[idx[i]] < b.problemPos[idx[j]] })
	sorted := make([]error, len(ps))
	for i, k := range idx {
		sorted[i] = ps[k]
	}
	b.set.Problems = sorted
}

// addPatient makes the facts of a Patient resource.
func (b *builder) addPatient(r *fhir.Resource) {
	if _, _, ok := identity(r, r.Value.(*fm.Patient).Identifier); !ok {
		// Left out: resources that name it group under the reference as
		// written, which nothing written repeats.
		b.problem(r, "patient "+errNoIdentity)
		b.leftOut[r] = true
		return
	}
	p := b.patientOf(r, "", b.pos[r])
	if p == nil {
		return
	}
	p.Source = r.Source
	b.fillPatient(r, p)
}

// fillPatient copies what the checks read from a Patient resource (top
// level or contained) and indexes the patient by its business identifiers.
func (b *builder) fillPatient(r *fhir.Resource, p *Patient) {
	pr, ok := r.Value.(*fm.Patient)
	if !ok {
		return
	}
	if k := identifierKey(pr.Identifier); k != "" {
		p.Key = k
	}
	for i := range pr.Identifier {
		id := &pr.Identifier[i]
		if id.System != nil && id.Value != nil {
			k := *id.System + "|" + *id.Value
			if b.patientsByIdent[k] == nil {
				b.patientsByIdent[k] = p
			}
		}
	}
	if p.Name == "" {
		p.Name = patientName(pr.Name)
	}
	if p.MRN == "" {
		p.MRN = patientMRN(pr.Identifier)
	}
	if pr.BirthDate != nil {
		t, err := b.parseTime(*pr.BirthDate)
		if err != nil {
			b.problemErr(r, wrapField("patient birthDate", err))
		} else {
			p.BirthDate = t
		}
	}
	if pr.DeceasedBoolean != nil && *pr.DeceasedBoolean {
		p.Deceased = true
	}
	if pr.DeceasedDateTime != nil {
		t, err := b.parseTime(*pr.DeceasedDateTime)
		if err != nil {
			b.problemErr(r, wrapField("patient deceasedDateTime", err))
		}
		if b.later(t) {
			// Not yet known at as-of; a death recorded without a date stays known.
			return
		}
		p.Deceased = true
		p.DeceasedAt = t
	}
}

// patientOf returns the patient a resource resolved to (res non-nil) or the
// one named by an unresolved reference, creating it on first sight; pos is
// the input position of the resource that mentions it, for input ordering.
func (b *builder) patientOf(res *fhir.Resource, written string, pos int) *Patient {
	var p *Patient
	switch {
	case res != nil && res.Container() != nil:
		p = b.patientsByRes[res]
		if p == nil {
			p = b.containedPatient(res, pos)
			b.patientsByRes[res] = p
		}
	case res != nil:
		p = b.patientsByRes[res]
		if p == nil && refOf(res) == "" {
			// No id: the patient is known by its business identifier, and
			// has no Ref (a server gives it an id of its own).
			_, key, _ := identity(res, res.Value.(*fm.Patient).Identifier)
			if p = b.patientsByIdent[key]; p == nil {
				p = &Patient{Key: key, Source: res.Source}
				b.patientPos[p] = pos
				b.patientsByIdent[key] = p
			}
			b.patientsByRes[res] = p
		}
		if p == nil {
			ref := refOf(res)
			// An unresolved reference seen earlier may name the same patient.
			if ref != "" {
				p = b.patientsByRef[ref]
			}
			if p == nil {
				p = &Patient{Ref: ref, Key: ref, Source: res.Source}
				b.patientPos[p] = pos
				if ref != "" {
					b.patientsByRef[ref] = p
				}
			}
			b.patientsByRes[res] = p
		}
	case written != "":
		p = b.patientsByRef[written]
		if p == nil {
			p = &Patient{Ref: written, Key: written, Source: fhir.Source{Entry: -1}}
			if strings.Contains(written, "#") {
				// A container-qualified key (see containerKey): no reference
				// a server could resolve.
				p.Ref = ""
			}
			b.patientPos[p] = pos
			b.patientsByRef[written] = p
		}
	default:
		return nil
	}
	if pos < b.patientPos[p] {
		b.patientPos[p] = pos
	}
	return p
}

// containedPatient is the patient of a contained Patient resource. A
// contained resource has no identity outside its container: two Claims that
// each contain a "#patient-1" may be about two people. So the patient is the
// one with the same business identifier when it has one (a top-level
// Patient, or another contained copy), else a patient of its own keyed by
// container and id ("Claim/MED-1#patient-1").
//
// Its Ref is "": "#patient-1" means nothing outside the container, so what
// utilreview writes refers to it by identifier (Key "system|value") or not
// at all.
func (b *builder) containedPatient(res *fhir.Resource, pos int) *Patient {
	if pr, ok := res.Value.(*fm.Patient); ok {
		if k := identifierKey(pr.Identifier); k != "" {
			if p := b.patientsByIdent[k]; p != nil {
				return p
			}
		}
	}
	key := containerKey(res.Container(), res.ID)
	if p := b.patientsByRef[key]; p != nil {
		return p
	}
	p := &Patient{Key: key, Source: res.Source}
	b.patientPos[p] = pos
	b.patientsByRef[key] = p
	b.fillPatient(res, p)
	return p
}

// containerKey names a contained resource by its container and id:
// "Claim/MED-1#patient-1", or the container's business identifier, or its
// place in the input when the container has neither.
func containerKey(container *fhir.Resource, id string) string {
	c := refOf(container)
	if c == "" {
		c = resourceIdentifierKey(container)
	}
	if c == "" {
		c = container.Source.String()
	}
	return c + "#" + id
}

// subjectPatient resolves a subject reference of resource from to a patient.
// ok is false when the reference names something other than a Patient.
func (b *builder) subjectPatient(ref *fm.Reference, from *fhir.Resource) (p *Patient, ok bool) {
	if ref == nil {
		return nil, true
	}
	if ref.Reference == nil || *ref.Reference == "" {
		return b.logicalPatient(ref.Identifier, from), true
	}
	written := normalizeRef(*ref.Reference)
	if written[0] == '#' {
		// A contained reference that names nothing contained: still this
		// container's patient, not every container's "#id".
		c := from
		if from.Container() != nil {
			c = from.Container()
		}
		written = containerKey(c, written[1:])
	}
	if res := b.ix.Resolve(*ref.Reference, from); res != nil && !b.leftOut[res] {
		if res.Type != "Patient" {
			return nil, false
		}
		return b.patientOf(res, written, b.pos[from]), true
	}
	if t := refType(written); t != "" && t != "Patient" {
		return nil, false
	}
	return b.patientOf(nil, written, b.pos[from]), true
}

// logicalPatient is the patient named by a logical reference (identifier
// only): the Patient resource with that identifier, else a patient whose Ref
// is the conditional reference "Patient?identifier=system|value", which a
// server resolves when a transaction Bundle written for it is posted.
func (b *builder) logicalPatient(id *fm.Identifier, from *fhir.Resource) *Patient {
	if id == nil || id.Value == nil || *id.Value == "" {
		return nil
	}
	key := str(id.System) + "|" + *id.Value
	if p := b.patientsByIdent[key]; p != nil {
		if pos := b.pos[from]; pos < b.patientPos[p] {
			b.patientPos[p] = pos
		}
		return p
	}
	p := b.patientOf(nil, "Patient?identifier="+key, b.pos[from])
	p.Key = key
	return p
}

// lookupPatient finds the patient a reference names without creating one.
func (b *builder) lookupPatient(ref *fm.Reference, from *fhir.Resource) *Patient {
	if ref == nil {
		return nil
	}
	if ref.Reference == nil || *ref.Reference == "" {
		if id := ref.Identifier; id != nil && id.Value != nil {
			if p := b.patientsByIdent[str(id.System)+"|"+*id.Value]; p != nil {
				return p
			}
			return b.patientsByRef["Patient?identifier="+str(id.System)+"|"+*id.Value]
		}
		return nil
	}
	if res := b.ix.Resolve(*ref.Reference, from); res != nil {
		if p := b.patientsByRes[res]; p != nil {
			return p
		}
		if r := refOf(res); r != "" {
			return b.patientsByRef[r]
		}
		if !b.leftOut[res] {
			return nil
		}
	}
	return b.patientsByRef[normalizeRef(*ref.Reference)]
}

// indexLinks records which Conditions, Procedures and Accounts point at
// which encounter, which Coverages belong to which patient and which
// ExplanationOfBenefits answer which claim, so that later steps look them
// up instead of scanning.
func (b *builder) indexLinks() {
	for _, r := range b.conditionRes {
		c := r.Value.(*fm.Condition)
		if b.conditionLater(r) {
			continue
		}
		if enc := b.resolveType(c.Encounter, r, "Encounter"); enc != nil {
			b.conditionsByEnc[enc] = append(b.conditionsByEnc[enc], r)
		}
	}
	for _, r := range b.procedureRes {
		pr := r.Value.(*fm.Procedure)
		if enc := b.resolveType(pr.Encounter, r, "Encounter"); enc != nil {
			b.proceduresByEnc[enc] = append(b.proceduresByEnc[enc], r)
		}
	}
	for _, r := range b.accountRes {
		a := r.Value.(*fm.Account)
		for i := range a.Subject {
			if enc := b.resolveType(&a.Subject[i], r, "Encounter"); enc != nil {
				b.accountsByEnc[enc] = appendUnique(b.accountsByEnc[enc], r)
			}
		}
	}
	for _, r := range b.encounterRes {
		if b.encounters[r] == nil {
			continue
		}
		e := r.Value.(*fm.Encounter)
		for i := range e.Account {
			if acc := b.resolveType(&e.Account[i], r, "Account"); acc != nil {
				b.accountsByEnc[r] = appendUnique(b.accountsByEnc[r], acc)
			}
		}
	}
	for _, r := range b.coverageRes {
		b.addPatientCoverage(r)
	}
	b.sortPatientCoverages()
	for _, r := range b.eobRes {
		eob := r.Value.(*fm.ExplanationOfBenefit)
		if _, later := b.createdLater(eob.Created); later {
			continue
		}
		if cl := b.resolveType(eob.Claim, r, "Claim"); cl != nil {
			b.eobsByClaim[cl] = append(b.eobsByClaim[cl], r)
		}
	}
}

// markAccepted sets Claim.Accepted (and AcceptedAt) from ClaimResponses
// and ExplanationOfBenefits whose outcome is complete or partial. As of a
// past instant, those created later did not exist yet: they are left out.
// A ClaimResponse whose use is preauthorization or predetermination answers
// a request for authorization (a payer's, or the hospital UR team's own
// determination that utilreview records, Da Vinci PAS-shaped): it decides
// no claim for payment, even when its request names one.
func (b *builder) markAccepted() {
	accept := func(r *fhir.Resource, ref *fm.Reference, created string, outcome fm.ClaimProcessingCodes) {
		at, later := b.createdLater(created)
		if later {
			b.leaveOutLater(r)
			return
		}
		if !acceptedOutcome(outcome) {
			return
		}
		if cr, ok := r.Value.(*fm.ClaimResponse); ok && cr.Use != fm.UseClaim {
			return
		}
		if cl := b.resolveType(ref, r, "Claim"); cl != nil {
			if c := b.claims[cl]; c != nil {
				c.Accepted = true
				if !at.IsZero() && (c.AcceptedAt.IsZero() || at.Before(c.AcceptedAt)) {
					c.AcceptedAt = at
				}
			}
		}
	}
	for _, r := range b.responseRes {
		cr := r.Value.(*fm.ClaimResponse)
		accept(r, cr.Request, cr.Created, cr.Outcome)
	}
	for _, r := range b.eobRes {
		eob := r.Value.(*fm.ExplanationOfBenefit)
		accept(r, eob.Claim, eob.Created, eob.Outcome)
	}
}

// acceptedOutcome: a missing outcome decodes as "queued" (the zero value),
// so complete and partial were written.
func acceptedOutcome(o fm.ClaimProcessingCodes) bool {
	return o == fm.ClaimProcessingCodesComplete || o == fm.ClaimProcessingCodesPartial
}

// finishPatients sorts patients and their facts into the documented order.
func (b *builder) finishPatients() {
	seen := make(map[*Patient]bool, len(b.patientPos))
	ps := make([]*Patient, 0, len(b.patientPos))
	for _, p := range b.patientsByRes {
		if !seen[p] {
			seen[p] = true
			ps = append(ps, p)
		}
	}
	for _, p := range b.patientsByRef {
		if !seen[p] {
			seen[p] = true
			ps = append(ps, p)
		}
	}
	sort.Slice(ps, func(i, j int) bool {
		pi, pj := b.patientPos[ps[i]], b.patientPos[ps[j]]
		if pi != pj {
			return pi < pj
		}
		return ps[i].Ref < ps[j].Ref
	})
	for _, p := range ps {
		sort.SliceStable(p.Encounters, func(i, j int) bool {
			a, c := p.Encounters[i], p.Encounters[j]
			if !a.Start.Equal(c.Start) {
				return a.Start.Before(c.Start)
			}
			return a.Ref < c.Ref
		})
		sort.SliceStable(p.Claims, func(i, j int) bool { return claimLess(p.Claims[i], p.Claims[j]) })
	}
	b.set.Patients = ps
}

// claimLess orders claims by Created, then Ref.
func claimLess(a, c *Claim) bool {
	if !a.Created.Equal(c.Created) {
		return a.Created.Before(c.Created)
	}
	return a.Ref < c.Ref
}

// patientName is the patient's name for display: the official name (else
// the usual, else the first name that says anything), its text when given,
// else given names then family. Old and anonymous names are skipped.
func patientName(names []fm.HumanName) string {
	best, rank := "", 99
	for _, n := range names {
		r := 2
		if n.Use != nil {
			switch *n.Use {
			case fm.NameUseOfficial:
				r = 0
			case fm.NameUseUsual:
				r = 1
			case fm.NameUseOld, fm.NameUseAnonymous:
				continue
			}
		}
		if r >= rank {
			continue
		}
		var s string
		if n.Text != nil && strings.TrimSpace(*n.Text) != "" {
			s = *n.Text
		} else {
			parts := append([]string(nil), n.Given...)
			if n.Family != nil {
				parts = append(parts, *n.Family)
			}
			s = strings.Join(parts, " ")
		}
		if s = strings.Join(strings.Fields(s), " "); s != "" {
			best, rank = s, r
		}
	}
	return best
}

// patientMRN is the value of the first identifier typed MR (medical record
// number, HL7 v2 table 0203), "" when there is none.
func patientMRN(ids []fm.Identifier) string {
	for _, id := range ids {
		if id.Type == nil || id.Value == nil || strings.TrimSpace(*id.Value) == "" {
			continue
		}
		for _, c := range id.Type.Coding {
			if c.Code != nil && *c.Code == "MR" && (c.System == nil || *c.System == "http://terminology.hl7.org/CodeSystem/v2-0203") {
				return strings.TrimSpace(*id.Value)
			}
		}
	}
	return ""
}
