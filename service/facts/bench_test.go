package facts

import (
	"path/filepath"
	"testing"

	"github.com/utilreview/utilreview/fhir"
)

// BenchmarkBuild measures Build alone over all Synthea files, already read.
func BenchmarkBuild(b *testing.B) {
	var res []*fhir.Resource
	errs := fhir.NewReader().ReadPaths([]string{filepath.Join(sharedData, "synthea")}, func(r *fhir.Resource) { res = append(res, r) })
	if len(errs) > 0 || len(res) == 0 {
		b.Skipf("synthea data not readable: %v", errs)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Build(res, Options{NoPayer: noInsurance})
	}
	b.ReportMetric(float64(len(res)), "resources/op")
}
