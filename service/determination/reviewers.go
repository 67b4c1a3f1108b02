package determination

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/facts"
)

// Reviewers is the set of clinical reviewers whose determinations count:
// Practitioner and PractitionerRole references, and role codes. The
// determining clinician is the agent of a Provenance that targets the
// completed Task version when one exists (any of its agents may match, by
// reference or by agent.role/agent.type code), else the Task's owner at
// completion (by reference). An empty set (none configured) lets every
// determination count.
type Reviewers struct {
	refs  map[string]bool
	roles map[string]bool // "system|code" or "|code" (any system)
}

// ParseReviewers reads reviewer entries: "Practitioner/id",
// "PractitionerRole/id" (absolute URLs are read as their Type/id),
// "role:code" (any system) or "role:system|code". Blank entries are
// skipped; every bad entry is reported.
func ParseReviewers(entries []string) (*Reviewers, error) {
	r := &Reviewers{refs: map[string]bool{}, roles: map[string]bool{}}
	var bad []string
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" || strings.HasPrefix(e, "#") {
			continue
		}
		if role, ok := strings.CutPrefix(e, "role:"); ok {
			system, code, has := strings.Cut(role, "|")
			if !has {
				system, code = "", role
			}
			if strings.TrimSpace(code) == "" {
				bad = append(bad, fmt.Sprintf("%q: a role needs a code", e))
				continue
			}
			r.roles[system+"|"+code] = true
			continue
		}
		ref, ok := fhir.ParseReference(e)
		if !ok || (ref.Type != "Practitioner" && ref.Type != "PractitionerRole") || ref.ID == "" {
			bad = append(bad, fmt.Sprintf("%q: not a Practitioner or PractitionerRole reference nor role:[system|]code", e))
			continue
		}
		r.refs[ref.Type+"/"+ref.ID] = true
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("reviewers: %s", strings.Join(bad, "; "))
	}
	return r, nil
}

// SplitReviewers splits a comma-separated list (UTILREVIEW_REVIEWERS).
func SplitReviewers(s string) []string { return strings.Split(s, ",") }

// ReadReviewersFile reads one entry a line ('#' starts a comment).
func ReadReviewersFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		out = append(out, line)
	}
	return out, sc.Err()
}

// Empty reports whether no reviewer is configured.
func (r *Reviewers) Empty() bool { return r == nil || len(r.refs) == 0 && len(r.roles) == 0 }

// Len is the number of entries.
func (r *Reviewers) Len() int {
	if r == nil {
		return 0
	}
	return len(r.refs) + len(r.roles)
}

// Determines reports whether the completed Task's determination was made
// by a clinical reviewer (always, with no reviewer configured). A
// PractitionerRole the input holds counts by its reference, by the
// Practitioner it names, and by its role codes.
func (r *Reviewers) Determines(t *facts.Task) bool {
	if r.Empty() {
		return true
	}
	match := func(who, practitioner string, roles []facts.Code) bool {
		if r.refs[who] || practitioner != "" && r.refs[practitioner] {
			return true
		}
		for _, c := range roles {
			if r.roles[c.System+"|"+c.Code] || r.roles["|"+c.Code] {
				return true
			}
		}
		return false
	}
	if len(t.Agents) > 0 {
		for _, a := range t.Agents {
			if match(a.Who, a.Practitioner, a.Roles) {
				return true
			}
		}
		return false
	}
	return t.Owner != "" && match(t.Owner, t.OwnerRole.Practitioner, t.OwnerRole.Roles)
}
