package fhir

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Run: go test ./fhir -run '^$' -bench 'Synthea|Decode' -benchmem
//
// All three read the same Synthea bundles from memory; b.SetBytes makes the
// results comparable in MB/s.

type benchFile struct {
	name string
	data []byte
}

func loadSynthea(b *testing.B) ([]benchFile, int64) {
	b.Helper()
	dir := sharedDir(b, "synthea")
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(paths) == 0 {
		b.Fatalf("no Synthea files in %s: %v", dir, err)
	}
	var files []benchFile
	var total int64
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, benchFile{p, data})
		total += int64(len(data))
	}
	return files, total
}

// BenchmarkReadSynthea is the reader: walk each Bundle, decode the engine's
// types (and their contained resources) into samply structs.
func BenchmarkReadSynthea(b *testing.B) {
	files, total := loadSynthea(b)
	r := NewReader()
	b.SetBytes(total)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, f := range files {
			if errs := r.ReadBytes(f.name, f.data, func(*Resource) { n++ }); len(errs) != 0 {
				b.Fatal(errs)
			}
		}
	}
	if n == 0 {
		b.Fatal("nothing read")
	}
}

// BenchmarkReadSyntheaIndexed adds building the reference index, as the
// review command does.
func BenchmarkReadSyntheaIndexed(b *testing.B) {
	files, total := loadSynthea(b)
	r := NewReader()
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		ix := NewIndex()
		for _, f := range files {
			if errs := r.ReadBytes(f.name, f.data, ix.Add); len(errs) != 0 {
				b.Fatal(errs)
			}
		}
	}
}

// BenchmarkDecodeSamplyReference is the reference the project measures
// against: encoding/json into the samply Bundle (entry.resource stays a
// json.RawMessage), the resourceType of each entry, then each entry of the
// engine's types into its samply struct.
func BenchmarkDecodeSamplyReference(b *testing.B) {
	files, total := loadSynthea(b)
	b.SetBytes(total)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for _, f := range files {
			var bundle fm.Bundle
			if err := json.Unmarshal(f.data, &bundle); err != nil {
				b.Fatal(err)
			}
			for _, e := range bundle.Entry {
				var peek struct {
					ResourceType string `json:"resourceType"`
				}
				if err := json.Unmarshal(e.Resource, &peek); err != nil {
					b.Fatal(err)
				}
				var v any
				switch peek.ResourceType {
				case "Patient":
					v = new(fm.Patient)
				case "Encounter":
					v = new(fm.Encounter)
				case "Claim":
					v = new(fm.Claim)
				case "Coverage":
					v = new(fm.Coverage)
				case "ExplanationOfBenefit":
					v = new(fm.ExplanationOfBenefit)
				case "ClaimResponse":
					v = new(fm.ClaimResponse)
				case "Condition":
					v = new(fm.Condition)
				case "Procedure":
					v = new(fm.Procedure)
				case "Organization":
					v = new(fm.Organization)
				case "Account":
					v = new(fm.Account)
				case "Task":
					v = new(fm.Task)
				case "Communication":
					v = new(fm.Communication)
				default:
					continue
				}
				if err := json.Unmarshal(e.Resource, v); err != nil {
					b.Fatal(err)
				}
				n++
			}
		}
	}
	if n == 0 {
		b.Fatal("nothing decoded")
	}
}

// BenchmarkDecodeAny decodes the same files into any, for scale.
func BenchmarkDecodeAny(b *testing.B) {
	files, total := loadSynthea(b)
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range files {
			var v any
			if err := json.Unmarshal(f.data, &v); err != nil {
				b.Fatal(err)
			}
		}
	}
}
