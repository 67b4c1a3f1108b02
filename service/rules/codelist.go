package rules

import (
	"strings"
	"time"

	"github.com/utilreview/utilreview/service/facts"
)

// Date is a calendar date without a time zone, written YYYY-MM-DD.
type Date struct{ Y, M, D int }

// DateOf is the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, int(m), d}
}

// IsZero reports whether the date is unset.
func (d Date) IsZero() bool { return d == Date{} }

// Before reports whether d is before e.
func (d Date) Before(e Date) bool {
	if d.Y != e.Y {
		return d.Y < e.Y
	}
	if d.M != e.M {
		return d.M < e.M
	}
	return d.D < e.D
}

// CodeList is a named list of codes, each from its code system and with its
// own effective dates.
type CodeList struct {
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	Source      string `json:"source,omitempty" yaml:"source,omitempty"`
	// Table loads the entries from a reference table file (CSV) instead of, or
	// beside, Codes.
	Table string      `json:"table,omitempty" yaml:"table,omitempty"`
	Codes []CodeEntry `json:"codes,omitempty" yaml:"codes,omitempty"`

	index map[string][]int // system|code -> entries
}

// CodeEntry is one code of a list.
type CodeEntry struct {
	System string `json:"system" yaml:"system"`
	Code   string `json:"code" yaml:"code"`
	// Display is a short human description.
	Display string `json:"display,omitempty" yaml:"display,omitempty"`
	From    Date   `json:"from,omitempty" yaml:"from,omitempty"`
	To      Date   `json:"to,omitempty" yaml:"to,omitempty"`
	// WithAny makes the entry apply only when the same claim also bills one
	// of these codes (e.g. J0585 only with 64612 or 64615).
	WithAny []string `json:"with_any,omitempty" yaml:"with_any,omitempty"`
}

// NewCodeList builds an indexed list from entries.
func NewCodeList(entries ...CodeEntry) *CodeList {
	l := &CodeList{Codes: entries}
	l.Index()
	return l
}

// Index (re)builds the lookup index; the loader calls it once after loading.
func (l *CodeList) Index() {
	l.index = make(map[string][]int, len(l.Codes))
	for i, e := range l.Codes {
		k := matchKey(e.System, strings.TrimSpace(e.Code))
		l.index[k] = append(l.index[k], i)
	}
}

// Match returns the entry for code in effect on the given day, if any.
func (l *CodeList) Match(c facts.Code, on time.Time) (*CodeEntry, bool) {
	if l == nil {
		return nil, false
	}
	for _, i := range l.index[matchKey(c.System, c.Code)] {
		e := &l.Codes[i]
		if (Period{From: e.From, To: e.To}).Contains(on) {
			return e, true
		}
	}
	return nil, false
}

// MatchAny returns the first entry matching any of codes.
func (l *CodeList) MatchAny(codes []facts.Code, on time.Time) (*CodeEntry, bool) {
	for _, c := range codes {
		if e, ok := l.Match(c, on); ok {
			return e, true
		}
	}
	return nil, false
}

// Well-known code systems.
const (
	SystemCPT      = "http://www.ama-assn.org/go/cpt"
	SystemHCPCS    = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
	SystemICD10CM  = "http://hl7.org/fhir/sid/icd-10-cm"
	SystemICD10PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
	SystemSNOMED   = "http://snomed.info/sct"
	SystemMSDRG    = "https://www.cms.gov/Medicare/Medicare-Fee-for-Service-Payment/AcuteInpatientPPS/MS-DRG-Classifications-and-Software"
)

// systemAliases lets rule files and inputs name a code system by a short
// name or by one of the URLs in use for it.
var systemAliases = map[string]string{
	"cpt":                            SystemCPT,
	"http://www.ama-assn.org/go/cpt": SystemCPT,
	"urn:oid:2.16.840.1.113883.6.12": SystemCPT,
	"hcpcs":                          SystemHCPCS,
	"http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets":  SystemHCPCS,
	"https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets": SystemHCPCS,
	"https://bluebutton.cms.gov/resources/codesystem/hcpcs":    SystemHCPCS,
	"urn:oid:2.16.840.1.113883.6.285":                          SystemHCPCS,
	"icd10cm":                                                  SystemICD10CM,
	"icd-10-cm":                                                SystemICD10CM,
	"http://hl7.org/fhir/sid/icd-10-cm":                        SystemICD10CM,
	"urn:oid:2.16.840.1.113883.6.90":                           SystemICD10CM,
	"icd10pcs":                                                 SystemICD10PCS,
	"icd-10-pcs":                                               SystemICD10PCS,
	"http://www.cms.gov/Medicare/Coding/ICD10":                 SystemICD10PCS,
	"https://www.cms.gov/Medicare/Coding/ICD10":                SystemICD10PCS,
	"http://hl7.org/fhir/sid/icd-10-pcs":                       SystemICD10PCS,
	"urn:oid:2.16.840.1.113883.6.4":                            SystemICD10PCS,
	"snomed":                                                   SystemSNOMED,
	"sct":                                                      SystemSNOMED,
	"http://snomed.info/sct":                                   SystemSNOMED,
}

// matchKey is the lookup key of a code. CPT is HCPCS Level I and the two
// never share a code (CPT codes are five digits, Level II a letter and four
// digits), so lists and claims may name either system for the same code.
func matchKey(system, code string) string {
	s := CanonicalSystem(system)
	if s == SystemCPT {
		s = SystemHCPCS
	}
	return s + "|" + code
}

// CanonicalSystem maps a code system name or URL to the one URL the engine
// compares.
func CanonicalSystem(s string) string {
	if c, ok := systemAliases[s]; ok {
		return c
	}
	if c, ok := systemAliases[strings.ToLower(s)]; ok {
		return c
	}
	return s
}
