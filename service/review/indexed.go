package review

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/facts"
)

// The indexed review (issue 12): memory bounded by the largest patient, not
// by the input.
//
// Pass 1 reads every file once, without decoding, and keeps for each
// resource of a type the engine reads where it lives (file, byte range,
// line) and what it refers to; resources of other types are counted and
// dropped. References join resources into groups (union-find): a group is
// a patient's resources, or several patients' when they refer to each other.
// Organizations are shared by many patients: they are decoded once and held
// in a small in-memory list given to every batch, and references to them do
// not join groups.
//
// Pass 2 reviews the groups in batches of about Options.BatchBytes of
// input, in input order: each batch reads only its resources' byte ranges
// again, decodes them (Options.Workers at once), builds the facts of its
// patients and reviews them with the same Pipeline as Run. The findings are
// gathered and sorted as Run sorts them, so that the output is the same as
// Run's (TestIndexedSameAsRun).
//
// Patients named by identifier join too, where facts reads them: a
// logical reference (Reference.identifier without Reference.reference) in
// subject, patient, beneficiary or for, a contained Patient's identifiers,
// a Patient without id by its identifiers, and a Patient with an id to
// those by its identifiers.

// DefaultBatchBytes is the input a batch of the indexed review reads at most
// (unless one group of resources is larger).
const DefaultBatchBytes = 16 << 20

// ndjsonChunk is how much of an NDJSON file pass 1 reads at once.
const ndjsonChunk = 8 << 20

// sharedTypes are the engine's types that many patients share: held in
// memory, given to every batch, never joining groups (a PractitionerRole
// owns the Tasks of many patients).
var sharedTypes = map[string]bool{"Organization": true, "PractitionerRole": true}

// readTypes are facts.ReadTypes and facts.ContextTypes, as a set.
var readTypes = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range append(facts.ReadTypes(), facts.ContextTypes()...) {
		m[t] = true
	}
	return m
}()

// located is one resource found by pass 1.
type located struct {
	file     int
	off, end int64
	line     int // first line of the resource in its file (whole-file JSON); NDJSON: Source.Line
	src      fhir.Source
	fullURL  string
	typ, id  string
	refs     []string // references written in it (and its contained resources)
	// idents are identifiers "system|value" that name a patient by
	// identifier: a logical reference's, a contained Patient's, a Patient's
	// without id (strong: facts groups these by identifier); weak are a
	// Patient's with an id, joined only to a strong one.
	idents, weak []string
	seq          int // position in the input (top-level resources of every type)
}

// indexedFile is what pass 1 found in one file.
type indexedFile struct {
	found   []located
	errs    []error
	emitted int
	skipped map[string]int
}

