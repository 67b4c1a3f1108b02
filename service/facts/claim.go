package facts

import (
	"fmt"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/utilreview/utilreview/fhir"
)

// addClaim makes the facts of a Claim resource, or reports why it cannot be
// used and leaves it out of the checks.
func (b *builder) addClaim(r *fhir.Resource) {
	cr := r.Value.(*fm.Claim)
	// samply decodes missing status and use as their zero values "active"
	// and "claim", the most common codes: only the raw JSON tells.
	if cr.Status == fm.FinancialResourceStatusCodesActive && absent(r, "status") {
		b.problem(r, "claim has no status")
		return
	}
	if cr.Use == fm.UseClaim && absent(r, "use") {
		b.problem(r, "claim has no use")
		return
	}
	ref, key, ok := identity(r, cr.Identifier)
	if !ok {
		b.problem(r, "claim "+errNoIdentity)
		return
	}
	p, ok := b.subjectPatient(&cr.Patient, r)
	if !ok {
		b.problem(r, "claim patient is not a Patient")
		return
	}
	if p == nil {
		b.problem(r, "claim has no patient")
		return
	}
	c := &Claim{
		Ref:      ref,
		Key:      key,
		Source:   r.Source,
		Patient:  p,
		Status:   cr.Status.Code(),
		Use:      cr.Use.Code(),
		Type:     firstCode(&cr.Type),
		SubType:  appendCodes(nil, cr.SubType),
		Provider: b.refString(&cr.Provider, r),
	}
	if cr.Created == "" {
		b.problem(r, "claim has no created date")
		return
	}
	t, err := b.parseTime(cr.Created)
	if err != nil {
		b.problemErr(r, wrapField("claim created", err))
		return
	}
	c.Created = t
	if b.later(t) {
		b.leaveOutLater(r) // created after as-of
		return
	}
	bp, err := b.parsePeriod(cr.BillablePeriod, "claim billablePeriod")
	if err != nil {
		b.problemErr(r, err)
		return
	}
	if bp.endBefore {
		b.problem(r, "claim billablePeriod ends before it starts")
		return
	}
	c.BillableStart, c.BillableEnd = bp.start, bp.end
	if err := b.claimLines(r, cr, c); err != nil {
		b.problemErr(r, err)
		return
	}
	for i := range cr.Insurance {
		c.PreAuthRefs = append(c.PreAuthRefs, cr.Insurance[i].PreAuthRef...)
	}
	for i := range cr.Related {
		rel := &cr.Related[i]
		if hasCode(rel.Relationship, "prior") {
			if ref := b.refString(rel.Claim, r); ref != "" {
				c.Replaces = append(c.Replaces, ref)
			}
		}
	}
	c.DRG = claimDRG(cr)
	b.claims[r] = c
	p.Claims = append(p.Claims, c)
}

// claimLines reads Claim.item.
func (b *builder) claimLines(r *fhir.Resource, cr *fm.Claim, c *Claim) error {
	if len(cr.Item) == 0 {
		return nil
	}
	c.Lines = make([]Line, 0, len(cr.Item))
	claimRendering := ""
	if len(cr.CareTeam) > 0 {
		claimRendering = b.rendering(r, cr, nil)
	}
	for i := range cr.Item {
		it := &cr.Item[i]
		l := Line{
			Sequence: it.Sequence,
			Codes:    appendCodes(nil, &it.ProductOrService),
			Units:    1,
			Revenue:  appendCodes(nil, it.Revenue),
		}
		for j := range it.Modifier {
			for k := range it.Modifier[j].Coding {
				if m := str(it.Modifier[j].Coding[k].Code); m != "" {
					l.Modifiers = append(l.Modifiers, m)
				}
			}
		}
		if it.Quantity != nil && it.Quantity.Value != nil {
			v, err := it.Quantity.Value.Float64()
			if err != nil {
				return fmt.Errorf("claim item[%d] quantity.value is not a number", i)
			}
			l.Units = v
		}
		switch {
		case it.ServicedDate != nil:
			t, err := b.parseTime(*it.ServicedDate)
			if err != nil {
				return wrapField(fmt.Sprintf("claim item[%d] servicedDate", i), err)
			}
			l.ServiceStart, l.ServiceEnd = t, t
		case it.ServicedPeriod != nil:
			field := fmt.Sprintf("claim item[%d] servicedPeriod", i)
			per, err := b.parsePeriod(it.ServicedPeriod, field)
			if err != nil {
				return err
			}
			if per.endBefore {
				return fmt.Errorf("%s ends before it starts", field)
			}
			l.ServiceStart, l.ServiceEnd = per.start, per.end
			if l.ServiceEnd.IsZero() {
				l.ServiceEnd = l.ServiceStart
			}
		default:
			l.ServiceStart, l.ServiceEnd = c.BillableStart, c.BillableEnd
		}
		for j := range it.Encounter {
			if ref := b.refString(&it.Encounter[j], r); ref != "" {
				l.Encounters = append(l.Encounters, ref)
			}
		}
		l.Rendering = claimRendering
		if len(it.CareTeamSequence) > 0 {
			if ref := b.rendering(r, cr, it.CareTeamSequence); ref != "" {
				l.Rendering = ref
			}
		}
		c.Lines = append(c.Lines, l)
	}
	return nil
}

