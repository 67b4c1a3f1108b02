package payerapi

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/utilreview/utilreview/fhir"
)

// ParamError is a request the payer API refuses (400): an unsupported
// parameter or a bad value. Its text names the parameter and the problem,
// never the value (a patient identifier is PHI).
type ParamError struct {
	Param string
	Why   string
}

func (e *ParamError) Error() string {
	if e.Param == "" {
		return e.Why
	}
	return fmt.Sprintf("parameter %q: %s", e.Param, e.Why)
}

func paramErr(p, why string) error { return &ParamError{Param: p, Why: why} }

// Search parameters of ClaimResponse the payer API supports, as the
// CapabilityStatement declares them. Anything else is refused.
const (
	ParamLastUpdated       = "_lastUpdated"
	ParamCreated           = "created"
	ParamIdentifier        = "identifier"
	ParamPatientIdentifier = "patient.identifier"
	ParamCount             = "_count"
	ParamFormat            = "_format"
	// ParamPage carries the service's own page token; only _format may
	// accompany it.
	ParamPage = "_page"
)

// searchParam describes one supported search parameter.
type searchParam struct {
	name, typ, doc string
	// max is how often it may be repeated (an AND of ranges for dates).
	max   int
	check func(string) error
}

var searchParams = []searchParam{
	{ParamIdentifier, "token", "The determination's identifier: [system|]value (one value; no modifiers).", 1, checkToken},
	{ParamPatientIdentifier, "token", "Chained through ClaimResponse.patient: the Patient's identifier, [system|]value (one value; no modifiers).", 1, checkToken},
	{ParamCreated, "date", "When the determination was created: a prefix eq, gt, ge, lt or le, then a FHIR date or a dateTime with a time zone; at most twice (a range).", 2, checkDate},
	{ParamLastUpdated, "date", "When the determination last changed on the server: as for created; at most twice (a range).", 2, checkDate},
}

// DefaultCount and MaxCount bound _count: a page of search results.
const (
	DefaultCount = 50
	MaxCount     = 200
)

// Query is a validated search of the payer's determinations: the parameters
// as the payer gave them (each checked), to be sent upstream with the payer
// filter added.
type Query struct {
	params url.Values
	count  int
}

// Count is the page size.
func (q Query) Count() int { return q.count }

// Encode is the accepted query in canonical order (the self link's query).
func (q Query) Encode() string {
	v := cloneValues(q.params)
	v.Set(ParamCount, strconv.Itoa(q.count))
	return v.Encode()
}

// ParseSearch checks a ClaimResponse search's parameters. It refuses
// anything it does not support (a parameter, a modifier, a repetition, a
// comma list, an empty or malformed value) with a *ParamError, so that
// nothing is silently ignored. _page is not a search parameter here (see
// ParsePageToken).
func ParseSearch(v url.Values) (Query, error) {
	q := Query{params: url.Values{}, count: DefaultCount}
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	slices.Sort(names) // the first problem reported is the same every time
	for _, name := range names {
		vals := v[name]
		switch name {
		case ParamCount:
			if len(vals) != 1 {
				return Query{}, paramErr(name, "may be given once")
			}
			n, err := strconv.Atoi(vals[0])
			if err != nil || n < 1 || n > MaxCount {
				return Query{}, paramErr(name, fmt.Sprintf("must be an integer from 1 to %d", MaxCount))
			}
			q.count = n
			continue
		case ParamFormat:
			if err := checkFormat(vals); err != nil {
				return Query{}, err
			}
			continue
		case ParamPage:
			return Query{}, paramErr(name, "a page token is used alone (with _format at most), as the next link gives it")
		}
		i := slices.IndexFunc(searchParams, func(p searchParam) bool { return p.name == name })
		if i < 0 {
			return Query{}, paramErr(safeName(name), "not supported (supported: "+supportedList()+")")
		}
		p := searchParams[i]
		if len(vals) > p.max {
			return Query{}, paramErr(name, fmt.Sprintf("may be given at most %d time(s)", p.max))
		}
		for _, val := range vals {
			if err := p.check(val); err != nil {
				return Query{}, paramErr(name, err.Error())
			}
			q.params.Add(name, val)
		}
	}
	return q, nil
}

