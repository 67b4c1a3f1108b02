package checks

import (
	"strconv"
	"testing"
	"time"

	"github.com/utilreview/utilreview/service/facts"
)

// clBenchPatient is a synthetic patient with many outpatient claims of
// CPT/HCPCS lines around a few inpatient stays: every claim check has work.
func clBenchPatient(claims, lines int) *facts.Patient {
	codes := []string{"99213", "97110", "J1100", "80053", "93005", "64612", "J0585", "71045"}
	var encs []*facts.Encounter
	for i := 0; i < 4; i++ {
		start := clAt("2025-01-10T10:00").AddDate(0, 0, 20*i)
		encs = append(encs, &facts.Encounter{Ref: "Encounter/s" + strconv.Itoa(i), Key: "Encounter/s" + strconv.Itoa(i), Status: "finished",
			Start: start, End: start.Add(72 * time.Hour), Payer: clMedicare, ServiceProvider: "Organization/hospital",
			Segments: []facts.Segment{{Class: "IMP", Start: start, End: start.Add(72 * time.Hour)}}})
	}
	var cs []*facts.Claim
	for i := 0; i < claims; i++ {
		day := clDay("2025-01-01").AddDate(0, 0, i%90).Format("2006-01-02")
		var ls []facts.Line
		for j := 0; j < lines; j++ {
			ls = append(ls, clLine(j+1, codes[(i+j)%len(codes)], day, float64(1+j%3)))
		}
		c := clClaim("c"+strconv.Itoa(i), day+"T18:00", ls...)
		cs = append(cs, c)
	}
	return clPatient(encs, cs...)
}

// BenchmarkClaimChecks measures the claim checks alone over one patient's
// claims, facts already built.
func BenchmarkClaimChecks(b *testing.B) {
	p := clBenchPatient(200, 8)
	r := clRun("2025-06-01T09:00", clSource(clMedicareRules()))
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		r.dups, r.window = nil, nil // a new run per patient, as Engine.Review does
		for _, c := range p.Claims {
			n += len(r.claim(p, c))
		}
	}
	b.ReportMetric(float64(len(p.Claims)*b.N)/b.Elapsed().Seconds(), "claims/s")
	b.ReportMetric(float64(n)/float64(b.N), "findings/op")
}

// BenchmarkClaimChecksClean is the common case: claims the checks pass
// (authorised, units within the MUE, distinct services, recent, no stay).
func BenchmarkClaimChecksClean(b *testing.B) {
	codes := []string{"99213", "97110", "J1100", "80053", "93005", "64612", "J0585", "71045"}
	var cs []*facts.Claim
	for i := 0; i < 200; i++ {
		day := clDay("2025-05-01").AddDate(0, 0, i%30).Format("2006-01-02")
		var ls []facts.Line
		for j := 0; j < 8; j++ {
			ls = append(ls, clLine(j+1, codes[j], day, 1))
		}
		c := clClaim("c"+strconv.Itoa(i), day+"T18:00", ls...)
		c.Provider = "Organization/clinic" + strconv.Itoa(i) // distinct providers: no duplicates
		c.Payer = &facts.Payer{OrganizationRef: "Organization/payer" + strconv.Itoa(i), Name: "Medicare"}
		c.PreAuthRefs = []string{"A" + strconv.Itoa(i)}
		c.Accepted = true
		cs = append(cs, c)
	}
	p := clPatient(nil, cs...)
	r := clRun("2025-06-01T09:00", clSource(clMedicareRules()))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		r.dups, r.window = nil, nil
		for _, c := range p.Claims {
			n += len(r.claim(p, c))
		}
	}
	b.ReportMetric(float64(len(p.Claims)*b.N)/b.Elapsed().Seconds(), "claims/s")
	b.ReportMetric(float64(n)/float64(b.N), "findings/op")
}
