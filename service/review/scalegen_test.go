package review

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestWriteScaledSynthea writes the benchmarks' n copies of the Synthea
// data (loadSynthea: copy k>0 with every UUID's first group rewritten) as
// files, for scripts/scale.sh to review from disk. It runs only when
// UTILREVIEW_SCALE_DIR and UTILREVIEW_SCALE_N are set:
//
//	UTILREVIEW_SCALE_DIR=/tmp/scale/x100 UTILREVIEW_SCALE_N=100 go test ./service/review -run TestWriteScaledSynthea
func TestWriteScaledSynthea(t *testing.T) {
	dir, ns := os.Getenv("UTILREVIEW_SCALE_DIR"), os.Getenv("UTILREVIEW_SCALE_N")
	if dir == "" || ns == "" {
		t.Skip("UTILREVIEW_SCALE_DIR and UTILREVIEW_SCALE_N not set")
	}
	n, err := strconv.Atoi(ns)
	if err != nil || n < 1 {
		t.Fatalf("UTILREVIEW_SCALE_N=%q: want a positive number", ns)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files, size := loadSynthea(t, n)
	for _, f := range files {
		// "name.json#k" -> "copyk/name.json": one directory per copy.
		hash := strings.LastIndexByte(f.Name, '#')
		base, k := f.Name[:hash], f.Name[hash+1:]
		sub := filepath.Join(dir, "copy"+k)
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, base), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d files, %d bytes in %s", len(files), size, dir)
}
