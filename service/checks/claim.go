package checks

import "github.com/utilreview/utilreview/service/facts"

// Placeholder until the claim checks land; replaced by their owner.
var claimDefinitions []Definition

func (r *run) claim(p *facts.Patient, c *facts.Claim) []Finding { return nil }

// Placeholder until the claim checks land; replaced by their owner.
var claimEvidenceTypes []Concept