// RunIndexed reviews the files and directories in paths as Run does, in two
// passes with memory bounded by the batch size and the largest group of
// resources (see the comment above). Result.Set is nil: the patients are not
// all held at once; Result's counts replace it.
func RunIndexed(ctx context.Context, paths []string, opt Options) (*Result, error) {
	files, listErrs := fhir.ListFiles(paths)
	workers := opt.workers()
	scanner := fhir.NewReader("-") // decodes nothing: pass 1 only finds
	decoder := fhir.NewReader()

	// Pass 1.
	outs := make([]indexedFile, len(files))
	var mu sync.Mutex
	done := 0
	err := parallel(ctx, workers, len(files), func(i int) {
		outs[i] = indexFile(scanner, files[i])
		if opt.Progress != nil {
			mu.Lock()
			done++
			opt.Progress(done, 2*len(files))
			mu.Unlock()
		}
	})
	if err != nil {
		return nil, err
	}
	res := &Result{Files: len(files), UnmatchedPayers: map[string]int{}, Skipped: map[string]int{}}
	var all []located
	var readErrs []keyedErr
	seq := 0
	for fi := range outs {
		o := &outs[fi]
		for j := range o.found {
			o.found[j].seq += seq
			o.found[j].file = fi
		}
		for i, e := range o.errs {
			readErrs = append(readErrs, keyErr(e, fi, 0, i))
		}
		seq += o.emitted
		res.Resources += o.emitted
		for k, v := range o.skipped {
			res.Skipped[k] += v
		}
		all = append(all, o.found...)
		outs[fi] = indexedFile{}
	}

	groups, shared := group(all)
	sharedRes, sharedErrs := readShared(decoder, files, shared)
	for i := range all { // grouped: what joined them is no longer needed
		all[i].refs, all[i].idents, all[i].weak, all[i].id = nil, nil, nil, ""
	}

	// Pass 2, batch by batch.
	pl := NewPipeline(opt, func(check string, _ error) {
		mu.Lock()
		defer mu.Unlock()
		if res.CustomErrors == nil {
			res.CustomErrors = map[string]int{}
		}
		res.CustomErrors[check]++
	})
	batchSize := opt.BatchBytes
	if batchSize <= 0 {
		batchSize = DefaultBatchBytes
	}
	decodeErrs := sharedErrs
	var problems []problemAt
	seenShared := map[string]bool{}
	for start := 0; start < len(groups); {
		end, size := start, int64(0)
		for end < len(groups) && (end == start || size < batchSize) {
			for _, k := range groups[end] {
				size += all[k].end - all[k].off
			}
			end++
		}
		var batch []int
		groupOf := map[int]int{} // seq → group, to put the patients in input order
		for gi, g := range groups[start:end] {
			batch = append(batch, g...)
			for _, k := range g {
				groupOf[all[k].seq] = start + gi
			}
		}
		start = end
		slices.Sort(batch) // input order
		read := make([][]*fhir.Resource, len(batch))
		errs := make([][]error, len(batch))
		open := newOpenFiles(files)
		err := parallel(ctx, workers, len(batch), func(i int) {
			l := &all[batch[i]]
			read[i], errs[i] = readLocated(decoder, open, l)
		})
		open.close()
		if err != nil {
			return nil, err
		}
		var resources []*fhir.Resource
		seqOf := map[fhir.Source]int{}
		si := 0
		for i, k := range batch {
			l := &all[k]
			for si < len(sharedRes) && sharedRes[si].seq < l.seq {
				resources = append(resources, sharedRes[si].res)
				si++
			}
			for j, e := range errs[i] {
				decodeErrs = append(decodeErrs, keyErr(e, l.file, 1, j))
			}
			for _, r := range read[i] {
				resources = append(resources, r)
				seqOf[r.Source] = l.seq
			}
			if len(read[i]) == 0 {
				res.Resources-- // not decoded: a whole read does not emit it either
			}
		}
		for _, k := range batch { // read: only its place in the input is kept
			all[k] = located{seq: all[k].seq}
		}
		for ; si < len(sharedRes); si++ {
			resources = append(resources, sharedRes[si].res)
		}
		for _, s := range sharedRes {
			seqOf[s.res.Source] = s.seq
		}
		set := pl.Facts(resources)
		for _, p := range set.Problems {
			// facts orders its problems by the input position of their
			// resource (a contained one counts as the first): so here.
			sq := -1
			var ie *fhir.InputError
			if errors.As(p, &ie) && ie.Source.Contained == "" {
				if q, ok := seqOf[ie.Source]; ok {
					sq = q
				}
			}
			if sq >= 0 && isSharedSeq(sharedRes, sq) {
				// Every batch has the shared resources: report once.
				if key := p.Error(); seenShared[key] {
					continue
				} else {
					seenShared[key] = true
				}
			}
			problems = append(problems, problemAt{err: p, seq: sq})
		}
		for t, n := range set.Later {
			if res.Later == nil {
				res.Later = map[string]int{}
			}
			res.Later[t] += n
		}
		res.Patients += len(set.Patients)
		for _, p := range set.Patients {
			res.Encounters += len(p.Encounters)
			res.Claims += len(p.Claims)
		}
		inInputOrder(set.Patients, seqOf, groupOf)
		nf, nm := len(res.Findings), len(res.Moot)
		if err := pl.reviewAll(ctx, set.Patients, workers, res); err != nil {
			return nil, err
		}
		if opt.Emit != nil {
			sortByPatient(set.Patients, res.Findings[nf:])
			sortByPatient(set.Patients, res.Moot[nm:])
			if err := opt.Emit(res.Findings[nf:], res.Moot[nm:]); err != nil {
				return nil, err
			}
			clear(res.Findings[nf:])
			clear(res.Moot[nm:])
			res.Findings, res.Moot = res.Findings[:nf], res.Moot[:nm]
		} else {
			slimFindings(res.Findings[nf:], res.Moot[nm:])
		}
		if opt.Progress != nil {
			opt.Progress(len(files)+len(files)*start/max(len(groups), 1), 2*len(files))
		}
	}
	res.Errors = append(res.Errors, listErrs...)
	res.Errors = append(res.Errors, orderRead(append(readErrs, decodeErrs...))...)
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].seq < problems[j].seq })
	for _, p := range problems {
		res.Errors = append(res.Errors, p.err)
	}
	SortWorklist(res.Findings)
	SortWorklist(res.Moot)
	return res, nil
}

