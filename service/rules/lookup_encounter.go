package rules

// Resolve sets the reference tables of a rule set built in code instead of
// loaded from a file (tests of the checks build rule sets as Go literals):
// the MS-DRG rows, the LOS norm table, the MUE table and the holiday
// calendar that the loader would resolve. A nil argument leaves that table
// unset. Added by the encounter-checks engineer; the loader does not use it.
func (rs *RuleSet) Resolve(drgs map[string]DRG, norms *NormTable, mues map[string]MUEEntry, cal *Calendar) *RuleSet {
	if drgs != nil {
		rs.drgs = drgs
	}
	if norms != nil {
		if norms.exact == nil {
			norms.index()
		}
		rs.norms = norms
	}
	if mues != nil {
		rs.mues = mues
	}
	if cal != nil {
		rs.calendar = cal
	}
	return rs
}
