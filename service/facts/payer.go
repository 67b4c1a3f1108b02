package facts

import (
	"sort"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/utilreview/utilreview/fhir"
)

// How sure the input is about who pays, in increasing order.
const (
	qualityNothing    = iota
	qualityDisplay    // only a display text (Synthea) or an unresolved reference
	qualityIdentifier // an identifier of the payer, or an explicit self-pay
	qualityResolved   // the payer Organization resolved
)

// payerChoice is one answer to "who pays", with how sure it is.
type payerChoice struct {
	payer   *Payer
	quality int
	// none: the input says there is no payer (Options.NoPayer matched a
	// display, or the Coverage's payor is the patient).
	none bool
}

// prefer keeps the routes' order but lets a later route's identified payer
// beat an earlier display text: the first choice with an identifier or a
// resolved Organization wins, else the first display text.
func prefer(best, cand payerChoice) payerChoice {
	if best.quality < qualityIdentifier && cand.quality > best.quality {
		return cand
	}
	return best
}

func (pc payerChoice) settled() bool { return pc.quality >= qualityIdentifier }

// displayChoice is the fallback from a display text.
func (b *builder) displayChoice(display string, coverageRef string) payerChoice {
	if display == "" {
		return payerChoice{}
	}
	if b.opts.NoPayer != nil && b.opts.NoPayer(display) {
		return payerChoice{quality: qualityDisplay, none: true}
	}
	return payerChoice{payer: &Payer{Display: display, CoverageRef: coverageRef}, quality: qualityDisplay}
}

// orgChoice is the payer named by a reference to an Organization (payor or
// insurer) of resource from.
func (b *builder) orgChoice(ref *fm.Reference, from *fhir.Resource, coverageRef string) payerChoice {
	if ref == nil {
		return payerChoice{}
	}
	display := str(ref.Display)
	if ref.Reference != nil && *ref.Reference != "" {
		if res := b.ix.Resolve(*ref.Reference, from); res != nil {
			switch res.Type {
			case "Organization":
				org, _ := res.Value.(*fm.Organization)
				p := &Payer{OrganizationRef: refOf(res), Display: display, CoverageRef: coverageRef}
				if org != nil {
					p.Identifiers = identifiers(org.Identifier)
					p.Name = str(org.Name)
				}
				return payerChoice{payer: p, quality: qualityResolved}
			case "Patient", "RelatedPerson":
				// Self-pay: a person, not an insurer, pays.
				return payerChoice{quality: qualityIdentifier, none: true}
			}
		}
	}
	if id := ref.Identifier; id != nil && id.Value != nil && *id.Value != "" {
		return payerChoice{payer: &Payer{
			Identifiers: []Identifier{{System: str(id.System), Value: *id.Value}},
			Display:     display,
			CoverageRef: coverageRef,
		}, quality: qualityIdentifier}
	}
	if ref.Reference != nil && refType(normalizeRef(*ref.Reference)) == "Organization" {
		// Named but not in the input: keep the reference, it identifies nothing the rules match.
		pc := b.displayChoice(display, coverageRef)
		if pc.payer == nil && !pc.none {
			pc = payerChoice{payer: &Payer{CoverageRef: coverageRef}, quality: qualityDisplay}
		}
		if pc.payer != nil {
			pc.payer.OrganizationRef = normalizeRef(*ref.Reference)
		}
		return pc
	}
	return b.displayChoice(display, coverageRef)
}

// coverageChoice is the payer of a Coverage: its first payor that says the
// most. The Coverage may be contained (ExplanationOfBenefit): then it has no
// CoverageRef.
func (b *builder) coverageChoice(cov *fhir.Resource) payerChoice {
	cv, ok := cov.Value.(*fm.Coverage)
	if !ok {
		return payerChoice{}
	}
	ref := refOf(cov)
	var best payerChoice
	for i := range cv.Payor {
		best = prefer(best, b.orgChoice(&cv.Payor[i], cov, ref))
		if best.settled() {
			break
		}
	}
	return best
}

