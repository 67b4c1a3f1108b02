package review

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
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
