package checks

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// clStay is an inpatient stay: emergency from ed, inpatient order at order
// (2025-03-10 is the day after the 2025 DST change in New York).
func clStay(id, ed, order string) *facts.Encounter {
	e := &facts.Encounter{Ref: "Encounter/" + id, Key: "Encounter/" + id, Status: "finished", Class: "IMP",
		Start: clAt(ed), End: clAt("2025-03-14T11:00"), Payer: clMedicare, ServiceProvider: "Organization/hospital"}
	if ed != order {
		e.Segments = append(e.Segments, facts.Segment{Class: "EMER", Start: clAt(ed), End: clAt(order)})
	}
	e.Segments = append(e.Segments, facts.Segment{Class: "IMP", Start: clAt(order), End: e.End})
	return e
}

func clVisit(id, class, at string) *facts.Encounter {
	return &facts.Encounter{Ref: "Encounter/" + id, Key: "Encounter/" + id, Status: "finished", Class: class,
		Start: clAt(at), End: clAt(at).Add(2 * time.Hour), Segments: []facts.Segment{{Class: class, Start: clAt(at), End: clAt(at).Add(2 * time.Hour)}},
		Payer: clMedicare, ServiceProvider: "Organization/hospital"}
}

func TestPaymentWindow(t *testing.T) {
	t.Parallel()
	// Stay "s": ED from 2025-03-09 22:00, inpatient order 2025-03-10 02:00.
	// Window of 3 days: 2025-03-07 .. 2025-03-10.
	outpatient := func(dos string, mut ...func(*facts.Claim)) *facts.Claim {
		v := clVisit("v", "AMB", dos+"T09:00")
		c := clClaim("op", dos+"T18:00", clLine(1, "80053", dos, 1), clLine(2, "93005", dos, 1))
		c.Encounters = []*facts.Encounter{v}
		for _, m := range mut {
			m(c)
		}
		return c
	}
	tests := []struct {
		name     string
		claims   func(stay *facts.Encounter) []*facts.Claim
		days     int
		payer    *facts.Payer // the stay's payer; nil keeps Medicare
		want     []string     // episodes on the outpatient claim
		wantText string
	}{
		{"3 days before the admission date", func(*facts.Encounter) []*facts.Claim { return []*facts.Claim{outpatient("2025-03-07")} }, 3, nil, []string{"Encounter/s"}, "2025-03-07 (lines 1 and 2)"},
		{"4 days before: outside", func(*facts.Encounter) []*facts.Claim { return []*facts.Claim{outpatient("2025-03-06")} }, 3, nil, nil, ""},
		{"on the admission date", func(*facts.Encounter) []*facts.Claim { return []*facts.Claim{outpatient("2025-03-10")} }, 3, nil, []string{"Encounter/s"}, "admission date, 2025-03-10, or within the 3 days before it"},
		{"the day after admission: not in the window", func(*facts.Encounter) []*facts.Claim { return []*facts.Claim{outpatient("2025-03-11")} }, 3, nil, nil, ""},
		{"non-IPPS hospital, 1 day: the day before", func(*facts.Encounter) []*facts.Claim { return []*facts.Claim{outpatient("2025-03-09")} }, 1, nil, []string{"Encounter/s"}, "within the 1 day before it"},
		{"non-IPPS hospital, 1 day: 2 days before", func(*facts.Encounter) []*facts.Claim { return []*facts.Claim{outpatient("2025-03-08")} }, 1, nil, nil, ""},
		{"professional claim", func(*facts.Encounter) []*facts.Claim {
			return []*facts.Claim{outpatient("2025-03-08", func(c *facts.Claim) { c.Type = "professional" })}
		}, 3, nil, nil, ""},
		{"another hospital", func(*facts.Encounter) []*facts.Claim {
			return []*facts.Claim{outpatient("2025-03-08", func(c *facts.Claim) { c.Provider = "Organization/other" })}
		}, 3, nil, nil, ""},
		{"provider unknown: counted", func(*facts.Encounter) []*facts.Claim {
			return []*facts.Claim{outpatient("2025-03-08", func(c *facts.Claim) { c.Provider = "" })}
		}, 3, nil, []string{"Encounter/s"}, ""},
		{"the inpatient claim itself", func(s *facts.Encounter) []*facts.Claim {
			c := clClaim("ip", "2025-03-15T10:00", clLine(1, "80053", "2025-03-09", 1))
			c.Encounters = []*facts.Encounter{s}
			return []*facts.Claim{c}
		}, 3, nil, nil, ""},
		{"ED visit billed separately the day before", func(*facts.Encounter) []*facts.Claim {
			v := clVisit("ed", "EMER", "2025-03-09T15:00")
			c := clClaim("ed", "2025-03-09T20:00", clLine(1, "99284", "", 1))
			c.BillableStart = v.Start
			c.Encounters = []*facts.Encounter{v}
			return []*facts.Claim{c}
		}, 3, nil, []string{"Encounter/s"}, "2025-03-09 (line 1)"},
		{"undated line on a claim without a billable period", func(*facts.Encounter) []*facts.Claim {
			return []*facts.Claim{clClaim("op", "2025-03-08T18:00", clLine(1, "80053", "", 1))}
		}, 3, nil, nil, ""},
		{"stay's payer does not apply the window", func(*facts.Encounter) []*facts.Claim { return []*facts.Claim{outpatient("2025-03-08")} }, 3,
			&facts.Payer{Name: "Commercial"}, nil, ""},
		{"preauthorization request in the window", func(*facts.Encounter) []*facts.Claim {
			return []*facts.Claim{outpatient("2025-03-08", func(c *facts.Claim) { c.Use = "preauthorization" })}
		}, 3, nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stay := clStay("s", "2025-03-09T22:00", "2025-03-10T02:00")
			if tt.payer != nil {
				stay.Payer = tt.payer
			}
			claims := tt.claims(stay)
			encs := []*facts.Encounter{stay}
			for _, c := range claims {
				for _, e := range c.Encounters {
					if e != stay {
						encs = append([]*facts.Encounter{e}, encs...)
					}
				}
			}
			rs := clMedicareRules()
			rs.Checks.PaymentWindow.Days = tt.days
			commercial := clMedicareRules()
			commercial.ID, commercial.Program = "commercial", rules.Commercial
			commercial.Checks.PaymentWindow.Enabled = false
			src := clRules{byName: map[string]*rules.RuleSet{"Medicare": rs, "Commercial": commercial}, def: rs}
			p := clPatient(encs, claims...)
			got := clFindings(clRun("2025-03-16T09:00", src), p, CheckPaymentWindow)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d findings, want %d", len(got), len(tt.want))
			}
			for i, ep := range tt.want {
				f := got[i]
				clCommon(t, f, f.Claim)
				if f.Episode != ep || f.Encounter != stay {
					t.Errorf("finding %d: episode %q encounter %v, want %q and the stay", i, f.Episode, f.Encounter, ep)
				}
				if !strings.Contains(f.Description, tt.wantText) {
					t.Errorf("description %q lacks %q", f.Description, tt.wantText)
				}
				if a := clEvidence(f, EvAdmissionDate); len(a) != 1 || a[0].Date == nil || !a[0].Date.Equal(clAt("2025-03-10T00:00")) {
					t.Errorf("admission-date evidence %v, want the inpatient order's day", a)
				}
				if f.Owner != BillingTeam || f.Priority != Routine || f.RuleSet != rs {
					t.Errorf("owner %s priority %s rule set %v", f.Owner, f.Priority, f.RuleSet)
				}
			}
		})
	}
}

