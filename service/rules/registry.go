package rules

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/utilreview/utilreview/service/facts"
)

// defaultFiles are the shipped rule sets (defaults/*.yaml) and reference
// tables (defaults/tables/).
//
//go:embed defaults
var defaultFiles embed.FS

// Registry holds every loaded rule set version, indexed for payer matching.
// It is read-only after loading and safe for concurrent use.
type Registry struct {
	sets     []*RuleSet // sorted by id, then effective date
	byID     map[string][]*RuleSet
	byIdent  map[string]map[string][]*RuleSet // identifier system -> value -> versions
	byName   map[string][]*RuleSet            // lower-case alias -> versions
	aliases  []string                         // keys of byName, for case-insensitive scans
	defaults []*RuleSet
	tables   *Tables
}

// DefaultsFS is the embedded rule directory (rule sets at its root, tables
// under tables/), e.g. for listing or copying the shipped defaults.
func DefaultsFS() fs.FS {
	sub, err := fs.Sub(defaultFiles, "defaults")
	if err != nil {
		// fs.Sub fails only for an invalid path name and "defaults" is
		// valid; an empty FS then makes loading report the missing files.
		return embed.FS{}
	}
	return sub
}

// LoadDefaults loads the rule sets and tables embedded in the binary.
func LoadDefaults() (*Registry, error) {
	return load(DefaultsFS(), "defaults", nil)
}

// Load loads rule sets from the root of fsys (*.yaml, *.yml, *.json) and the
// tables they name from fsys's tables/ directory.
func Load(fsys fs.FS) (*Registry, error) {
	return load(fsys, "", nil)
}

// LoadDir loads the rule sets of a --rules directory. They replace the
// embedded rule sets entirely (a directory is a complete rule
// configuration); a table the directory's tables/ lacks is taken from the
// embedded tables, so a directory need only hold what it changes.
func LoadDir(dir string) (*Registry, error) {
	// os.DirFS reports a missing directory as "open .", which names neither
	// the directory nor the problem in words an operator reads.
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("rules: rule directory %s: does not exist", dir)
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("rules: rule directory %s: permission denied", dir)
	case err != nil:
		return nil, fmt.Errorf("rules: rule directory %s: %w", dir, err)
	case !st.IsDir():
		return nil, fmt.Errorf("rules: rule directory %s: not a directory", dir)
	}
	return load(os.DirFS(dir), dir, DefaultsFS())
}

// LoadBundle loads a rule directory held in fsys (an unpacked upload, a
// version read back from Redis) exactly as LoadDir loads one from disk:
// tables missing from fsys come from the embedded ones. label names the
// bundle in errors ("" names files by their path in fsys).
func LoadBundle(fsys fs.FS, label string) (*Registry, error) {
	return load(fsys, label, DefaultsFS())
}

// ValidateDir validates a rule directory as LoadDir would load it and
// returns every problem, sorted by file, line and field.
func ValidateDir(dir string) []error {
	_, err := LoadDir(dir)
	if err == nil {
		return nil
	}
	if ve, ok := err.(ValidationErrors); ok {
		out := make([]error, len(ve))
		for i, e := range ve {
			out[i] = e
		}
		return out
	}
	return []error{err}
}

// RuleSets lists every loaded version, sorted by id and effective date.
func (r *Registry) RuleSets() []*RuleSet { return r.sets }

// Tables are the reference tables loaded for the rule sets.
func (r *Registry) Tables() *Tables { return r.tables }

// ByID returns the version of rule set id in effect on the given day.
func (r *Registry) ByID(id string, on time.Time) (*RuleSet, bool) {
	rs := pick(r.byID[id], on)
	return rs, rs != nil
}

// Default returns the default rule set in effect on the given day.
func (r *Registry) Default(on time.Time) *RuleSet {
	if r == nil {
		return nil
	}
	return pick(r.defaults, on)
}

