package checks

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// windowStay is an inpatient stay whose payer applies the payment window.
type windowStay struct {
	enc      *facts.Encounter
	admit    time.Time // the inpatient order
	day      int       // admission day number in the facility zone
	days     int       // window days before the admission day
	rs       *rules.RuleSet
	claim    *facts.Claim // the inpatient claim, nil when not in the input
	provider string       // the admitting hospital, "" when unknown
}

// windowIndex holds a patient's inpatient stays by admission day, so that
// each outpatient line finds its stays by binary search.
type windowIndex struct {
	patient *facts.Patient
	stays   []windowStay // sorted by day
	maxDays int
}

func (r *run) windowStays(p *facts.Patient) *windowIndex {
	if r.window != nil && r.window.patient == p {
		return r.window
	}
	idx := &windowIndex{patient: p}
	for _, e := range p.Encounters {
		if e == nil {
			continue
		}
		switch e.Status {
		case "cancelled", "entered-in-error", "planned":
			continue
		}
		admit := InpatientStart(e)
		if admit.IsZero() {
			continue
		}
		var ip *facts.Claim
		for _, c := range e.Claims {
			if c != nil && !claimIgnored(c) && c.Type == "institutional" && forInpatientStay(c) {
				ip = c
				break
			}
		}
		payer := e.Payer
		if ip != nil && ip.Payer != nil {
			payer = ip.Payer
		}
		rs, _ := r.rules.For(payer, admit)
		if rs == nil || !rs.Checks.PaymentWindow.Enabled {
			continue
		}
		s := windowStay{enc: e, admit: admit, day: dayNumber(admit, r.loc), days: max(rs.Checks.PaymentWindow.Days, 0), rs: rs, claim: ip, provider: e.ServiceProvider}
		if ip != nil && ip.Provider != "" {
			s.provider = ip.Provider
		}
		idx.maxDays = max(idx.maxDays, s.days)
		idx.stays = append(idx.stays, s)
	}
	sort.SliceStable(idx.stays, func(i, j int) bool { return idx.stays[i].day < idx.stays[j].day })
	r.window = idx
	return idx
}

// paymentWindow raises a finding per inpatient stay for a hospital
// outpatient claim with services in the stay's pre-admission window.
func (r *run) paymentWindow(p *facts.Patient, c *facts.Claim, out []Finding) []Finding {
	if p == nil || c.Type != "institutional" || forInpatientStay(c) || len(c.Lines) == 0 {
		return out
	}
	idx := r.windowStays(p)
	if len(idx.stays) == 0 {
		return out
	}
	var hits []windowHit
	for i := range c.Lines {
		l := &c.Lines[i]
		dos := l.ServiceStart
		if dos.IsZero() {
			dos = c.BillableStart
		}
		if dos.IsZero() {
			continue // undated line: it cannot be placed in a window
		}
		d := dayNumber(dos, r.loc)
		// Stays admitted on d .. d+maxDays may hold d in their window.
		k := sort.Search(len(idx.stays), func(j int) bool { return idx.stays[j].day >= d })
		for ; k < len(idx.stays) && idx.stays[k].day <= d+idx.maxDays; k++ {
			s := &idx.stays[k]
			if d < s.day-s.days || (c.Provider != "" && s.provider != "" && c.Provider != s.provider) || reaches(c, s.enc) {
				continue
			}
			if _, excluded := s.rs.Checks.PaymentWindow.Excluded(l); excluded {
				continue // outside the window by statute (ambulance, maintenance dialysis)
			}
			hits = append(hits, windowHit{stay: k, line: i, dos: dos})
		}
	}
	if len(hits) == 0 {
		return out
	}
	// One finding per stay, its lines in line order.
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].stay < hits[j].stay })
	for start := 0; start < len(hits); {
		end := start + 1
		for end < len(hits) && hits[end].stay == hits[start].stay {
			end++
		}
		out = append(out, r.windowFinding(p, c, &idx.stays[hits[start].stay], hits[start:end]))
		start = end
	}
	return out
}

type windowHit struct {
	stay int // index in windowIndex.stays
	line int // index in Claim.Lines
	dos  time.Time
}