// inInputOrder puts a batch's patients in the order of their groups (the
// groups' first resources in the input), keeping the facts' order within a
// group: the order a streamed review emits them in, which must not depend
// on which groups share the batch. A patient's group is the first of its
// resources' (groupOf by their top-level resource's input position).
func inInputOrder(patients []*facts.Patient, seqOf map[fhir.Source]int, groupOf map[int]int) {
	rank := make(map[*facts.Patient]int, len(patients))
	for _, p := range patients {
		r := -1
		see := func(src fhir.Source) {
			src.Contained = ""
			if sq, ok := seqOf[src]; ok {
				if g, ok := groupOf[sq]; ok && (r < 0 || g < r) {
					r = g
				}
			}
		}
		if p.Source.File != "" {
			see(p.Source)
		}
		for _, e := range p.Encounters {
			see(e.Source)
		}
		for _, c := range p.Claims {
			see(c.Source)
		}
		if r < 0 {
			r = math.MaxInt // known only by reference: after the others, in the facts' order
		}
		rank[p] = r
	}
	slices.SortStableFunc(patients, func(a, b *facts.Patient) int { return cmp.Compare(rank[a], rank[b]) })
}

// sortByPatient orders findings by their patient's place in patients, and
// a patient's as SortWorklist does.
func sortByPatient(patients []*facts.Patient, fs []checks.Finding) {
	pos := make(map[*facts.Patient]int, len(patients))
	for i, p := range patients {
		pos[p] = i
	}
	place := func(f *checks.Finding) int {
		if i, ok := pos[f.Patient]; ok {
			return i
		}
		return len(patients)
	}
	sort.SliceStable(fs, func(i, j int) bool { return place(&fs[i]) < place(&fs[j]) })
	for i := 0; i < len(fs); {
		j := i + 1
		for j < len(fs) && place(&fs[j]) == place(&fs[i]) {
			j++
		}
		SortWorklist(fs[i:j])
		i = j
	}
}

