package payerapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/utilreview/utilreview/service/payerauth"
)

// hashPayer names a payer in Redis keys without its identifier in clear.
func hashPayer(p payerauth.Identifier) string {
	sum := sha256.Sum256([]byte(p.String()))
	return hex.EncodeToString(sum[:12])
}

// Scopes the payer API understands (SMART v2, with v1's .read).
var ScopesSupported = []string{
	"system/ClaimResponse.rs", "system/ClaimResponse.r", "system/ClaimResponse.s", "system/ClaimResponse.read",
}

// Capability is the payer API's CapabilityStatement: exactly what it serves.
func (a *API) Capability() json.RawMessage {
	type coding struct {
		System string `json:"system"`
		Code   string `json:"code"`
	}
	type ext struct {
		URL       string `json:"url"`
		ValueURI  string `json:"valueUri,omitempty"`
		Extension []ext  `json:"extension,omitempty"`
	}
	type named struct {
		Name          string `json:"name"`
		Type          string `json:"type,omitempty"`
		Definition    string `json:"definition,omitempty"`
		Documentation string `json:"documentation,omitempty"`
	}
	type code struct {
		Code          string `json:"code"`
		Documentation string `json:"documentation,omitempty"`
	}
	var params []named
	for _, p := range searchParams {
		name, def := p.name, "http://hl7.org/fhir/SearchParameter/ClaimResponse-"+p.name
		switch p.name {
		case ParamPatientIdentifier:
			name, def = "patient", "http://hl7.org/fhir/SearchParameter/clinical-patient"
		case ParamLastUpdated:
			def = "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated"
		}
		params = append(params, named{Name: name, Type: p.typ, Definition: def, Documentation: p.doc})
	}
	cs := map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         a.now().UTC().Format(time.DateOnly),
		"publisher":    "utilreview",
		"kind":         "instance",
		"instantiates": []string{"http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"},
		"software":     map[string]string{"name": "utilreview", "version": orDash(a.cfg.Version)},
		"implementation": map[string]string{
			"description": "utilreview payer portal API: the hospital utilization review team's determinations (ClaimResponse, use preauthorization) for the calling payer only",
			"url":         a.base,
		},
		"fhirVersion": "4.0.1",
		"format":      []string{"json"},
		"rest": []map[string]any{{
			"mode": "server",
			"documentation": "Every interaction but metadata and .well-known/smart-configuration needs a bearer token from the SMART token endpoint; " +
				"a client sees only its payer's determinations. Search result parameters: _count (1 to 200, default 50); _format (json only). " +
				"Any other parameter, modifier or comma list is refused with 400.",
			"security": map[string]any{
				"cors":        false,
				"service":     []map[string]any{{"coding": []coding{{"http://terminology.hl7.org/CodeSystem/restful-security-service", "SMART-on-FHIR"}}}},
				"description": "SMART Backend Services (client_credentials with a private_key_jwt assertion, RS384 or ES384); scopes system/ClaimResponse.rs (or .read, .r, .s)",
				"extension": []ext{{URL: "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
					Extension: []ext{{URL: "token", ValueURI: a.TokenURL()}}}},
			},
			"resource": []map[string]any{{
				"type":        "ClaimResponse",
				"interaction": []code{{Code: "read"}, {Code: "search-type", Documentation: "GET only; paging links are the service's own"}},
				"versioning":  "no-version",
				"searchParam": params,
			}},
			"operation": []named{{Name: "export", Definition: bulkExportOperationDefURL,
				Documentation: "System-level Bulk Data export of ClaimResponse (_type, _since, _outputFormat application/fhir+ndjson); Prefer: respond-async required"}},
		}},
	}
	body, _ := json.Marshal(cs)
	return body
}

func orDash(s string) string {
	if s == "" {
		return "dev"
	}
	return s
}

// SMARTConfiguration is .well-known/smart-configuration for the payer API.
func (a *API) SMARTConfiguration() json.RawMessage {
	body, _ := json.Marshal(map[string]any{
		"token_endpoint":                                   a.TokenURL(),
		"grant_types_supported":                            []string{"client_credentials"},
		"token_endpoint_auth_methods_supported":            []string{"private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS384", "ES384"},
		"scopes_supported":                                 ScopesSupported,
		"capabilities":                                     []string{"client-confidential-asymmetric"},
	})
	return body
}
