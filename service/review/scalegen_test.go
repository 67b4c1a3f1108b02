package review

import (
	"bytes"
	"encoding/json"
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
	// The copies of loadSynthea, written one at a time (300 copies are
	// 4.3 GB: not held in memory).
	one, _ := loadSynthea(t, 1)
	var files int
	var size int64
	for k := 0; k < n; k++ {
		sub := filepath.Join(dir, "copy"+strconv.Itoa(k))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range one {
			data := f.Data
			if k > 0 {
				data = rewriteUUIDs(f.Data, k)
			}
			name := f.Name[:strings.LastIndexByte(f.Name, '#')]
			if err := os.WriteFile(filepath.Join(sub, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
			files++
			size += int64(len(data))
		}
	}
	t.Logf("%d files, %d bytes in %s", files, size, dir)
}

// TestWriteScaledSyntheaNDJSON writes the same copies as a Bulk Data export
// would: one NDJSON file per resource type, every patient mixed in each,
// references rewritten from the Bundles' urn:uuid fullUrls to "Type/id".
// It runs only when UTILREVIEW_SCALE_NDJSON_DIR and UTILREVIEW_SCALE_N are set.
func TestWriteScaledSyntheaNDJSON(t *testing.T) {
	dir, ns := os.Getenv("UTILREVIEW_SCALE_NDJSON_DIR"), os.Getenv("UTILREVIEW_SCALE_N")
	if dir == "" || ns == "" {
		t.Skip("UTILREVIEW_SCALE_NDJSON_DIR and UTILREVIEW_SCALE_N not set")
	}
	n, err := strconv.Atoi(ns)
	if err != nil || n < 1 {
		t.Fatalf("UTILREVIEW_SCALE_N=%q: want a positive number", ns)
	}
	files, size := writeSyntheaNDJSON(t, dir, n)
	t.Logf("%d files, %d bytes in %s", files, size, dir)
}

// writeSyntheaNDJSON writes loadSynthea's n copies under dir as
// TestWriteScaledSyntheaNDJSON describes and returns the number of files
// and their size.
func writeSyntheaNDJSON(tb testing.TB, dir string, n int) (int, int64) {
	tb.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	out := map[string]*os.File{}
	defer func() {
		for _, f := range out {
			f.Close()
		}
	}()
	one, _ := loadSynthea(tb, 1)
	var size int64
	for k := 0; k < n; k++ {
		for _, f := range one {
			data := f.Data
			if k > 0 {
				data = rewriteUUIDs(f.Data, k)
			}
			var b struct {
				Entry []struct {
					FullURL  string          `json:"fullUrl"`
					Resource json.RawMessage `json:"resource"`
				} `json:"entry"`
			}
			if err := json.Unmarshal(data, &b); err != nil {
				tb.Fatal(err)
			}
			var pairs []string
			for _, e := range b.Entry {
				var h struct{ ResourceType, ID string }
				if err := json.Unmarshal(e.Resource, &h); err != nil {
					tb.Fatal(err)
				}
				if e.FullURL != "" {
					pairs = append(pairs, `"`+e.FullURL+`"`, `"`+h.ResourceType+"/"+h.ID+`"`)
				}
			}
			rewrite := strings.NewReplacer(pairs...)
			for _, e := range b.Entry {
				var h struct{ ResourceType string }
				json.Unmarshal(e.Resource, &h)
				var line bytes.Buffer
				if err := json.Compact(&line, []byte(rewrite.Replace(string(e.Resource)))); err != nil {
					tb.Fatal(err)
				}
				line.WriteByte('\n')
				w := out[h.ResourceType]
				if w == nil {
					var err error
					if w, err = os.Create(filepath.Join(dir, h.ResourceType+".ndjson")); err != nil {
						tb.Fatal(err)
					}
					out[h.ResourceType] = w
				}
				if _, err := w.Write(line.Bytes()); err != nil {
					tb.Fatal(err)
				}
				size += int64(line.Len())
			}
		}
	}
	return len(out), size
}