// rendering is the provider of the careTeam members with the given
// sequence numbers (all members when seqs is nil): the one with role
// primary, else, for an item's own members, the first; for the whole claim
// only an unambiguous one (one primary member, or a single member).
func (b *builder) rendering(r *fhir.Resource, cr *fm.Claim, seqs []int) string {
	var first, primary string
	members, primaries := 0, 0
	for i := range cr.CareTeam {
		m := &cr.CareTeam[i]
		if seqs != nil && !containsInt(seqs, m.Sequence) {
			continue
		}
		ref := b.refString(&m.Provider, r)
		if ref == "" {
			continue
		}
		members++
		if first == "" {
			first = ref
		}
		if hasCode(m.Role, "primary") {
			primaries++
			if primary == "" {
				primary = ref
			}
		}
	}
	switch {
	case primaries == 1 || seqs != nil && primary != "":
		return primary
	case seqs != nil || members == 1:
		return first
	}
	return ""
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// claimDRG is the MS-DRG of a claim from diagnosis.packageCode or a
// supportingInfo code; codings in other systems are ignored on purpose.
func claimDRG(cr *fm.Claim) string {
	for i := range cr.Diagnosis {
		if d := msDRG(cr.Diagnosis[i].PackageCode); d != "" {
			return d
		}
	}
	for i := range cr.SupportingInfo {
		if d := msDRG(cr.SupportingInfo[i].Code); d != "" {
			return d
		}
	}
	return ""
}

func msDRG(cc *fm.CodeableConcept) string {
	if cc == nil {
		return ""
	}
	for i := range cc.Coding {
		c := &cc.Coding[i]
		if str(c.System) == MSDRGSystem && str(c.Code) != "" {
			return *c.Code
		}
	}
	return ""
}

// finishClaim links the claim to its encounters and reads what needs the
// other resources: diagnoses, procedures and payer.
func (b *builder) finishClaim(r *fhir.Resource, c *Claim) {
	cr := r.Value.(*fm.Claim)
	link := func(ref *fm.Reference) {
		er := b.resolveType(ref, r, "Encounter")
		if er == nil {
			return
		}
		e := b.encounters[er]
		if e == nil {
			return // the encounter was left out for a problem already reported
		}
		for _, x := range c.Encounters {
			if x == e {
				return
			}
		}
		c.Encounters = append(c.Encounters, e)
		e.Claims = append(e.Claims, c)
	}
	for i := range cr.Item {
		for j := range cr.Item[i].Encounter {
			link(&cr.Item[i].Encounter[j])
		}
	}
	for i := range cr.Extension {
		if cr.Extension[i].Url == ClaimEncounterExtension {
			link(cr.Extension[i].ValueReference)
		}
	}
	for i := range cr.SupportingInfo {
		link(cr.SupportingInfo[i].ValueReference)
	}

	// Claim.diagnosis: the principal is the one typed principal, else
	// sequence 1.
	marked := false
	for i := range cr.Diagnosis {
		if anyHasCode(cr.Diagnosis[i].Type, "principal") {
			marked = true
			break
		}
	}
	for i := range cr.Diagnosis {
		d := &cr.Diagnosis[i]
		codes := appendCodes(nil, &d.DiagnosisCodeableConcept)
		if len(codes) == 0 {
			if cv, ok := valueOf[*fm.Condition](b.resolveType(&d.DiagnosisReference, r, "Condition")); ok {
				codes = appendCodes(nil, cv.Code)
			}
		}
		if len(codes) == 0 {
			continue
		}
		principal := anyHasCode(d.Type, "principal")
		if !marked {
			principal = d.Sequence == 1
		}
		c.Diagnoses = append(c.Diagnoses, Diagnosis{Codes: codes, Principal: principal})
	}
	for i := range cr.Procedure {
		pr := &cr.Procedure[i]
		p := Procedure{Codes: appendCodes(nil, &pr.ProcedureCodeableConcept)}
		if ref := b.resolveType(&pr.ProcedureReference, r, "Procedure"); ref != nil {
			if rp, ok := b.procedureOf(ref); ok {
				if len(p.Codes) == 0 {
					p.Codes = rp.Codes
				}
				p.Performed = rp.Performed
			}
		}
		if pr.Date != nil {
			if t, err := b.parseTime(*pr.Date); err != nil {
				b.problemErr(r, wrapField(fmt.Sprintf("claim procedure[%d] date", i), err))
			} else {
				p.Performed = t
			}
		}
		if len(p.Codes) > 0 {
			c.Procedures = append(c.Procedures, p)
		}
	}
	b.claimPayerOf(r, cr, c)
}

func anyHasCode(ccs []fm.CodeableConcept, code string) bool {
	for i := range ccs {
		if hasCode(&ccs[i], code) {
			return true
		}
	}
	return false
}