func TestPaymentWindowFromInpatientOrderAndTwoStays(t *testing.T) {
	t.Parallel()
	// Stay 1: observation from 2025-03-01, inpatient order 2025-03-10: the
	// window counts from the order (03-07..03-10), not from the stay's start.
	obs := &facts.Encounter{Ref: "Encounter/s1", Key: "Encounter/s1", Status: "finished", Start: clAt("2025-03-01T10:00"), End: clAt("2025-03-12T10:00"),
		Segments: []facts.Segment{{Class: "OBSENC", Start: clAt("2025-03-01T10:00"), End: clAt("2025-03-10T08:00")}, {Class: "IMP", Start: clAt("2025-03-10T08:00"), End: clAt("2025-03-12T10:00")}},
		Payer:    clMedicare}
	// Stay 2 admitted 2025-03-13 (readmission), window 03-10..03-13.
	stay2 := clStay("s2", "2025-03-13T09:00", "2025-03-13T09:00")
	ipClaim := clClaim("ip2", "2025-03-20T10:00", clLine(1, "99223", "2025-03-13", 1))
	ipClaim.Encounters = []*facts.Encounter{stay2}
	ipClaim.DRG = "291"
	stay2.Claims = []*facts.Claim{ipClaim}

	before := clClaim("op1", "2025-02-27T18:00", clLine(1, "80053", "2025-02-27", 1))
	both := clClaim("op2", "2025-03-10T18:00", clLine(1, "80053", "2025-03-10", 1))
	p := clPatient([]*facts.Encounter{obs, stay2}, before, both, ipClaim)
	got := clFindings(clRun("2025-03-21T09:00", clSource(clMedicareRules())), p, CheckPaymentWindow)
	var eps []string
	for _, f := range got {
		eps = append(eps, f.FocusRef+" "+f.Episode)
	}
	want := []string{"Claim/op2 Encounter/s1", "Claim/op2 Encounter/s2"}
	if strings.Join(eps, ",") != strings.Join(want, ",") {
		t.Fatalf("findings %v, want %v", eps, want)
	}
	if ic := clEvidence(got[1], EvInpatientClaim); len(ic) != 1 || *ic[0].Ref != "Claim/ip2" {
		t.Errorf("inpatient-claim evidence %v, want Claim/ip2", ic)
	}
	if !strings.Contains(got[1].Description, "(claim Claim/ip2)") {
		t.Errorf("description %q does not name the inpatient claim", got[1].Description)
	}
}

