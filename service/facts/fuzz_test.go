package facts

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/utilreview/utilreview/fhir"
)

// FuzzBuild: whatever the reader accepts, Build neither panics nor loses
// count of what it read. The seeds are the synthetic fixtures; the corpus
// found by `go test -fuzz FuzzBuild` is kept in testdata/fuzz.
func FuzzBuild(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	loc, err := time.LoadLocation("America/Chicago")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var res []*fhir.Resource
		fhir.NewReader().ReadBytes("fuzz.json", data, func(r *fhir.Resource) { res = append(res, r) })
		set := Build(res, Options{Location: loc, NoPayer: noInsurance})
		total := 0
		for _, n := range set.Read {
			total += n
		}
		if total != len(res) {
			t.Errorf("read counts %d, want %d", total, len(res))
		}
	})
}
