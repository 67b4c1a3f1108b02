package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// The R4 JSON schema is structural only: it lets Task.status go missing and
// two value[x] of one choice element through. CheckConformance checks what
// the schema cannot see, for every resource (contained and Bundle entries
// included):
//   - no empty strings, objects or arrays, and no null outside primitive
//     arrays with a matching "_name" array (FHIR JSON forbids them);
//   - at most one value[x] per choice element, and extensions with a url and
//     either a value[x] or nested extensions, not both;
//   - for Task, CommunicationRequest, CodeSystem and Bundle, the required
//     elements and their code values, exactly one value[x] in Task.input and
//     Task.output, exactly one content[x] in CommunicationRequest.payload,
//     unique codes in a CodeSystem, and the Bundle entry rules bdl-3, bdl-4,
//     bdl-5 and bdl-7 (fullUrl unique).
// It is a check for tests and for what utilreview writes, not a full
// validator: use HAPI's $validate for that.

// ConformanceError is one problem, at a FHIRPath-like location.
type ConformanceError struct {
	Path string // e.g. "Task.input[2]"
	Msg  string
}

func (e *ConformanceError) Error() string { return e.Path + ": " + e.Msg }

// CheckConformance checks one resource's JSON; it returns nil when it conforms.
func CheckConformance(resource []byte) []error {
	dec := json.NewDecoder(bytes.NewReader(resource))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return []error{fmt.Errorf("conformance: invalid JSON: %w", err)}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return []error{errors.New("conformance: data after the resource's JSON")}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return []error{errors.New("conformance: the JSON is not an object")}
	}
	return CheckConformanceMap(m)
}

// CheckConformanceMap checks a resource decoded into a map (numbers as
// float64 or json.Number).
func CheckConformanceMap(resource map[string]any) []error {
	c := &conformance{}
	c.resource(resource, "")
	return c.errs
}

type conformance struct {
	errs []error
}