func (r *run) windowFinding(p *facts.Patient, c *facts.Claim, s *windowStay, hits []windowHit) Finding {
	f := r.claimFinding(CheckPaymentWindow, Routine, BillingTeam, p, c, s.rs, r.windowDue(c, s))
	f.Encounter = s.enc
	f.Episode = s.enc.Key
	admitDay := dayOf(s.admit, r.loc)
	f.Evidence = append(f.Evidence,
		RefEvidence(EvStay, s.enc.Ref),
		DateEvidence(EvAdmissionDate, StartOfDay(s.admit, r.loc)),
		IntEvidence(EvWindowDays, s.days),
	)
	if s.claim != nil {
		f.Evidence = append(f.Evidence, RefEvidence(EvInpatientClaim, s.claim.Ref))
	}
	var seqs []int
	var dates []string
	for _, h := range hits {
		l := &c.Lines[h.line]
		seqs = append(seqs, l.Sequence)
		if dt := dateText(dayOf(h.dos, r.loc)); !containsString(dates, dt) {
			dates = append(dates, dt)
		}
		f.Evidence = append(f.Evidence, IntEvidence(EvClaimLine, l.Sequence))
		if len(l.Codes) > 0 {
			code := l.Codes[0]
			if bc, ok := billingCode(l); ok {
				code = bc
			}
			f.Evidence = append(f.Evidence, CodeEvidence(EvServiceCode, code))
			f.Reasons = appendReason(f.Reasons, code)
		}
		f.Evidence = append(f.Evidence, DateEvidence(EvDateOfService, StartOfDay(h.dos, r.loc)))
	}
	lines := "line " + joinInts(seqs)
	if len(seqs) > 1 {
		lines = "lines " + joinInts(seqs)
	}
	var b strings.Builder
	b.WriteString("This outpatient hospital claim bills services on " + strings.Join(dates, ", ") + " (" + lines + "): ")
	b.WriteString("on the inpatient admission date, " + dateText(admitDay) + ", or within the " + daysText(s.days) + " before it. ")
	b.WriteString("For " + payerName(s.rs, payerOf(s)) + ", the admitting hospital's outpatient diagnostic services in this payment window, ")
	b.WriteString("and related non-diagnostic ones, belong on the inpatient claim")
	if s.claim != nil {
		b.WriteString(" (claim " + s.claim.Key + ")")
	}
	b.WriteString(" (42 CFR 412.2). Combine them onto the inpatient claim, or record why they are unrelated non-diagnostic services that may be billed separately.")
	f.Description = b.String()
	return f
}

// windowDue is when the outpatient services must be combined onto the
// inpatient claim: before that claim is billed, so the end of the day after
// its creation; without it in the input, the end of the day after discharge;
// for a stay in progress, the end of the day after the later of the
// inpatient order and the outpatient claim's creation, so that the
// outpatient claim is held. Capped by the outpatient claim's filing deadline.
func (r *run) windowDue(c *facts.Claim, s *windowStay) time.Time {
	var anchor time.Time
	switch end := s.enc.End; {
	case s.claim != nil && !s.claim.Created.IsZero():
		anchor = s.claim.Created
	case !end.IsZero() && !end.After(r.asOf):
		anchor = end
	default:
		anchor = s.admit
		if c.Created.After(anchor) {
			anchor = c.Created
		}
	}
	return r.dueDayAfter(anchor, c, s.rs)
}

// appendReason adds a triggering code to Finding.Reasons once.
func appendReason(reasons []facts.Code, c facts.Code) []facts.Code {
	for _, r := range reasons {
		if r.System == c.System && r.Code == c.Code {
			return reasons
		}
	}
	return append(reasons, c)
}

// daysText writes "3 days" or "1 day".
func daysText(n int) string {
	if n == 1 {
		return "1 day"
	}
	return strconv.Itoa(n) + " days"
}

// payerOf is the payer whose rule set applies to a stay.
func payerOf(s *windowStay) *facts.Payer {
	if s.claim != nil && s.claim.Payer != nil {
		return s.claim.Payer
	}
	return s.enc.Payer
}

// reaches reports whether the claim bills the encounter.
func reaches(c *facts.Claim, e *facts.Encounter) bool {
	for _, x := range c.Encounters {
		if x == e {
			return true
		}
	}
	return false
}

// dayNumber numbers calendar days in loc, so that windows are plain
// integer arithmetic across DST changes and month ends.
func dayNumber(t time.Time, loc *time.Location) int {
	y, m, d := t.In(loc).Date()
	return int(time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Unix() / 86400)
}
