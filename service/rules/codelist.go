package rules

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/utilreview/utilreview/service/facts"
)

// Date is a calendar date without a time zone, written YYYY-MM-DD.
type Date struct{ Y, M, D int }

// DateOf is the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, int(m), d}
}

// ParseDate parses a YYYY-MM-DD date, rejecting impossible days.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return Date{}, fmt.Errorf("date %q is not a valid YYYY-MM-DD date", s)
	}
	return DateOf(t), nil
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

// String is the date as YYYY-MM-DD, or "" when unset.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return fmt.Sprintf("%04d-%02d-%02d", d.Y, d.M, d.D)
}

// In is the start of the day in loc.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Y, time.Month(d.M), d.D, 0, 0, 0, 0, loc)
}

// UnmarshalYAML reads a date written YYYY-MM-DD (quoted or not: YAML's
// timestamp tag is accepted as long as it is a plain date).
func (d *Date) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("a date must be a YYYY-MM-DD string")
	}
	if n.Tag == "!!null" || n.Value == "" {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML writes the date as YYYY-MM-DD.
func (d Date) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalJSON reads a "YYYY-MM-DD" string; null or "" leave the date unset.
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Date{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a date must be a YYYY-MM-DD string")
	}
	if s == "" {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalJSON writes "YYYY-MM-DD", or null when unset.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + d.String() + `"`), nil
}

// CodeList is a named list of codes, each from its code system and with its
// own effective dates.
type CodeList struct {
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	Source      string `json:"source,omitempty" yaml:"source,omitempty"`
	// System is the code system of entries and table rows that name none.
	System string `json:"system,omitempty" yaml:"system,omitempty"`
	// Table loads the entries from a reference table file (CSV) instead of, or
	// beside, Codes.
	Table string      `json:"table,omitempty" yaml:"table,omitempty"`
	Codes []CodeEntry `json:"codes,omitempty" yaml:"codes,omitempty"`

	// tableRows are the rows read from Table; entries are Codes and
	// tableRows together, what Match looks at. Codes stays as written in the
	// rule file, so that a rule set marshals back to what was loaded.
	tableRows []CodeEntry
	entries   []CodeEntry
	// exact: canonical system -> normalised code -> entries.
	exact map[string]map[string][]int
	// prefixes: entries with Prefix set, by canonical system.
	prefixes map[string][]prefixEntry
}

type prefixEntry struct {
	code string // normalised
	i    int
}

// CodeEntry is one code of a list.
type CodeEntry struct {
	System string `json:"system" yaml:"system"`
	Code   string `json:"code" yaml:"code"`
	// Display is a short human description.
	Display string `json:"display,omitempty" yaml:"display,omitempty"`
	// Prefix makes the entry match every code that starts with Code (dots
	// ignored), so "I21" matches I21.4 and I214. Meant for ICD-10 categories.
	Prefix bool `json:"prefix,omitempty" yaml:"prefix,omitempty"`
	From   Date `json:"from,omitempty" yaml:"from,omitempty"`
	To     Date `json:"to,omitempty" yaml:"to,omitempty"`
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
	l.entries = append(l.Codes[:len(l.Codes):len(l.Codes)], l.tableRows...)
	l.exact = make(map[string]map[string][]int)
	l.prefixes = nil
	var buf [maxCodeLen]byte
	for i, e := range l.entries {
		sys := e.System
		if sys == "" {
			sys = l.System
		}
		sys = lookupSystem(sys)
		code := normaliseCode(buf[:0], sys, e.Code)
		if e.Prefix {
			if l.prefixes == nil {
				l.prefixes = make(map[string][]prefixEntry)
			}
			l.prefixes[sys] = append(l.prefixes[sys], prefixEntry{code: string(code), i: i})
			continue
		}
		m := l.exact[sys]
		if m == nil {
			m = make(map[string][]int)
			l.exact[sys] = m
		}
		m[string(code)] = append(m[string(code)], i)
	}
}

// Len is the number of entries, table rows included.
func (l *CodeList) Len() int {
	if l == nil {
		return 0
	}
	return len(l.entries)
}

// Entries are the list's codes and its table's rows.
func (l *CodeList) Entries() []CodeEntry {
	if l == nil {
		return nil
	}
	return l.entries
}