// insuranceChoice is the payer of one Claim or ExplanationOfBenefit
// insurance entry: through the Coverage, else the coverage display.
func (b *builder) insuranceChoice(coverage *fm.Reference, from *fhir.Resource) payerChoice {
	if coverage.Reference != nil && *coverage.Reference != "" {
		if res := b.ix.Resolve(*coverage.Reference, from); res != nil && res.Type == "Coverage" {
			if pc := b.coverageChoice(res); pc.quality > qualityNothing {
				return pc
			}
		}
	}
	return b.displayChoice(str(coverage.Display), "")
}

// claimPayerOf chooses a claim's payer: its focal insurance, Claim.insurer,
// the ExplanationOfBenefits for it (Synthea's contained Coverage), then the
// other insurances.
func (b *builder) claimPayerOf(r *fhir.Resource, cr *fm.Claim, c *Claim) {
	var best payerChoice
	for pass := 0; pass < 2 && !best.settled(); pass++ {
		focal := pass == 0
		if !focal {
			best = prefer(best, b.orgChoice(cr.Insurer, r, ""))
			for _, eob := range b.eobsByClaim[r] {
				best = prefer(best, b.eobChoice(eob))
			}
		}
		for i := range cr.Insurance {
			if cr.Insurance[i].Focal == focal && !best.settled() {
				best = prefer(best, b.insuranceChoice(&cr.Insurance[i].Coverage, r))
			}
		}
	}
	b.claimPayer[c] = best
	c.Payer = best.payer
	c.Uninsured = best.none
	c.Coverages = addCoverage(nil, c.Payer)
	for pass := 0; pass < 2; pass++ {
		for i := range cr.Insurance {
			if cr.Insurance[i].Focal == (pass == 0) {
				c.Coverages = addCoverage(c.Coverages, b.insuranceChoice(&cr.Insurance[i].Coverage, r).payer)
			}
		}
	}
}

// addCoverage appends a payer not yet in the list (Payer.Same).
func addCoverage(list []*Payer, p *Payer) []*Payer {
	if p == nil {
		return list
	}
	for _, q := range list {
		if q.Same(p) {
			return list
		}
	}
	return append(list, p)
}

// eobChoice is the payer an ExplanationOfBenefit names: its focal insurance
// (Synthea's contained Coverage), else its insurer.
func (b *builder) eobChoice(r *fhir.Resource) payerChoice {
	eob := r.Value.(*fm.ExplanationOfBenefit)
	var best payerChoice
	for i := range eob.Insurance {
		if eob.Insurance[i].Focal {
			best = prefer(best, b.insuranceChoice(&eob.Insurance[i].Coverage, r))
		}
	}
	return prefer(best, b.orgChoice(&eob.Insurer, r, ""))
}

// encounterPayer chooses a stay's payer: through its claims (final claims
// first), its Accounts, then a Coverage of the patient in force at the start
// of the stay.
func (b *builder) encounterPayer(r *fhir.Resource, e *Encounter) {
	var best payerChoice
	for pass := 0; pass < 2; pass++ {
		for _, c := range e.Claims {
			if (c.Use == "claim") == (pass == 0) && !best.settled() {
				best = prefer(best, b.claimPayer[c])
			}
		}
	}
	for _, acc := range b.accountsByEnc[r] {
		if best.settled() {
			break
		}
		a, ok := valueOf[*fm.Account](acc)
		if !ok {
			continue
		}
		covs := make([]*fm.AccountCoverage, 0, len(a.Coverage))
		for i := range a.Coverage {
			covs = append(covs, &a.Coverage[i])
		}
		sort.SliceStable(covs, func(i, j int) bool { return priority(covs[i].Priority) < priority(covs[j].Priority) })
		for _, ac := range covs {
			if res := b.resolveType(&ac.Coverage, acc, "Coverage"); res != nil {
				best = prefer(best, b.coverageChoice(res))
			}
		}
	}
	if !best.settled() {
		for _, pc := range b.coveragesByPat[e.Patient] {
			if pc.covers(e) {
				best = prefer(best, b.coverageChoice(pc.r))
				if best.settled() {
					break
				}
			}
		}
	}
	e.Payer = best.payer
	e.Uninsured = best.none
	b.encounterCoverages(r, e)
}