// slimFindings lets the findings of a batch outlive it without its facts:
// each keeps a copy of its patient, stay and claim with what the outputs
// read (references, keys, names, dates), not the links between them (a
// stay's Patient and Claims would keep the patient's whole record).
func slimFindings(lists ...[]checks.Finding) {
	patients := map[*facts.Patient]*facts.Patient{}
	encounters := map[*facts.Encounter]*facts.Encounter{}
	claims := map[*facts.Claim]*facts.Claim{}
	patient := func(p *facts.Patient) *facts.Patient {
		if p == nil {
			return nil
		}
		if patients[p] == nil {
			c := *p
			c.Encounters, c.Claims, c.Tasks, c.Communications = nil, nil, nil, nil
			patients[p] = &c
		}
		return patients[p]
	}
	for _, fs := range lists {
		for i := range fs {
			f := &fs[i]
			f.Patient = patient(f.Patient)
			if e := f.Encounter; e != nil {
				if encounters[e] == nil {
					encounters[e] = &facts.Encounter{Ref: e.Ref, Key: e.Key, Source: e.Source, Patient: patient(e.Patient),
						Status: e.Status, Class: e.Class, Start: e.Start, End: e.End, StartPrecision: e.StartPrecision, EndPrecision: e.EndPrecision}
				}
				f.Encounter = encounters[e]
			}
			if c := f.Claim; c != nil {
				if claims[c] == nil {
					claims[c] = &facts.Claim{Ref: c.Ref, Key: c.Key, Source: c.Source, Patient: patient(c.Patient),
						Status: c.Status, Use: c.Use, Type: c.Type, Created: c.Created, BillableStart: c.BillableStart, BillableEnd: c.BillableEnd}
				}
				f.Claim = claims[c]
			}
		}
	}
}

// keyedErr is a read problem with its place in the input: its file, and
// in the file the place of the resource it is about (NDJSON line, Bundle
// entry, nested entry), then pass 1's problems of that place before
// pass 2's (a resource's decoding comes after what its entry said), each in
// the order found.
type keyedErr struct {
	err                       error
	file, line, entry, nested int
	phase, idx                int
}

func keyErr(err error, file, phase, idx int) keyedErr {
	k := keyedErr{err: err, file: file, entry: -1, phase: phase, idx: idx}
	var ie *fhir.InputError
	if errors.As(err, &ie) {
		k.entry, k.nested = ie.Source.Entry, ie.Source.Nested
		if isNDJSON(ie.Source.File) {
			k.line = ie.Source.Line
		}
	}
	return k
}

// orderRead puts the read problems of both passes in the order one whole
// read reports them: file by file, and in a file by place.
func orderRead(all []keyedErr) []error {
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		for _, d := range [...]int{a.file - b.file, a.line - b.line, a.entry - b.entry, a.nested - b.nested, a.phase - b.phase, a.idx - b.idx} {
			if d != 0 {
				return d < 0
			}
		}
		return false
	})
	out := make([]error, len(all))
	for i, k := range all {
		out[i] = k.err
	}
	return out
}

// problemAt is a problem of the facts with the input position of its resource.
type problemAt struct {
	err error
	seq int
}

type sharedResource struct {
	res *fhir.Resource
	seq int
}

func isSharedSeq(shared []sharedResource, seq int) bool {
	i := sort.Search(len(shared), func(i int) bool { return shared[i].seq >= seq })
	return i < len(shared) && shared[i].seq == seq
}

