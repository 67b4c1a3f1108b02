package review

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"maps"
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
// line) and what it refers to (as hashes of the strings: key); resources
// of other types are counted and dropped. References join resources into groups (union-find): a group is
// a patient's resources, or several patients' when they refer to each other.
// Organizations are shared by many patients: they are decoded once and held
// in a small in-memory list given to every batch, and references to them do
// not join groups.
//
// Pass 2 reviews the groups in batches of about Options.BatchBytes of
// JSON content (the resources' bytes less their whitespace), in input order: each batch reads only its resources' byte ranges
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

// DefaultBatchBytes is the JSON content (bytes less whitespace) a batch of
// the indexed review reads at most, unless one group of resources is
// larger. Decoded, a batch holds about 8 to 10 times it at its largest.
// Measured at 100 Synthea copies (docs/benchmarks.md): 4 MB gave the same
// speed as 8 and 16, and a third less peak memory than 8.
const DefaultBatchBytes = 4 << 20

// layoutBytes counts the spaces, line breaks and tabs in raw: the
// indentation of a pretty-printed resource (and the spaces in its text,
// which are few beside it).
func layoutBytes(raw []byte) int {
	return bytes.Count(raw, []byte{' '}) + bytes.Count(raw, []byte{'\n'}) + bytes.Count(raw, []byte{'\t'}) + bytes.Count(raw, []byte{'\r'})
}

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

// typeNames are the types of readTypes, sorted: located.typ indexes them.
var typeNames = slices.Sorted(maps.Keys(readTypes))

// typeNumbers and sharedTypeNumbers are typeNames as a map, and which of
// them are sharedTypes.
var typeNumbers, sharedTypeNumbers = func() (map[string]uint8, []bool) {
	m := map[string]uint8{}
	shared := make([]bool, len(typeNames))
	for i, t := range typeNames {
		m[t] = uint8(i)
		shared[i] = sharedTypes[t]
	}
	return m, shared
}()

// located is one resource found by pass 1: where to read it again and
// what pass 2 needs to read it as a whole read does (fhir.Reader's
// ReadResource). One is kept for every resource of the engine's types until
// the end of the review, so it is small and fixed-size, with no pointers
// for the garbage collector to follow. The path of its file is
// fhir.Source.File (pass 1 reads each file by the path listed); its
// Source.Contained is "" (the reader emits top-level resources only).
type located struct {
	off  int64 // where its bytes start in its file
	url  int64 // where its fullUrl is in index.urls; -1: it has none
	size int32 // how many bytes it has
	// weight is size less its spaces, tabs and line breaks (indentation,
	// mostly): what a batch counts, since decoding holds the JSON's content,
	// not its layout; pretty-printed Bundles and compact NDJSON of the same
	// resources then weigh the same.
	weight int32
	file   int32 // index of its file
	// line is its Source.Line if ndjson is set (the resource is one line);
	// otherwise the line of the file it starts on (whole-file JSON).
	line          int32
	entry, nested int32  // Source.Entry and Source.Nested
	seq           int32  // position in the input (top-level resources of every type)
	keys          uint32 // how many keys index.keys has for it (until grouped)
	typ           uint8  // index in typeNames
	ndjson        bool
}

// source is l's place in the input, the path of its file being path.
func (l *located) source(path string) fhir.Source {
	src := fhir.Source{File: path, Entry: int(l.entry), Nested: int(l.nested)}
	if l.ndjson {
		src.Line = int(l.line)
	}
	return src
}

// shared reports whether l is of one of the sharedTypes.
func (l *located) shared() bool { return sharedTypeNumbers[l.typ] }

