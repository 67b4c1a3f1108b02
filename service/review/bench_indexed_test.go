package review

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/utilreview/utilreview/fhir"
)

// writeSynthea writes loadSynthea's n copies under dir, one directory per copy.
func writeSynthea(b *testing.B, n int) (string, int64) {
	b.Helper()
	dir := b.TempDir()
	files, size := loadSynthea(b, n)
	for i, f := range files {
		sub := filepath.Join(dir, strconv.Itoa(i%n))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, strconv.Itoa(i)+".json"), f.Data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir, size
}

// BenchmarkReviewIndexed is `review` as the command runs it (issue 12): the
// two-pass review of files on disk, GOMAXPROCS workers, findings sorted.
// BenchmarkDecodeAnyFiles is issue 12's yardstick over the same files: a
// plain single-threaded encoding/json decode of each into any. The larger
// scales are measured by scripts/scale.sh (docs/benchmarks.md).
func BenchmarkReviewIndexed(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run("x"+strconv.Itoa(n), func(b *testing.B) {
			dir, size := writeSynthea(b, n)
			opt := testOptions(b)
			opt.IncludeMoot = true
			b.SetBytes(size)
			b.ReportAllocs()
			var findings int
			for b.Loop() {
				res, err := RunIndexed(context.Background(), []string{dir}, opt)
				if err != nil {
					b.Fatal(err)
				}
				findings = len(res.Findings)
			}
			b.ReportMetric(float64(findings), "findings/op")
		})
	}
}

func BenchmarkDecodeAnyFiles(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run("x"+strconv.Itoa(n), func(b *testing.B) {
			dir, size := writeSynthea(b, n)
			var paths []string
			filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					paths = append(paths, p)
				}
				return err
			})
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				for _, p := range paths {
					data, err := os.ReadFile(p)
					if err != nil {
						b.Fatal(err)
					}
					var v any
					if err := json.Unmarshal(data, &v); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkIndexMemory measures pass 1's index over the 10x Synthea copies,
// as Bundles (writeSynthea) and as one NDJSON file per type
// (writeSyntheaNDJSON): the live heap it adds per resource it locates,
// after pass 1 (index-B/resource) and after grouping, when only what
// pass 2 reads is left (grouped-B/resource). The time is pass 1 and the
// grouping, without the garbage collections of the measurement.
func BenchmarkIndexMemory(b *testing.B) {
	layouts := []struct {
		name  string
		write func(b *testing.B, n int) string
	}{
		{"bundles", func(b *testing.B, n int) string { dir, _ := writeSynthea(b, n); return dir }},
		{"ndjson", func(b *testing.B, n int) string { dir := b.TempDir(); writeSyntheaNDJSON(b, dir, n); return dir }},
	}
	for _, layout := range layouts {
		b.Run(layout.name+"/x10", func(b *testing.B) {
			files, errs := fhir.ListFiles([]string{layout.write(b, 10)})
			if len(errs) != 0 {
				b.Fatal(errs)
			}
			scanner := fhir.NewReader("-")
			var indexed, grouped, resources int
			for b.Loop() {
				b.StopTimer()
				before := liveHeap()
				b.StartTimer()
				ix, err := passOne(context.Background(), scanner, files, runtime.GOMAXPROCS(0), func() {})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				indexed = int(liveHeap() - before)
				b.StartTimer()
				groups, shared := ix.group()
				b.StopTimer()
				grouped = int(liveHeap() - before)
				resources = len(ix.all)
				runtime.KeepAlive(ix)
				runtime.KeepAlive(groups)
				runtime.KeepAlive(shared)
				b.StartTimer()
			}
			b.ReportMetric(float64(resources), "resources")
			b.ReportMetric(float64(indexed)/float64(resources), "index-B/resource")
			b.ReportMetric(float64(grouped)/float64(resources), "grouped-B/resource")
		})
	}
}

// liveHeap is the heap in use after a garbage collection.
func liveHeap() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