// encounterCoverages lists the payers of every coverage in force during the
// stay: its payer, its claims' insurances, its Accounts' coverages, then the
// patient's Coverages whose period overlaps the stay.
func (b *builder) encounterCoverages(r *fhir.Resource, e *Encounter) {
	list := addCoverage(nil, e.Payer)
	for _, c := range e.Claims {
		for _, p := range c.Coverages {
			list = addCoverage(list, p)
		}
	}
	for _, acc := range b.accountsByEnc[r] {
		a, ok := valueOf[*fm.Account](acc)
		if !ok {
			continue
		}
		for i := range a.Coverage {
			if res := b.resolveType(&a.Coverage[i].Coverage, acc, "Coverage"); res != nil {
				list = addCoverage(list, b.coverageChoice(res).payer)
			}
		}
	}
	for _, pc := range b.coveragesByPat[e.Patient] {
		if pc.overlaps(e) {
			list = addCoverage(list, b.coverageChoice(pc.r).payer)
		}
	}
	e.Coverages = list
}

// priority orders Account.coverage and Coverage.order; absent ones last.
func priority(p *int) int {
	if p == nil {
		return int(^uint(0) >> 1)
	}
	return *p
}

// patientCoverage is a standalone Coverage of a patient with its period read.
type patientCoverage struct {
	r   *fhir.Resource
	per period
}

// covers reports whether the Coverage is in force at the start of the stay.
func (pc patientCoverage) covers(e *Encounter) bool {
	if e.Start.IsZero() {
		return pc.per.start.IsZero() && pc.per.end.IsZero()
	}
	if !pc.per.start.IsZero() && e.Start.Before(pc.per.start) {
		return false
	}
	return pc.per.endUpper.IsZero() || e.Start.Before(pc.per.endUpper)
}

// overlaps reports whether the Coverage is in force at some time of the
// stay (from its start to its end, or on while it goes on).
func (pc patientCoverage) overlaps(e *Encounter) bool {
	if e.Start.IsZero() {
		return pc.per.start.IsZero() && pc.per.end.IsZero()
	}
	if !pc.per.endUpper.IsZero() && !e.Start.Before(pc.per.endUpper) {
		return false // ended before the stay began
	}
	return pc.per.start.IsZero() || e.End.IsZero() || pc.per.start.Before(e.End)
}

// addPatientCoverage reads a standalone Coverage for the payer search.
func (b *builder) addPatientCoverage(r *fhir.Resource) {
	cv := r.Value.(*fm.Coverage)
	switch cv.Status {
	case fm.FinancialResourceStatusCodesCancelled, fm.FinancialResourceStatusCodesEnteredInError:
		return
	}
	p := b.lookupPatient(&cv.Beneficiary, r)
	if p == nil {
		return
	}
	per, err := b.parsePeriod(cv.Period, "coverage period")
	if err != nil {
		b.problemErr(r, err)
		return
	}
	if per.endBefore {
		b.problem(r, "coverage period ends before it starts")
		return
	}
	pc := patientCoverage{r: r, per: per}
	b.coveragesByPat[p] = append(b.coveragesByPat[p], pc)
}

// sortPatientCoverages puts primary coverages (Coverage.order) first.
func (b *builder) sortPatientCoverages() {
	for _, list := range b.coveragesByPat {
		sort.SliceStable(list, func(i, j int) bool {
			oi := priority(list[i].r.Value.(*fm.Coverage).Order)
			oj := priority(list[j].r.Value.(*fm.Coverage).Order)
			return oi < oj
		})
	}
}
