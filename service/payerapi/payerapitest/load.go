// Package payerapitest writes determinations (ClaimResponses in the shape
// the determinations writer records them) to a FHIR server for the payer
// API's tests and benchmark, with ids and identifiers unique to the run.
package payerapitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/utilreview/utilreview/service/determination"
	"github.com/utilreview/utilreview/service/payerauth"
)

// DeterminationSystem is the determinations' identifier system under the
// default canonical base.
const DeterminationSystem = "https://utilreview.dev/fhir/identifier/determination"

// PatientSystem is the patient identifier system of the test patients.
const PatientSystem = "urn:oid:2.16.840.1.113883.19.5.99999.1"

// PayerSystem is the system of the test payers' identifiers.
const PayerSystem = "https://utilreview.example/fhir/payer-id"

// Determination is one ClaimResponse written.
type Determination struct {
	ID         string // server id
	Identifier string // value in DeterminationSystem
	Patient    string // the patient's identifier value
	Created    time.Time
}

// Spec is what to write for one payer.
type Spec struct {
	Payer payerauth.Identifier
	// Patients are identifier values (in PatientSystem); determination i
	// goes to Patients[i % len].
	Patients []string
	N        int
	// Created of determination i is Start + i hours.
	Start time.Time
	// Unique is put into ids and identifier values.
	Unique string
	// System is the determination system (default DeterminationSystem).
	System string
}

// Load writes the payer's Organization, the patients and N ClaimResponses
// with client-assigned ids (PUT, in transactions of at most 500 entries)
// and returns the determinations.
func Load(base string, s Spec) ([]Determination, error) {
	if s.System == "" {
		s.System = DeterminationSystem
	}
	orgID := "org-" + s.Unique
	var entries []map[string]any
	put := func(res map[string]any) {
		url := res["resourceType"].(string) + "/" + res["id"].(string)
		entries = append(entries, map[string]any{"fullUrl": strings.TrimRight(base, "/") + "/" + url, "resource": res,
			"request": map[string]any{"method": "PUT", "url": url}})
	}
	put(map[string]any{"resourceType": "Organization", "id": orgID, "name": "Test payer " + s.Unique,
		"identifier": []any{map[string]any{"system": s.Payer.System, "value": s.Payer.Value}}})
	for i, p := range s.Patients {
		put(map[string]any{"resourceType": "Patient", "id": fmt.Sprintf("pat-%s-%d", s.Unique, i),
			"identifier": []any{map[string]any{"system": PatientSystem, "value": p}}})
	}
	if err := post(base, entries); err != nil {
		return nil, err
	}
	entries = nil
	var out []Determination
	for i := 0; i < s.N; i++ {
		d := Determination{ID: fmt.Sprintf("det-%s-%d", s.Unique, i), Identifier: fmt.Sprintf("%s-%d", s.Unique, i),
			Patient: s.Patients[i%len(s.Patients)], Created: s.Start.Add(time.Duration(i) * time.Hour).UTC()}
		put(ClaimResponse(d, s, fmt.Sprintf("Patient/pat-%s-%d", s.Unique, i%len(s.Patients)), "Organization/"+orgID))
		out = append(out, d)
		if len(entries) == 500 {
			if err := post(base, entries); err != nil {
				return nil, err
			}
			entries = nil
		}
	}
	if len(entries) > 0 {
		if err := post(base, entries); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ClaimResponse is a determination in the shape the determinations writer
// records (PAS-shaped, use preauthorization, insurer with reference and
// identifier).
func ClaimResponse(d Determination, s Spec, patient, org string) map[string]any {
	tagSystem, tagCode := determination.PayerTag(s.System, s.Payer.System, s.Payer.Value)
	return map[string]any{
		"resourceType": "ClaimResponse", "id": d.ID,
		"identifier":  []any{map[string]any{"system": s.System, "value": d.Identifier}},
		"status":      "active",
		"type":        map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}}},
		"use":         "preauthorization",
		"patient":     map[string]any{"reference": patient},
		"created":     d.Created.Format(time.RFC3339),
		"insurer":     map[string]any{"reference": org, "identifier": map[string]any{"system": s.Payer.System, "value": s.Payer.Value}},
		"meta":        map[string]any{"tag": []any{map[string]any{"system": tagSystem, "code": tagCode}}},
		"outcome":     "complete",
		"disposition": "A1 certified in total",
	}
}

func post(base string, entries []map[string]any) error {
	body, _ := json.Marshal(map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries})
	req, _ := http.NewRequest(http.MethodPost, strings.TrimRight(base, "/"), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/fhir+json")
	req.Header.Set("Accept", "application/fhir+json")
	resp, err := (&http.Client{Timeout: 5 * time.Minute}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("transaction: status %d: %.500s", resp.StatusCode, b)
	}
	return nil
}