// indexedFile is what pass 1 found in one file: as index, for one file.
type indexedFile struct {
	found   []located
	urls    []byte
	keys    []key
	errs    []error
	emitted int
	skipped map[string]int
	// tooLarge is set when a count or size of the file does not fit in located.
	tooLarge bool
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
	var mu sync.Mutex
	done := 0
	ix, err := passOne(ctx, scanner, files, workers, func() {
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
	res := &Result{Files: len(files), UnmatchedPayers: map[string]int{}, Skipped: ix.skipped, Resources: ix.emitted}
	all, readErrs := ix.all, ix.errs

	groups, shared := ix.group()
	sharedRes, sharedErrs := readShared(decoder, files, ix, shared)

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
	sharedSeq := make(map[fhir.Source]int, len(sharedRes)) // built once: every batch has them
	for _, s := range sharedRes {
		sharedSeq[s.res.Source] = s.seq
	}
	for start := 0; start < len(groups); {
		end, size := start, int64(0)
		for end < len(groups) && (end == start || size < batchSize) {
			for _, k := range groups[end] {
				size += int64(all[k].weight)
			}
			end++
		}
		var batch []int32
		groupOf := map[int]int{} // seq → group, to put the patients in input order
		for gi, g := range groups[start:end] {
			batch = append(batch, g...)
			for _, k := range g {
				groupOf[int(all[k].seq)] = start + gi
			}
		}
		start = end
		slices.Sort(batch) // input order
		read := make([][]*fhir.Resource, len(batch))
		errs := make([][]error, len(batch))
		open := newOpenFiles(files)
		err := parallel(ctx, workers, len(batch), func(i int) {
			l := &all[batch[i]]
			read[i], errs[i] = readLocated(decoder, open, ix, l)
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
			for si < len(sharedRes) && sharedRes[si].seq < int(l.seq) {
				resources = append(resources, sharedRes[si].res)
				si++
			}
			for j, e := range errs[i] {
				decodeErrs = append(decodeErrs, keyErr(e, int(l.file), 1, j))
			}
			for _, r := range read[i] {
				resources = append(resources, r)
				seqOf[r.Source] = int(l.seq)
			}
			if len(read[i]) == 0 {
				res.Resources-- // not decoded: a whole read does not emit it either
			}
		}
		for ; si < len(sharedRes); si++ {
			resources = append(resources, sharedRes[si].res)
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
				} else if q, ok := sharedSeq[ie.Source]; ok {
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

// index is what pass 1 found in all the files.
type index struct {
	all []located // in input order
	// urls are the fullUrls of all, each as its length (binary.AppendUvarint)
	// and its bytes: one array, where a string each would cost a header, a
	// pointer and an allocation.
	urls []byte
	// keys are what joins the resources of all into groups, resource by
	// resource: the first all[0].keys are all[0]'s, the next all[1].keys
	// all[1]'s, and so on. group drops them.
	keys    []key
	errs    []keyedErr
	emitted int            // resources of every type
	skipped map[string]int // resources of types the engine does not read, by type
}

// errTooLarge is passOne's error for an input whose counts or sizes do not
// fit in located's 32-bit fields: more than 2^31 resources, files, lines
// or entries, or a resource of 2 GiB or more.
var errTooLarge = errors.New("input too large for the indexed review (a count or size of 2^31 or more)")

// passOne is pass 1 over files, workers at once; done is called after each file.
func passOne(ctx context.Context, scanner *fhir.Reader, files []string, workers int, done func()) (*index, error) {
	outs := make([]indexedFile, len(files))
	err := parallel(ctx, workers, len(files), func(i int) {
		outs[i] = indexFile(scanner, files[i])
		done()
	})
	if err != nil {
		return nil, err
	}
	// Merged into arrays of the exact size, without the slack of append.
	var found, urls, keys, emitted int
	for fi := range outs {
		o := &outs[fi]
		if o.tooLarge {
			return nil, errTooLarge
		}
		found, urls, keys, emitted = found+len(o.found), urls+len(o.urls), keys+len(o.keys), emitted+o.emitted
	}
	if len(files) > math.MaxInt32 || emitted > math.MaxInt32 {
		return nil, errTooLarge
	}
	ix := &index{
		all:     make([]located, 0, found),
		urls:    make([]byte, 0, urls),
		keys:    make([]key, 0, keys),
		emitted: emitted,
		skipped: map[string]int{},
	}
	seq := 0
	for fi := range outs {
		o := &outs[fi]
		base := int64(len(ix.urls))
		for j := range o.found {
			l := &o.found[j]
			l.seq += int32(seq)
			l.file = int32(fi)
			if l.url >= 0 {
				l.url += base
			}
		}
		for i, e := range o.errs {
			ix.errs = append(ix.errs, keyErr(e, fi, 0, i))
		}
		seq += o.emitted
		for k, v := range o.skipped {
			ix.skipped[k] += v
		}
		ix.all = append(ix.all, o.found...)
		ix.urls = append(ix.urls, o.urls...)
		ix.keys = append(ix.keys, o.keys...)
		outs[fi] = indexedFile{}
	}
	return ix, nil
}

// fullURL is l's fullUrl, "" if it has none.
func (ix *index) fullURL(l *located) string {
	if l.url < 0 {
		return ""
	}
	n, w := binary.Uvarint(ix.urls[l.url:])
	return string(ix.urls[l.url+int64(w) : l.url+int64(w)+int64(n)])
}

// indexFile is pass 1 over one file.
func indexFile(scanner *fhir.Reader, path string) indexedFile {
	out := indexedFile{skipped: map[string]int{}}
	var id []byte  // "Type/id" of the resource, to be hashed
	var seen []key // the first keys of the resource's references
	emit := func(base int64, lines *lineCounter) func(*fhir.Resource) {
		return func(r *fhir.Resource) {
			seq := out.emitted
			out.emitted++
			typ, ok := typeNumbers[r.Type]
			if !ok {
				out.skipped[r.Type]++
				return
			}
			line := r.Source.Line
			if line == 0 {
				line = lines.at(r.Offset)
			}
			if max(len(r.Raw), line, r.Source.Entry, r.Source.Nested) > math.MaxInt32 {
				out.tooLarge = true
				return
			}
			l := located{
				off: base + int64(r.Offset), url: -1, size: int32(len(r.Raw)), weight: int32(len(r.Raw) - layoutBytes(r.Raw)),
				line: int32(line), entry: int32(r.Source.Entry), nested: int32(r.Source.Nested),
				seq: int32(seq), typ: typ, ndjson: r.Source.Line != 0,
			}
			start := len(out.keys)
			if r.ID != "" {
				id = append(append(append(id[:0], r.Type...), '/'), r.ID...)
				out.keys = append(out.keys, bytesKey(keyID, id))
			}
			if r.FullURL != "" {
				l.url = int64(len(out.urls))
				out.urls = binary.AppendUvarint(out.urls, uint64(len(r.FullURL)))
				out.urls = append(out.urls, r.FullURL...)
				out.keys = append(out.keys, stringKey(keyFullURL, r.FullURL))
				if rel := fhir.RelativeRef(r.FullURL); rel != "" {
					out.keys = append(out.keys, stringKey(keyFullURLType, rel))
				}
			}
			if !l.shared() {
				strong, weak := patientIdentifiers(r)
				for _, s := range strong {
					out.keys = append(out.keys, stringKey(keyIdent, s))
				}
				seen = seen[:0]
				eachReference(r.Raw, func(ref []byte) {
					ks, n := referenceKeys(ref)
					if n > 0 && !slices.Contains(seen, ks[0]) {
						seen = append(seen, ks[0])
						out.keys = append(out.keys, ks[:n]...)
					}
				})
				for _, s := range weak {
					out.keys = append(out.keys, stringKey(keyWeak, s))
				}
			}
			l.keys = uint32(len(out.keys) - start)
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
func readLocated(decoder *fhir.Reader, open *openFiles, ix *index, l *located) ([]*fhir.Resource, []error) {
	path := open.paths[l.file]
	src := l.source(path)
	f, err := open.get(int(l.file))
	if err != nil {
		return nil, []error{&fhir.InputError{Source: src, Err: fmt.Errorf("cannot read again: %w", err)}}
	}
	data := make([]byte, l.size)
	if _, err := f.ReadAt(data, l.off); err != nil {
		return nil, []error{&fhir.InputError{Source: src, Err: fmt.Errorf("cannot read again: %w", err)}}
	}
	firstLine := int(l.line)
	if l.ndjson {
		firstLine = 0
	}
	var out []*fhir.Resource
	errs := decoder.ReadResource(path, data, src, ix.fullURL(l), firstLine, func(r *fhir.Resource) { out = append(out, r) })
	return out, errs
}

// readShared decodes the shared resources (Organizations) once.
func readShared(decoder *fhir.Reader, files []string, ix *index, shared []*located) ([]sharedResource, []keyedErr) {
	var out []sharedResource
	var errs []keyedErr
	open := newOpenFiles(files)
	defer open.close()
	for _, l := range shared {
		rs, es := readLocated(decoder, open, ix, l)
		for _, r := range rs {
			out = append(out, sharedResource{res: r, seq: int(l.seq)})
		}
		for j, e := range es {
			errs = append(errs, keyErr(e, int(l.file), 1, j))
		}
	}
	return out, errs
}

// group joins the resources of ix.all by their keys into groups (each a
// list of indexes into ix.all, in input order; groups in the order of
// their first resource) and returns the shared ones apart. It drops the
// keys: they are no longer needed.
func (ix *index) group() (groups [][]int32, shared []*located) {
	all := ix.all
	parent := make([]int32, len(all))
	for i := range parent {
		parent[i] = int32(i)
	}
	find := func(i int32) int32 {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	union := func(a, b int32) {
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
	withURL := 0
	for i := range all {
		if all[i].url >= 0 {
			withURL++
		}
	}
	byRef := make(map[key]int32, len(all))
	byURL := make(map[key]int32, withURL)
	next := 0 // where the keys of all[i] start in ix.keys
	for i := range all {
		l := &all[i]
		ks := ix.keys[next : next+int(l.keys)]
		next += len(ks)
		for _, k := range ks {
			// Two resources with one Type/id (or fullUrl) are one resource
			// read twice (the last wins) or, for facts, one patient's: one group.
			h := k.hash()
			switch k.kind() {
			case keyID:
				if j, ok := byRef[h]; ok && !l.shared() {
					union(int32(i), j)
				}
				byRef[h] = int32(i)
			case keyFullURL:
				if j, ok := byURL[h]; ok && !l.shared() && !all[j].shared() {
					union(int32(i), j)
				}
				byURL[h] = int32(i)
			case keyFullURLType:
				if _, ok := byRef[h]; !ok {
					byRef[h] = int32(i)
				}
			}
		}
	}
	idents := map[key]int32{}
	virtual := map[key]int32{} // unresolved references of the patient compartment
	next = 0
	for i := range all {
		ks := ix.keys[next : next+int(all[i].keys)]
		next += len(ks)
		if all[i].shared() {
			shared = append(shared, &all[i])
			continue
		}
		for n := 0; n < len(ks); n++ {
			k := ks[n]
			h := k.hash()
			switch k.kind() {
			case keyIdent:
				if j, ok := idents[h]; ok {
					union(int32(i), j)
				} else {
					idents[h] = int32(i)
				}
			case keyRefURL, keyRefURLOrType:
				j, ok := byURL[h]
				if !ok {
					continue // by the keyRefType that follows, if any
				}
				if k.kind() == keyRefURLOrType {
					n++ // resolved: not by its Type/id
				}
				if !all[j].shared() {
					union(int32(i), j)
				}
			case keyRefType, keyRefTypeNoJoin:
				if j, ok := byRef[h]; ok {
					if !all[j].shared() {
						union(int32(i), j)
					}
					continue
				}
				// Unresolved: resources naming the same missing patient (or
				// stay, claim) are one patient's, as facts groups them.
				if k.kind() == keyRefTypeNoJoin {
					continue
				}
				if v, ok := virtual[h]; ok {
					union(int32(i), v)
				} else {
					virtual[h] = int32(i)
				}
			}
		}
	}
	next = 0
	for i := range all {
		ks := ix.keys[next : next+int(all[i].keys)]
		next += len(ks)
		for _, k := range ks {
			if k.kind() != keyWeak {
				continue
			}
			if j, ok := idents[k.hash()]; ok {
				union(int32(i), j)
			}
		}
	}
	ix.keys = nil
	byRef, byURL, idents, virtual = nil, nil, nil, nil

	// The groups share one array: number them in the order of their first
	// resource, count them, then fill them in input order.
	number := make([]int32, len(all)) // of a root: 1 + the number of its group
	var sizes []int32
	for i := range all {
		if all[i].shared() {
			continue
		}
		r := find(int32(i))
		if number[r] == 0 {
			sizes = append(sizes, 0)
			number[r] = int32(len(sizes))
		}
		sizes[number[r]-1]++
	}
	members := make([]int32, len(all)-len(shared))
	groups = make([][]int32, len(sizes))
	start := 0
	for g, n := range sizes {
		groups[g] = members[start : start : int(n)+start]
		start += int(n)
	}
	for i := range all {
		if !all[i].shared() {
			g := number[find(int32(i))] - 1
			groups[g] = append(groups[g], int32(i))
		}
	}
	return groups, shared
}

// references returns every Reference.reference string in raw (the
// resource and its contained ones) that pass 1 keeps (keepReference), each
// once: what pass 1 hashes as it finds them (referenceKeys).
func references(raw []byte) []string {
	var out []string
	eachReference(raw, func(ref []byte) {
		if keepReference(ref) && !slices.Contains(out, string(ref)) {
			out = append(out, string(ref))
		}
	})
	return out
}

// eachReference calls yield with every Reference.reference string in raw
// (the resource and its contained ones), unescaped, in the order written.
// The bytes may alias raw: yield must not keep them.
func eachReference(raw []byte, yield func(ref []byte)) {
	key := []byte(`"reference"`)
	for i := 0; ; {
		k := bytes.Index(raw[i:], key)
		if k < 0 {
			return
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
			return
		}
		s := raw[j+1 : j+1+e]
		if bytes.IndexByte(s, '\\') >= 0 {
			var v string
			end := j + 1 + e + 1
			for end <= len(raw) && json.Unmarshal(raw[j:end], &v) != nil {
				n := bytes.IndexByte(raw[end:], '"')
				if n < 0 {
					return
				}
				end += n + 1
			}
			s = []byte(v)
		}
		yield(s)
		i = j + 1 + e
	}
}

// patientIdentifiers returns the identifiers "system|value" by which r
// names a patient: strong and weak as keyIdent and keyWeak say. Only the
// few resources that may have one (a logical reference to a patient, a
// contained Patient) are decoded further.
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
	// Where to look: the members that name a patient and the contained
	// resources, as the reader's scan found them; the whole resource when
	// they may not be all there is (Scan.Folded), or r was not scanned.
	whole := !r.Scan.Scanned || r.Scan.Folded
	in := func(sp [2]int, key, value string) bool {
		return sp[1] > 0 && memberFollowedBy(r.Raw[sp[0]:sp[1]], key, value)
	}
	logical := whole && memberFollowedBy(r.Raw, `"identifier"`, "{")
	for _, sp := range r.Scan.Patient {
		logical = logical || !whole && in(sp, `"identifier"`, "{")
	}
	if logical || !whole && in(r.Scan.Contained, `"identifier"`, "{") { // decoded only where a logical reference may be
		strong = logicalPatients(r.Raw)
	}
	contained := r.Scan.Contained
	if whole {
		contained = [2]int{0, len(r.Raw)}
	}
	// r is not a Patient: a resourceType Patient in it is a contained one.
	if !in(contained, `"resourceType"`, `"Patient"`) {
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
	keep, _, _, _ := lookups(ref)
	return keep
}

// lookups says whether pass 1 keeps a reference (keepReference) and how
// group resolves it: by fullUrl if url (a urn: or an absolute URL, which
// may be a fullUrl), else or then by its "Type/id" rel ("" if it has
// none); when still unresolved, as a missing resource that joins the
// resources naming it if joins (its type joins groups).
func lookups(ref []byte) (keep, url bool, rel string, joins bool) {
	if len(ref) == 0 || ref[0] == '#' || bytes.IndexByte(ref, '?') >= 0 {
		return false, false, "", false
	}
	urn := bytes.HasPrefix(ref, []byte("urn:"))
	url = urn || bytes.Contains(ref, []byte("://"))
	rel = fhir.RelativeRef(string(ref))
	if rel != "" {
		typ, _, _ := strings.Cut(rel, "/")
		joins = joinType(typ)
	}
	keep = urn || rel == "" && url || rel != "" && joins
	return keep, url, rel, joins
}

// referenceKeys are the keys of a reference, n of them: none if pass 1
// does not keep it; its own (keyRefURL) if group looks it up by fullUrl
// only; its own (keyRefURLOrType) and its Type/id's if by fullUrl, then by
// Type/id; its Type/id's if by Type/id only. The first stands for the
// reference: two with the same first key are resolved alike.
func referenceKeys(ref []byte) (keys [2]key, n int) {
	keep, url, rel, joins := lookups(ref)
	if !keep {
		return keys, 0
	}
	byType := keyRefTypeNoJoin
	if joins {
		byType = keyRefType
	}
	switch {
	case url && rel != "":
		return [2]key{bytesKey(keyRefURLOrType, ref), stringKey(byType, rel)}, 2
	case url:
		return [2]key{bytesKey(keyRefURL, ref)}, 1
	default:
		return [2]key{stringKey(byType, rel)}, 1
	}
}

// A key stands for a string group compares: a "Type/id", a fullUrl, a
// reference, an identifier "system|value". The strings cost as much as the
// rest of the index (48 of its 90 MB at 100 Synthea copies); a key is 16
// bytes, whatever the string. It is two maphash sums of the string, with
// independent random seeds, of which the low kindBits bits of the second
// are replaced by what the string is (keyKind): 124 bits of hash, so that
// some two of n different strings have one key with a probability of
// about n²/2^125, 10^-22 for n = 10^8. The seeds are drawn for each
// process, so input cannot be written to collide.
type key [2]uint64

// keyKind is what a key stands for, and so what group does with it.
type keyKind uint8

const (
	keyID          keyKind = iota // the resource's "Type/id"
	keyFullURL                    // its fullUrl
	keyFullURLType                // its fullUrl's "Type/id"
	// An identifier by which the resource names a patient: a logical
	// reference's, a contained Patient's, a Patient's without id (facts
	// groups these by identifier).
	keyIdent
	keyWeak          // a Patient's identifier when it has an id: joined only to a keyIdent
	keyRefURL        // a reference resolved by fullUrl only (a urn: or an absolute URL without Type/id)
	keyRefURLOrType  // a reference resolved by fullUrl, else by the key after it (its Type/id)
	keyRefType       // a reference's Type/id; unresolved, it joins the others naming it
	keyRefTypeNoJoin // a reference's Type/id, of a type that does not join
	keyKinds
)

// kindBits are the bits of a key that hold its keyKind.
const kindBits = 4

var _ [1<<kindBits - keyKinds]struct{} // keyKinds fit in kindBits

var keySeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

func bytesKey(kind keyKind, b []byte) key {
	return key{maphash.Bytes(keySeeds[0], b), maphash.Bytes(keySeeds[1], b)>>kindBits<<kindBits | uint64(kind)}
}

func stringKey(kind keyKind, s string) key {
	return key{maphash.String(keySeeds[0], s), maphash.String(keySeeds[1], s)>>kindBits<<kindBits | uint64(kind)}
}

func (k key) kind() keyKind { return keyKind(k[1] & (1<<kindBits - 1)) }

// hash is k without its kind: what the maps of group are keyed by, where
// a "Type/id" is looked up whatever its kind.
func (k key) hash() key {
	k[1] = k[1] >> kindBits << kindBits
	return k
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
