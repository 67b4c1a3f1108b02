package rules

import (
	"fmt"
	"strings"

	"github.com/utilreview/utilreview/service/facts"
)

// WindowExclusion is a kind of service the payment window does not apply
// to, recognised on a claim line by its HCPCS/CPT code or its revenue code.
// For Medicare, SSA §1886(a)(4) excludes ambulance services and maintenance
// renal dialysis (Medicare Claims Processing Manual ch. 3, §40.3).
type WindowExclusion struct {
	// Name says what is excluded, in words ("ambulance services").
	Name string `json:"name" yaml:"name"`
	// Source cites the rule.
	Source string `json:"source,omitempty" yaml:"source,omitempty"`
	// HCPCS are codes or inclusive ranges of HCPCS/CPT codes, "A0425" or
	// "A0021-A0999": both ends of a range have the same length and the same
	// leading letter (or none), and the range holds the codes between them.
	HCPCS []string `json:"hcpcs,omitempty" yaml:"hcpcs,omitempty"`
	// Revenue are UB-04 revenue codes: four digits ("0540"), a family with
	// a trailing x ("054x": 0540-0549), or an inclusive range of either
	// ("082x-085x": 0820-0859). Three-digit input codes are read with their
	// leading zero ("540" is 0540).
	Revenue []string `json:"revenue,omitempty" yaml:"revenue,omitempty"`
}

// Excluded returns the exclusion that takes a claim line out of the
// payment window: one of its CPT/HCPCS codings is in an exclusion's HCPCS
// ranges, or one of its revenue codes is in its revenue codes. It does not
// allocate.
func (pw *PaymentWindow) Excluded(l *facts.Line) (*WindowExclusion, bool) {
	for i := range pw.Exclusions {
		x := &pw.Exclusions[i]
		for _, c := range l.Codes {
			if s := lookupSystem(c.System); s != SystemHCPCS {
				continue
			}
			for _, r := range x.HCPCS {
				if inHCPCSRange(strings.TrimSpace(c.Code), r) {
					return x, true
				}
			}
		}
		for _, c := range l.Revenue {
			code, ok := revenueCode(c.Code)
			if !ok {
				continue
			}
			for _, r := range x.Revenue {
				if lo, hi, ok := revenueRange(r); ok && lo <= code && code <= hi {
					return x, true
				}
			}
		}
	}
	return nil, false
}

// inHCPCSRange reports whether code is in the range or equal to the single
// code r, compared case-insensitively.
func inHCPCSRange(code, r string) bool {
	lo, hi, ok := hcpcsRange(r)
	if !ok || len(code) != len(lo) {
		return false
	}
	return compareFold(code, lo) >= 0 && compareFold(code, hi) <= 0
}

// hcpcsRange splits "A0021-A0999" (or a single code) into its ends.
func hcpcsRange(r string) (lo, hi string, ok bool) {
	lo, hi, found := strings.Cut(strings.TrimSpace(r), "-")
	lo, hi = strings.TrimSpace(lo), strings.TrimSpace(hi)
	if !found {
		hi = lo
	}
	if !isHCPCSCode(lo) || !isHCPCSCode(hi) || len(lo) != len(hi) || upper(lo[0]) != upper(hi[0]) && !(isDigit(lo[0]) && isDigit(hi[0])) || compareFold(lo, hi) > 0 {
		return "", "", false
	}
	return lo, hi, true
}

// isHCPCSCode: five characters, letters and digits (CPT 99284, 0001U;
// HCPCS Level II A0425).
func isHCPCSCode(s string) bool {
	if len(s) != 5 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b := upper(s[i]); !isDigit(b) && (b < 'A' || b > 'Z') {
			return false
		}
	}
	return true
}

// revenueCode reads a revenue code as a number 0-9999 ("540" is 0540).
func revenueCode(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if len(s) != 3 && len(s) != 4 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// revenueRange reads "0540", "054x" or "082x-085x" as the inclusive range
// of revenue codes it names.
func revenueRange(r string) (lo, hi int, ok bool) {
	a, b, found := strings.Cut(strings.TrimSpace(r), "-")
	lo, _, ok1 := revenuePattern(strings.TrimSpace(a))
	_, hi, ok2 := revenuePattern(strings.TrimSpace(b))
	if !found {
		lo, hi, ok2 = revenuePattern(strings.TrimSpace(a))
	}
	if !ok1 || !ok2 || lo > hi {
		return 0, 0, false
	}
	return lo, hi, true
}

// revenuePattern reads four characters, digits then any number of trailing
// x's ("0540", "054x", "05xx"), as the codes they cover.
func revenuePattern(s string) (lo, hi int, ok bool) {
	if len(s) != 4 {
		return 0, 0, false
	}
	wild := false
	for i := 0; i < 4; i++ {
		switch b := s[i]; {
		case b == 'x' || b == 'X':
			wild = true
			lo, hi = lo*10, hi*10+9
		case isDigit(b) && !wild:
			lo, hi = lo*10+int(b-'0'), hi*10+int(b-'0')
		default:
			return 0, 0, false // a digit after an x, or another character
		}
	}
	return lo, hi, true
}

// validateExclusions checks the exclusions of checks.payment_window.
func (v *validator) paymentWindowExclusions(pw *PaymentWindow) {
	for i := range pw.Exclusions {
		x := &pw.Exclusions[i]
		f := fmt.Sprintf("checks.payment_window.exclusions[%d]", i)
		if strings.TrimSpace(x.Name) == "" {
			v.add(f+".name", "must be set")
		}
		if len(x.HCPCS) == 0 && len(x.Revenue) == 0 {
			v.add(f, "needs hcpcs or revenue codes")
		}
		for j, r := range x.HCPCS {
			if _, _, ok := hcpcsRange(r); !ok {
				v.add(fmt.Sprintf("%s.hcpcs[%d]", f, j), "%q is not a HCPCS/CPT code or a range of two such codes of the same kind in order (e.g. A0021-A0999)", r)
			}
		}
		for j, r := range x.Revenue {
			if _, _, ok := revenueRange(r); !ok {
				v.add(fmt.Sprintf("%s.revenue[%d]", f, j), "%q is not a revenue code (0540), a family (054x) or a range of them in order (082x-085x)", r)
			}
		}
	}
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

func upper(b byte) byte {
	if 'a' <= b && b <= 'z' {
		return b - ('a' - 'A')
	}
	return b
}

// compareFold compares two ASCII strings of equal length case-insensitively.
func compareFold(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if x, y := upper(a[i]), upper(b[i]); x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return len(a) - len(b)
}
