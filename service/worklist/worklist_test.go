package worklist

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/fhir/fhirtest"
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
)

// Synthetic findings: the ids and codes below are made up for the tests.

func newYork(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

var asOf = time.Date(2024, 3, 12, 14, 0, 0, 0, time.UTC)

func encounterFinding() checks.Finding {
	p := &facts.Patient{Ref: "Patient/p1", Key: "http://hospital.example/mrn|123"}
	e := &facts.Encounter{Ref: "Encounter/e1", Key: "Encounter/e1", Patient: p}
	return checks.Finding{
		Check: "admission-notification", Priority: checks.Urgent, Owner: checks.URTeam,
		Patient: p, Encounter: e, FocusRef: e.Ref, FocusKey: e.Key, Episode: "Encounter/e1",
		Due:         time.Date(2024, 3, 11, 14, 0, 0, 0, time.UTC),
		Description: "Notify the payer of the inpatient admission.",
		Reasons:     []facts.Code{{System: "http://snomed.info/sct", Code: "22298006", Display: "Myocardial infarction"}},
		Evidence: []checks.Evidence{
			checks.IntEvidence("inpatient-days", 2),
			checks.DecimalEvidence("gmlos", 3.4),
			checks.StringEvidence("rule", "payer manual"),
			checks.BoolEvidence("business-days", true),
			checks.TimeEvidence("inpatient-order", time.Date(2024, 3, 10, 7, 30, 0, 0, time.UTC)),
			checks.CodeEvidence("drg", facts.Code{System: "https://www.cms.gov/drg", Code: "470"}),
			checks.RefEvidence("claim", "Claim/c1"),
		},
		RuleSet: &rules.RuleSet{ID: "medicare-ffs", Version: "2025.1"},
		Communication: &checks.Communication{
			Category: CategoryPayerNotification, RecipientDisplay: "medicare",
			Payload: "Notification of inpatient admission.",
		},
	}
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, b)
	}
	return m
}

func get(m any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			mm, _ := m.(map[string]any)
			m = mm[k]
		case int:
			a, _ := m.([]any)
			if k >= len(a) {
				return nil
			}
			m = a[k]
		}
	}
	return m
}

func TestIdentifiers(t *testing.T) {
	w := New(Config{})
	base := encounterFinding()
	vary := func(mod func(f *checks.Finding)) checks.Finding {
		f := base
		mod(&f)
		return f
	}
	distinct := map[string]checks.Finding{
		"base":          base,
		"other check":   vary(func(f *checks.Finding) { f.Check = "two-midnight" }),
		"other focus":   vary(func(f *checks.Finding) { f.FocusKey = "Encounter/e2" }),
		"other episode": vary(func(f *checks.Finding) { f.Episode = "cycle-2" }),
		// The fields are separated in the hash: moving text between focus
		// and episode must change the identifier.
		"shifted boundary": vary(func(f *checks.Finding) { f.FocusKey = "Encounter/e"; f.Episode = "1Encounter/e1" }),
	}
	seen := map[string]string{}
	for name, f := range distinct {
		id := w.Identifier(&f)
		if id.System != DefaultBase+"/identifier/finding" {
			t.Errorf("%s: got system %q", name, id.System)
		}
		if !strings.HasPrefix(id.Value, f.Check+"-") || len(id.Value) != len(f.Check)+1+hashHexLen {
			t.Errorf("%s: got value %q, want %q + '-' + %d hex digits", name, id.Value, f.Check, hashHexLen)
		}
		if other, dup := seen[id.Value]; dup {
			t.Errorf("%s and %s share identifier %s", name, other, id.Value)
		}
		seen[id.Value] = name
		cr := w.CommunicationIdentifier(&f)
		if cr.Value == id.Value || !strings.HasPrefix(cr.Value, f.Check+"-cr-") {
			t.Errorf("%s: CommunicationRequest identifier %q, want distinct from the Task's %q with prefix %q", name, cr.Value, id.Value, f.Check+"-cr-")
		}
	}

	// Same finding, other values that are not part of its identity: same identifier.
	same := vary(func(f *checks.Finding) {
		f.Due = f.Due.Add(48 * time.Hour)
		f.Description = "changed"
		f.Evidence = nil
		f.Priority = checks.Stat
	})
	if a, b := w.Identifier(&base), w.Identifier(&same); a != b {
		t.Errorf("same finding: got %v and %v", a, b)
	}
	// Another Writer (another run) gives the same identifier.
	if a, b := w.Identifier(&base), New(Config{}).Identifier(&base); a != b {
		t.Errorf("across writers: got %v and %v", a, b)
	}
	// Focus key missing: the reference stands in.
	noKey := vary(func(f *checks.Finding) { f.FocusKey = "" })
	withRefAsKey := vary(func(f *checks.Finding) { f.FocusKey = "Encounter/e1" })
	if w.Identifier(&noKey) != w.Identifier(&withRefAsKey) {
		t.Error("a missing focus key must fall back to the focus reference")
	}
}