// indexFile is pass 1 over one file.
func indexFile(scanner *fhir.Reader, path string) indexedFile {
	out := indexedFile{skipped: map[string]int{}}
	emit := func(base int64, lines *lineCounter) func(*fhir.Resource) {
		return func(r *fhir.Resource) {
			seq := out.emitted
			out.emitted++
			if !readTypes[r.Type] {
				out.skipped[r.Type]++
				return
			}
			l := located{
				off: base + int64(r.Offset), end: base + int64(r.Offset+len(r.Raw)),
				src: r.Source, fullURL: r.FullURL, typ: r.Type, id: r.ID, seq: seq,
			}
			if r.Source.Line == 0 {
				l.line = lines.at(r.Offset)
			}
			if !sharedTypes[r.Type] {
				l.refs = references(r.Raw)
				l.idents, l.weak = patientIdentifiers(r)
			}
			out.found = append(out.found, l)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		out.errs = fhir.NewReader("-").ReadPaths([]string{path}, func(*fhir.Resource) {})
		return out
	}
	defer f.Close()
	if !isNDJSON(path) {
		data, err := io.ReadAll(f)
		if err != nil {
			out.errs = fhir.NewReader("-").ReadPaths([]string{path}, func(*fhir.Resource) {})
			return out
		}
		out.errs = scanner.ReadBytes(path, data, emit(0, &lineCounter{b: data}))
		return out
	}
	// NDJSON: chunks cut after a newline, so that a file of any size is
	// read with ndjsonChunk of memory (or its longest line).
	br := bufio.NewReaderSize(f, 64<<10)
	var base int64
	line := 1
	buf := make([]byte, 0, ndjsonChunk)
	for {
		buf = buf[:0]
		var rerr error
		for len(buf) < ndjsonChunk {
			var part []byte
			part, rerr = br.ReadSlice('\n')
			buf = append(buf, part...)
			if rerr == bufio.ErrBufferFull {
				continue
			}
			if rerr != nil {
				break
			}
		}
		if len(buf) > 0 {
			out.errs = append(out.errs, scanner.ReadNDJSON(path, line, buf, emit(base, nil))...)
			line += bytes.Count(buf, []byte("\n"))
			base += int64(len(buf))
		}
		if rerr != nil {
			break
		}
	}
	return out
}

func isNDJSON(name string) bool {
	return strings.HasSuffix(strings.ToLower(name), ".ndjson") || strings.HasSuffix(strings.ToLower(name), ".jsonl")
}

// lineCounter gives the 1-based line of offsets, mostly increasing, in b.
type lineCounter struct {
	b         []byte
	off, line int
}

func (c *lineCounter) at(off int) int {
	if c == nil {
		return 0
	}
	if c.line == 0 || off < c.off {
		c.off, c.line = 0, 1
	}
	c.line += bytes.Count(c.b[c.off:off], []byte("\n"))
	c.off = off
	return c.line
}

// openFiles keeps the files of one batch open while it is read.
type openFiles struct {
	paths []string
	mu    sync.Mutex
	files map[int]*os.File
	errs  map[int]error
}

func newOpenFiles(paths []string) *openFiles {
	return &openFiles{paths: paths, files: map[int]*os.File{}, errs: map[int]error{}}
}

func (o *openFiles) get(i int) (*os.File, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if f, ok := o.files[i]; ok {
		return f, nil
	}
	if err, ok := o.errs[i]; ok {
		return nil, err
	}
	f, err := os.Open(o.paths[i])
	if err != nil {
		o.errs[i] = err
		return nil, err
	}
	o.files[i] = f
	return f, nil
}

func (o *openFiles) close() {
	for _, f := range o.files {
		f.Close()
	}
}

// readLocated reads one resource of pass 1 again from its file and decodes it.
func readLocated(decoder *fhir.Reader, open *openFiles, l *located) ([]*fhir.Resource, []error) {
	path := open.paths[l.file]
	f, err := open.get(l.file)
	if err != nil {
		return nil, []error{&fhir.InputError{Source: l.src, Err: fmt.Errorf("cannot read again: %w", err)}}
	}
	data := make([]byte, l.end-l.off)
	if _, err := f.ReadAt(data, l.off); err != nil {
		return nil, []error{&fhir.InputError{Source: l.src, Err: fmt.Errorf("cannot read again: %w", err)}}
	}
	var out []*fhir.Resource
	errs := decoder.ReadResource(path, data, l.src, l.fullURL, l.line, func(r *fhir.Resource) { out = append(out, r) })
	return out, errs
}

// readShared decodes the shared resources (Organizations) once.
func readShared(decoder *fhir.Reader, files []string, shared []*located) ([]sharedResource, []keyedErr) {
	var out []sharedResource
	var errs []keyedErr
	open := newOpenFiles(files)
	defer open.close()
	for _, l := range shared {
		rs, es := readLocated(decoder, open, l)
		for _, r := range rs {
			out = append(out, sharedResource{res: r, seq: l.seq})
		}
		for j, e := range es {
			errs = append(errs, keyErr(e, l.file, 1, j))
		}
	}
	return out, errs
}

// group joins the located resources by their references into groups (each
// a list of indexes into all, in input order; groups in the order of their
// first resource) and returns the shared ones apart.
func group(all []located) (groups [][]int, shared []*located) {
	parent := make([]int, len(all))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	union := func(a, b int) {
		ra, rb := find(a), find(b)
		if ra == rb {
			return
		}
		if ra < rb {
			parent[rb] = ra
		} else {
			parent[ra] = rb
		}
	}
	byRef := map[string]int{}
	byURL := map[string]int{}
	virtual := map[string]int{} // unresolved references of the patient compartment
	for i := range all {
		l := &all[i]
		// Two resources with one Type/id (or fullUrl) are one resource read
		// twice (the last wins) or, for facts, one patient's: one group.
		if l.id != "" {
			key := l.typ + "/" + l.id
			if j, ok := byRef[key]; ok && !sharedTypes[l.typ] {
				union(i, j)
			}
			byRef[key] = i
		}
		if l.fullURL != "" {
			if j, ok := byURL[l.fullURL]; ok && !sharedTypes[l.typ] && !sharedTypes[all[j].typ] {
				union(i, j)
			}
			byURL[l.fullURL] = i
			if rel := fhir.RelativeRef(l.fullURL); rel != "" {
				if _, ok := byRef[rel]; !ok {
					byRef[rel] = i
				}
			}
		}
	}
	idents := map[string]int{}
	for i := range all {
		l := &all[i]
		if sharedTypes[l.typ] {
			shared = append(shared, l)
			continue
		}
		for _, key := range l.idents {
			if j, ok := idents[key]; ok {
				union(i, j)
			} else {
				idents[key] = i
			}
		}
		for _, ref := range l.refs {
			j, ok := -1, false
			if strings.HasPrefix(ref, "urn:") || strings.Contains(ref, "://") {
				j, ok = byURL[ref]
			}
			rel := fhir.RelativeRef(ref)
			if !ok && rel != "" {
				j, ok = byRef[rel]
			}
			if ok {
				if !sharedTypes[all[j].typ] {
					union(i, j)
				}
				continue
			}
			// Unresolved: resources naming the same missing patient (or
			// stay, claim) are one patient's, as facts groups them.
			typ, _, _ := strings.Cut(rel, "/")
			if rel == "" || !joinType(typ) {
				continue
			}
			if v, ok := virtual[rel]; ok {
				union(i, v)
			} else {
				virtual[rel] = i
			}
		}
	}
	for i := range all {
		for _, key := range all[i].weak {
			if j, ok := idents[key]; ok {
				union(i, j)
			}
		}
	}
	index := map[int]int{}
	for i := range all {
		if sharedTypes[all[i].typ] {
			continue
		}
		r := find(i)
		g, ok := index[r]
		if !ok {
			g = len(groups)
			index[r] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	return groups, shared
}

// references returns every Reference.reference string in raw (the
// resource and its contained ones), less "#id" references inside it.
func references(raw []byte) []string {
	var out []string
	key := []byte(`"reference"`)
	for i := 0; ; {
		k := bytes.Index(raw[i:], key)
		if k < 0 {
			return out
		}
		i += k + len(key)
		j := i
		for j < len(raw) && (raw[j] == ' ' || raw[j] == '\t' || raw[j] == '\n' || raw[j] == '\r') {
			j++
		}
		if j >= len(raw) || raw[j] != ':' {
			continue
		}
		j++
		for j < len(raw) && (raw[j] == ' ' || raw[j] == '\t' || raw[j] == '\n' || raw[j] == '\r') {
			j++
		}
		if j >= len(raw) || raw[j] != '"' {
			continue
		}
		e := bytes.IndexByte(raw[j+1:], '"')
		if e < 0 {
			return out
		}
		s := raw[j+1 : j+1+e]
		if bytes.IndexByte(s, '\\') >= 0 {
			var v string
			end := j + 1 + e + 1
			for end <= len(raw) && json.Unmarshal(raw[j:end], &v) != nil {
				n := bytes.IndexByte(raw[end:], '"')
				if n < 0 {
					return out
				}
				end += n + 1
			}
			s = []byte(v)
		}
		if keepReference(s) && !slices.ContainsFunc(out, func(r string) bool { return r == string(s) }) {
			out = append(out, string(s))
		}
		i = j + 1 + e
	}
}

// patientIdentifiers returns the identifiers by which r names a patient
// (see located.idents). Only the few resources that may have one (a
// logical reference to a patient, a contained Patient) are decoded further.
func patientIdentifiers(r *fhir.Resource) (strong, weak []string) {
	if r.Type == "Patient" {
		keys := identifierKeys(r.Raw)
		if r.ID == "" {
			strong = keys
		} else {
			weak = keys
		}
		return strong, weak
	}
	if memberFollowedBy(r.Raw, `"identifier"`, "{") { // decoded only where a logical reference may be
		strong = logicalPatients(r.Raw)
	}
	// r is not a Patient: a resourceType Patient in it is a contained one.
	if !memberFollowedBy(r.Raw, `"resourceType"`, `"Patient"`) {
		return strong, weak
	}
	var v struct {
		Contained []json.RawMessage `json:"contained"`
	}
	if json.Unmarshal(r.Raw, &v) != nil {
		return strong, weak
	}
	for _, c := range v.Contained {
		var head struct {
			ResourceType string `json:"resourceType"`
		}
		if json.Unmarshal(c, &head) == nil && head.ResourceType == "Patient" {
			strong = append(strong, identifierKeys(c)...)
		}
	}
	return strong, weak
}

// keepReference reports whether pass 1 keeps a reference: one that may
// join groups. Not kept: "#id" (inside the resource), conditional
// references (never resolved), and references by type to a type that
// cannot join (shared, or not read by the engine: Practitioner, Location).
func keepReference(ref []byte) bool {
	if len(ref) == 0 || ref[0] == '#' || bytes.IndexByte(ref, '?') >= 0 {
		return false
	}
	if bytes.HasPrefix(ref, []byte("urn:")) {
		return true
	}
	rel := fhir.RelativeRef(string(ref))
	if rel == "" {
		return bytes.Contains(ref, []byte("://")) // an absolute URL may still be a fullUrl
	}
	typ, _, _ := strings.Cut(rel, "/")
	return joinType(typ)
}

// joinType reports whether references to resources of type t join groups.
func joinType(t string) bool {
	return !sharedTypes[t] && readTypes[t]
}

// memberFollowedBy reports whether raw has the key (quoted) as a member
// whose value starts with value: a fast test (bytes.Index) where a regular
// expression over every byte of every resource would be slow.
func memberFollowedBy(raw []byte, key, value string) bool {
	k := []byte(key)
	for i := 0; ; {
		j := bytes.Index(raw[i:], k)
		if j < 0 {
			return false
		}
		i += j + len(k)
		v := i
		for v < len(raw) && (raw[v] == ' ' || raw[v] == '\t' || raw[v] == '\n' || raw[v] == '\r' || raw[v] == ':') {
			v++
		}
		if bytes.HasPrefix(raw[v:], []byte(value)) {
			return true
		}
	}
}

// identifierKeys are the "system|value" of a Patient's identifiers.
func identifierKeys(raw []byte) []string {
	var p struct {
		Identifier []struct {
			System string `json:"system"`
			Value  string `json:"value"`
		} `json:"identifier"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return nil
	}
	var out []string
	for _, id := range p.Identifier {
		if id.Value != "" {
			out = append(out, id.System+"|"+id.Value)
		}
	}
	return out
}