// Match returns the entry for code in effect on the given day, if any. An
// exact entry wins over a prefix entry; among prefix entries the longest
// wins. It does not allocate for codes of ordinary length.
func (l *CodeList) Match(c facts.Code, on time.Time) (*CodeEntry, bool) {
	if l == nil || len(l.entries) == 0 {
		return nil, false
	}
	sys := lookupSystem(c.System)
	var buf [maxCodeLen]byte
	code := normaliseCode(buf[:0], sys, c.Code)
	if len(code) == 0 {
		return nil, false
	}
	day := DateOf(on)
	for _, i := range l.exact[sys][string(code)] {
		if e := &l.entries[i]; e.effective(day) {
			return e, true
		}
	}
	var best *CodeEntry
	bestLen := 0
	for _, p := range l.prefixes[sys] {
		if len(p.code) > bestLen && len(code) >= len(p.code) && string(code[:len(p.code)]) == p.code {
			if e := &l.entries[p.i]; e.effective(day) {
				best, bestLen = e, len(p.code)
			}
		}
	}
	return best, best != nil
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

// MatchOnClaim is Match for a claim line's code that also honours WithAny:
// an entry that needs a paired code matches only when one of the claim's
// lines bills it.
func (l *CodeList) MatchOnClaim(c facts.Code, on time.Time, lines []facts.Line) (*CodeEntry, bool) {
	e, ok := l.Match(c, on)
	if !ok || len(e.WithAny) == 0 {
		return e, ok
	}
	for li := range lines {
		if e.PairedWith(lines[li].Codes) {
			return e, true
		}
	}
	return nil, false
}

// PairedWith reports whether codes hold one of the entry's WithAny codes (or
// the entry needs none). Codes are compared by value, case-insensitively:
// the pairing codes are CPT/HCPCS, which never collide across the two.
func (e *CodeEntry) PairedWith(codes []facts.Code) bool {
	if len(e.WithAny) == 0 {
		return true
	}
	for _, c := range codes {
		v := strings.TrimSpace(c.Code)
		for _, w := range e.WithAny {
			if strings.EqualFold(v, w) {
				return true
			}
		}
	}
	return false
}

func (e *CodeEntry) effective(d Date) bool {
	if !e.From.IsZero() && d.Before(e.From) {
		return false
	}
	return e.To.IsZero() || !e.To.Before(d)
}

// maxCodeLen bounds the stack buffer used to normalise codes; longer codes
// are still matched, at the price of an allocation.
const maxCodeLen = 64

// normaliseCode appends the comparable form of code: trimmed, ASCII upper
// case and, for ICD-10, without dots (I21.4 and I214 are the same code).
func normaliseCode(dst []byte, canonicalSystem, code string) []byte {
	code = strings.TrimSpace(code)
	dropDots := canonicalSystem == SystemICD10CM || canonicalSystem == SystemICD10PCS
	for i := 0; i < len(code); i++ {
		b := code[i]
		if b == '.' && dropDots {
			continue
		}
		if 'a' <= b && b <= 'z' {
			b -= 'a' - 'A'
		}
		dst = append(dst, b)
	}
	return dst
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

// systemAliases is the table behind CanonicalSystem; it is read-only.
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
	"ms-drg":                                                   SystemMSDRG,
	"msdrg":                                                    SystemMSDRG,
	SystemMSDRG:                                                SystemMSDRG,
}

// lookupSystem is the system key lists are indexed by: the canonical URL,
// with CPT folded into HCPCS. CPT is HCPCS Level I and the two never share a
// code (CPT codes are five digits, Level II a letter and four digits), so
// lists and claims may name either system for the same code.
func lookupSystem(system string) string {
	s := CanonicalSystem(system)
	if s == SystemCPT {
		return SystemHCPCS
	}
	return s
}

// CanonicalSystem maps a code system name or URL to the one URL the engine
// compares. It allocates only for unknown systems written with capitals.
func CanonicalSystem(s string) string {
	s = strings.TrimSpace(s)
	if c, ok := systemAliases[s]; ok {
		return c
	}
	if hasUpper(s) {
		if c, ok := systemAliases[strings.ToLower(s)]; ok {
			return c
		}
	}
	return s
}

// KnownSystem reports whether s names one of the code systems above.
func KnownSystem(s string) bool {
	_, ok := systemAliases[strings.TrimSpace(s)]
	if !ok && hasUpper(s) {
		_, ok = systemAliases[strings.ToLower(strings.TrimSpace(s))]
	}
	return ok
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}
