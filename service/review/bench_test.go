package review

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/rules"
	"github.com/utilreview/utilreview/service/worklist"
)

// The benchmarks compare the whole offline review with the cost of merely
// decoding the same files into samply structs (the reference), over the
// Synthea data at 1x, 10x and 100x. Results and the commands that produced
// them are in docs/benchmarks.md.

const syntheaDir = sharedData + "/synthea"

// loadSynthea reads the Synthea bundles, copied n times with every UUID
// rewritten per copy so that each copy is a distinct set of patients.
func loadSynthea(tb testing.TB, n int) ([]File, int64) {
	tb.Helper()
	names, err := filepath.Glob(filepath.Join(syntheaDir, "*.json"))
	if err != nil || len(names) == 0 {
		tb.Fatalf("Synthea data not found at %s: %v", syntheaDir, err)
	}
	sort.Strings(names)
	var files []File
	var size int64
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		for k := 0; k < n; k++ {
			d := data
			if k > 0 {
				d = rewriteUUIDs(data, k)
			}
			files = append(files, File{Name: fmt.Sprintf("%s#%d", filepath.Base(name), k), Data: d})
			size += int64(len(d))
		}
	}
	return files, size
}

// rewriteUUIDs gives every lowercase UUID of copy k a new first group, the
// same for the same UUID everywhere, so references still resolve within the
// copy. It finds the same UUIDs as the regular expression uuidPattern
// (leftmost first, not overlapping; TestRewriteUUIDsMatchesRegexp checks it)
// but by hand, because the regexp took about a minute and a half to rewrite
// the 100x data, longer than the benchmark it prepares.
func rewriteUUIDs(data []byte, k int) []byte {
	prefix := fmt.Sprintf("%08x", 0x10000000+k)
	out := bytes.Clone(data)
	next := 0 // a UUID may start here or after: matches do not overlap
	for i := 0; ; {
		d := bytes.IndexByte(out[i:], '-')
		if d < 0 {
			return out
		}
		dash := i + d
		i = dash + 1
		start := dash - 8 // the first group's dash is the 9th byte of a UUID
		if start < next || !isUUID(out[start:]) {
			continue
		}
		copy(out[start:], prefix)
		next = start + 36
		i = next
	}
}

// isUUID reports whether b starts with a lowercase UUID,
// 8-4-4-4-12 hex digits.
func isUUID(b []byte) bool {
	if len(b) < 36 {
		return false
	}
	for i, c := range b[:36] {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// engineTypes are the resource types the engine reads, for the reference.
var engineTypes = map[string]func() any{
	"Patient":              func() any { return new(fm.Patient) },
	"Encounter":            func() any { return new(fm.Encounter) },
	"Claim":                func() any { return new(fm.Claim) },
	"Coverage":             func() any { return new(fm.Coverage) },
	"ExplanationOfBenefit": func() any { return new(fm.ExplanationOfBenefit) },
	"ClaimResponse":        func() any { return new(fm.ClaimResponse) },
	"Condition":            func() any { return new(fm.Condition) },
	"Procedure":            func() any { return new(fm.Procedure) },
	"Organization":         func() any { return new(fm.Organization) },
	"Account":              func() any { return new(fm.Account) },
	"Task":                 func() any { return new(fm.Task) },
	"Communication":        func() any { return new(fm.Communication) },
}

// decodeReference is the reference: the Bundle into samply's Bundle, then
// each entry of the engine's types into its samply struct.
func decodeReference(files []File) (int, error) {
	n := 0
	for _, f := range files {
		var b fm.Bundle
		if err := json.Unmarshal(f.Data, &b); err != nil {
			return n, err
		}
		for _, e := range b.Entry {
			var head struct {
				ResourceType string `json:"resourceType"`
			}
			if err := json.Unmarshal(e.Resource, &head); err != nil {
				return n, err
			}
			mk, ok := engineTypes[head.ResourceType]
			if !ok {
				continue
			}
			v := mk()
			if err := json.Unmarshal(e.Resource, v); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

func testOptions(tb testing.TB) Options {
	tb.Helper()
	reg, err := rules.LoadDefaults()
	if err != nil {
		tb.Fatal(err)
	}
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		tb.Fatal(err)
	}
	w := worklist.New(worklist.Config{Location: loc})
	return Options{
		AsOf:     time.Date(2021, 4, 1, 12, 0, 0, 0, loc),
		Location: loc,
		Rules:    reg,
		Checks:   checks.Config{Location: loc, IdentifierSystem: w.IdentifierSystem()},
		Writer:   w,
	}
}

var scales = []int{1, 10, 100}

func BenchmarkDecodeSamplyReference(b *testing.B) {
	for _, n := range scales {
		b.Run("x"+strconv.Itoa(n), func(b *testing.B) {
			files, size := loadSynthea(b, n)
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decodeReference(files); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeAny(b *testing.B) {
	files, size := loadSynthea(b, 1)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range files {
			var v any
			if err := json.Unmarshal(f.Data, &v); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkReviewWholeFile is the whole offline review: read, resolve,
// build facts, check, plan, and marshal the transaction Bundle.
func BenchmarkReviewWholeFile(b *testing.B) {
	for _, n := range scales {
		b.Run("x"+strconv.Itoa(n), func(b *testing.B) {
			files, size := loadSynthea(b, n)
			opt := testOptions(b)
			// As of 2021 nearly every Synthea finding is moot: raise them, so
			// that the Bundle carries the same work as before horizons existed.
			opt.IncludeMoot = true
			b.SetBytes(size)
			b.ReportAllocs()
			var findings int
			for b.Loop() {
				res, err := RunFiles(context.Background(), files, opt)
				if err != nil {
					b.Fatal(err)
				}
				out, err := opt.Writer.TransactionBundle(res.Findings, opt.AsOf, false)
				if err != nil {
					b.Fatal(err)
				}
				findings = len(res.Findings)
				_ = bytes.Count(out, []byte{'\n'})
			}
			b.ReportMetric(float64(findings), "findings/op")
		})
	}
}

// BenchmarkEngine is the checks alone, facts already built: findings per second.
func BenchmarkEngine(b *testing.B) {
	files, _ := loadSynthea(b, 1)
	opt := testOptions(b)
	set := buildFacts(b, files, opt.Location)
	engine := checks.NewEngine(opt.Checks, opt.Rules)
	b.ReportAllocs()
	total := 0
	for b.Loop() {
		for _, p := range set.Patients {
			total += len(engine.Review(p, opt.AsOf))
		}
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "findings/s")
	b.ReportMetric(float64(len(set.Patients))*float64(b.N)/b.Elapsed().Seconds(), "patients/s")
}

func buildFacts(tb testing.TB, files []File, loc *time.Location) *facts.Set {
	tb.Helper()
	reader := fhir.NewReader()
	var resources []*fhir.Resource
	for _, f := range files {
		if errs := reader.ReadBytes(f.Name, f.Data, func(r *fhir.Resource) { resources = append(resources, r) }); len(errs) > 0 {
			tb.Fatalf("reading %s: %v", f.Name, errs[0])
		}
	}
	return facts.Build(resources, facts.Options{Location: loc, NoPayer: rules.IsNoPayer})
}
