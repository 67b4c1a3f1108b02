package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The reader's API (details on each declaration):
//
//	func NewReader(types ...string) *Reader
//	    decodes resources of these resourceTypes into samply structs (Value);
//	    with no types, EngineTypes. (r *Reader) Decodes(t) says which.
//	func (r *Reader) ReadPaths(paths []string, emit func(*Resource)) []error
//	    files and directories (recursively: *.json, *.ndjson, *.jsonl); every
//	    problem is an *InputError; reading goes on after one. ListFiles and
//	    (r *Reader) ReadFile (files.go) do the same one file at a time.
//	func (r *Reader) ReadBytes(name string, data []byte, emit func(*Resource)) []error
//	    one file's content: a resource, a Bundle (transaction, batch,
//	    collection, searchset, history; entries emitted one by one with
//	    Source.Entry and FullURL; a Bundle inside one is flattened, with
//	    Source.Nested) or NDJSON (Source.Line). Contained resources of decoded
//	    types are in Resource.Contained (Source.Contained, Container()).
//	func NewIndex() *Index
//	func (ix *Index) Add(r *Resource)
//	func (ix *Index) Resolve(ref string, from *Resource) *Resource
//	    "Type/id", absolute URLs ending in Type/id (with or without _history),
//	    "urn:uuid:..."/"urn:oid:..." fullUrls, "#id" contained in from, and
//	    relative references against from's Bundle base; nil when not found.
//	    Of two resources with the same Type/id, the one added last wins.
//	func ParseDateTime(s string, loc *time.Location) (time.Time, Precision, error)
//	    FHIR date/dateTime/instant: with offset, without offset (read in loc),
//	    partial (YYYY, YYYY-MM, YYYY-MM-DD: the start of that period in loc);
//	    Precision is Year, Month, Day, Minute, Second or Subsecond.
//
// Keys are matched exactly, as FHIR requires; note that samply's structs are
// filled as encoding/json fills them (decodeInto), matching keys without
// regard to case.

// EngineTypes are the resource types the engine reads.
var EngineTypes = []string{
	"Patient", "Encounter", "Claim", "Coverage", "ExplanationOfBenefit", "ClaimResponse",
	"Condition", "Procedure", "Organization", "Account", "Task", "Communication",
}

// supportedBundleTypes are the Bundle types whose entries are read as input.
// Responses, documents and messages carry resources in other roles and are
// reported instead of being half-read.
var supportedBundleTypes = [...]string{"transaction", "batch", "collection", "searchset", "history"}

// maxBundleDepth is how deep Bundles inside Bundles are flattened: one level
// (e.g. the focus Bundle of a subscription notification). A Bundle deeper
// than that is emitted as a resource of type Bundle.
const maxBundleDepth = 1

type typeInfo struct {
	name string     // the resourceType, shared by all resources of the type
	new  func() any // constructor of the samply struct; nil when not decoded
}

// Reader reads FHIR R4 JSON input. It holds no state between calls and is
// safe for concurrent use.
type Reader struct {
	types map[string]typeInfo
}

// NewReader returns a Reader that decodes resources of the given
// resourceTypes into samply structs (Resource.Value); resources of the other
// R4 types are still emitted, with Value nil. With no types it decodes
// EngineTypes. Names that are not R4 resource types are ignored.
func NewReader(types ...string) *Reader {
	if len(types) == 0 {
		types = EngineTypes
	}
	names := resourceTypeNames()
	r := &Reader{types: make(map[string]typeInfo, len(names))}
	for _, n := range names {
		r.types[n] = typeInfo{name: n}
	}
	for _, t := range types {
		if ti, ok := r.types[t]; ok {
			ti.new = resourceFactory(t)
			r.types[t] = ti
		}
	}
	return r
}

// Decodes reports whether the reader decodes resources of resourceType t.
func (r *Reader) Decodes(t string) bool { return r.types[t].new != nil }

// inputExtensions are the file name endings read from directories.
var inputExtensions = [...]string{".json", ".ndjson", ".jsonl"}

func isInputFile(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	for _, e := range inputExtensions {
		if ext == e {
			return true
		}
	}
	return false
}

func isNDJSONName(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".ndjson" || ext == ".jsonl"
}

