package determination

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/utilreview/utilreview/service/facts"
)

// The JSON shapes written, in FHIR's element order; every choice element
// is its own field with omitempty, so exactly one value[x] is written.

type coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

type concept struct {
	Coding []coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

type identifier struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
}

type reference struct {
	Reference  string      `json:"reference,omitempty"`
	Identifier *identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

type period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

type quantity struct {
	Value  int    `json:"value"`
	Unit   string `json:"unit,omitempty"`
	System string `json:"system,omitempty"`
	Code   string `json:"code,omitempty"`
}

type extension struct {
	Extension            []extension `json:"extension,omitempty"`
	URL                  string      `json:"url"`
	ValueString          *string     `json:"valueString,omitempty"`
	ValueInteger         *int        `json:"valueInteger,omitempty"`
	ValueCodeableConcept *concept    `json:"valueCodeableConcept,omitempty"`
	ValuePeriod          *period     `json:"valuePeriod,omitempty"`
	ValueQuantity        *quantity   `json:"valueQuantity,omitempty"`
}

type adjudication struct {
	Extension []extension `json:"extension,omitempty"`
	Category  concept     `json:"category"`
}

type responseItem struct {
	Extension    []extension    `json:"extension,omitempty"`
	ItemSequence int            `json:"itemSequence"`
	Adjudication []adjudication `json:"adjudication"`
}

type processNote struct {
	Number int    `json:"number"`
	Type   string `json:"type"`
	Text   string `json:"text"`
}

type meta struct {
	Tag []coding `json:"tag,omitempty"`
}

type claimResponse struct {
	ResourceType  string         `json:"resourceType"`
	ID            string         `json:"id,omitempty"`
	Meta          *meta          `json:"meta,omitempty"`
	Extension     []extension    `json:"extension,omitempty"`
	Identifier    []identifier   `json:"identifier"`
	Status        string         `json:"status"`
	Type          concept        `json:"type"`
	Use           string         `json:"use"`
	Patient       reference      `json:"patient"`
	Created       string         `json:"created"`
	Insurer       reference      `json:"insurer"`
	Requestor     *reference     `json:"requestor,omitempty"`
	Request       reference      `json:"request"`
	Outcome       string         `json:"outcome"`
	Disposition   string         `json:"disposition"`
	PreAuthRef    string         `json:"preAuthRef,omitempty"`
	PreAuthPeriod *period        `json:"preAuthPeriod,omitempty"`
	Item          []responseItem `json:"item"`
	ProcessNote   []processNote  `json:"processNote,omitempty"`
}

type claimInsurance struct {
	Sequence int       `json:"sequence"`
	Focal    bool      `json:"focal"`
	Coverage reference `json:"coverage"`
}

type claimItem struct {
	Sequence         int         `json:"sequence"`
	Category         *concept    `json:"category,omitempty"`
	ProductOrService concept     `json:"productOrService"`
	ServicedPeriod   *period     `json:"servicedPeriod,omitempty"`
	ServicedDate     string      `json:"servicedDate,omitempty"`
	Encounter        []reference `json:"encounter,omitempty"`
}

type claim struct {
	ResourceType   string           `json:"resourceType"`
	Identifier     []identifier     `json:"identifier"`
	Status         string           `json:"status"`
	Type           concept          `json:"type"`
	Use            string           `json:"use"`
	Patient        reference        `json:"patient"`
	BillablePeriod *period          `json:"billablePeriod,omitempty"`
	Created        string           `json:"created"`
	Insurer        *reference       `json:"insurer,omitempty"`
	Provider       reference        `json:"provider"`
	Priority       concept          `json:"priority"`
	Insurance      []claimInsurance `json:"insurance"`
	Item           []claimItem      `json:"item"`
}

// authorizes reports the codes that authorize something (certified in
// total or in part, modified): they carry the authorized period and days.
func authorizes(code string) bool { return code == "A1" || code == "A2" || code == "A6" }

func (r *Recorder) dateTime(t time.Time) string {
	return t.In(r.cfg.Location).Format(time.RFC3339)
}

// insurer is the payer as the ClaimResponse and Claim name it: the
// Organization reference when the input has one, and the payer's
// identifier whenever known (the Organization's, else the matching rule
// set's), with its name.
func (r *Recorder) insurer(py *facts.Payer, at time.Time) reference {
	ref := reference{Reference: py.OrganizationRef, Display: py.Label()}
	// The identifier: the payer's own that its rule set matches on, else
	// the payer's first, else the rule set's first match identifier.
	var matchIDs []identifier
	if r.cfg.Rules != nil {
		if rs, ok := r.cfg.Rules.For(py, at); ok && rs != nil {
			for _, id := range rs.Match.Identifiers {
				if id.System != "" && id.Value != "" {
					matchIDs = append(matchIDs, identifier{System: id.System, Value: id.Value})
				}
			}
		}
	}
	for _, id := range py.Identifiers {
		if id.System == "" || id.Value == "" {
			continue
		}
		own := identifier{System: id.System, Value: id.Value}
		for _, m := range matchIDs {
			if m == own {
				ref.Identifier = &own
			}
		}
		if ref.Identifier == nil && len(matchIDs) == 0 {
			ref.Identifier = &own
		}
		if ref.Identifier != nil {
			break
		}
	}
	if ref.Identifier == nil {
		for _, id := range py.Identifiers {
			if id.System != "" && id.Value != "" {
				ref.Identifier = &identifier{System: id.System, Value: id.Value}
				break
			}
		}
	}
	if ref.Identifier == nil && len(matchIDs) > 0 {
		ref.Identifier = &matchIDs[0]
	}
	if ref.Reference != "" && ref.Display == py.OrganizationRef {
		ref.Display = ""
	}
	return ref
}

// requestor is the hospital: the stay's serviceProvider, the claim's
// provider, else the configured one.
func (r *Recorder) requestor(s *subject) reference {
	switch {
	case s.claim != nil && s.claim.Provider != "":
		return reference{Reference: s.claim.Provider}
	case s.stay != nil && s.stay.ServiceProvider != "":
		return reference{Reference: s.stay.ServiceProvider}
	}
	c := r.cfg.Requestor
	return reference{Reference: c.Reference, Display: c.Display}
}

func claimType(s *subject) string {
	if s.claim != nil && s.claim.Type != "" {
		return s.claim.Type
	}
	return "institutional"
}

// claimResponse is the PAS-shaped ClaimResponse of a determination.
func (r *Recorder) claimResponse(p *facts.Patient, t *facts.Task, s *subject, value, request string, items []int) []byte {
	d := t.Determination
	cr := claimResponse{
		ResourceType: "ClaimResponse",
		Identifier: []identifier{
			{System: r.system, Value: value},
			{System: r.cfg.FindingSystem, Value: value},
		},
		Status:      "active",
		Type:        concept{Coding: []coding{{System: ClaimTypeSystem, Code: claimType(s)}}},
		Use:         "preauthorization",
		Patient:     reference{Reference: p.Ref},
		Created:     r.dateTime(t.Completed),
		Insurer:     r.insurer(s.payer, t.Completed),
		Request:     reference{Reference: request},
		Outcome:     "complete",
		Disposition: dispositionDelegatedNote + ": " + d.Display + " (X12 306 " + d.Code + ").",
	}
	if t.Completed.IsZero() {
		cr.Created = ""
	}
	if id := cr.Insurer.Identifier; id != nil {
		cr.Meta = &meta{Tag: []coding{{System: r.cfg.Base + PayerTagPath, Code: PayerTagCode(id.System, id.Value)}}}
	}
	req := r.requestor(s)
	cr.Requestor = &req
	number := d.AuthorizationNumber
	if number == "" {
		number = value
	}
	var authPeriod *period
	if authorizes(d.Code) && (d.PeriodStart != "" || d.PeriodEnd != "") {
		authPeriod = &period{Start: d.PeriodStart, End: d.PeriodEnd}
		cr.PreAuthPeriod = authPeriod
	}
	if authorizes(d.Code) {
		cr.PreAuthRef = number
	}
	review := extension{URL: ExtReviewAction}
	review.Extension = append(review.Extension, extension{URL: "number", ValueString: &number})
	if d.Reason != nil {
		review.Extension = append(review.Extension, extension{URL: "reasonCode", ValueCodeableConcept: &concept{
			Coding: []coding{{System: d.Reason.System, Code: d.Reason.Code, Display: d.Reason.Display}}}})
	}
	review.Extension = append(review.Extension, extension{URL: ExtReviewActionCode, ValueCodeableConcept: &concept{
		Coding: []coding{{System: facts.X12ReviewActionSystem, Code: d.Code, Display: d.Display}}}})
	for _, seq := range items {
		it := responseItem{ItemSequence: seq, Adjudication: []adjudication{{
			Extension: []extension{review},
			Category:  concept{Coding: []coding{{System: AdjudicationSystem, Code: "submitted"}}},
		}}}
		if authPeriod != nil {
			it.Extension = append(it.Extension, extension{URL: ExtItemPreAuthPeriod, ValuePeriod: authPeriod})
		}
		if authorizes(d.Code) && d.Days > 0 {
			days := d.Days
			it.Extension = append(it.Extension, extension{URL: ExtItemAuthorizedDetail, Extension: []extension{{
				URL: "quantity", ValueQuantity: &quantity{Value: days, Unit: "days", System: UCUM, Code: "d"}}}})
		}
		cr.Item = append(cr.Item, it)
	}
	n := 0
	note := func(text string) {
		if strings.TrimSpace(text) == "" {
			return
		}
		n++
		cr.ProcessNote = append(cr.ProcessNote, processNote{Number: n, Type: "display", Text: text})
	}
	if d.Reason != nil {
		txt := d.Reason.Display
		if txt == "" {
			txt = d.Reason.Code
		}
		note("Reason: " + txt)
	}
	note(d.Note)
	if d.HasAvoidableDays {
		days := d.AvoidableDays
		ext := extension{URL: r.AvoidableDaysExtension(), Extension: []extension{{URL: "days", ValueInteger: &days}}}
		if d.AvoidableReason != nil {
			ext.Extension = append(ext.Extension, extension{URL: "reason", ValueCodeableConcept: &concept{
				Coding: []coding{{System: d.AvoidableReason.System, Code: d.AvoidableReason.Code, Display: d.AvoidableReason.Display}}}})
		}
		cr.Extension = append(cr.Extension, ext)
	}
	out, _ := json.Marshal(cr)
	return out
}

// preauthClaim is the Claim with use preauthorization written for a stay
// reviewed before any claim existed: the PAS request the determination
// answers, one item for the stay.
func (r *Recorder) preauthClaim(p *facts.Patient, s *subject, value string, at time.Time) []byte {
	e := s.stay
	ins := r.insurer(s.payer, at)
	cov := reference{Reference: s.payer.CoverageRef}
	if cov.Reference == "" {
		// No Coverage resource (e.g. Synthea): the coverage by its payer's
		// name, exactly as the input names it, so the stay's payer reads
		// the same from this Claim.
		cov.Display = s.payer.Label()
	}
	service, display := "48", "Hospital - Inpatient"
	if !inpatient(e.Class) {
		service, display = "50", "Hospital - Outpatient"
	}
	item := claimItem{
		Sequence:         1,
		Category:         &concept{Coding: []coding{{System: X12ServiceTypeSystem, Code: service, Display: display}}},
		ProductOrService: concept{Coding: []coding{{System: X12ServiceTypeSystem, Code: service, Display: display}}},
		Encounter:        []reference{{Reference: e.Ref}},
	}
	var bp *period
	if !e.Start.IsZero() {
		bp = &period{Start: r.dateTime(e.Start)}
		if !e.End.IsZero() {
			bp.End = r.dateTime(e.End)
		}
		item.ServicedPeriod = bp
	}
	c := claim{
		ResourceType:   "Claim",
		Identifier:     []identifier{{System: r.claimSystem, Value: value}},
		Status:         "active",
		Type:           concept{Coding: []coding{{System: ClaimTypeSystem, Code: "institutional"}}},
		Use:            "preauthorization",
		Patient:        reference{Reference: p.Ref},
		BillablePeriod: bp,
		Created:        r.dateTime(at),
		Insurer:        &ins,
		Provider:       r.requestor(s),
		Priority:       concept{Coding: []coding{{System: ProcessPrioritySystem, Code: "normal"}}},
		Insurance:      []claimInsurance{{Sequence: 1, Focal: true, Coverage: cov}},
		Item:           []claimItem{item},
	}
	out, _ := json.Marshal(c)
	return out
}

// inpatient reports an inpatient class (v3 ActCode IMP, ACUTE, NONAC).
func inpatient(class string) bool {
	switch class {
	case "IMP", "ACUTE", "NONAC":
		return true
	}
	return false
}
