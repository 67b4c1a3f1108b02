package payerauth

import "slices"

// SMARTConfiguration is what GET /payer/fhir/.well-known/smart-configuration
// says of the authorization this service offers (SMART App Launch 2.x,
// "Conformance": the fields that apply to Backend Services). Only what is
// true: client_credentials with an asymmetric client assertion, the scopes
// clients can be granted.
type SMARTConfiguration struct {
	Issuer                            string   `json:"issuer,omitempty"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgs      []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	Capabilities                      []string `json:"capabilities"`
}

// SMARTConfiguration describes the token endpoint and what it grants: the
// union of the registered clients' and issuers' scopes, sorted.
func (s *Service) SMARTConfiguration() SMARTConfiguration {
	var scopes []string
	for _, c := range s.reg.Clients {
		scopes = append(scopes, c.Scopes...)
	}
	for _, is := range s.reg.Issuers {
		if is.Scopes != nil {
			scopes = append(scopes, is.Scopes...)
		} else {
			scopes = append(scopes, DefaultIssuerScopes...)
		}
	}
	slices.Sort(scopes)
	return SMARTConfiguration{
		TokenEndpoint:                     s.cfg.TokenURL,
		TokenEndpointAuthMethodsSupported: []string{"private_key_jwt"},
		TokenEndpointAuthSigningAlgs:      slices.Clone(AssertionAlgorithms),
		GrantTypesSupported:               []string{"client_credentials"},
		ScopesSupported:                   slices.Compact(scopes),
		Capabilities:                      []string{"client-confidential-asymmetric", "permission-v2", "permission-v1"},
	}
}