func TestIdentifierSlug(t *testing.T) {
	tests := []struct{ check, prefix string }{
		{"two-midnight", "two-midnight-"},
		{"custom:Long Stay", "custom-long-stay-"},
		{"custom:a&b|c", "custom-a-b-c-"},
		{"", "finding-"},
		{strings.Repeat("x", 100), strings.Repeat("x", maxSlug) + "-"},
	}
	w := New(Config{IdentifierSystem: "urn:test"})
	for _, tt := range tests {
		f := checks.Finding{Check: tt.check, FocusKey: "Claim/1"}
		got := w.Identifier(&f)
		if !strings.HasPrefix(got.Value, tt.prefix) || len(got.Value) != len(tt.prefix)+hashHexLen {
			t.Errorf("check %q: got %q, want prefix %q and %d hex digits", tt.check, got.Value, tt.prefix, hashHexLen)
		}
		if got.System != "urn:test" {
			t.Errorf("got system %q, want the configured one", got.System)
		}
	}
}

func TestTask(t *testing.T) {
	loc := newYork(t)
	w := New(Config{Location: loc})
	f := encounterFinding()
	b := w.Task(&f, asOf).AppendJSON(nil)
	fhirtest.Conform(t, b)
	m := decode(t, b)

	tests := []struct {
		path []any
		want any
	}{
		{[]any{"resourceType"}, "Task"},
		{[]any{"status"}, "requested"},
		{[]any{"intent"}, "order"},
		{[]any{"priority"}, "urgent"},
		{[]any{"identifier", 0, "system"}, DefaultBase + "/identifier/finding"},
		{[]any{"identifier", 0, "value"}, w.Identifier(&f).Value},
		{[]any{"code", "coding", 0, "system"}, DefaultBase + "/CodeSystem/check"},
		{[]any{"code", "coding", 0, "code"}, "admission-notification"},
		{[]any{"businessStatus", "coding", 0, "system"}, DefaultBase + "/CodeSystem/business-status"},
		{[]any{"businessStatus", "coding", 0, "code"}, checks.StatusOverdue}, // due before asOf, no status set
		{[]any{"businessStatus", "coding", 0, "display"}, "Overdue"},
		{[]any{"description"}, "Notify the payer of the inpatient admission."},
		{[]any{"focus", "reference"}, "Encounter/e1"},
		{[]any{"focus", "type"}, "Encounter"},
		{[]any{"for", "reference"}, "Patient/p1"},
		{[]any{"encounter", "reference"}, "Encounter/e1"},
		{[]any{"authoredOn"}, "2024-03-12T10:00:00-04:00"}, // EDT, after the DST change of 2024-03-10
		{[]any{"restriction", "period", "end"}, "2024-03-11T10:00:00-04:00"},
		{[]any{"owner", "display"}, "Utilization Review team"},
		{[]any{"requester", "display"}, DefaultRequesterDisplay},
		{[]any{"reasonCode", "coding", 0, "code"}, "22298006"},
		{[]any{"input", 0, "type", "coding", 0, "system"}, DefaultBase + "/CodeSystem/evidence-type"},
		{[]any{"input", 0, "type", "coding", 0, "code"}, "inpatient-days"},
		{[]any{"input", 6, "valueReference", "type"}, "Claim"},
		{[]any{"input", 4, "valueDateTime"}, "2024-03-10T03:30:00-04:00"},
		{[]any{"input", 7, "type", "coding", 0, "code"}, EvidenceRuleSet},
		{[]any{"input", 7, "valueString"}, "medicare-ffs@2025.1"},
	}
	for _, tt := range tests {
		if got := get(m, tt.path...); got != tt.want {
			t.Errorf("%v: got %v, want %v", tt.path, got, tt.want)
		}
	}

	// Each evidence kind gives exactly one value[x], of its type.
	wantMembers := []string{"valueInteger", "valueDecimal", "valueString", "valueBoolean", "valueDateTime",
		"valueCodeableConcept", "valueReference", "valueString"}
	inputs, _ := m["input"].([]any)
	if len(inputs) != len(wantMembers) {
		t.Fatalf("got %d inputs, want %d", len(inputs), len(wantMembers))
	}
	for i, in := range inputs {
		var members []string
		for k := range in.(map[string]any) {
			if strings.HasPrefix(k, "value") {
				members = append(members, k)
			}
		}
		if len(members) != 1 || members[0] != wantMembers[i] {
			t.Errorf("input %d: got value members %v, want [%s]", i, members, wantMembers[i])
		}
	}

	// The Task decodes back with samply, the structs the reader uses.
	back, err := fm.UnmarshalTask(b)
	if err != nil {
		t.Fatalf("samply decode: %v", err)
	}
	if back.Input[0].ValueInteger != 2 || back.Input[1].ValueDecimal.String() != "3.4" || !back.Input[3].ValueBoolean ||
		back.Input[6].ValueReference.Reference == nil || *back.Input[6].ValueReference.Reference != "Claim/c1" {
		t.Errorf("round trip: inputs decoded wrong: %+v", back.Input)
	}
	if back.Identifier[0].Value == nil || *back.Identifier[0].Value != w.Identifier(&f).Value {
		t.Errorf("round trip: identifier %+v", back.Identifier)
	}
}

