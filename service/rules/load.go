package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"cel.dev/cel-go/cel"
	"gopkg.in/yaml.v3"
)

// ValidationError is one problem in a rule file or a table.
type ValidationError struct {
	File string // the file, as the operator named it
	// Line is the 1-based line of the problem; 0 when it has none (e.g. a
	// conflict between two files).
	Line int
	// Field is the field path in a rule file (checks.gmlos.factor,
	// code_lists.prior-auth.codes[3].code) or the column of a table.
	Field  string
	Reason string
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// ValidationErrors are all the problems found while loading, sorted by
// file, line and field.
type ValidationErrors []*ValidationError

func (v ValidationErrors) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rules: %d problem(s) in rule files", len(v))
	for _, e := range v {
		b.WriteString("\n  ")
		b.WriteString(e.Error())
	}
	return b.String()
}

func (v ValidationErrors) sort() {
	sort.SliceStable(v, func(i, j int) bool {
		a, b := v[i], v[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Field < b.Field
	})
}

// Default table names, used when a rule set names none.
const (
	DefaultDRGTable = "ms_drg_fy2025_gmlos.csv"
	DefaultCalendar = "us_federal_holidays.csv"
)

// tablesDir is where tables live in a rule directory.
const tablesDir = "tables"

type loader struct {
	fsys     fs.FS
	label    string // directory name shown in errors ("" for none)
	fallback fs.FS  // tables missing from fsys are read from here
	env      *cel.Env
	tables   *Tables
	// loaded remembers every table read (kind|name), with whether it parsed.
	loaded map[string]bool
	// tableSums are the SHA-256 sums of the tables read, by name.
	tableSums map[string]string
	errs      ValidationErrors
	// lines are the field lines of each rule set read, for the errors of
	// the checks across files.
	lines map[*RuleSet]map[string]int
	// maybeDefault is set when a file whose structure is wrong may be the
	// default rule set: its "default" field could not be read, or says true.
	maybeDefault bool
}

func load(fsys fs.FS, label string, fallback fs.FS) (*Registry, error) {
	env, err := NewCELEnv()
	if err != nil {
		return nil, err
	}
	l := &loader{fsys: fsys, label: label, fallback: fallback, env: env, tables: newTables(), loaded: map[string]bool{}, tableSums: map[string]string{}, lines: map[*RuleSet]map[string]int{}}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // its path is ".", the label names the directory
		}
		return nil, fmt.Errorf("rules: read rule directory %s: %w", label, err)
	}
	var sets []*RuleSet
	for _, e := range entries {
		if e.IsDir() || !isRuleFile(e.Name()) {
			continue
		}
		if rs := l.file(e.Name()); rs != nil {
			sets = append(sets, rs)
		}
	}
	if len(sets) == 0 && len(l.errs) == 0 {
		l.errs = append(l.errs, &ValidationError{File: l.display(""), Reason: "no rule set files (*.yaml, *.yml, *.json)"})
	}
	l.crossCheck(sets)
	if len(l.errs) > 0 {
		l.errs.sort()
		return nil, l.errs
	}
	for _, rs := range sets {
		for name := range rs.tableSums {
			rs.tableSums[name] = l.tableSums[name]
		}
	}
	return newRegistry(sets, l.tables), nil
}