// The services must be on the inpatient claim before it is billed: due the
// day after the inpatient claim's creation, else after discharge, else
// (stay in progress) after the later of the order and the outpatient claim.
func TestPaymentWindowDue(t *testing.T) {
	t.Parallel()
	end := func(day string) time.Time { return clDay(day).AddDate(0, 0, 1).Add(-time.Second) }
	tests := []struct {
		name      string
		ipCreated string // "" for no inpatient claim in the input
		open      bool   // the stay has no end yet
		opCreated string
		asOf      string
		want      time.Time
	}{
		{"inpatient claim created", "2025-03-15T10:00", false, "2025-03-08T18:00", "2025-03-16T09:00", end("2025-03-16")},
		{"no inpatient claim: the day after discharge", "", false, "2025-03-08T18:00", "2025-03-16T09:00", end("2025-03-15")},
		{"discharge after the review time: still in progress", "", false, "2025-03-08T18:00", "2025-03-12T09:00", end("2025-03-11")},
		{"in progress: the day after the order", "", true, "2025-03-08T18:00", "2025-03-12T09:00", end("2025-03-11")},
		{"in progress, outpatient claim after the order", "", true, "2025-03-12T08:00", "2025-03-13T09:00", end("2025-03-13")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stay := clStay("s", "2025-03-09T22:00", "2025-03-10T02:00")
			if tt.open {
				stay.Status, stay.End = "in-progress", time.Time{}
				stay.Segments[len(stay.Segments)-1].End = time.Time{}
			}
			op := clClaim("op", tt.opCreated, clLine(1, "80053", "2025-03-08", 1))
			claims := []*facts.Claim{op}
			if tt.ipCreated != "" {
				ip := clClaim("ip", tt.ipCreated, clLine(1, "99223", "2025-03-10", 1))
				ip.Encounters = []*facts.Encounter{stay}
				stay.Claims = []*facts.Claim{ip}
				claims = append(claims, ip)
			}
			got := clFindings(clRun(tt.asOf, clSource(clMedicareRules())), clPatient([]*facts.Encounter{stay}, claims...), CheckPaymentWindow)
			if len(got) != 1 || !got[0].Due.Equal(tt.want) {
				var due []time.Time
				for _, f := range got {
					due = append(due, f.Due)
				}
				t.Fatalf("due %v, want one finding due %v", due, tt.want)
			}
		})
	}
}

// Task.reasonCode: the service codes that fall in the window, each once.
func TestPaymentWindowReasons(t *testing.T) {
	t.Parallel()
	stay := clStay("s", "2025-03-09T22:00", "2025-03-10T02:00")
	op := clClaim("op", "2025-03-08T18:00", clLine(1, "80053", "2025-03-08", 1), clLine(2, "93005", "2025-03-08", 1), clLine(3, "80053", "2025-03-09", 1))
	got := clFindings(clRun("2025-03-16T09:00", clSource(clMedicareRules())), clPatient([]*facts.Encounter{stay}, op), CheckPaymentWindow)
	if len(got) != 1 {
		t.Fatalf("got %d findings, want 1", len(got))
	}
	var codes []string
	for _, r := range got[0].Reasons {
		codes = append(codes, r.Code)
	}
	if strings.Join(codes, ",") != "80053,93005" {
		t.Errorf("reasons %v, want 80053,93005", codes)
	}
}