func TestTaskDefaultsAndFallbacks(t *testing.T) {
	w := New(Config{Owners: map[checks.Owner]fhir.Reference{
		checks.PhysicianAdvisor: {Reference: "PractitionerRole/pa", Display: "Dr. Advisor"},
	}})
	tests := []struct {
		name string
		mod  func(f *checks.Finding)
		path []any
		want any
	}{
		{"configured owner", func(f *checks.Finding) { f.Owner = checks.PhysicianAdvisor }, []any{"owner", "reference"}, "PractitionerRole/pa"},
		{"default owner kept for other roles", func(f *checks.Finding) { f.Owner = checks.BillingTeam }, []any{"owner", "display"}, "Patient financial services (billing)"},
		{"unknown owner goes to the UR team", func(f *checks.Finding) { f.Owner = "nobody" }, []any{"owner", "display"}, "Utilization Review team"},
		{"invalid priority is routine", func(f *checks.Finding) { f.Priority = "whenever" }, []any{"priority"}, "routine"},
		{"status kept", func(f *checks.Finding) { f.Status = checks.StatusDataGap }, []any{"businessStatus", "coding", 0, "code"}, "data-gap"},
		{"due soon", func(f *checks.Finding) { f.Due = asOf.Add(3 * time.Hour) }, []any{"businessStatus", "coding", 0, "code"}, "due-soon"},
		{"awaiting review", func(f *checks.Finding) { f.Due = asOf.Add(72 * time.Hour) }, []any{"businessStatus", "coding", 0, "code"}, "awaiting-review"},
		{"no due date: no restriction", func(f *checks.Finding) { f.Due = time.Time{} }, []any{"restriction"}, nil},
		{"urn:uuid patient: logical reference by identifier", func(f *checks.Finding) {
			f.Patient = &facts.Patient{Ref: "urn:uuid:6f2a", Key: "http://hospital.example/mrn|123"}
		}, []any{"for", "identifier", "value"}, "123"},
		{"urn:uuid patient without identifier: no for", func(f *checks.Finding) {
			f.Patient = &facts.Patient{Ref: "urn:uuid:6f2a", Key: "urn:uuid:6f2a"}
		}, []any{"for"}, nil},
		{"claim focus", func(f *checks.Finding) {
			f.Claim = &facts.Claim{Ref: "Claim/c9"}
			f.FocusRef, f.FocusKey = "Claim/c9", "http://payer.example/claim|C9"
		}, []any{"focus", "type"}, "Claim"},
		{"urn focus: by identifier", func(f *checks.Finding) {
			f.FocusRef, f.FocusKey = "urn:uuid:abc", "http://hospital.example/visit|V1"
		}, []any{"focus", "identifier", "system"}, "http://hospital.example/visit"},
		{"urn:oid identifier system: logical reference", func(f *checks.Finding) {
			f.Patient = &facts.Patient{Ref: "urn:uuid:6f2a", Key: "urn:oid:2.16.840.1.113883.4.1|123-45-6789"}
		}, []any{"for", "identifier", "system"}, "urn:oid:2.16.840.1.113883.4.1"},
		{"urn:uuid focus with a urn:oid identifier", func(f *checks.Finding) {
			f.FocusRef, f.FocusKey = "urn:uuid:abc", "urn:oid:1.2.36.146.595.217.0.1|V1"
		}, []any{"focus", "identifier", "value"}, "V1"},
		{"contained patient key: no for", func(f *checks.Finding) {
			f.Patient = &facts.Patient{Ref: "", Key: "Claim/MED-1#patient-1"}
		}, []any{"for"}, nil},
		{"empty description: check title", func(f *checks.Finding) { f.Description = "" }, []any{"description"}, titleOf("admission-notification")},
		{"nil patient", func(f *checks.Finding) { f.Patient = nil }, []any{"for"}, nil},
		{"no rule set: no rule-set input", func(f *checks.Finding) { f.RuleSet = nil; f.Evidence = f.Evidence[:1] }, []any{"input", 1}, nil},
		{"extra reasons become inputs", func(f *checks.Finding) {
			f.Evidence = nil
			f.RuleSet = nil
			f.Reasons = append(f.Reasons, facts.Code{System: "http://www.ama-assn.org/go/cpt", Code: "64612"})
		}, []any{"input", 0, "valueCodeableConcept", "coding", 0, "code"}, "64612"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := encounterFinding()
			tt.mod(&f)
			b := w.Task(&f, asOf).AppendJSON(nil)
			fhirtest.Conform(t, b)
			got := get(decode(t, b), tt.path...)
			if tt.want == nil {
				if got != nil {
					t.Errorf("%v: got %v, want it absent", tt.path, got)
				}
				return
			}
			if got != tt.want {
				t.Errorf("%v: got %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}

func titleOf(check string) string {
	for _, d := range checks.Definitions() {
		if d.ID == check {
			return d.Title
		}
	}
	return ""
}

// TestNoURNReferences: a reference to an input resource must resolve on the
// server the output is posted to, so a urn:uuid fullUrl is never written.
func TestNoURNReferences(t *testing.T) {
	w := New(Config{})
	f := encounterFinding()
	f.Patient = &facts.Patient{Ref: "urn:uuid:1", Key: "urn:uuid:1"}
	f.Encounter = &facts.Encounter{Ref: "urn:uuid:2"}
	f.FocusRef, f.FocusKey = "urn:uuid:2", "urn:uuid:2"
	f.Evidence = append(f.Evidence, checks.RefEvidence("claim", "urn:uuid:3"), checks.RefEvidence("claim", "#contained"))
	f.Communication.Recipient = "urn:uuid:4"
	b, err := w.TransactionBundle([]checks.Finding{f}, asOf, false)
	if err != nil {
		t.Fatal(err)
	}
	fhirtest.Conform(t, b)
	if bytes.Contains(b, []byte(`"reference":"urn:`)) || bytes.Contains(b, []byte(`"reference":"#`)) {
		t.Errorf("urn or contained reference written:\n%s", b)
	}
	// The evidence references that cannot be written are left out, not emptied.
	task := get(decode(t, b), "entry", 0, "resource")
	if n := len(get(task, "input").([]any)); n != len(encounterFinding().Evidence)+1 {
		t.Errorf("got %d inputs, want %d (the two unwritable references left out)", n, len(encounterFinding().Evidence)+1)
	}
}

// TestDateEvidence: a calendar date is written as valueDate, the day in the
// facility zone, never as a midnight dateTime.
func TestDateEvidence(t *testing.T) {
	loc := newYork(t)
	w := New(Config{Location: loc})
	tests := []struct {
		name string
		at   time.Time
		want string
	}{
		{"facility midnight", time.Date(2024, 3, 10, 0, 0, 0, 0, loc), "2024-03-10"},
		{"given in UTC, the facility's day", time.Date(2024, 3, 11, 3, 0, 0, 0, time.UTC), "2024-03-10"},
		{"late in the facility's day", time.Date(2024, 11, 3, 23, 59, 59, 0, loc), "2024-11-03"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := encounterFinding()
			f.Evidence = []checks.Evidence{checks.DateEvidence("date-of-service", tt.at)}
			b := w.Task(&f, asOf).AppendJSON(nil)
			fhirtest.Conform(t, b)
			m := decode(t, b)
			if got := get(m, "input", 0, "valueDate"); got != tt.want {
				t.Errorf("valueDate: got %v, want %s", got, tt.want)
			}
			if got := get(m, "input", 0, "valueDateTime"); got != nil {
				t.Errorf("valueDateTime: got %v, want it absent", got)
			}
		})
	}
}

func TestCommunicationRequest(t *testing.T) {
	payerID := func(f *checks.Finding) {
		f.Communication.RecipientIdentifier = &facts.Identifier{System: "http://hl7.org/fhir/sid/us-npi", Value: "1234567893"}
	}
	w := New(Config{Location: newYork(t)})
	tests := []struct {
		name string
		mod  func(f *checks.Finding)
		path []any
		want any
	}{
		{"status", nil, []any{"status"}, "active"},
		{"category", nil, []any{"category", 0, "coding", 0, "system"}, DefaultBase + "/CodeSystem/communication-category"},
		{"category code", nil, []any{"category", 0, "coding", 0, "code"}, "payer-notification"},
		{"category display", nil, []any{"category", 0, "coding", 0, "display"}, "Payer notification"},
		{"priority", nil, []any{"priority"}, "urgent"},
		{"subject", nil, []any{"subject", "reference"}, "Patient/p1"},
		{"about", nil, []any{"about", 0, "reference"}, "Encounter/e1"},
		{"display-only recipient", nil, []any{"recipient", 0, "display"}, "medicare"},
		{"sender default", nil, []any{"sender", "display"}, DefaultSenderDisplay},
		{"occurrence is the deadline", nil, []any{"occurrenceDateTime"}, "2024-03-11T10:00:00-04:00"},
		{"authoredOn", nil, []any{"authoredOn"}, "2024-03-12T10:00:00-04:00"},
		{"payload", nil, []any{"payload", 0, "contentString"}, "Notification of inpatient admission."},
		{"based on the Task by identifier", nil, []any{"basedOn", 0, "identifier", "system"}, DefaultBase + "/identifier/finding"},
		{"reason is the check", nil, []any{"reasonCode", 0, "coding", 0, "code"}, "admission-notification"},
		{"payer reference", func(f *checks.Finding) { f.Communication.Recipient = "Organization/payer1" }, []any{"recipient", 0, "reference"}, "Organization/payer1"},
		{"no recipient at all", func(f *checks.Finding) { f.Communication.RecipientDisplay = "" }, []any{"recipient"}, nil},
		{"payer identifier: Organization type", payerID, []any{"recipient", 0, "type"}, "Organization"},
		{"payer identifier: system", payerID, []any{"recipient", 0, "identifier", "system"}, "http://hl7.org/fhir/sid/us-npi"},
		{"payer identifier: value", payerID, []any{"recipient", 0, "identifier", "value"}, "1234567893"},
		{"payer identifier: display kept", payerID, []any{"recipient", 0, "display"}, "medicare"},
		{"payer identifier: no literal reference", payerID, []any{"recipient", 0, "reference"}, nil},
		// Issue 7 point 9: the recipient names the payer as the input does,
		// its Organization and its identifier together.
		{"payer reference keeps the identifier beside it", func(f *checks.Finding) {
			payerID(f)
			f.Communication.Recipient = "Organization/payer1"
		}, []any{"recipient", 0, "identifier", "value"}, "1234567893"},
		{"payer reference with its identifier: the reference", func(f *checks.Finding) {
			payerID(f)
			f.Communication.Recipient = "Organization/payer1"
		}, []any{"recipient", 0, "reference"}, "Organization/payer1"},
		{"identifier without a system: display only", func(f *checks.Finding) {
			f.Communication.RecipientIdentifier = &facts.Identifier{Value: "local-7"}
		}, []any{"recipient", 0, "identifier"}, nil},
		{"identifier only, no display", func(f *checks.Finding) {
			payerID(f)
			f.Communication.RecipientDisplay = ""
		}, []any{"recipient", 0, "identifier", "value"}, "1234567893"},
		{"payload falls back to the description", func(f *checks.Finding) { f.Communication.Payload = "" }, []any{"payload", 0, "contentString"}, "Notify the payer of the inpatient admission."},
		{"no text: no payload", func(f *checks.Finding) { f.Communication.Payload = ""; f.Description = "" }, []any{"payload"}, nil},
		{"no category", func(f *checks.Finding) { f.Communication.Category = "" }, []any{"category"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := encounterFinding()
			if tt.mod != nil {
				tt.mod(&f)
			}
			cr := w.CommunicationRequest(&f, asOf)
			b := cr.AppendJSON(nil)
			fhirtest.Conform(t, b)
			m := decode(t, b)
			if got := get(m, "identifier", 0, "value"); got != w.CommunicationIdentifier(&f).Value {
				t.Errorf("identifier: got %v", got)
			}
			got := get(m, tt.path...)
			if tt.want == nil {
				if got != nil {
					t.Errorf("%v: got %v, want it absent", tt.path, got)
				}
				return
			}
			if got != tt.want {
				t.Errorf("%v: got %v, want %v", tt.path, got, tt.want)
			}
		})
	}
	f := encounterFinding()
	f.Communication = nil
	if cr := w.CommunicationRequest(&f, asOf); cr != nil {
		t.Errorf("got a CommunicationRequest for a finding that asks for none")
	}
}

func TestCodeSystems(t *testing.T) {
	custom := CustomConcepts([]*rules.RuleSet{
		{ID: "payer-a", Custom: []*rules.CustomCheck{{ID: "long-stay"}, nil, {ID: ""}}},
		{ID: "payer-b", Custom: []*rules.CustomCheck{{ID: "long-stay"}, {ID: "icu"}}},
		nil,
	})
	if len(custom) != 2 || custom[0].Code != "custom:long-stay" || custom[1].Code != "custom:icu" {
		t.Fatalf("CustomConcepts: got %+v, want custom:long-stay and custom:icu once each", custom)
	}
	w := New(Config{Base: "https://example.org/ur/", CustomChecks: custom, Version: "1.2.3"})
	css := w.CodeSystems()
	wantURL := map[string]string{
		CheckCodeSystemID:    "https://example.org/ur/CodeSystem/check",
		EvidenceCodeSystemID: "https://example.org/ur/CodeSystem/evidence-type",
		StatusCodeSystemID:   "https://example.org/ur/CodeSystem/business-status",
		CategoryCodeSystemID: "https://example.org/ur/CodeSystem/communication-category",
		// the fifth, with determinations (issue 9): reasons of avoidable days
		AvoidableDaysReasonCodeSystemID: "https://example.org/ur/CodeSystem/avoidable-days-reason",
	}
	if len(css) != len(wantURL) {
		t.Fatalf("got %d CodeSystems, want %d", len(css), len(wantURL))
	}
	codes := map[string]map[string]bool{}
	for _, cs := range css {
		b := cs.AppendJSON(nil)
		t.Run(cs.ID, func(t *testing.T) { fhirtest.Conform(t, b) })
		if cs.URL != wantURL[cs.ID] {
			t.Errorf("%s: got url %q, want %q", cs.ID, cs.URL, wantURL[cs.ID])
		}
		m := decode(t, b)
		if m["status"] != "active" || m["content"] != "complete" || m["version"] != "1.2.3" {
			t.Errorf("%s: got status %v, content %v, version %v", cs.ID, m["status"], m["content"], m["version"])
		}
		codes[cs.ID] = map[string]bool{}
		for _, c := range cs.Concept {
			codes[cs.ID][c.Code] = true
		}
		if m["count"] != float64(len(cs.Concept)) {
			t.Errorf("%s: count %v, want %d", cs.ID, m["count"], len(cs.Concept))
		}
	}
	if w.CheckSystem() != wantURL[CheckCodeSystemID] || w.IdentifierSystem() != "https://example.org/ur/identifier/finding" {
		t.Errorf("systems: got %q, %q", w.CheckSystem(), w.IdentifierSystem())
	}
	// Every code a Task or CommunicationRequest can carry is in its CodeSystem.
	for _, d := range checks.Definitions() {
		if !codes[CheckCodeSystemID][d.ID] {
			t.Errorf("check %q missing from the check CodeSystem", d.ID)
		}
		if d.Communication != "" && !codes[CategoryCodeSystemID][d.Communication] {
			t.Errorf("category %q of %s missing from the category CodeSystem", d.Communication, d.ID)
		}
	}
	for _, c := range custom {
		if !codes[CheckCodeSystemID][c.Code] {
			t.Errorf("custom check %q missing", c.Code)
		}
	}
	for _, c := range checks.EvidenceTypes() {
		if !codes[EvidenceCodeSystemID][c.Code] {
			t.Errorf("evidence type %q missing", c.Code)
		}
	}
	for _, c := range []string{EvidenceRuleSet, EvidenceReason} {
		if !codes[EvidenceCodeSystemID][c] {
			t.Errorf("writer evidence type %q missing", c)
		}
	}
	for _, c := range checks.BusinessStatuses() {
		if !codes[StatusCodeSystemID][c.Code] {
			t.Errorf("business status %q missing", c.Code)
		}
	}
}

func TestTransactionBundle(t *testing.T) {
	w := New(Config{Location: newYork(t)})
	f1 := encounterFinding()
	f2 := encounterFinding()
	f2.Check, f2.Communication = "two-midnight", nil
	f3 := f1 // the same finding twice: written once
	findings := []checks.Finding{f1, f2, f3}

	b, err := w.TransactionBundle(findings, asOf, true)
	if err != nil {
		t.Fatal(err)
	}
	fhirtest.Conform(t, b)
	m := decode(t, b)
	if m["type"] != "transaction" {
		t.Errorf("type: got %v", m["type"])
	}
	entries := m["entry"].([]any)
	// 5 CodeSystems (the fifth, avoidable-days-reason, came with
	// determinations), f1's Task and CommunicationRequest, f2's Task.
	wantTypes := []string{"CodeSystem", "CodeSystem", "CodeSystem", "CodeSystem", "CodeSystem", "Task", "CommunicationRequest", "Task"}
	if len(entries) != len(wantTypes) {
		t.Fatalf("got %d entries, want %d", len(entries), len(wantTypes))
	}
	for i, e := range entries {
		rt := get(e, "resource", "resourceType")
		if rt != wantTypes[i] {
			t.Errorf("entry %d: got %v, want %s", i, rt, wantTypes[i])
		}
		full, _ := get(e, "fullUrl").(string)
		if !strings.HasPrefix(full, "urn:uuid:") || len(full) != len("urn:uuid:")+36 || full[len("urn:uuid:")+14] != '5' {
			t.Errorf("entry %d: fullUrl %q, want a version 5 urn:uuid", i, full)
		}
		method, url := get(e, "request", "method"), get(e, "request", "url")
		if rt == "CodeSystem" {
			if method != "PUT" || url != "CodeSystem/"+get(e, "resource", "id").(string) {
				t.Errorf("entry %d: got %v %v, want PUT CodeSystem/<id>", i, method, url)
			}
			continue
		}
		id := get(e, "resource", "identifier", 0)
		want := "identifier=" + get(id, "system").(string) + "|" + get(id, "value").(string)
		if method != "POST" || url != rt || get(e, "request", "ifNoneExist") != want {
			t.Errorf("entry %d: got %v %v ifNoneExist %v, want POST %v %s", i, method, url, get(e, "request", "ifNoneExist"), rt, want)
		}
	}

	// Deterministic: the same input gives the same bytes.
	again, err := New(Config{Location: newYork(t)}).TransactionBundle(findings, asOf, true)
	if err != nil || !bytes.Equal(b, again) {
		t.Errorf("second run differs (err %v)", err)
	}

	// Without CodeSystems, and empty.
	if b, _ := w.TransactionBundle(findings[:1], asOf, false); bytes.Contains(b, []byte(`"resourceType":"CodeSystem"`)) {
		t.Error("CodeSystems written without being asked for")
	}
	empty, err := w.TransactionBundle(nil, asOf, false)
	if err != nil || string(empty) != `{"resourceType":"Bundle","type":"transaction"}` {
		t.Errorf("empty: got %s, %v", empty, err)
	}
	fhirtest.Conform(t, empty)

	// A finding that cannot be identified is refused.
	for name, bad := range map[string]checks.Finding{
		"no check": {FocusRef: "Encounter/1"},
		"no focus": {Check: "two-midnight"},
	} {
		if _, err := w.TransactionBundle([]checks.Finding{f1, bad}, asOf, false); err == nil || !strings.Contains(err.Error(), "finding 1") {
			t.Errorf("%s: got error %v, want one naming finding 1", name, err)
		}
	}
}

func TestRefType(t *testing.T) {
	tests := []struct{ ref, want string }{
		{"Encounter/e1", "Encounter"},
		{"https://ehr.example/fhir/Claim/c1", "Claim"},
		{"https://ehr.example/fhir/Claim/c1/_history/2", "Claim"},
		{"Claim/c1/_history/2", "Claim"},
		{"e1", ""},
		{"http://x/lower/1", ""},
		{"Bad-Type/1", ""},
		{"/1", ""},
	}
	for _, tt := range tests {
		if got := refType(tt.ref); got != tt.want {
			t.Errorf("refType(%q): got %q, want %q", tt.ref, got, tt.want)
		}
	}
}

func TestEscapeToken(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://utilreview.dev/fhir/identifier/finding|two-midnight-0a1b", "https://utilreview.dev/fhir/identifier/finding|two-midnight-0a1b"},
		{"urn:x|a&b c#d+e%", "urn:x|a%26b%20c%23d%2Be%25"},
	}
	for _, tt := range tests {
		if got := escapeToken(tt.in); got != tt.want {
			t.Errorf("escapeToken(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPlan(t *testing.T) {
	w := New(Config{})
	f1 := encounterFinding()
	f2 := encounterFinding()
	f2.Check = "two-midnight"
	f3 := encounterFinding()
	f3.Episode = "other"
	findings := []checks.Finding{f1, f2, f3}
	id := func(f checks.Finding) []facts.Identifier {
		v := w.Identifier(&f)
		return []facts.Identifier{{System: v.System, Value: v.Value}}
	}
	task := func(status string, ids []facts.Identifier) *facts.Task {
		return &facts.Task{Ref: "Task/" + status, Status: status, Identifiers: ids}
	}
	tests := []struct {
		name       string
		existing   []*facts.Task
		wantChecks []string // remaining findings' episodes+checks, in order
		wantClosed int
	}{
		{"no Tasks", nil, []string{"admission-notification", "two-midnight", "admission-notification"}, 0},
		{"completed closes", []*facts.Task{task("completed", id(f2))}, []string{"admission-notification", "admission-notification"}, 1},
		{"cancelled closes", []*facts.Task{task("cancelled", id(f1))}, []string{"two-midnight", "admission-notification"}, 1},
		{"rejected closes", []*facts.Task{task("rejected", id(f3))}, []string{"admission-notification", "two-midnight"}, 1},
		{"open Task keeps the finding", []*facts.Task{task("in-progress", id(f1)), task("requested", id(f2))},
			[]string{"admission-notification", "two-midnight", "admission-notification"}, 0},
		{"entered-in-error does not close", []*facts.Task{task("entered-in-error", id(f1))},
			[]string{"admission-notification", "two-midnight", "admission-notification"}, 0},
		{"other identifier system does not close", []*facts.Task{task("completed", []facts.Identifier{{System: "urn:other", Value: w.Identifier(&f1).Value}})},
			[]string{"admission-notification", "two-midnight", "admission-notification"}, 0},
		{"closed wins over open", []*facts.Task{task("in-progress", id(f1)), task("completed", id(f1))},
			[]string{"two-midnight", "admission-notification"}, 1},
		{"all closed", []*facts.Task{task("completed", id(f1)), task("completed", id(f2)), task("cancelled", id(f3)), nil}, nil, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			open, closed := w.Plan(findings, tt.existing)
			if closed != tt.wantClosed {
				t.Errorf("closed: got %d, want %d", closed, tt.wantClosed)
			}
			var got []string
			for _, f := range open {
				got = append(got, f.Check)
			}
			if strings.Join(got, ",") != strings.Join(tt.wantChecks, ",") {
				t.Errorf("open: got %v, want %v", got, tt.wantChecks)
			}
			// Reconcile agrees with Plan.
			plan, err := w.Reconcile(findings, tt.existing, nil, nil, asOf)
			if err != nil {
				t.Fatal(err)
			}
			if plan.Closed != tt.wantClosed || len(plan.Open) != len(tt.wantChecks) {
				t.Errorf("Reconcile: got %d closed, %d open; want %d, %d", plan.Closed, len(plan.Open), tt.wantClosed, len(tt.wantChecks))
			}
		})
	}
}

func BenchmarkTask(b *testing.B) {
	w := New(Config{Location: newYork(b)})
	f := encounterFinding()
	buf := make([]byte, 0, 8192)
	b.ReportAllocs()
	for b.Loop() {
		buf = w.Task(&f, asOf).AppendJSON(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkTransactionBundle(b *testing.B) {
	w := New(Config{Location: newYork(b)})
	fs := make([]checks.Finding, 100)
	for i := range fs {
		fs[i] = encounterFinding()
		fs[i].Episode = "e" + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		out, err := w.TransactionBundle(fs, asOf, false)
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.SetBytes(int64(n))
}