func isRuleFile(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// display is the name of a file of the rule directory as the operator knows it.
func (l *loader) display(name string) string {
	if l.label == "" {
		if name == "" {
			return "."
		}
		return name
	}
	return path.Join(l.label, name)
}

// file parses, checks and compiles one rule set file, reporting every
// problem it can find: the structure's and the meaning's together. Fields
// whose structure is wrong are left out before the meaning is checked, and
// meaning errors about them (or what contains or depends on them) are not
// reported twice. It returns nil when the file cannot be read as a rule set
// at all, or when its structure is wrong (the rule set is then incomplete
// and takes no part in the checks across files).
func (l *loader) file(name string) *RuleSet {
	file := l.display(name)
	data, err := fs.ReadFile(l.fsys, name)
	if err != nil {
		l.errs = append(l.errs, &ValidationError{File: file, Reason: "cannot read: " + err.Error()})
		return nil
	}
	if strings.EqualFold(path.Ext(name), ".json") {
		if line, msg := jsonSyntax(data); msg != "" {
			l.errs = append(l.errs, &ValidationError{File: file, Line: line, Reason: "invalid JSON: " + msg})
			return nil
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := yamlSyntax(data, err)
		l.errs = append(l.errs, &ValidationError{File: file, Line: line, Reason: "invalid YAML: " + msg})
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		l.errs = append(l.errs, &ValidationError{File: file, Line: 1, Reason: "empty file"})
		return nil
	}
	root := doc.Content[0]
	s := &shape{file: file, lines: map[string]int{}, bad: map[string]bool{}}
	s.walk(root, reflect.TypeOf(RuleSet{}), "")
	l.errs = append(l.errs, s.errs...)
	if s.bad[""] {
		return nil // not a mapping: nothing to check the meaning of
	}
	rs := &RuleSet{}
	if err := root.Decode(rs); err != nil {
		l.errs = append(l.errs, decodeErrors(file, err)...)
		return nil
	}
	rs.File = file
	rs.Tables = l.tables
	v := &validator{l: l, rs: rs, file: file, lines: s.lines, bad: s.bad}
	v.ruleSet()
	if len(s.errs) > 0 {
		l.maybeDefault = l.maybeDefault || rs.Default || s.bad["default"]
		return nil
	}
	l.lines[rs] = s.lines
	return rs
}

// yamlSyntax is the line and message of a YAML syntax error. The parser's
// own line is not to be trusted (yaml.v3 reports some errors one line early,
// counting from 0, and others with no line), so the line is found again: the
// first line at which the file's beginning fails with the same error. That
// is where the problem can first be seen, e.g. the line of a "{" that is
// never closed.
func yamlSyntax(data []byte, err error) (int, string) {
	full := err.Error()
	msg := strings.TrimPrefix(full, "yaml: ")
	if m := yamlLinePrefix.FindString(msg); m != "" {
		msg = msg[len(m):]
	}
	const maxScan = 5000 // lines; beyond, the parser's line is kept
	ends := lineEnds(data)
	if len(ends) <= maxScan {
		for k, end := range ends {
			var n yaml.Node
			if e := yaml.Unmarshal(data[:end], &n); e != nil && e.Error() == full {
				return k + 1, msg
			}
		}
	}
	if m := yamlLinePrefix.FindStringSubmatch(strings.TrimPrefix(full, "yaml: ")); m != nil {
		n, _ := strconv.Atoi(m[1])
		return max(n, 1), msg
	}
	return 1, msg
}

var yamlLinePrefix = regexp.MustCompile(`^line (\d+): `)

// lineEnds are the offsets just past each line of data (its newline
// included), the last line ending at len(data).
func lineEnds(data []byte) []int {
	var ends []int
	for i, b := range data {
		if b == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		ends = append(ends, len(data))
	}
	return ends
}

// decodeErrors turns what decoding still refused after the structure was
// checked into validation errors with their lines.
func decodeErrors(file string, err error) []*ValidationError {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []*ValidationError{{File: file, Line: 1, Reason: "cannot decode: " + err.Error()}}
	}
	out := make([]*ValidationError, 0, len(te.Errors))
	for _, e := range te.Errors {
		line := 0
		if m := yamlLinePrefix.FindStringSubmatch(e); m != nil {
			line, _ = strconv.Atoi(m[1])
			e = e[len(m[0]):]
		}
		out = append(out, &ValidationError{File: file, Line: line, Reason: "cannot decode: " + e})
	}
	return out
}

// jsonSyntax reports the line and message of a JSON syntax error, if any.
func jsonSyntax(data []byte) (int, string) {
	var v any
	err := json.Unmarshal(data, &v)
	if err == nil {
		return 0, ""
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return 1 + strings.Count(string(data[:min(int(se.Offset), len(data))]), "\n"), se.Error()
	}
	return 0, err.Error()
}

// shape checks a YAML tree against the Go type it will decode into: unknown
// or repeated fields, and values of the wrong kind, each with its path. It
// is the strict (known-fields) decoding, done by hand so that every problem
// is reported with its field path, not only the first with a line.
type shape struct {
	file  string
	lines map[string]int // field path -> line
	errs  []*ValidationError
	// bad are the paths of the fields found wrong; walk leaves them out of
	// the tree (null, or the key removed) so that the rest can be decoded.
	bad map[string]bool
}

var dateType = reflect.TypeOf(Date{})

func (s *shape) fail(n *yaml.Node, field, format string, args ...any) {
	s.errs = append(s.errs, &ValidationError{File: s.file, Line: n.Line, Field: field, Reason: fmt.Sprintf(format, args...)})
	if s.bad != nil {
		s.bad[field] = true
	}
}

// drop fails a value and makes it null, which decodes to the field's zero.
func (s *shape) drop(n *yaml.Node, field, format string, args ...any) {
	s.fail(n, field, format, args...)
	*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
}

func (s *shape) walk(n *yaml.Node, t reflect.Type, p string) {
	for depth := 0; n.Kind == yaml.AliasNode && n.Alias != nil && depth < 16; depth++ {
		n = n.Alias
	}
	s.lines[p] = n.Line
	null := n.Kind == yaml.ScalarNode && n.Tag == "!!null"
	if t == dateType {
		if null {
			return
		}
		if n.Kind != yaml.ScalarNode {
			s.drop(n, p, "must be a date written YYYY-MM-DD")
			return
		}
		if _, err := ParseDate(n.Value); err != nil {
			s.drop(n, p, "%v", err)
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		s.walk(n, t.Elem(), p)
	case reflect.Struct:
		if null {
			return
		}
		if n.Kind != yaml.MappingNode {
			s.drop(n, p, "must be a mapping of fields")
			return
		}
		fields := yamlFields(t)
		seen := map[string]bool{}
		kept := n.Content[:0:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			fp := joinPath(p, k.Value)
			if seen[k.Value] {
				s.fail(k, fp, "field given twice")
				continue
			}
			seen[k.Value] = true
			ft, ok := fields[k.Value]
			if !ok {
				s.fail(k, fp, "unknown field %q", k.Value)
				continue
			}
			s.walk(v, ft, fp)
			kept = append(kept, k, v)
		}
		n.Content = kept
	case reflect.Map:
		if null {
			return
		}
		if n.Kind != yaml.MappingNode {
			s.drop(n, p, "must be a mapping")
			return
		}
		seen := map[string]bool{}
		kept := n.Content[:0:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			fp := joinPath(p, k.Value)
			if k.Kind != yaml.ScalarNode || k.Value == "" {
				s.fail(k, p, "keys must be non-empty names")
				continue
			}
			if seen[k.Value] {
				s.fail(k, fp, "defined twice")
				continue
			}
			seen[k.Value] = true
			s.walk(v, t.Elem(), fp)
			kept = append(kept, k, v)
		}
		n.Content = kept
	case reflect.Slice:
		if null {
			return
		}
		if n.Kind != yaml.SequenceNode {
			s.drop(n, p, "must be a list")
			return
		}
		for i, e := range n.Content {
			s.walk(e, t.Elem(), p+"["+strconv.Itoa(i)+"]")
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			s.drop(n, p, "must be a string")
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!bool" && !null) {
			s.drop(n, p, "must be true or false, got %s", describe(n))
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && !null) {
			s.drop(n, p, "must be a whole number, got %s", describe(n))
		} else if !null {
			if _, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 32); err != nil {
				s.drop(n, p, "%s is out of range", n.Value)
			}
		}
	case reflect.Float64, reflect.Float32:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float" && !null) {
			s.drop(n, p, "must be a number, got %s", describe(n))
		}
	}
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return strconv.Quote(n.Value)
}

func joinPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// yamlFields maps the yaml names of a struct's exported fields to their types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := make(map[string]reflect.Type, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.PkgPath != "" {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

// openTable opens a table of the rule directory, else of the fallback.
func (l *loader) openTable(name string) ([]byte, string, error) {
	p := path.Join(tablesDir, name)
	data, err := fs.ReadFile(l.fsys, p)
	if err == nil {
		l.sum(name, data)
		return data, l.display(p), nil
	}
	if l.fallback != nil && errors.Is(err, fs.ErrNotExist) {
		if data, ferr := fs.ReadFile(l.fallback, p); ferr == nil {
			l.sum(name, data)
			return data, path.Join("defaults", p) + " (embedded)", nil
		}
	}
	return nil, "", err
}

func (l *loader) sum(name string, data []byte) {
	s := sha256.Sum256(data)
	l.tableSums[name] = hex.EncodeToString(s[:])
}