// Ambulance services and maintenance renal dialysis are outside the payment
// window by statute (SSA §1886(a)(4); Medicare Claims Processing Manual ch.
// 3, §40.3). The exclusions are the shipped Medicare rule set's data: HCPCS
// A0021-A0999 or revenue code 054x (ambulance), revenue codes 082x-085x and
// 088x (maintenance dialysis).
func TestPaymentWindowStatutoryExclusions(t *testing.T) {
	t.Parallel()
	reg, err := rules.LoadDefaults()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"medicare-ffs", "example-medicare-advantage"} {
		shipped, ok := reg.ByID(id, clAt("2025-03-10T02:00"))
		if !ok {
			t.Fatalf("no %s rule set", id)
		}
		if len(shipped.Checks.PaymentWindow.Exclusions) != 2 {
			t.Fatalf("%s ships %d payment-window exclusions, want ambulance and dialysis", id, len(shipped.Checks.PaymentWindow.Exclusions))
		}
	}
	medicare, _ := reg.ByID("medicare-ffs", clAt("2025-03-10T02:00"))
	rev := func(l facts.Line, code string) facts.Line {
		l.Revenue = []facts.Code{{System: "https://www.nubc.org/CodeSystem/RevenueCodes", Code: code}}
		return l
	}
	tests := []struct {
		name  string
		lines []facts.Line
		want  []int // claim lines cited by the finding; nil: no finding
	}{
		{"ambulance by HCPCS A0427", []facts.Line{clLine(1, "A0427", "2025-03-09", 1)}, nil},
		{"ambulance by HCPCS, lower case", []facts.Line{clLine(1, "a0425", "2025-03-09", 1)}, nil},
		{"ambulance by HCPCS, range ends A0021 and A0999", []facts.Line{clLine(1, "A0021", "2025-03-09", 1), clLine(2, "A0999", "2025-03-09", 1)}, nil},
		{"A1000 is not ambulance", []facts.Line{clLine(1, "A1000", "2025-03-09", 1)}, []int{1}},
		{"ambulance by revenue code 0540", []facts.Line{rev(clLine(1, "80053", "2025-03-09", 1), "0540")}, nil},
		{"ambulance by revenue code written 545", []facts.Line{rev(clLine(1, "80053", "2025-03-09", 1), "545")}, nil},
		{"hemodialysis revenue code 0821", []facts.Line{rev(clLine(1, "90999", "2025-03-09", 1), "0821")}, nil},
		{"CCPD revenue code 0851", []facts.Line{rev(clLine(1, "90999", "2025-03-09", 1), "0851")}, nil},
		{"miscellaneous dialysis revenue code 0881", []facts.Line{rev(clLine(1, "90999", "2025-03-09", 1), "0881")}, nil},
		{"dialysis CPT without a dialysis revenue code counts (acute dialysis)", []facts.Line{clLine(1, "90935", "2025-03-09", 1)}, []int{1}},
		{"revenue code 0860 is not dialysis", []facts.Line{rev(clLine(1, "80053", "2025-03-09", 1), "0860")}, []int{1}},
		{"laboratory 0300 counts", []facts.Line{rev(clLine(1, "80053", "2025-03-09", 1), "0300")}, []int{1}},
		{"an excluded line beside a counted one", []facts.Line{clLine(1, "A0427", "2025-03-09", 1), clLine(2, "80053", "2025-03-09", 1)}, []int{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs := clMedicareRules()
			rs.Checks.PaymentWindow.Exclusions = medicare.Checks.PaymentWindow.Exclusions
			stay := clStay("s", "2025-03-09T22:00", "2025-03-10T02:00")
			op := clClaim("op", "2025-03-09T18:00", tt.lines...)
			got := clFindings(clRun("2025-03-16T09:00", clSource(rs)), clPatient([]*facts.Encounter{stay}, op), CheckPaymentWindow)
			if tt.want == nil {
				if len(got) != 0 {
					t.Fatalf("got %d findings (%s), want none: the services are excluded", len(got), got[0].Description)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1", len(got))
			}
			var lines []int
			for _, e := range clEvidence(got[0], EvClaimLine) {
				lines = append(lines, *e.Int)
			}
			if fmtInts(lines) != fmtInts(tt.want) {
				t.Errorf("lines %v, want %v", lines, tt.want)
			}
		})
	}
}

func fmtInts(xs []int) string {
	var b strings.Builder
	for _, x := range xs {
		b.WriteString(strconv.Itoa(x) + ",")
	}
	return b.String()
}