// For finds the rule set for a payer on a date: by identifier (system and
// value), then Organization.name, then display text, names compared
// case-insensitively after trimming. When nothing matches (or the display
// is a no-payer marker, see IsNoPayer) it returns the default rule set and
// false. It does not allocate.
func (r *Registry) For(p *facts.Payer, on time.Time) (*RuleSet, bool) {
	if r == nil {
		return nil, false
	}
	if p != nil {
		for _, id := range p.Identifiers {
			if rs := pick(r.byIdent[strings.TrimSpace(id.System)][strings.TrimSpace(id.Value)], on); rs != nil {
				return rs, true
			}
		}
		if rs := r.byAlias(p.Name, on); rs != nil {
			return rs, true
		}
		if rs := r.byAlias(p.Display, on); rs != nil {
			return rs, true
		}
	}
	return r.Default(on), false
}

func (r *Registry) byAlias(name string, on time.Time) *RuleSet {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil
	}
	if vs, ok := r.byName[name]; ok {
		return pick(vs, on)
	}
	if !hasUpper(name) {
		return nil
	}
	for _, a := range r.aliases {
		if strings.EqualFold(a, name) {
			return pick(r.byName[a], on)
		}
	}
	return nil
}

// pick chooses among versions (sorted by effective start) the one in effect
// on the day. A day before the first version gets the first, a day after the
// last version's end gets the last: the payer is known, and its nearest
// rules are better than none (Synthea histories span decades).
func pick(versions []*RuleSet, on time.Time) *RuleSet {
	if len(versions) == 0 {
		return nil
	}
	for _, rs := range versions {
		if rs.Effective.Contains(on) {
			return rs
		}
	}
	day := DateOf(on)
	best := versions[0]
	for _, rs := range versions {
		if !day.Before(rs.Effective.From) {
			best = rs
		}
	}
	return best
}

// IsNoPayer reports whether a payer display text says the patient has no
// insurance, as Synthea's coverage.display "no_insurance" does. Such a payer
// is not a payer: facts should leave Encounter.Payer nil (missing-coverage
// then applies), and Registry.For treats it as unmatched. These names are
// reserved and cannot be used as match aliases.
func IsNoPayer(display string) bool {
	display = strings.TrimSpace(display)
	for _, n := range [...]string{"no_insurance", "no insurance", "uninsured", "self-pay", "self pay", "selfpay", "none"} {
		if strings.EqualFold(display, n) {
			return true
		}
	}
	return false
}

func newRegistry(sets []*RuleSet, tables *Tables) *Registry {
	r := &Registry{
		byID:    map[string][]*RuleSet{},
		byIdent: map[string]map[string][]*RuleSet{},
		byName:  map[string][]*RuleSet{},
		tables:  tables,
	}
	sort.SliceStable(sets, func(i, j int) bool {
		if sets[i].ID != sets[j].ID {
			return sets[i].ID < sets[j].ID
		}
		return sets[i].Effective.From.Before(sets[j].Effective.From)
	})
	r.sets = sets
	for _, rs := range sets {
		r.byID[rs.ID] = append(r.byID[rs.ID], rs)
		if rs.Default {
			r.defaults = append(r.defaults, rs)
		}
		for _, id := range rs.Match.Identifiers {
			sys, val := strings.TrimSpace(id.System), strings.TrimSpace(id.Value)
			if r.byIdent[sys] == nil {
				r.byIdent[sys] = map[string][]*RuleSet{}
			}
			r.byIdent[sys][val] = appendVersion(r.byIdent[sys][val], rs)
		}
		for _, n := range rs.Match.Names {
			k := strings.ToLower(strings.TrimSpace(n))
			if _, ok := r.byName[k]; !ok {
				r.aliases = append(r.aliases, k)
			}
			r.byName[k] = appendVersion(r.byName[k], rs)
		}
	}
	sortVersions(r.defaults)
	for _, m := range r.byIdent {
		for _, vs := range m {
			sortVersions(vs)
		}
	}
	for _, vs := range r.byName {
		sortVersions(vs)
	}
	return r
}

// appendVersion adds rs unless it is already there (a rule set may list
// the same alias twice in different spellings).
func appendVersion(vs []*RuleSet, rs *RuleSet) []*RuleSet {
	for _, v := range vs {
		if v == rs {
			return vs
		}
	}
	return append(vs, rs)
}

func sortVersions(vs []*RuleSet) {
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].Effective.From.Before(vs[j].Effective.From) })
}
