package fhir

import (
	"encoding/json"
	"testing"

	gojson "github.com/goccy/go-json"
)

// Run: go test ./fhir -run '^$' -bench 'DecodeEngine' -benchmem
//
// Each sub-benchmark decodes the same resources, those the reader decodes in
// the Synthea bundles (the engine's types and their contained resources),
// into the same samply structs with one decoder. The machine being shared
// and noisy, compare runs of one sub-benchmark at a time, interleaved, e.g.
// for i in 1 2 3; do for d in encoding-json goccy-go-json decodeInto; do
// go test ./fhir -run '^$' -bench "DecodeEngineTypes/$d\$" -benchmem; done; done

// benchDecoders are the reader's decodeInto and the decoders it is made of.
// segmentio/encoding v0.5.4 and bytedance/sonic v1.15.5 were measured here
// too, and left (docs/benchmarks.md, "Faster decoders").
var benchDecoders = []struct {
	name      string
	unmarshal func([]byte, any) error
}{
	{"encoding-json", json.Unmarshal},
	{"goccy-go-json", gojson.Unmarshal},
	{"decodeInto", decodeInto},
}

type rawResource struct {
	typ string
	raw []byte
}

// engineResources returns the resources NewReader() decodes in files, as the
// reader sees them: their bytes and resourceType.
func engineResources(t testing.TB, files []benchFile) ([]rawResource, int64) {
	t.Helper()
	r := NewReader()
	var out []rawResource
	var total int64
	add := func(res *Resource) {
		if res.Value != nil {
			out = append(out, rawResource{res.Type, res.Raw})
			total += int64(len(res.Raw))
		}
	}
	for _, f := range files {
		errs := r.ReadBytes(f.name, f.data, func(res *Resource) {
			add(res)
			for _, c := range res.Contained {
				add(c)
			}
		})
		if len(errs) != 0 {
			t.Fatal(errs)
		}
	}
	if len(out) == 0 {
		t.Fatal("no resource of the engine's types")
	}
	return out, total
}

// BenchmarkDecodeEngineTypes decodes the engine's resources of the Synthea
// bundles into samply structs with each candidate decoder.
func BenchmarkDecodeEngineTypes(b *testing.B) {
	files, _ := loadSynthea(b)
	resources, total := engineResources(b, files)
	for _, d := range benchDecoders {
		b.Run(d.name, func(b *testing.B) {
			b.SetBytes(total)
			b.ReportAllocs()
			for b.Loop() {
				for _, res := range resources {
					v := resourceFactory(res.typ)()
					if err := d.unmarshal(res.raw, v); err != nil {
						b.Fatal(res.typ, err)
					}
				}
			}
		})
	}
}