// ReadPaths reads files and directories in the order given. Directories are
// walked recursively in lexical order (so the output is deterministic), and
// only their *.json, *.ndjson and *.jsonl files are read; hidden entries
// (names starting with ".") are skipped. A file named explicitly is read
// whatever its name. Every problem is an *InputError naming the file;
// reading goes on with the other entries, lines and files.
func (r *Reader) ReadPaths(paths []string, emit func(*Resource)) []error {
	var errs []error
	for _, p := range paths {
		files, err := listInputFiles(p)
		errs = append(errs, err...)
		for _, f := range files {
			errs = append(errs, r.ReadFile(f, emit)...)
		}
	}
	return errs
}

// listInputFiles expands one command-line path into the files to read.
func listInputFiles(p string) ([]string, []error) {
	info, err := os.Stat(p)
	if err != nil {
		return nil, []error{fileError(p, err)}
	}
	if !info.IsDir() {
		return []string{p}, nil
	}
	var files []string
	var errs []error
	walkErr := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, fileError(path, err))
			if d != nil && d.IsDir() && path != p {
				return fs.SkipDir
			}
			return nil
		}
		if path != p && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && isInputFile(d.Name()) {
			files = append(files, path)
		}
		return nil
	})
	if walkErr != nil {
		errs = append(errs, fileError(p, walkErr))
	}
	return files, errs
}

// fileError is the InputError for a file or directory that cannot be read.
// The path is in Source already, so the *PathError is unwrapped to its cause
// (errors.Is(err, fs.ErrNotExist) still works).
func fileError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &InputError{Source: Source{File: path, Entry: -1}, Err: fmt.Errorf("cannot read: %w", err)}
}

// ReadBytes reads one file's content: a single resource, a Bundle (its
// entries are emitted one by one, with Source.Entry and FullURL; entries
// without a resource, such as history deletes, are skipped) or NDJSON (one
// resource per line, Source.Line; blank lines are skipped). NDJSON is
// recognised by the name (*.ndjson, *.jsonl) or by content holding several
// one-line JSON values. emit is called in input order; the Resources'
// Raw alias data. Problems are returned as *InputError values and reading
// goes on after them.
func (r *Reader) ReadBytes(name string, data []byte, emit func(*Resource)) []error {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark is not JSON
	f := &fileRead{r: r, name: name, emit: emit}
	if isNDJSONName(name) {
		f.readNDJSON(data)
		return f.errs
	}
	s := skipWS(data, 0)
	if s == len(data) {
		f.buf = data
		f.fail(Source{File: name, Entry: -1}, -1, errors.New("empty file: no JSON resource"))
		return f.errs
	}
	// One pass: the scanner validates as it reads, and what it emits is held
	// back until the whole file has proved to be one valid JSON value.
	f.buf = data
	if e := f.readValue(s, Source{File: name, Entry: -1}, "", 0); e > 0 && skipWS(data, e) == len(data) {
		f.flush()
		return f.errs
	}
	// Not one valid JSON value (or nested too deeply for the scanner): what
	// was read is dropped and encoding/json decides, as it always has.
	f.reset()
	if json.Valid(data) {
		f.buf = data
		f.readValue(s, Source{File: name, Entry: -1}, "", 0)
		f.flush()
		return f.errs
	}
	// Several JSON values, the first on one line: NDJSON in a .json file.
	if e := valueEnd(data, s); e > 0 && bytes.IndexByte(data[s:e], '\n') < 0 && json.Valid(data[s:e]) {
		f.readNDJSON(data)
		return f.errs
	}
	f.buf = data
	f.syntaxError(Source{File: name, Entry: -1}, data)
	return f.errs
}

// ReadNDJSON reads data as NDJSON lines of the file name whose first line
// is line first: a part of a large NDJSON file, cut after a newline, read
// without holding the whole file. Resource.Offset is relative to data.
func (r *Reader) ReadNDJSON(name string, first int, data []byte, emit func(*Resource)) []error {
	f := &fileRead{r: r, name: name, emit: emit}
	f.readLines(data, first)
	return f.errs
}

// ReadResource reads data as the one resource a previous read emitted with
// src and fullURL (its Raw, read again from the file at its Offset, which
// starts on line firstLine of the file): decoded
// when the reader decodes its type, with its contained resources, and with
// the problems a whole-file read would have reported of it. A Bundle is
// emitted as a resource, not flattened.
func (r *Reader) ReadResource(name string, data []byte, src Source, fullURL string, firstLine int, emit func(*Resource)) []error {
	f := &fileRead{r: r, name: name, emit: emit, buf: data, line: src.Line, lineBase: firstLine - 1}
	s := skipWS(data, 0)
	if e := f.readValue(s, src, fullURL, maxBundleDepth+1); e < 0 || skipWS(data, e) != len(data) {
		f.reset()
		f.fail(src, -1, errors.New("the file changed while it was read"))
		return f.errs
	}
	f.flush()
	return f.errs
}

