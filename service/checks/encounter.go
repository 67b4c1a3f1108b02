package checks

import "github.com/utilreview/utilreview/service/facts"

// Placeholder until the encounter checks land; replaced by their owner.
var encounterDefinitions []Definition

func (r *run) encounter(p *facts.Patient, e *facts.Encounter) []Finding { return nil }

// Placeholder until the encounter checks land; replaced by their owner.
var encounterEvidenceTypes []Concept