func (c *conformance) fail(path, format string, args ...any) {
	c.errs = append(c.errs, &ConformanceError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// resource checks one resource; path is where it sits ("" at the top).
func (c *conformance) resource(m map[string]any, path string) {
	rt, _ := m["resourceType"].(string)
	if path == "" {
		path = rt
		if rt == "" {
			path = "(resource)"
		}
	}
	if rt == "" {
		c.fail(path, "resourceType missing")
	}
	c.object(m, path)
	switch rt {
	case "Task":
		c.task(m, path)
	case "CommunicationRequest":
		c.communicationRequest(m, path)
	case "CodeSystem":
		c.codeSystem(m, path)
	case "Bundle":
		c.bundle(m, path)
	}
}

// object runs the generic checks over an object's members.
func (c *conformance) object(m map[string]any, path string) {
	if len(m) == 0 {
		c.fail(path, "empty object")
		return
	}
	c.choices(m, path)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "resourceType" {
			continue
		}
		v := m[k]
		p := path + "." + k
		if arr, ok := v.([]any); ok {
			_, primitiveExt := m["_"+k]
			c.array(arr, p, primitiveExt || strings.HasPrefix(k, "_"))
			if k == "extension" || k == "modifierExtension" {
				for i, e := range arr {
					if em, ok := e.(map[string]any); ok {
						c.extension(em, index(p, i))
					}
				}
			}
			continue
		}
		c.value(v, p)
	}
}

func (c *conformance) array(arr []any, path string, nullAllowed bool) {
	if len(arr) == 0 {
		c.fail(path, "empty array")
		return
	}
	for i, v := range arr {
		if v == nil && nullAllowed {
			continue
		}
		c.value(v, index(path, i))
	}
}

func (c *conformance) value(v any, path string) {
	switch x := v.(type) {
	case nil:
		c.fail(path, "null value")
	case string:
		if x == "" {
			c.fail(path, "empty string")
		}
	case []any:
		c.array(x, path, false)
	case map[string]any:
		if _, ok := x["resourceType"]; ok {
			c.resource(x, path)
			return
		}
		c.object(x, path)
	}
}

// choices reports two or more members of one choice element, e.g.
// valueString and valueBoolean in one Task.input.
func (c *conformance) choices(m map[string]any, path string) {
	var seen map[string][]string
	for k, v := range m {
		if _, isArray := v.([]any); isArray {
			continue // choice elements are never repeating
		}
		prefix, ok := choicePrefix(k)
		if !ok {
			continue
		}
		if seen == nil {
			seen = make(map[string][]string)
		}
		seen[prefix] = append(seen[prefix], k)
	}
	prefixes := make([]string, 0, len(seen))
	for p, ks := range seen {
		if len(ks) == 2 && separateElements(ks[0], ks[1]) {
			continue
		}
		if len(ks) > 1 {
			prefixes = append(prefixes, p)
		}
	}
	sort.Strings(prefixes)
	for _, p := range prefixes {
		ks := seen[p]
		sort.Strings(ks)
		c.fail(path, "%d values for the choice element %s[x] (%s): want exactly one", len(ks), p, strings.Join(ks, ", "))
	}
}

// separateElements reports the R4 elements that look like two types of one
// choice element but are distinct single elements (found by scanning the R4
// JSON schema for same-prefix, non-repeating properties of different meaning).
func separateElements(a, b string) bool {
	if a > b {
		a, b = b, a
	}
	switch a + " " + b {
	case "reasonCode reasonReference", // Task
		"instantiatesCanonical instantiatesUri",       // Task, Contract
		"itemCodeableConcept itemReference",           // ClinicalImpression.finding
		"referenceSeqId referenceSeqString",           // MolecularSequence.referenceSeq
		"paymentDate paymentIdentifier",               // PaymentReconciliation
		"compareToSourceExpression compareToSourceId": // TestScript.setup.action.assert
		return true
	}
	return false
}

// choicePrefix splits "valueCodeableConcept" into "value" when the rest is a
// FHIR data type name.
func choicePrefix(k string) (string, bool) {
	if k == "" || k[0] < 'a' || k[0] > 'z' {
		return "", false
	}
	for i := 1; i < len(k); i++ {
		if k[i] >= 'A' && k[i] <= 'Z' {
			if isChoiceType(k[i:]) {
				return k[:i], true
			}
		}
	}
	return "", false
}

// isChoiceType reports whether t is an R4 data type a choice element can
// take (a switch rather than a map: no package-level state).
func isChoiceType(t string) bool {
	switch t {
	case "Base64Binary", "Boolean", "Canonical", "Code", "Date", "DateTime", "Decimal", "Id", "Instant",
		"Integer", "Markdown", "Oid", "PositiveInt", "String", "Time", "UnsignedInt", "Uri", "Url", "Uuid",
		"Address", "Age", "Annotation", "Attachment", "CodeableConcept", "Coding", "ContactPoint", "Count",
		"Distance", "Duration", "HumanName", "Identifier", "Money", "Period", "Quantity", "Range", "Ratio",
		"Reference", "SampledData", "Signature", "Timing", "ContactDetail", "Contributor",
		"DataRequirement", "Expression", "ParameterDefinition", "RelatedArtifact", "TriggerDefinition",
		"UsageContext", "Dosage", "Meta":
		return true
	}
	return false
}

// valueMembers lists the members of m that are prefix[x].
func valueMembers(m map[string]any, prefix string) []string {
	var out []string
	for k := range m {
		if p, ok := choicePrefix(k); ok && p == prefix {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// extension checks ext-1 and the required url.
func (c *conformance) extension(m map[string]any, path string) {
	if s, _ := m["url"].(string); s == "" {
		c.fail(path, "extension without url")
	}
	values := valueMembers(m, "value")
	_, nested := m["extension"]
	switch {
	case len(values) == 0 && !nested:
		c.fail(path, "extension has neither value[x] nor nested extensions")
	case len(values) > 0 && nested:
		c.fail(path, "extension has both value[x] and nested extensions (ext-1)")
	}
}

// exactlyOne requires exactly one prefix[x] in m, of the allowed types
// (nil allows any).
func (c *conformance) exactlyOne(m map[string]any, path, prefix string, allowed ...string) {
	ks := valueMembers(m, prefix)
	if len(ks) == 0 {
		c.fail(path, "%s[x] missing: want exactly one", prefix)
		return
	}
	if len(allowed) == 0 {
		return // more than one is reported by choices
	}
	for _, k := range ks {
		ok := false
		for _, a := range allowed {
			if k == prefix+a {
				ok = true
			}
		}
		if !ok {
			c.fail(path, "%s is not an allowed type of %s[x]", k, prefix)
		}
	}
}

// code requires m[name] to be one of the codes; required says whether it may be absent.
func (c *conformance) code(m map[string]any, path, name string, required bool, codes ...string) {
	v, ok := m[name]
	if !ok {
		if required {
			c.fail(path+"."+name, "required element missing")
		}
		return
	}
	s, ok := v.(string)
	if !ok {
		c.fail(path+"."+name, "want a code string, got %s", jsonKind(v))
		return
	}
	for _, code := range codes {
		if s == code {
			return
		}
	}
	c.fail(path+"."+name, "%q is not one of %s", s, strings.Join(codes, " | "))
}

func (c *conformance) required(m map[string]any, path string, names ...string) {
	for _, n := range names {
		if _, ok := m[n]; !ok {
			c.fail(path+"."+n, "required element missing")
		}
	}
}

// objects returns m[name] as an array of objects, reporting other shapes.
func (c *conformance) objects(m map[string]any, path, name string) []map[string]any {
	v, ok := m[name]
	if !ok {
		return nil
	}
	arr, ok := v.([]any)
	if !ok {
		c.fail(path+"."+name, "want an array, got %s", jsonKind(v))
		return nil
	}
	out := make([]map[string]any, 0, len(arr))
	for i, e := range arr {
		em, ok := e.(map[string]any)
		if !ok {
			c.fail(index(path+"."+name, i), "want an object, got %s", jsonKind(e))
			continue
		}
		out = append(out, em)
	}
	return out
}

var requestPriorities = []string{"routine", "urgent", "asap", "stat"}

func (c *conformance) task(m map[string]any, path string) {
	c.code(m, path, "status", true, "draft", "requested", "received", "accepted", "rejected", "ready",
		"cancelled", "in-progress", "on-hold", "failed", "completed", "entered-in-error")
	c.code(m, path, "intent", true, "unknown", "proposal", "plan", "order", "original-order",
		"reflex-order", "filler-order", "instance-order", "option")
	c.code(m, path, "priority", false, requestPriorities...)
	for _, name := range []string{"input", "output"} {
		for i, in := range c.objects(m, path, name) {
			p := index(path+"."+name, i)
			c.required(in, p, "type")
			c.exactlyOne(in, p, "value")
		}
	}
}

func (c *conformance) communicationRequest(m map[string]any, path string) {
	c.code(m, path, "status", true, "draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown")
	c.code(m, path, "priority", false, requestPriorities...)
	for i, p := range c.objects(m, path, "payload") {
		c.exactlyOne(p, index(path+".payload", i), "content", "String", "Attachment", "Reference")
	}
	if ks := valueMembers(m, "occurrence"); len(ks) > 0 {
		for _, k := range ks {
			if k != "occurrenceDateTime" && k != "occurrencePeriod" {
				c.fail(path+"."+k, "not an allowed type of occurrence[x]")
			}
		}
	}
}

func (c *conformance) codeSystem(m map[string]any, path string) {
	c.code(m, path, "status", true, "draft", "active", "retired", "unknown")
	c.code(m, path, "content", true, "not-present", "example", "fragment", "complete", "supplement")
	seen := make(map[string]bool)
	c.concepts(m, path, seen)
}

// concepts checks concept codes (required, unique: csd-1), nested concepts included.
func (c *conformance) concepts(m map[string]any, path string, seen map[string]bool) {
	for i, cm := range c.objects(m, path, "concept") {
		p := index(path+".concept", i)
		code, _ := cm["code"].(string)
		switch {
		case code == "":
			c.fail(p+".code", "required element missing")
		case seen[code]:
			c.fail(p+".code", "duplicate code %q (csd-1)", code)
		default:
			seen[code] = true
		}
		c.concepts(cm, p, seen)
	}
}

func (c *conformance) bundle(m map[string]any, path string) {
	c.code(m, path, "type", true, "document", "message", "transaction", "transaction-response",
		"batch", "batch-response", "history", "searchset", "collection")
	typ, _ := m["type"].(string)
	needRequest := typ == "transaction" || typ == "batch" || typ == "history"
	needResponse := typ == "transaction-response" || typ == "batch-response" || typ == "history"
	fullURLs := make(map[string]int)
	for i, e := range c.objects(m, path, "entry") {
		p := index(path+".entry", i)
		req, hasReq := e["request"].(map[string]any)
		resp, hasResp := e["response"].(map[string]any)
		_, hasRes := e["resource"]
		switch {
		case needRequest && !hasReq:
			c.fail(p+".request", "required in a %s Bundle (bdl-3)", typ)
		case !needRequest && hasReq:
			c.fail(p+".request", "not allowed in a %s Bundle (bdl-3)", typ)
		}
		switch {
		case needResponse && !hasResp:
			c.fail(p+".response", "required in a %s Bundle (bdl-4)", typ)
		case !needResponse && hasResp:
			c.fail(p+".response", "not allowed in a %s Bundle (bdl-4)", typ)
		}
		if !hasRes && !hasReq && !hasResp {
			c.fail(p, "entry without resource, request or response (bdl-5)")
		}
		if hasReq {
			c.code(req, p+".request", "method", true, "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH")
			c.required(req, p+".request", "url")
		}
		if hasResp {
			c.required(resp, p+".response", "status")
		}
		if u, _ := e["fullUrl"].(string); u != "" && typ != "history" {
			if j, dup := fullURLs[u]; dup {
				c.fail(p+".fullUrl", "same fullUrl as entry %d (bdl-7)", j)
			} else {
				fullURLs[u] = i
			}
		}
	}
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
