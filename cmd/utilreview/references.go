package main

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
)

// ownerRoles are the roles --owner accepts, with the environment variable
// that configures each.
type ownerRole struct {
	role checks.Owner
	env  string
}

var ownerRoles = []ownerRole{
	{checks.URTeam, "UTILREVIEW_OWNER_UR_TEAM"},
	{checks.PhysicianAdvisor, "UTILREVIEW_OWNER_PHYSICIAN_ADVISOR"},
	{checks.BillingTeam, "UTILREVIEW_OWNER_BILLING"},
	{checks.PatientAccessTeam, "UTILREVIEW_OWNER_PATIENT_ACCESS"},
}

// The resource types R4 allows as Task.owner and CommunicationRequest.sender.
var (
	ownerTypes  = []string{"Practitioner", "PractitionerRole", "Organization", "CareTeam", "HealthcareService", "Patient", "Device", "RelatedPerson"}
	senderTypes = []string{"Device", "Organization", "Patient", "Practitioner", "PractitionerRole", "RelatedPerson", "HealthcareService"}
)

// parseReference reads REFERENCE[|DISPLAY]: REFERENCE is "Type/id" or an
// absolute http(s) URL ending in Type/id, and Type must be one of allowed.
// A reference is required: a display alone cannot route work in an EHR.
func parseReference(s string, allowed []string) (fhir.Reference, error) {
	ref, display, _ := strings.Cut(s, "|")
	ref, display = strings.TrimSpace(ref), strings.TrimSpace(display)
	if ref == "" {
		return fhir.Reference{}, fmt.Errorf("no reference: want Type/id[|display]")
	}
	if strings.Contains(ref, "://") {
		u, err := url.Parse(ref)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fhir.Reference{}, fmt.Errorf("%q: not an absolute http(s) URL", ref)
		}
	}
	r, ok := fhir.ParseReference(ref)
	if !ok || r.Type == "" || r.Version != "" {
		return fhir.Reference{}, fmt.Errorf("%q: want Type/id (e.g. PractitionerRole/ur-nurses) or an absolute URL ending in Type/id", ref)
	}
	if !slices.Contains(allowed, r.Type) {
		return fhir.Reference{}, fmt.Errorf("%q: type %s not allowed here; want one of %s", ref, r.Type, strings.Join(allowed, ", "))
	}
	return fhir.Reference{Reference: ref, Type: r.Type, Display: display}, nil
}

// ownerFlag collects repeated --owner ROLE=REFERENCE[|DISPLAY] values.
type ownerFlag map[checks.Owner]string

func (o ownerFlag) String() string { return "" }

func (o ownerFlag) Set(v string) error {
	role, ref, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("want ROLE=REFERENCE[|DISPLAY]")
	}
	r := checks.Owner(strings.TrimSpace(role))
	if !slices.ContainsFunc(ownerRoles, func(x ownerRole) bool { return x.role == r }) {
		return fmt.Errorf("role %q: want one of %s", role, roleNames())
	}
	if _, err := parseReference(ref, ownerTypes); err != nil {
		return err
	}
	o[r] = ref
	return nil
}

func roleNames() string {
	names := make([]string, len(ownerRoles))
	for i, r := range ownerRoles {
		names[i] = string(r.role)
	}
	return strings.Join(names, ", ")
}

// resolveOwners merges --owner values over UTILREVIEW_OWNER_* variables.
func resolveOwners(flags ownerFlag, getenv func(string) string) (map[checks.Owner]fhir.Reference, error) {
	owners := map[checks.Owner]fhir.Reference{}
	for _, r := range ownerRoles {
		v, src := flags[r.role], "--owner "+string(r.role)
		if v == "" {
			v, src = getenv(r.env), r.env
		}
		if v == "" {
			continue
		}
		ref, err := parseReference(v, ownerTypes)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", src, err)
		}
		owners[r.role] = ref
	}
	return owners, nil
}
