package subscriptions

import (
	"errors"
	"strings"
	"testing"
)

func validConfig() Config {
	return Config{
		PublicURL: "https://utilreview.example.org/",
		Secret:    "s3cr3t-value",
		Types:     []string{"Encounter", "Claim"},
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	c, err := validConfig().withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Instance != DefaultInstance || c.Mode != ModeRestHook || c.Logger == nil || c.TopicURL == nil {
		t.Errorf("defaults: got instance %q mode %q logger %v topic func %v", c.Instance, c.Mode, c.Logger, c.TopicURL != nil)
	}
	if got, want := c.endpoint(), "https://utilreview.example.org/fhir/notify"; got != want {
		t.Errorf("endpoint: got %q, want %q", got, want)
	}
	if got, want := c.tagSystem(), "https://utilreview.dev/fhir/CodeSystem/instance"; got != want {
		t.Errorf("tag system: got %q, want %q", got, want)
	}
	if got, want := DefaultTopicURL("ExplanationOfBenefit"), "http://utilreview.example/fhir/SubscriptionTopic/explanationofbenefit-changed"; got != want {
		t.Errorf("DefaultTopicURL: got %q, want %q", got, want)
	}
	c2 := validConfig()
	c2.CanonicalBase = "https://fhir.hospital.example/utilreview/"
	if c2, err = c2.withDefaults(); err != nil || c2.tagSystem() != "https://fhir.hospital.example/utilreview/CodeSystem/instance" {
		t.Errorf("tag system from canonical base: got %q (%v)", c2.tagSystem(), err)
	}
}

func TestConfigOffNeedsNothing(t *testing.T) {
	t.Parallel()
	if _, err := (Config{Mode: ModeOff}).withDefaults(); err != nil {
		t.Errorf("off mode without URL, secret or types: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Config)
		want   string // in the error text
	}{
		{"no public URL", func(c *Config) { c.PublicURL = "" }, "public URL is required"},
		{"relative public URL", func(c *Config) { c.PublicURL = "utilreview:8080" }, "absolute http or https URL"},
		{"public URL with query", func(c *Config) { c.PublicURL = "http://x.example/?a=b" }, "no query"},
		{"public URL with user", func(c *Config) { c.PublicURL = "http://u:p@x.example" }, "no user information"},
		{"no secret", func(c *Config) { c.Secret = "" }, "secret is required"},
		{"secret with newline", func(c *Config) { c.Secret = "abc\r\nX-Evil: 1" }, "control character"},
		{"secret with space", func(c *Config) { c.Secret = " abc" }, "white space"},
		{"bad mode", func(c *Config) { c.Mode = "websocket" }, `mode "websocket"`},
		{"bad instance", func(c *Config) { c.Instance = "a:b" }, `instance "a:b"`},
		{"long instance", func(c *Config) { c.Instance = strings.Repeat("a", 65) }, "instance"},
		{"no types", func(c *Config) { c.Types = nil }, "no resource types"},
		{"bad type", func(c *Config) { c.Types = []string{"encounter"} }, `resource type "encounter"`},
		{"duplicate type", func(c *Config) { c.Types = []string{"Claim", "Claim"} }, "listed twice"},
		{"filter with ?", func(c *Config) { c.Filter = "?_tag=a|b" }, "leading '?'"},
		{"filter with space", func(c *Config) { c.Filter = "_tag=a b" }, "white space"},
		{"filter unparsable", func(c *Config) { c.Filter = "_tag=%zz" }, "filter"},
		{"relative canonical base", func(c *Config) { c.CanonicalBase = "utilreview" }, "canonical base"},
		{"topic not a URL", func(c *Config) {
			c.Mode = ModeTopic
			c.TopicURL = func(string) string { return "encounter-changed" }
		}, "not an absolute URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := validConfig()
			tt.change(&c)
			_, err := c.withDefaults()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
			if err != nil && c.Secret != "" && strings.Contains(err.Error(), c.Secret) {
				t.Errorf("error text shows the secret: %v", err)
			}
		})
	}
}

func TestConfigErrorsAreAllReported(t *testing.T) {
	t.Parallel()
	_, err := Config{Mode: ModeRestHook}.withDefaults()
	for _, want := range []string{"public URL", "secret", "no resource types"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want it to name %q", err, want)
		}
	}
}

func TestMasker(t *testing.T) {
	t.Parallel()
	m := newMasker(`a<b>&"c/d`)
	for _, text := range []string{
		`header Authorization: Bearer a<b>&"c/d`,
		`{"header":["Authorization: Bearer a<b>&\"c/d"]}`,
		`{"header":["Authorization: Bearer a\u003cb\u003e\u0026\"c/d"]}`,
		`q=a%3Cb%3E%26%22c%2Fd`,
	} {
		got := m.mask(text)
		if strings.Contains(got, "c/d") || strings.Contains(got, "c%2Fd") || !strings.Contains(got, masked) {
			t.Errorf("mask(%q) = %q, want the secret masked", text, got)
		}
	}
	cause := errors.New(`refused a<b>&"c/d`)
	err := m.err(cause)
	if !errors.Is(err, cause) || strings.Contains(err.Error(), "c/d") {
		t.Errorf("masked error: got %q (Is cause: %v)", err, errors.Is(err, cause))
	}
	if newMasker("").err(cause) != cause {
		t.Error("no secret: the error should pass through")
	}
}
