package checks

import (
	"strings"

	"github.com/utilreview/utilreview/service/facts"
)

// Discharge disposition code systems: NUBC patient discharge status (UB-04
// form locator 17) under the two URLs in use, and FHIR R4's own small set.
const (
	systemNUBC             = "http://www.nubc.org/patient-discharge"
	systemNUBCCodeSystem   = "https://www.nubc.org/CodeSystem/PatDischargeStatus"
	systemHL7DischargeDisp = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
)

// disposition is what a discharge disposition means to the checks.
type disposition uint8

const (
	dispOther disposition = iota
	dispExpired
	dispTransfer // to another hospital: acute, cancer/children's, federal, IRF, LTCH, psychiatric, CAH
	dispLeftAMA
	dispHospice
	dispSNF
)

// nubcDisposition maps NUBC patient discharge status codes. Codes 81-95 are
// the same destinations "with a planned acute care hospital inpatient
// readmission" and keep their destination's meaning. A switch rather than a
// map: no package-level mutable state, and it is faster.
func nubcDisposition(code string) (disposition, bool) {
	switch code {
	case "02", // short-term general hospital
		"05",                                     // designated cancer center or children's hospital
		"43",                                     // federal health care facility
		"62",                                     // inpatient rehabilitation facility
		"63",                                     // Medicare-certified long term care hospital
		"65",                                     // psychiatric hospital or distinct part unit
		"66",                                     // critical access hospital
		"82", "85", "88", "90", "91", "93", "94": // the same with planned readmission
		return dispTransfer, true
	case "07": // left against medical advice
		return dispLeftAMA, true
	case "20", // expired
		"40", "41", "42": // expired at home, in a medical facility, place unknown (hospice claims)
		return dispExpired, true
	case "50", "51": // hospice: home, medical facility
		return dispHospice, true
	case "03", // skilled nursing facility with Medicare certification
		"61",       // swing bed
		"83", "89": // the same with planned readmission
		return dispSNF, true
	}
	return dispOther, false
}

// hl7Disposition maps http://terminology.hl7.org/CodeSystem/discharge-disposition.
// "hosp" is hospice in this system, not a hospital. "long" (long-term care)
// is left out of transfers: it also covers nursing homes, which do not
// excuse a short inpatient stay.
func hl7Disposition(code string) (disposition, bool) {
	switch code {
	case "exp":
		return dispExpired, true
	case "other-hcf", "psy", "rehab":
		return dispTransfer, true
	case "aadvice":
		return dispLeftAMA, true
	case "hosp":
		return dispHospice, true
	case "snf":
		return dispSNF, true
	}
	return dispOther, false
}

// classifyDisposition returns the meaning of the first recognised coding,
// and that coding.
func classifyDisposition(codes []facts.Code) (disposition, facts.Code, bool) {
	for _, c := range codes {
		switch c.System {
		case systemNUBC, systemNUBCCodeSystem:
			if d, ok := nubcDisposition(nubcCode(c.Code)); ok {
				return d, c, true
			}
		case systemHL7DischargeDisp:
			if d, ok := hl7Disposition(strings.TrimSpace(c.Code)); ok {
				return d, c, true
			}
		}
	}
	return dispOther, facts.Code{}, false
}

// nubcPlannedReadmission reports a NUBC status 81-95: discharged with a
// planned acute care inpatient readmission.
func nubcPlannedReadmission(codes []facts.Code) bool {
	for _, c := range codes {
		if c.System != systemNUBC && c.System != systemNUBCCodeSystem {
			continue
		}
		n := nubcCode(c.Code)
		if len(n) == 2 && n >= "81" && n <= "95" {
			return true
		}
	}
	return false
}

// nubcCode pads "3" to "03": the codes are two digits but some senders drop the zero.
func nubcCode(s string) string {
	s = strings.TrimSpace(s)
	if len(s) == 1 && s[0] >= '0' && s[0] <= '9' {
		return "0" + s
	}
	return s
}

// acuteTransfer reports a discharge to another acute care hospital: NUBC 02
// (short-term general hospital), 05 (cancer center or children's hospital),
// 66 (critical access hospital) and their planned-readmission forms 82, 85,
// 94, or R4 other-hcf. The stay is then part of a transfer chain, not an
// index stay for a readmission. Read from the first recognised coding, as
// classifyDisposition does.
func acuteTransfer(codes []facts.Code) bool {
	_, c, ok := classifyDisposition(codes)
	if !ok {
		return false
	}
	if c.System == systemHL7DischargeDisp {
		return strings.TrimSpace(c.Code) == "other-hcf"
	}
	switch nubcCode(c.Code) {
	case "02", "05", "66", "82", "85", "94":
		return true
	}
	return false
}
