package checks

import (
	"testing"
	"time"

	"github.com/utilreview/utilreview/service/facts"
)

func TestEncounterDefinitionsComplete(t *testing.T) {
	t.Parallel()
	ids := []string{
		CheckAdmissionNotification, CheckAdmissionReview, CheckTwoMidnight, CheckObservationMOON, CheckObservationSecondMidnight,
		CheckObservation48h, CheckConditionCode44, CheckImportantMessage, CheckLOSExceedsGMLOS,
		CheckContinuedStayReview, CheckReadmission30d, CheckSNFThreeDay, CheckMissingCoverage, CheckStaleEncounter,
	}
	if len(encounterDefinitions) != len(ids) {
		t.Errorf("got %d encounter definitions, want %d", len(encounterDefinitions), len(ids))
	}
	seen := map[string]bool{}
	for i, d := range encounterDefinitions {
		if i < len(ids) && d.ID != ids[i] {
			t.Errorf("definition %d is %q, want %q (the order is the documented order)", i, d.ID, ids[i])
		}
		if seen[d.ID] {
			t.Errorf("%s defined twice", d.ID)
		}
		seen[d.ID] = true
		if d.Title == "" || d.On != "encounter" || d.What == "" || d.Why == "" || d.Source == "" || d.Thresholds == "" || d.Switch == "" || d.Owner == "" || d.Priority == "" {
			t.Errorf("%s: incomplete definition %+v", d.ID, d)
		}
	}
	if d := encounterDefinitions[0]; d.Communication != CategoryPayerNotification {
		t.Errorf("admission-notification communication %q, want %q", d.Communication, CategoryPayerNotification)
	}
}

func TestEncounterEvidenceVocabulary(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, c := range encounterEvidenceTypes {
		if c.Code == "" || c.Display == "" || c.Definition == "" {
			t.Errorf("incomplete concept %+v", c)
		}
		if seen[c.Code] {
			t.Errorf("evidence type %q declared twice", c.Code)
		}
		seen[c.Code] = true
	}
	all := EvidenceTypes()
	for _, c := range encounterEvidenceTypes {
		if !hasConcept(all, c.Code) {
			t.Errorf("EvidenceTypes() lacks %q", c.Code)
		}
	}
}

// TestEngineRunsEncounterChecks goes through Engine.Review: every finding
// of a busy synthetic patient is well formed, and each check id it raises
// has a definition.
func TestEngineRunsEncounterChecks(t *testing.T) {
	t.Parallel()
	p := enBusyPatient(t)
	eng := NewEngine(Config{Location: enLoc(t)}, enRules{rs: enMedicare(), matched: true})
	got := eng.Review(p, enAt(t, "2026-03-12T10:00"))
	checks := map[string]int{}
	for _, f := range got {
		if f.Encounter == nil {
			continue
		}
		enCheckShape(t, f)
		checks[f.Check]++
	}
	for _, id := range []string{CheckTwoMidnight, CheckObservationMOON, CheckObservation48h, CheckObservationSecondMidnight, CheckConditionCode44,
		CheckImportantMessage, CheckLOSExceedsGMLOS, CheckContinuedStayReview, CheckReadmission30d, CheckSNFThreeDay, CheckMissingCoverage} {
		if checks[id] == 0 {
			t.Errorf("no %s finding from the busy patient", id)
		}
	}
	defined := map[string]bool{}
	for _, d := range Definitions() {
		defined[d.ID] = true
	}
	for id := range checks {
		if !defined[id] {
			t.Errorf("%s raised but not defined", id)
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i].Due.Before(got[i-1].Due) {
			t.Fatalf("findings not sorted by due time")
		}
	}
}

// enBusyPatient is a synthetic patient whose stays exercise most checks:
// a short stay discharged to a SNF, a readmission that changed to
// observation, a long observation and a long stay without payer.
func enBusyPatient(t testing.TB) *facts.Patient {
	short := enStay(t, "short", "IMP 2026-03-01T10:00 2026-03-02T12:00")
	short.DischargeDisposition = nubc("03")
	re := enStay(t, "re", "IMP 2026-03-03T10:00 2026-03-10T09:00", "OBSENC 2026-03-10T09:00")
	re.DRG = "291"
	obs := enStay(t, "obs", "OBSENC 2026-03-09T08:00")
	nopay := enStay(t, "nopay", "IMP 2026-03-11T08:00")
	nopay.Payer = nil
	long := enStay(t, "long", "IMP 2026-03-02T13:00")
	long.DRG = "291"
	visit := enStay(t, "visit", "AMB 2026-02-20T10:00 2026-02-20T10:30")
	return enPatient(visit, short, long, re, obs, nopay)
}

func BenchmarkEncounterChecks(b *testing.B) {
	p := enBusyPatient(b)
	// Add the visits a real record is mostly made of.
	for i := 0; i < 40; i++ {
		v := enStay(b, "v", "AMB 2025-01-01T10:00 2025-01-01T10:30")
		v.Start = v.Start.Add(time.Duration(i) * 72 * time.Hour)
		v.End = v.Start.Add(30 * time.Minute)
		v.Segments[0].Start, v.Segments[0].End = v.Start, v.End
		v.Patient = p
		p.Encounters = append([]*facts.Encounter{v}, p.Encounters...)
	}
	r := enRun(b, "2026-03-12T10:00", enMedicare())
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		for _, e := range p.Encounters {
			n += len(r.encounter(p, e))
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "findings/s")
}
