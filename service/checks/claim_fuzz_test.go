package checks

import (
	"testing"
	"time"

	"github.com/utilreview/utilreview/service/facts"
)

// FuzzClaimChecks builds a patient's claims and a stay from arbitrary bytes
// (codes, units, dates, modifiers, statuses, uses, types, references) and
// runs every claim and custom check: nothing may panic, and every finding
// must carry exactly one value per evidence.
func FuzzClaimChecks(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add([]byte("\x05\x05\x05\x05\x00\x00\x00\x00\xff\xff\xff\xff\x80\x80"))
	f.Fuzz(func(t *testing.T, data []byte) {
		next := func() int {
			if len(data) == 0 {
				return 0
			}
			b := int(data[0])
			data = data[1:]
			return b
		}
		codes := []string{"64612", "J0585", "99213", "j1100", "97110", "A0001", " 64615 ", ""}
		systems := []string{"cpt", "http://www.ama-assn.org/go/cpt", "urn:oid:2.16.840.1.113883.6.285", "http://snomed.info/sct", ""}
		statuses := []string{"active", "draft", "cancelled", "entered-in-error", ""}
		uses := []string{"claim", "preauthorization", "predetermination", ""}
		types := []string{"institutional", "professional", "pharmacy", ""}
		mods := []string{"59", "RT", "25", ""}
		base := clAt("2025-03-01T00:00")
		at := func(b int) time.Time {
			if b == 255 {
				return time.Time{}
			}
			return base.Add(time.Duration(b-128) * 7 * time.Hour)
		}
		stay := &facts.Encounter{Ref: "Encounter/s", Key: "Encounter/s", Status: statuses[next()%len(statuses)],
			Segments: []facts.Segment{{Class: []string{"IMP", "OBSENC", "EMER", ""}[next()%4], Start: at(next()), End: at(next())}}}
		stay.Start = stay.Segments[0].Start
		p := clPatient([]*facts.Encounter{stay})
		for n := next() % 6; n >= 0; n-- {
			c := &facts.Claim{Ref: "Claim/c" + string(rune('a'+n)), Key: "Claim/c" + string(rune('a'+n)), Patient: p,
				Status: statuses[next()%len(statuses)], Use: uses[next()%len(uses)], Type: types[next()%len(types)],
				Created: at(next()), BillableStart: at(next()), BillableEnd: at(next()), Accepted: next()%2 == 0}
			if next()%2 == 0 {
				c.Encounters = []*facts.Encounter{stay, nil}
				stay.Claims = append(stay.Claims, c)
			}
			if next()%3 == 0 {
				c.Replaces = []string{"Claim/ca"}
			}
			if next()%4 == 0 {
				c.Payer = &facts.Payer{Name: "Medicare"}
			}
			for l := next() % 5; l > 0; l-- {
				line := facts.Line{Sequence: next(), Units: float64(next()) - 10,
					Codes: []facts.Code{{System: systems[next()%len(systems)], Code: codes[next()%len(codes)]}}, Modifiers: []string{mods[next()%len(mods)]}}
				line.ServiceStart = at(next())
				line.ServiceEnd = at(next())
				c.Lines = append(c.Lines, line)
			}
			p.Claims = append(p.Claims, c)
		}
		p.Tasks = []*facts.Task{{Ref: "Task/t", Status: "requested", Focus: "Encounter/s", Identifiers: []facts.Identifier{{System: "https://utilreview.example/task-id"}}}}
		rs := clMedicareRules()
		rs.Checks.PaymentWindow.Days = next() % 5
		rs.Checks.TimelyFiling.WarningDays = next() - 100
		r := clRun("2025-06-01T09:00", clSource(rs))
		r.raised = map[*facts.Encounter][]Finding{stay: {{Check: "two-midnight"}}}
		for _, c := range p.Claims {
			for _, fd := range append(r.claim(p, c), r.customClaim(p, c)...) {
				clCheckEvidence(t, fd)
				if fd.Check == "" || fd.FocusRef != c.Ref || fd.Description == "" {
					t.Fatalf("incomplete finding %+v", fd)
				}
			}
		}
	})
}