func supportedList() string {
	var s []string
	for _, p := range searchParams {
		s = append(s, p.name)
	}
	return strings.Join(append(s, ParamCount, ParamFormat), ", ")
}

// safeName shows a parameter name the payer sent only when it looks like one
// (names are not PHI, but a malformed query may put a value where a name goes).
func safeName(s string) string {
	if len(s) > 64 || !paramName.MatchString(s) {
		return "?"
	}
	return s
}

var paramName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.:-]*$`)

// checkFormat accepts the JSON forms of _format: the payer API speaks JSON only.
func checkFormat(vals []string) error {
	if len(vals) != 1 {
		return paramErr(ParamFormat, "may be given once")
	}
	switch vals[0] {
	case "json", "application/json", "application/fhir+json", "application/fhir json": // an unescaped '+' reads as a space
		return nil
	}
	return paramErr(ParamFormat, "only json, application/json and application/fhir+json are supported")
}

// checkToken accepts a token search value: value or system|value, one value
// (no comma list), neither part over 256 characters, a non-empty value.
func checkToken(s string) error {
	if strings.ContainsRune(s, ',') {
		return errors.New("one value only: a comma list is not supported")
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return errors.New("contains control characters")
	}
	sys, val, hasSys := strings.Cut(s, "|")
	if !hasSys {
		val = s
	}
	switch {
	case val == "":
		return errors.New("want [system|]value with a value")
	case strings.Contains(val, "|"):
		return errors.New("want [system|]value: more than one '|'")
	case len(sys) > 256 || len(val) > 256:
		return errors.New("longer than 256 characters")
	}
	return nil
}

// datePrefixes are the search prefixes supported on dates.
var datePrefixes = []string{"eq", "gt", "ge", "lt", "le"}

// checkDate accepts a date search value: an optional prefix (eq, gt, ge, lt,
// le), then a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD) or a dateTime to the
// second with a time zone (a dateTime without one would be read in the FHIR
// server's zone, which the payer cannot know).
func checkDate(s string) error {
	v := s
	if len(v) >= 2 && v[0] >= 'a' && v[0] <= 'z' {
		if !slices.Contains(datePrefixes, v[:2]) {
			return errors.New("unsupported prefix (eq, gt, ge, lt, le are)")
		}
		v = v[2:]
	}
	_, prec, err := fhir.ParseDateTime(v, time.UTC)
	if err != nil {
		return errors.New("want [prefix]YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm|-hh:mm)")
	}
	if prec > fhir.Day && (prec < fhir.Second || !hasZone(v)) {
		return errors.New("a dateTime needs seconds and a time zone (Z or +hh:mm)")
	}
	return nil
}

var zoneSuffix = regexp.MustCompile(`(Z|[+-][0-9]{2}:[0-9]{2})$`)

func hasZone(s string) bool { return zoneSuffix.MatchString(s) }

// ParseSince reads the _since of a Bulk Data export: a FHIR instant (a
// dateTime to the second with a time zone). An empty string is no _since.
func ParseSince(s string) (time.Time, error) {
	t, prec, err := fhir.ParseDateTime(s, time.UTC)
	if err != nil || prec < fhir.Second || !hasZone(s) {
		return time.Time{}, paramErr("_since", "want a FHIR instant: YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm|-hh:mm)")
	}
	if t.UTC().Year() < 1900 {
		return time.Time{}, paramErr("_since", "before 1900")
	}
	return t.UTC(), nil
}

// pageTokenRE is the form of the service's page tokens and export job ids:
// 22 characters of base64url (16 random bytes).
var pageTokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)

// ParsePageToken reads a request for a page of an earlier search: _page and
// at most _format. ok is false when the request carries no _page.
func ParsePageToken(v url.Values) (token string, ok bool, err error) {
	vals, has := v[ParamPage]
	if !has {
		return "", false, nil
	}
	for name, vs := range v {
		switch name {
		case ParamPage:
		case ParamFormat:
			if err := checkFormat(vs); err != nil {
				return "", true, err
			}
		default:
			return "", true, paramErr(safeName(name), "not allowed with _page: a page token stands for the whole search")
		}
	}
	if len(vals) != 1 || !pageTokenRE.MatchString(vals[0]) {
		// A malformed token is one that does not exist.
		return "", true, ErrNotFound
	}
	return vals[0], true, nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}
