package fhir_test

import (
	"bytes"
	"encoding/json"
	"go/scanner"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/utilreview/utilreview/fhir"
)

// Run one with: go test ./fhir -run '^$' -fuzz '^FuzzParseNotification$' -fuzztime 2m
// (or FuzzSummarizeResource).

func notificationSeeds(f *testing.F) {
	f.Add([]byte(hapiTopicNotification))
	for _, name := range []string{"Bundle-PASSubscriptionNotification.json", "Encounter-f201.json", "Coverage-InsuranceExample.json"} {
		if b, err := os.ReadFile("testdata/read/" + name); err == nil {
			f.Add(b)
		}
	}
	sub := `{"name":"subscription","valueReference":{"reference":"Subscription/s1"}}`
	for _, s := range []string{
		string(statusBundle(`[` + sub + `,{"name":"type","valueCode":"heartbeat"},{"name":"events-since-subscription-start","valueInteger64":"41"}]`)),
		string(statusBundle(`[`+sub+`,{"name":"type","valueCode":"event-notification"},{"name":"notification-event","part":[{"name":"event-number","valueUnsignedInt":1},{"name":"focus","valueReference":{"reference":"urn:uuid:1"}}]}]`,
			`{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Claim","id":"c","patient":{"reference":"Patient/p"}}}`)),
		`{"resourceType":"Account","id":"a","subject":[{"reference":"Patient/p"}]}`,
		`{"resource\u0054ype":"Task","id":"t","for":{"reference":"#p"},"meta":{"versionId":7}}`,
		`{"resourceType":"Bundle","type":"history","entry":[{"resource":{"resourceType":"Parameters","parameter":[{"name":"type","valueCode":"Jane Doe"}]}}]}`,
		`{"resourceType":"Bundle","type":"history","entry":[{"fullUrl":1}]}`,
		`[]`, `{}`, `null`, `"Patient"`, ``, `{"resourceType":"Patient","id":"\ud800"}`,
	} {
		f.Add([]byte(s))
	}
}

func FuzzParseNotification(f *testing.F) {
	notificationSeeds(f)
	vocab := errorVocabulary(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		n, err := fhir.ParseNotification(body)
		if !bytes.Equal(orig, body) {
			t.Fatal("ParseNotification modified its input")
		}
		if err != nil {
			if n != nil {
				t.Fatalf("a notification %+v with the error %v", n, err)
			}
			checkErrorText(t, vocab, err, body)
			return
		}
		switch n.Type {
		case "handshake", "heartbeat", "event-notification", "query-status", "query-event":
		default:
			t.Fatalf("Type %q is not a notification type", n.Type)
		}
		if r, ok := fhir.ParseReference(n.Subscription); !ok || r.Type != "Subscription" || r.Relative() != n.Subscription {
			t.Fatalf("Subscription %q is not Subscription/id", n.Subscription)
		}
		if n.EventsSinceStart < 0 {
			t.Fatalf("EventsSinceStart %d", n.EventsSinceStart)
		}
		for i, ev := range n.Events {
			if ev.Number < 0 {
				t.Fatalf("event %d: Number %d", i, ev.Number)
			}
			if ev.Focus != "" && fhir.RelativeRef(ev.Focus) != ev.Focus {
				t.Fatalf("event %d: Focus %q is not Type/id", i, ev.Focus)
			}
			if ev.Resource == nil {
				continue
			}
			s, err := fhir.SummarizeResource(ev.Resource)
			if err != nil || s.Type+"/"+s.ID != ev.Focus {
				t.Fatalf("event %d: Resource is %s/%s (%v), Focus %q", i, s.Type, s.ID, err, ev.Focus)
			}
		}
	})
}

