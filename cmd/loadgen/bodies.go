package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// notification is one pre-built request: the Encounter's id (the path) and
// its body, shared by every request that sends it.
type notification struct {
	id      string
	patient string
	body    []byte
}

// The load's Encounters, by mix. "synthea" (the default): every Encounter
// of the Synthea transaction Bundles in e2e/testdata and of
// testdata/examples/ur-scenarios.json (0.7 to 1.6 KB). "hl7": the official
// HL7 R4 example Encounters in testdata/shared/data/fhir-r4-examples (0.4 to
// 7 KB, about 3 KB on average, with their narratives). Each is made to look
// as HAPI sends it in a full-resource rest-hook (urn:uuid references
// rewritten to Type/id, meta.versionId and meta.lastUpdated added,
// pretty-printed). Each copy k gives every Encounter and its patient new ids
// ("<id>-lg<k>"), so copies are distinct patients; the pool is shuffled with
// a fixed seed, so consecutive requests name different patients.
var mixes = map[string][]string{
	"synthea": {"e2e/testdata/*.json", "testdata/examples/ur-scenarios.json"},
	"hl7":     {"testdata/shared/data/fhir-r4-examples/Encounter-*.json"},
}

// loadNotifications reads the mix's sources under root.
func loadNotifications(root, mix string, copies int) ([]notification, error) {
	if copies < 1 {
		return nil, errors.New("-copies must be at least 1")
	}
	sourceFiles, ok := mixes[mix]
	if !ok {
		return nil, fmt.Errorf("-mix %q: want synthea or hl7", mix)
	}
	var files []string
	for _, pattern := range sourceFiles {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			return nil, err
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no test data under %s (want %s)", root, strings.Join(sourceFiles, ", "))
	}
	var encounters []map[string]any
	for _, f := range files {
		encs, err := readEncounters(f)
		if err != nil {
			return nil, err
		}
		encounters = append(encounters, encs...)
	}
	var out []notification
	for k := range copies {
		for _, enc := range encounters {
			n, err := copyEncounter(enc, k)
			if err != nil {
				return nil, err
			}
			out = append(out, n)
		}
	}
	rand.New(rand.NewPCG(6, 6)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out, nil
}

// readEncounters returns a Bundle's Encounters with urn:uuid references
// rewritten to Type/id, or the file's Encounter when it holds one alone.
// Other files (under e2e/testdata, not every one is a Bundle) are skipped.
func readEncounters(path string) ([]map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var bundle struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			FullURL  string         `json:"fullUrl"`
			Resource map[string]any `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch bundle.ResourceType {
	case "Encounter":
		var enc map[string]any
		if err := json.Unmarshal(b, &enc); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return []map[string]any{enc}, nil
	case "Bundle":
	default:
		return nil, nil
	}
	urns := map[string]string{}
	for _, e := range bundle.Entry {
		typ, _ := e.Resource["resourceType"].(string)
		id, _ := e.Resource["id"].(string)
		if strings.HasPrefix(e.FullURL, "urn:uuid:") && typ != "" && id != "" {
			urns[e.FullURL] = typ + "/" + id
		}
	}
	var encs []map[string]any
	for _, e := range bundle.Entry {
		if e.Resource["resourceType"] != "Encounter" {
			continue
		}
		rewriteReferences(e.Resource, urns)
		encs = append(encs, e.Resource)
	}
	return encs, nil
}

func rewriteReferences(v any, urns map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "reference" {
				if r, ok := urns[s]; ok {
					v[k] = r
				}
				continue
			}
			rewriteReferences(x, urns)
		}
	case []any:
		for _, x := range v {
			rewriteReferences(x, urns)
		}
	}
}

// copyEncounter is copy k of an Encounter, as a notification body.
func copyEncounter(enc map[string]any, k int) (notification, error) {
	id, _ := enc["id"].(string)
	subject, _ := enc["subject"].(map[string]any)
	ref, _ := subject["reference"].(string)
	patient, ok := strings.CutPrefix(ref, "Patient/")
	if id == "" || !ok || patient == "" {
		return notification{}, fmt.Errorf("Encounter %q has no id or no Patient subject", id)
	}
	suffix := fmt.Sprintf("-lg%d", k)
	c := make(map[string]any, len(enc)+1)
	for key, v := range enc {
		c[key] = v
	}
	c["id"] = id + suffix
	c["subject"] = map[string]any{"reference": "Patient/" + patient + suffix}
	meta := map[string]any{}
	if m, ok := enc["meta"].(map[string]any); ok {
		for key, v := range m {
			meta[key] = v
		}
	}
	meta["versionId"] = "3"
	meta["lastUpdated"] = "2026-11-29T10:15:01.907+00:00"
	c["meta"] = meta
	body, err := marshalResource(c)
	if err != nil {
		return notification{}, err
	}
	return notification{id: id + suffix, patient: "Patient/" + patient + suffix, body: body}, nil
}

// marshalResource writes resourceType, id and meta first, as FHIR servers
// do, then the other members; pretty-printed like HAPI's payloads.
func marshalResource(m map[string]any) ([]byte, error) {
	keys := []string{"resourceType", "id", "meta"}
	var rest []string
	for k := range m {
		if !slices.Contains(keys, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range append(keys, rest...) {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(m[k])
		if err != nil {
			return nil, err
		}
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(vb)
	}
	buf.WriteByte('}')
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// findRoot is the nearest directory at or above dir holding go.mod: the
// test data paths are relative to the module's root.
func findRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod at or above %s: give -root", dir)
		}
	}
}