// fileRead is the state of reading one file.
type fileRead struct {
	r    *Reader
	name string
	// buf is what offsets refer to: the whole file, or the current NDJSON line.
	buf []byte
	// base is where buf starts in the data read (Resource.Offset).
	base int
	// lineBase is added to the lines counted in buf (ReadResource: the
	// line before the resource's first in its file).
	lineBase int
	line     int // current NDJSON line (1-based); 0 for a whole-file JSON value
	emit     func(*Resource)
	// held are the resources read from the current value (the file, or the
	// NDJSON line), emitted by flush once it proved valid JSON.
	held []*Resource
	errs []error
	// lineOff/lineNo remember the last line computed, so that many errors
	// in one big file cost one pass over it, not one each.
	lineOff, lineNo int
}

// flush emits the resources held.
func (f *fileRead) flush() {
	for i, r := range f.held {
		f.emit(r)
		f.held[i] = nil
	}
	f.held = f.held[:0]
}

// reset forgets what was read from the current value (resources held,
// problems found after errs[:keep]) and the line cache.
func (f *fileRead) reset() { f.resetTo(0) }

func (f *fileRead) resetTo(keep int) {
	clear(f.held)
	f.held = f.held[:0]
	clear(f.errs[keep:])
	f.errs = f.errs[:keep]
	f.lineOff, f.lineNo = 0, 0
}

// lineAt is the 1-based line of offset off in f.buf.
func (f *fileRead) lineAt(off int) int {
	if off > len(f.buf) {
		off = len(f.buf)
	}
	if f.lineNo == 0 || off < f.lineOff {
		f.lineOff, f.lineNo = 0, 1
	}
	f.lineNo += bytes.Count(f.buf[f.lineOff:off], []byte("\n"))
	f.lineOff = off
	return f.lineNo + f.lineBase
}

// fail records an InputError. For a whole-file JSON value, off (when >= 0)
// sets Source.Line so that a person can find the spot.
func (f *fileRead) fail(src Source, off int, err error) {
	f.failRef(src, off, "", err)
}

// failRef is fail about a resource whose "Type/id" (or its container's) is known.
func (f *fileRead) failRef(src Source, off int, ref string, err error) {
	if f.line == 0 && off >= 0 {
		src.Line = f.lineAt(off)
	}
	f.errs = append(f.errs, &InputError{Source: src, Ref: ref, Err: err})
}

// syntaxError reports the first JSON syntax error in b (b is f.buf or the
// current line) with its line and column.
func (f *fileRead) syntaxError(src Source, b []byte) {
	var v struct{}
	err := json.Unmarshal(b, &v)
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		// Valid JSON that is not an object decodes into struct{} with an
		// UnmarshalTypeError; the caller only calls this for invalid JSON.
		f.errs = append(f.errs, &InputError{Source: src, Err: fmt.Errorf("invalid JSON: %v", err)})
		return
	}
	// Offset counts the bytes read up to and including the offending one.
	off := int(se.Offset) - 1
	if off < 0 {
		off = 0
	}
	line, col := lineCol(b, off)
	if f.line == 0 {
		src.Line = line
	}
	f.errs = append(f.errs, &InputError{Source: src, Err: fmt.Errorf("invalid JSON at column %d: %w", col, se)})
}

func (f *fileRead) readNDJSON(data []byte) { f.readLines(data, 1) }

