package rules

import (
	"testing"

	"github.com/utilreview/utilreview/service/facts"
)

func BenchmarkLoadDefaults(b *testing.B) {
	for b.Loop() {
		if _, err := LoadDefaults(); err != nil {
			b.Fatal(err)
		}
	}
}

// The lookups the checks make per encounter and claim line.
func BenchmarkLookups(b *testing.B) {
	r, err := LoadDefaults()
	if err != nil {
		b.Fatal(err)
	}
	on := day("2025-03-01")
	payer := &facts.Payer{Display: "Medicare"}
	dx := facts.Code{System: SystemICD10CM, Code: "I21.4"}
	ffs, _ := r.For(payer, on)
	mcd, _ := r.ByID("example-medicaid", on)
	ami := ffs.CodeList("hrrp-ami")
	b.Run("For", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r.For(payer, on)
		}
	})
	b.Run("CodeList.Match", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ami.Match(dx, on)
		}
	})
	b.Run("DRG", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ffs.DRG("291")
		}
	})
	b.Run("NormDays", func(b *testing.B) {
		b.ReportAllocs()
		principal := []facts.Code{dx}
		for b.Loop() {
			mcd.NormDays("", principal, 50)
		}
	})
}
