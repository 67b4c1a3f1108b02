package determination

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// PayerTagPath is, under the canonical base, the system of the tag that
// names a determination's payer (meta.tag). The payer API finds a payer's
// determinations with one search on it (`_tag=`): a chained
// `insurer.identifier=` search reads the payer Organization on the FHIR
// server, which often lacks the identifier the determination names (the
// rule set's, when the record's Organization has none), and HAPI refuses
// the `:identifier` modifier that would read the reference itself
// (HAPI-2498).
const PayerTagPath = "/CodeSystem/determination-payer"

// PayerTagCode is the tag code naming the payer system|value: the first 32
// hex digits of its SHA-256 (a URL and a '|' do not fit a token search's
// code unescaped, and the code must not vary with how a client escapes).
func PayerTagCode(system, value string) string {
	sum := sha256.Sum256([]byte(system + "|" + value))
	return hex.EncodeToString(sum[:16])
}

// SystemPath is, under the canonical base, the identifier system of the
// determinations' ClaimResponses.
const SystemPath = "/identifier/determination"

// PayerTag is the tag (system, code) naming the payer system|value on the
// determinations whose identifier system is detSystem (<base>+SystemPath).
func PayerTag(detSystem, system, value string) (tagSystem, code string) {
	return strings.TrimSuffix(detSystem, SystemPath) + PayerTagPath, PayerTagCode(system, value)
}