// readLines reads data as NDJSON whose first line is line first.
func (f *fileRead) readLines(data []byte, first int) {
	for n, start := first, 0; start < len(data); n++ {
		end := bytes.IndexByte(data[start:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += start
		}
		line := data[start:end]
		f.base = start
		start = end + 1
		s := skipWS(line, 0)
		if s == len(line) {
			continue
		}
		f.buf, f.line = line, n
		src := Source{File: f.name, Line: n, Entry: -1}
		// Read and validated in one pass, as ReadBytes does a file.
		keep := len(f.errs)
		if e := f.readValue(s, src, "", 0); e > 0 && skipWS(line, e) == len(line) {
			f.flush()
			continue
		}
		f.resetTo(keep)
		if !json.Valid(line) {
			f.syntaxError(src, line)
			continue
		}
		f.readValue(s, src, "", 0)
		f.flush()
	}
}

// head holds where the members the reader needs are in a resource object.
type head struct {
	typeS, typeE           int // resourceType value
	idS, idE               int
	containedS, containedE int
	btypeS, btypeE         int // "type" (Bundle.type when the resource is a Bundle)
	entryS, entryE         int
	// patient are the values of the members that name a patient
	// (patientMembers); folded is set when a key may stand for one of
	// them or for contained under encoding/json's case-insensitive
	// matching, or one of them is repeated (see Scan).
	patient [len(patientMembers)][2]int
	folded  bool
}

// patientMembers are the members by which a resource names its patient:
// Encounter.subject, Claim.patient, Coverage.beneficiary, Task.for.
var patientMembers = [...]string{"subject", "patient", "beneficiary", "for"}

// foldedNames are the names whose other spellings set head.folded.
var foldedNames = [...]string{"subject", "patient", "beneficiary", "for", "contained"}

// noteMember records key's value [s, e) in h when key is one of the
// patientMembers, and sets h.folded when key may stand for one of them or
// for contained under another spelling.
func (h *head) noteMember(key []byte, esc bool, s, e int) {
	if esc {
		h.folded = true
		return
	}
	for i, n := range patientMembers {
		if string(key) == n {
			if h.patient[i] != [2]int{} {
				h.folded = true // repeated: encoding/json may merge the two
			}
			h.patient[i] = [2]int{s, e}
			return
		}
	}
	switch len(key) {
	case 3, 7, 9, 11: // the names' lengths: another case of one of them?
		for _, n := range foldedNames {
			if len(key) == len(n) && string(key) != n && bytes.EqualFold(key, []byte(n)) {
				h.folded = true
			}
		}
	}
	for _, c := range key {
		if c >= utf8.RuneSelf { // encoding/json also folds the long s and the Kelvin sign
			h.folded = true
			return
		}
	}
}

// scanHead finds resourceType, id, contained, type and entry in the object
// at f.buf[s:] and where the object ends; ok is false if it is not a JSON
// object or not valid JSON. A repeated key keeps its last value, as
// encoding/json does.
//
// With in not nil (a resource read by readValue), the entries of a Bundle
// are read where scanHead meets them, when resourceType and type came first
// (as servers and Synthea write them): one pass over the Bundle instead of
// one to find its end and another for its entries. in records what was
// read that way, for readValue to check against the members found last.
func (f *fileRead) scanHead(s int, in *inlineBundle) (h head, end int, ok bool) {
	it, ok := newObjectIter(f.buf, s)
	if !ok {
		return h, -1, false
	}
	b := f.buf
	for {
		m, more := it.nextKey()
		if !more {
			break
		}
		name := headName(b[m.KeyStart:m.KeyEnd])
		if m.KeyEsc { // an escaped key may spell one of the names
			for _, n := range headNames {
				if m.key(b, n) {
					name = n
					break
				}
			}
		}
		var ve int
		if name == "entry" && in != nil && in.start < 0 && f.bundleHead(h, in.depth) {
			in.start, in.held, in.errs = m.ValStart, len(f.held), len(f.errs)
			eh := h
			eh.entryS, eh.entryE = m.ValStart, m.ValStart+1
			ve = f.readBundle(s, eh, in.src, in.depth)
		} else {
			ve = valueEnd(b, m.ValStart)
		}
		it.resume(ve)
		if ve < 0 {
			break
		}
		if in != nil {
			h.noteMember(b[m.KeyStart:m.KeyEnd], m.KeyEsc, m.ValStart, ve)
		}
		switch name {
		case "id":
			h.idS, h.idE = m.ValStart, ve
		case "type":
			h.btypeS, h.btypeE = m.ValStart, ve
		case "entry":
			h.entryS, h.entryE = m.ValStart, ve
		case "contained":
			h.containedS, h.containedE = m.ValStart, ve
		case "resourceType":
			h.typeS, h.typeE = m.ValStart, ve
		}
	}
	return h, it.End, !it.Bad
}

// inlineBundle is what scanHead read of a Bundle's entries in passing.
type inlineBundle struct {
	src   Source
	depth int
	start int // where the entry array read starts; -1: none read
	// held and errs are len(f.held) and len(f.errs) before the entries
	// were read, to take them back if the entries read are not the
	// Bundle's (a repeated key).
	held, errs int
}

var headNames = [...]string{"id", "type", "entry", "contained", "resourceType"}

// headName is the member name scanHead wants that key spells, or "".
func headName(key []byte) string {
	switch string(key) { // compared, not kept: no allocation
	case "id":
		return "id"
	case "type":
		return "type"
	case "entry":
		return "entry"
	case "contained":
		return "contained"
	case "resourceType":
		return "resourceType"
	}
	return ""
}

// bundleHead reports whether h, so far, is that of a Bundle whose entries
// readBundle reads at depth with no problem of its own before them:
// resourceType "Bundle" and a supported type.
func (f *fileRead) bundleHead(h head, depth int) bool {
	if depth > maxBundleDepth || h.typeE == 0 || h.btypeE == 0 {
		return false
	}
	if string(f.buf[h.typeS:h.typeE]) != `"Bundle"` {
		return false
	}
	bt, ok := stringValue(f.buf, h.btypeS, h.btypeE)
	return ok && slices.Contains(supportedBundleTypes[:], bt)
}

// resourceType looks the resourceType up without allocating.
func (f *fileRead) resourceType(h head) (typeInfo, error) {
	b := f.buf
	if h.typeE == 0 {
		return typeInfo{}, errors.New("missing resourceType")
	}
	if b[h.typeS] != '"' {
		return typeInfo{}, errors.New("resourceType is not a string")
	}
	if ti, ok := f.r.types[string(b[h.typeS+1:h.typeE-1])]; ok {
		return ti, nil
	}
	name, _ := stringValue(b, h.typeS, h.typeE)
	if ti, ok := f.r.types[name]; ok { // written with escapes
		return ti, nil
	}
	// The value is not quoted: input values never appear in messages.
	return typeInfo{}, errors.New("unknown resourceType (not an R4 resource type)")
}

// readValue reads the JSON value at f.buf[s:] as a resource or a Bundle and
// returns where the value ends (-1 if the buffer is malformed there).
func (f *fileRead) readValue(s int, src Source, fullURL string, depth int) (end int) {
	in := inlineBundle{src: src, depth: depth, start: -1}
	h, e, ok := f.scanHead(s, &in)
	if in.start >= 0 && (!ok || in.start != h.entryS || !f.bundleHead(h, depth)) {
		// Entries read in passing that are not the Bundle's after all (a
		// repeated key, or the object is malformed): take them back.
		clear(f.held[in.held:])
		f.held = f.held[:in.held]
		clear(f.errs[in.errs:])
		f.errs = f.errs[:in.errs]
		in.start = -1
	}
	if !ok {
		f.fail(src, s, errors.New("not a JSON object: a FHIR resource must be an object"))
		return valueEnd(f.buf, s)
	}
	ti, err := f.resourceType(h)
	if err != nil {
		f.fail(src, s, err)
		return e
	}
	if ti.name == "Bundle" && depth <= maxBundleDepth {
		if in.start < 0 {
			f.readBundle(s, h, src, depth)
		}
		return e
	}
	res := &Resource{Type: ti.name, FullURL: fullURL, Source: src, Raw: f.buf[s:e:e], Offset: f.base + s}
	res.Scan.Folded, res.Scan.Scanned = h.folded, true
	if h.containedE > 0 {
		res.Scan.Contained = [2]int{h.containedS - s, h.containedE - s}
	}
	for i, v := range h.patient {
		if v[1] > 0 {
			res.Scan.Patient[i] = [2]int{v[0] - s, v[1] - s}
		}
	}
	if h.idE > 0 {
		res.ID, _ = stringValue(f.buf, h.idS, h.idE)
	}
	if ti.new != nil {
		v := ti.new()
		if err := decodeInto(res.Raw, v); err != nil {
			f.failRef(src, s, res.Ref(), decodeError(ti.name, reflect.TypeOf(v), res.Raw, err))
			return e
		}
		res.Value = v
		if h.containedE > 0 {
			f.readContained(res, h)
		}
	}
	f.held = append(f.held, res)
	return e
}

// readContained fills res.Contained from the "contained" array of res.
func (f *fileRead) readContained(res *Resource, h head) {
	it, ok := newArrayIter(f.buf, h.containedS)
	if !ok {
		f.failRef(res.Source, h.containedS, res.Ref(), errors.New("contained is not an array"))
		return
	}
	for i := 0; ; i++ {
		s, e, more := it.next()
		if !more {
			return
		}
		src := res.Source
		ch, _, ok := f.scanHead(s, nil)
		id := ""
		if ok && ch.idE > 0 {
			id, _ = stringValue(f.buf, ch.idS, ch.idE)
		}
		src.Contained = id
		if id == "" { // FHIR requires an id; the position still finds it
			src.Contained = "[" + strconv.Itoa(i) + "]"
		}
		if !ok {
			f.failRef(src, s, res.Ref(), errors.New("contained resource is not a JSON object"))
			continue
		}
		ti, err := f.resourceType(ch)
		if err != nil {
			f.failRef(src, s, res.Ref(), err)
			continue
		}
		c := &Resource{Type: ti.name, ID: id, Source: src, Raw: f.buf[s:e:e], Offset: f.base + s, container: res}
		if ti.new != nil {
			v := ti.new()
			if err := decodeInto(c.Raw, v); err != nil {
				f.failRef(src, s, res.Ref(), decodeError(ti.name, reflect.TypeOf(v), c.Raw, err))
				continue
			}
			c.Value = v
		}
		res.Contained = append(res.Contained, c)
	}
}

// readBundle emits the entries of the Bundle at f.buf[s:] and returns
// where its entry value ends (when it read it: -1 if it is malformed).
func (f *fileRead) readBundle(s int, h head, src Source, depth int) int {
	b := f.buf
	if h.btypeE == 0 {
		f.fail(src, s, errors.New("Bundle has no type"))
		return 0
	}
	bt, ok := stringValue(b, h.btypeS, h.btypeE)
	if !ok {
		f.fail(src, h.btypeS, errors.New("Bundle.type is not a string"))
		return 0
	}
	supported := false
	for _, t := range supportedBundleTypes {
		if bt == t {
			supported = true
			break
		}
	}
	if !supported {
		what := "Bundle.type"
		switch bt { // quoted only when it is an R4 code, never free input
		case "document", "message", "transaction-response", "batch-response":
			what = fmt.Sprintf("Bundle type %q", bt)
		}
		f.fail(src, h.btypeS, errors.New(what+" is not supported (want transaction, batch, collection, searchset or history)"))
		return 0
	}
	if h.entryE == 0 {
		return 0 // an empty Bundle, e.g. a searchset with no match
	}
	it, ok := newArrayIter(b, h.entryS)
	if !ok {
		f.fail(src, h.entryS, errors.New("Bundle.entry is not an array"))
		return valueEnd(b, h.entryS)
	}
	for i := 0; ; i++ {
		es, more := it.nextStart()
		if !more {
			return it.End
		}
		esrc := src
		if depth == 0 {
			esrc.Entry = i
		} else {
			esrc.Nested = i + 1
		}
		it.resume(f.readEntry(es, esrc, depth))
	}
}

// readEntry reads one Bundle entry at f.buf[s:] and returns where it ends.
// The resource is read in the same pass as the entry when its fullUrl came
// first (as servers and Synthea write it); otherwise it is read after the
// entry's other members.
func (f *fileRead) readEntry(s int, src Source, depth int) (end int) {
	b := f.buf
	it, ok := newObjectIter(b, s)
	if !ok {
		f.fail(src, s, errors.New("Bundle entry is not a JSON object"))
		return valueEnd(b, s)
	}
	fullURL := ""
	deferred := -1 // start of a resource met before fullUrl
	for {
		m, more := it.nextKey()
		if !more {
			break
		}
		switch {
		case m.key(b, "fullUrl"):
			ve := valueEnd(b, m.ValStart)
			it.resume(ve)
			u, ok := stringValue(b, m.ValStart, ve)
			if !ok {
				f.fail(src, m.ValStart, errors.New("entry.fullUrl is not a string"))
			}
			fullURL = u
		case m.key(b, "resource"):
			if bytes.HasPrefix(b[m.ValStart:], []byte("null")) {
				it.resume(valueEnd(b, m.ValStart)) // no resource, e.g. a DELETE in a history Bundle
				continue
			}
			if fullURL == "" {
				deferred = m.ValStart
				it.resume(valueEnd(b, m.ValStart))
				continue
			}
			deferred = -1
			it.resume(f.readValue(m.ValStart, src, fullURL, depth+1))
		default:
			it.resume(valueEnd(b, m.ValStart))
		}
	}
	if deferred >= 0 {
		f.readValue(deferred, src, fullURL, depth+1)
	}
	return it.End
}
