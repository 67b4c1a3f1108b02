package checks

import (
	"strconv"
	"strings"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// dupKey is what makes two lines candidates for the same service: the code
// on one date of service (the patient is the same: the index is per
// patient). duplicateClaimLine then requires the same claim type, billing
// provider and rendering provider, and the same payer.
type dupKey struct {
	code string
	day  rules.Date
}

// dupLine is one indexed line; next chains the lines of one key in the
// order of p.Claims, then line order.
type dupLine struct {
	claim *facts.Claim
	line  int32 // index in claim.Lines
	next  int32 // index in dupIndex.lines of the next line with the key; -1 at the end
}

type dupChain struct{ head, tail int32 }

// dupIndex indexes a patient's billed lines by code and date, so that
// finding duplicates is linear in the number of lines. The chains live in
// one slice: two allocations per patient, not one per key.
type dupIndex struct {
	patient *facts.Patient
	keys    map[dupKey]dupChain
	lines   []dupLine
}

// duplicateIndex returns the patient's index, built once per patient.
func (r *run) duplicateIndex(p *facts.Patient) *dupIndex {
	if r.dups != nil && r.dups.patient == p {
		return r.dups
	}
	n := 0
	for _, c := range p.Claims {
		if c != nil {
			n += len(c.Lines)
		}
	}
	idx := &dupIndex{patient: p, keys: make(map[dupKey]dupChain, n), lines: make([]dupLine, 0, n)}
	for _, c := range p.Claims {
		if c == nil || claimIgnored(c) {
			continue
		}
		for i := range c.Lines {
			code, ok := billingCode(&c.Lines[i])
			if !ok {
				continue
			}
			k := dupKey{code.Code, dayOf(lineDate(c, &c.Lines[i]), r.loc)}
			at := int32(len(idx.lines))
			idx.lines = append(idx.lines, dupLine{claim: c, line: int32(i), next: -1})
			if ch, ok := idx.keys[k]; ok {
				idx.lines[ch.tail].next = at
				idx.keys[k] = dupChain{ch.head, at}
			} else {
				idx.keys[k] = dupChain{at, at}
			}
		}
	}
	r.dups = idx
	return idx
}

// duplicateClaimLine raises one finding per duplicate pair: on the later
// line of the same claim, or on the later of two claims.
func (r *run) duplicateClaimLine(p *facts.Patient, c *facts.Claim, rs *rules.RuleSet, out []Finding) []Finding {
	dl := &rs.Checks.DuplicateLines
	if !dl.Enabled || p == nil || len(c.Lines) == 0 {
		return out
	}
	idx := r.duplicateIndex(p)
	var raised []string // cross-claim episodes already raised for c
	for i := range c.Lines {
		l := &c.Lines[i]
		code, ok := billingCode(l)
		if !ok || hasExemptModifier(l, dl.ExemptModifiers) {
			continue
		}
		day := dayOf(lineDate(c, l), r.loc)
		ch, ok := idx.keys[dupKey{code.Code, day}]
		if !ok || ch.head == ch.tail {
			continue // the only line with this service
		}
		var lastOther *facts.Claim
		for at := ch.head; at >= 0; at = idx.lines[at].next {
			o := &idx.lines[at]
			ol := &o.claim.Lines[o.line]
			if o.claim == c {
				if int(o.line) >= i || hasExemptModifier(ol, dl.ExemptModifiers) || !sameParty(l.Rendering, ol.Rendering) {
					continue
				}
				// The first earlier line on the same claim: one finding for this line.
				out = append(out, r.duplicateFinding(p, c, rs, l, code, day, nil, ol))
				break
			}
			if o.claim == lastOther || !claimActive(c) || !claimActive(o.claim) ||
				!laterClaim(c, o.claim) || replaces(c, o.claim) || replaces(o.claim, c) ||
				!samePayer(c.Payer, o.claim.Payer) || hasExemptModifier(ol, dl.ExemptModifiers) ||
				!sameParty(c.Type, o.claim.Type) || !sameParty(c.Provider, o.claim.Provider) || !sameParty(l.Rendering, ol.Rendering) {
				continue
			}
			lastOther = o.claim
			ep := code.Code + "|" + dateText(day) + "|" + o.claim.Key
			if containsString(raised, ep) {
				continue // another line of c already paired with this claim for this service
			}
			raised = append(raised, ep)
			f := r.duplicateFinding(p, c, rs, l, code, day, o.claim, ol)
			f.Episode = ep
			out = append(out, f)
		}
	}
	return out
}

func (r *run) duplicateFinding(p *facts.Patient, c *facts.Claim, rs *rules.RuleSet, l *facts.Line, code facts.Code, day rules.Date, other *facts.Claim, ol *facts.Line) Finding {
	f := r.claimFinding(CheckDuplicateClaimLine, Routine, BillingTeam, p, c, rs, r.editDue(c, rs))
	date := dateText(day)
	var b strings.Builder
	b.WriteString("Line " + strconv.Itoa(l.Sequence) + " bills " + systemName(code.System) + " " + code.Code + " on " + date)
	if other == nil {
		f.Episode = code.Code + "|" + date + "|line-" + strconv.Itoa(ol.Sequence) + "|line-" + strconv.Itoa(l.Sequence)
		b.WriteString(", as line " + strconv.Itoa(ol.Sequence) + " of the same claim already does")
	} else {
		b.WriteString(", as line " + strconv.Itoa(ol.Sequence) + " of claim " + other.Key + " already does for this patient")
	}
	b.WriteString(" (same claim type, billing provider and rendering provider, as far as the claims say)")
	b.WriteString("; no modifier marks it as a distinct or repeat service")
	if len(rs.Checks.DuplicateLines.ExemptModifiers) > 0 {
		b.WriteString(" (" + strings.Join(rs.Checks.DuplicateLines.ExemptModifiers, ", ") + ")")
	}
	b.WriteString(" and neither claim replaces the other. The payer will deny it as a duplicate: remove the line, add the modifier that applies, or send a replacement claim.")
	f.Description = b.String()
	f.Reasons = []facts.Code{code}
	f.Evidence = append(f.Evidence,
		IntEvidence(EvClaimLine, l.Sequence),
		CodeEvidence(EvServiceCode, code),
		DateEvidence(EvDateOfService, StartOfDay(lineDate(c, l), r.loc)),
		IntEvidence(EvDuplicateLine, ol.Sequence),
	)
	if other != nil {
		ref := other.Ref
		if ref == "" {
			ref = other.Key
		}
		f.Evidence = append(f.Evidence, RefEvidence(EvDuplicateClaim, ref))
	}
	return f
}

// sameParty reports whether two claim types or provider references may be
// the same: an unknown one ("") is not told apart, as an unknown payer is
// not. A facility (institutional) and a professional claim for one visit,
// or two rendering providers on one day, are two services, not a duplicate.
func sameParty(a, b string) bool { return a == "" || b == "" || a == b }

// hasExemptModifier reports whether the line carries a modifier that marks
// a distinct or repeat service.
func hasExemptModifier(l *facts.Line, exempt []string) bool {
	for _, m := range l.Modifiers {
		m = strings.TrimSpace(m)
		for _, x := range exempt {
			if strings.EqualFold(m, x) {
				return true
			}
		}
	}
	return false
}

// laterClaim orders claims by creation, then reference, then key, as the
// facts builder sorts them.
func laterClaim(a, b *facts.Claim) bool {
	if !a.Created.Equal(b.Created) {
		return a.Created.After(b.Created)
	}
	if a.Ref != b.Ref {
		return a.Ref > b.Ref
	}
	return a.Key > b.Key
}

// replaces reports whether a names b as the claim it replaces.
func replaces(a, b *facts.Claim) bool {
	for _, ref := range a.Replaces {
		if ref != "" && (ref == b.Ref || ref == b.Key) {
			return true
		}
	}
	return false
}

// samePayer reports whether two claims may go to the same payer; unknown
// payers are not told apart.
func samePayer(a, b *facts.Payer) bool {
	if a == nil || b == nil {
		return true
	}
	if a.OrganizationRef != "" && b.OrganizationRef != "" {
		return a.OrganizationRef == b.OrganizationRef
	}
	if a.Name != "" && b.Name != "" {
		return strings.EqualFold(a.Name, b.Name)
	}
	if a.Display != "" && b.Display != "" {
		return strings.EqualFold(a.Display, b.Display)
	}
	return true
}