func FuzzSummarizeResource(f *testing.F) {
	notificationSeeds(f)
	vocab := errorVocabulary(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		got, err := fhir.SummarizeResource(body)
		if !bytes.Equal(orig, body) {
			t.Fatal("SummarizeResource modified its input")
		}
		if err != nil {
			if got != (fhir.ResourceSummary{}) {
				t.Fatalf("a summary %+v with the error %v", got, err)
			}
			checkErrorText(t, vocab, err, body)
			return
		}
		// The same facts, the slow way. A map, not a struct: FHIR member
		// names are case-sensitive, encoding/json's struct fields are not.
		var m map[string]any
		if json.Unmarshal(body, &m) != nil {
			t.Fatalf("summarized %+v from a body that is not a JSON object", got)
		}
		str := func(v any) string { s, _ := v.(string); return s }
		if typ := str(m["resourceType"]); typ != got.Type || !fhir.IsTypeName(typ) {
			t.Fatalf("Type %q, resourceType %q", got.Type, typ)
		}
		if id := str(m["id"]); id != got.ID {
			t.Fatalf("ID %q, id %q", got.ID, id)
		}
		meta, _ := m["meta"].(map[string]any)
		if v := str(meta["versionId"]); v != got.Version {
			t.Fatalf("Version %q, meta.versionId %q", got.Version, v)
		}
		if want := slowPatient(got.Type, got.ID, m); got.Patient != want {
			t.Fatalf("Patient %q, want %q", got.Patient, want)
		}
	})
}

// slowPatient is SummarizeResource's Patient from the decoded map.
func slowPatient(typ, id string, m map[string]any) string {
	patientOf := func(v any) string {
		obj, _ := v.(map[string]any)
		ref, _ := obj["reference"].(string)
		r, ok := fhir.ParseReference(ref)
		if !ok || r.Type != "Patient" {
			return ""
		}
		return r.Relative()
	}
	switch typ {
	case "Patient":
		if fhir.RelativeRef("Patient/"+id) == "Patient/"+id {
			return "Patient/" + id
		}
		return ""
	case "Account":
		list, _ := m["subject"].([]any)
		for _, v := range list {
			if p := patientOf(v); p != "" {
				return p
			}
		}
		return ""
	case "Encounter", "Condition", "Procedure", "Communication", "CommunicationRequest":
		return patientOf(m["subject"])
	case "Claim", "ExplanationOfBenefit", "ClaimResponse":
		return patientOf(m["patient"])
	case "Coverage":
		return patientOf(m["beneficiary"])
	case "Task":
		return patientOf(m["for"])
	}
	return ""
}

// vocabulary is what notification.go writes: its string literals, and
// every word in them. An error made only of these words is made by the
// code, not copied from the input.
type vocabulary struct {
	words    map[string]bool
	literals string // the literals, one a line
}

func errorVocabulary(tb testing.TB) vocabulary {
	src, err := os.ReadFile("notification.go")
	if err != nil {
		tb.Fatal(err)
	}
	fset := token.NewFileSet()
	var s scanner.Scanner
	s.Init(fset.AddFile("notification.go", -1, len(src)), src, nil, 0)
	vocab := vocabulary{words: map[string]bool{}}
	for {
		_, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		if tok != token.STRING {
			continue
		}
		if v, err := strconv.Unquote(lit); err == nil {
			vocab.literals += v + "\n"
			for _, w := range words(v) {
				vocab.words[w] = true
			}
		}
	}
	if len(vocab.words) < 20 {
		tb.Fatalf("only %d words in notification.go's literals", len(vocab.words))
	}
	return vocab
}

func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-')
	})
}

// checkErrorText fails when the error has a word the code does not write,
// or quotes a string of the input longer than a few characters that is not
// part of what the code writes.
func checkErrorText(t *testing.T, vocab vocabulary, err error, body []byte) {
	t.Helper()
	msg := err.Error()
	for _, w := range words(msg) {
		if !vocab.words[w] {
			t.Fatalf("error %q has the word %q, which notification.go does not write", msg, w)
		}
	}
	for _, s := range inputStrings(body) {
		if len(s) < 6 || !strings.Contains(msg, s) || strings.Contains(vocab.literals, s) {
			continue
		}
		for _, w := range words(s) {
			if !vocab.words[w] {
				t.Fatalf("error %q quotes the input %q", msg, s)
			}
		}
	}
}

// inputStrings are the input's JSON strings and member names, decoded, or
// its whitespace-separated runs when it is not JSON.
func inputStrings(body []byte) []string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return strings.Fields(string(body))
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for k, e := range v {
				out = append(out, k)
				walk(e)
			}
		}
	}
	walk(v)
	return out
}
