package fhir

import "testing"

func TestParseReference(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Ref
		ok   bool
	}{
		{"Encounter/e1", Ref{Type: "Encounter", ID: "e1"}, true},
		{"Encounter/e1/_history/3", Ref{Type: "Encounter", ID: "e1", Version: "3"}, true},
		{"https://ehr.example/fhir/Patient/p-1", Ref{Base: "https://ehr.example/fhir", Type: "Patient", ID: "p-1"}, true},
		{"http://h/fhir/R4/Claim/c.2/_history/12", Ref{Base: "http://h/fhir/R4", Type: "Claim", ID: "c.2", Version: "12"}, true},
		{"urn:uuid:0b3c1d2e-0000-4000-8000-000000000001", Ref{URN: "urn:uuid:0b3c1d2e-0000-4000-8000-000000000001"}, true},
		{"urn:oid:2.16.840.1", Ref{URN: "urn:oid:2.16.840.1"}, true},
		{"#org1", Ref{Contained: "org1"}, true},
		{"", Ref{}, false},
		{"#", Ref{}, false},
		{"urn:uuid:", Ref{}, false},
		{"Encounter", Ref{}, false},
		{"Encounter/", Ref{}, false},
		{"encounter/e1", Ref{}, false},
		{"Encounter/e 1", Ref{}, false},
		{" Encounter/e1", Ref{}, false},
		{"Encounter?identifier=x|1", Ref{}, false},
		{"a/b/Encounter/e1", Ref{}, false},
		{"Encounter/e1/_history/", Ref{}, false},
		{"Enc0unter/e1", Ref{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseReference(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseReference(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if got := RelativeRef("https://ehr.example/fhir/Encounter/e1/_history/2"); got != "Encounter/e1" {
		t.Errorf("RelativeRef = %q, want Encounter/e1", got)
	}
}

func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"Encounter/e1", "http://x/fhir/Claim/c/_history/2", "urn:uuid:a", "#c", "a/b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, ok := ParseReference(s)
		if !ok {
			return
		}
		if rel := r.Relative(); rel != "" {
			back, ok := ParseReference(rel)
			if !ok || back.Type != r.Type || back.ID != r.ID {
				t.Fatalf("Relative %q of %q does not parse back", rel, s)
			}
		}
	})
}
