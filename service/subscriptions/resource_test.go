package subscriptions

import (
	"encoding/json"
	"slices"
	"testing"
)

func mustConfig(t *testing.T, c Config) Config {
	t.Helper()
	c, err := c.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// asMap is the Subscription as JSON, decoded generically: what the server gets.
func asMap(t *testing.T, s subscription) map[string]any {
	t.Helper()
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDesiredRestHook(t *testing.T) {
	t.Parallel()
	cfg := validConfig()
	cfg.Instance = "ward7"
	cfg.Filter = "_tag=urn:example|ward-7"
	c := mustConfig(t, cfg)
	m := asMap(t, c.desired("Encounter"))

	want := map[string]any{
		"resourceType": "Subscription",
		"status":       "requested",
		"criteria":     "Encounter?_tag=urn:example|ward-7",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s: got %v, want %v", k, m[k], v)
		}
	}
	if m["reason"] == "" || m["reason"] == nil {
		t.Error("reason is required in R4")
	}
	meta := m["meta"].(map[string]any)
	if meta["profile"] != nil {
		t.Errorf("rest-hook mode: got profile %v, want none", meta["profile"])
	}
	tags := meta["tag"].([]any)
	if len(tags) != 2 ||
		tags[0].(map[string]any)["code"] != "ward7" || tags[1].(map[string]any)["code"] != "ward7:Encounter" ||
		tags[0].(map[string]any)["system"] != "https://utilreview.dev/fhir/CodeSystem/instance" {
		t.Errorf("tags: got %v, want the instance tag and the slot tag", tags)
	}
	ch := m["channel"].(map[string]any)
	if ch["type"] != "rest-hook" || ch["endpoint"] != "https://utilreview.example.org/fhir/notify" || ch["payload"] != "application/fhir+json" {
		t.Errorf("channel: got %v", ch)
	}
	if h := ch["header"].([]any); len(h) != 1 || h[0] != "Authorization: Bearer s3cr3t-value" {
		t.Errorf("header: got %v", h)
	}
	ext := ch["extension"].([]any)[0].(map[string]any)
	if ext["url"] != SendDeleteExtension || ext["valueBoolean"] != true {
		t.Errorf("send-delete extension: got %v", ext)
	}
	if m["_criteria"] != nil || ch["_payload"] != nil {
		t.Errorf("rest-hook mode: got backport extensions %v %v", m["_criteria"], ch["_payload"])
	}
}

func TestDesiredRestHookWithoutFilter(t *testing.T) {
	t.Parallel()
	c := mustConfig(t, validConfig())
	if got := c.desired("Claim").Criteria; got != "Claim?" {
		t.Errorf("criteria: got %q, want Claim? (HAPI refuses a bare type)", got)
	}
}

func TestDesiredTopic(t *testing.T) {
	t.Parallel()
	cfg := validConfig()
	cfg.Mode = ModeTopic
	cfg.Filter = "_tag=urn:example|ward-7"
	c := mustConfig(t, cfg)
	m := asMap(t, c.desired("Claim"))
	if got := m["meta"].(map[string]any)["profile"].([]any); len(got) != 1 || got[0] != BackportProfile {
		t.Errorf("profile: got %v", got)
	}
	if m["criteria"] != "http://utilreview.example/fhir/SubscriptionTopic/claim-changed" {
		t.Errorf("criteria: got %v, want the topic", m["criteria"])
	}
	fc := m["_criteria"].(map[string]any)["extension"].([]any)[0].(map[string]any)
	if fc["url"] != BackportFilterCriteria || fc["valueString"] != "Claim?_tag=urn:example|ward-7" {
		t.Errorf("filter criteria: got %v", fc)
	}
	ch := m["channel"].(map[string]any)
	pc := ch["_payload"].(map[string]any)["extension"].([]any)[0].(map[string]any)
	if pc["url"] != BackportPayloadContent || pc["valueCode"] != "full-resource" {
		t.Errorf("payload content: got %v", pc)
	}
	if ch["payload"] != "application/fhir+json" || ch["type"] != "rest-hook" || ch["extension"] != nil {
		t.Errorf("channel: got %v", ch)
	}

	// HAPI refuses a topic Subscription without filter criteria (HAPI-0011):
	// no filter is the bare type.
	cfg.Filter = ""
	if s := mustConfig(t, cfg).desired("Claim"); s.CriteriaExt.extension(BackportFilterCriteria) == nil || s.CriteriaExt.extension(BackportFilterCriteria).ValueString != "Claim?" {
		t.Errorf("no filter: got filter criteria %+v, want Claim?", s.CriteriaExt)
	}
}

func TestDrift(t *testing.T) {
	t.Parallel()
	c := mustConfig(t, validConfig())
	want := c.desired("Encounter")
	roundTrip := func(s subscription) subscription {
		data, _ := json.Marshal(s)
		got, err := decodeSubscription(data)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	tests := []struct {
		name   string
		change func(*subscription)
		want   []string
	}{
		{"same", func(*subscription) {}, nil},
		{"active is fine", func(s *subscription) { s.Status = statusActive }, nil},
		{"server additions are fine", func(s *subscription) {
			s.Meta.VersionID = "3"
			s.Meta.Tag = append(s.Meta.Tag, coding{System: "http://hapifhir.io/fhir/StructureDefinition/subscription-matching-strategy", Code: "IN_MEMORY"})
		}, nil},
		{"off", func(s *subscription) { s.Status = statusOff }, []string{"status"}},
		{"error", func(s *subscription) { s.Status = statusError; s.Error = "boom" }, []string{"status"}},
		{"endpoint", func(s *subscription) { s.Channel.Endpoint = "http://old.example/fhir/notify" }, []string{"endpoint"}},
		{"header", func(s *subscription) { s.Channel.Header = []string{"Authorization: Bearer old"} }, []string{"header"}},
		{"extra header", func(s *subscription) { s.Channel.Header = append(s.Channel.Header, "X-A: b") }, []string{"header"}},
		{"criteria", func(s *subscription) { s.Criteria = "Encounter?status=planned" }, []string{"criteria"}},
		{"no send-delete", func(s *subscription) { s.Channel.Extension = nil }, []string{"send-delete"}},
		{"no payload", func(s *subscription) { s.Channel.Payload = "" }, []string{"payload"}},
		{"topic shaped", func(s *subscription) {
			s.Meta.Profile = []string{BackportProfile}
			s.Criteria = DefaultTopicURL("Encounter")
		}, []string{"profile", "criteria"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			have := roundTrip(c.desired("Encounter"))
			tt.change(&have)
			if got := drift(roundTrip(have), want); !slices.Equal(got, tt.want) {
				t.Errorf("drift: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSlot(t *testing.T) {
	t.Parallel()
	c := mustConfig(t, validConfig())
	s := c.desired("Claim")
	if got := c.slot(s); got != "Claim" {
		t.Errorf("slot: got %q, want Claim", got)
	}
	s.Meta.Tag = s.Meta.Tag[:1]
	if got := c.slot(s); got != "" {
		t.Errorf("no slot tag: got %q", got)
	}
	s = c.desired("Claim")
	s.Meta.Tag = append(s.Meta.Tag, coding{System: c.tagSystem(), Code: c.slotCode("Task")})
	if got := c.slot(s); got != "" {
		t.Errorf("two slot tags: got %q, want none", got)
	}
}

func TestTypeFilters(t *testing.T) {
	t.Parallel()
	cfg := validConfig()
	cfg.Types = []string{"Encounter", "Task"}
	cfg.Filter = "_tag=urn:example|ward-7"
	cfg.TypeFilters = map[string]string{"Task": " identifier=https://utilreview.dev/fhir/identifier/finding| "}
	c, err := cfg.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.desired("Encounter").Criteria, "Encounter?_tag=urn:example|ward-7"; got != want {
		t.Errorf("Encounter criteria %q, want %q", got, want)
	}
	if got, want := c.desired("Task").Criteria, "Task?identifier=https://utilreview.dev/fhir/identifier/finding|"; got != want {
		t.Errorf("Task criteria %q, want %q (its own filter, not the tag)", got, want)
	}
	cfg.TypeFilters = map[string]string{"Task": "?identifier=x"}
	if _, err := cfg.withDefaults(); err == nil {
		t.Error("a type filter with a leading '?' was accepted")
	}
}
