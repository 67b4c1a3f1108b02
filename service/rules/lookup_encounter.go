package rules

import (
	"strings"

	"github.com/utilreview/utilreview/service/facts"
)

// Lookups the encounter checks need from a rule set and its resolved
// reference tables. Added by the encounter-checks engineer because they were
// not yet in the package; every method is nil-safe so that a rule set
// without tables (as in tests, or before the loader resolves them) simply
// finds nothing.

// DefaultDRGTable is the MS-DRG table used when checks.gmlos.table is empty.
const DefaultDRGTable = "ms_drg_fy2025_gmlos.csv"

// CodeList returns the named code list, or nil.
func (rs *RuleSet) CodeList(name string) *CodeList {
	if rs == nil || name == "" {
		return nil
	}
	return rs.CodeLists[name]
}

// DRG returns the row of the rule set's MS-DRG table for code.
func (rs *RuleSet) DRG(code string) (DRG, bool) {
	if rs == nil || rs.Tables == nil || code == "" {
		return DRG{}, false
	}
	name := rs.Checks.GMLOS.Table
	if name == "" {
		name = DefaultDRGTable
	}
	row, ok := rs.Tables.DRGs[name][normalizeDRG(code)]
	return row, ok
}

// normalizeDRG accepts "291", "0291" and " 291 " alike: the CMS table writes
// three digits, some inputs pad or trim differently.
func normalizeDRG(code string) string {
	code = strings.TrimSpace(code)
	for len(code) > 3 && code[0] == '0' {
		code = code[1:]
	}
	for len(code) < 3 && code != "" {
		code = "0" + code
	}
	return code
}

// HolidayCalendar returns the rule set's holiday calendar, or nil when it
// names none or the table is missing: a nil *Calendar still knows weekends.
func (rs *RuleSet) HolidayCalendar() *Calendar {
	if rs == nil || rs.Tables == nil || rs.Calendar == "" {
		return nil
	}
	return rs.Tables.Calendar[rs.Calendar]
}

// NormDays returns the length-of-stay norm at the concurrent-review
// percentile (50 when unset; 75 and 90 are the other published columns) for
// a stay with the given MS-DRG and principal diagnoses. An MS-DRG row wins
// over a diagnosis row; among ICD-10-CM rows the longest matching prefix
// wins, so a row for "I50.2" beats one for "I50".
func (rs *RuleSet) NormDays(drg string, principal []facts.Code) (days float64, key string, ok bool) {
	if rs == nil || rs.Tables == nil || rs.Checks.ConcurrentReview.NormTable == "" {
		return 0, "", false
	}
	t := rs.Tables.Norms[rs.Checks.ConcurrentReview.NormTable]
	if t == nil {
		return 0, "", false
	}
	pick := func(r *NormRow) float64 {
		switch rs.Checks.ConcurrentReview.Percentile {
		case 75:
			return r.P75
		case 90:
			return r.P90
		default:
			return r.P50
		}
	}
	if drg != "" {
		d := normalizeDRG(drg)
		for i := range t.Rows {
			r := &t.Rows[i]
			if CanonicalSystem(r.System) == SystemMSDRG && normalizeDRG(r.Key) == d {
				return pick(r), r.Key, true
			}
		}
	}
	var best *NormRow
	bestLen := 0
	for _, c := range principal {
		if CanonicalSystem(c.System) != SystemICD10CM {
			continue
		}
		code := icdKey(c.Code)
		for i := range t.Rows {
			r := &t.Rows[i]
			if CanonicalSystem(r.System) != SystemICD10CM {
				continue
			}
			k := icdKey(r.Key)
			if k != "" && len(k) > bestLen && strings.HasPrefix(code, k) {
				best, bestLen = r, len(k)
			}
		}
	}
	if best == nil {
		return 0, "", false
	}
	return pick(best), best.Key, true
}

// icdKey compares ICD-10 codes with or without the dot and in any case.
func icdKey(s string) string {
	s = strings.TrimSpace(s)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.ReplaceAll(s, ".", "")
	}
	return strings.ToUpper(s)
}
