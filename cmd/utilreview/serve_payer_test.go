package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServePayerAPI: with UTILREVIEW_PAYER_API the service answers the payer
// API at <public-url>/payer/fhir: metadata without a token, naming the
// service's token endpoint; the determinations only with a Principal (this
// branch has no authentication middleware configured: 401).
func TestServePayerAPI(t *testing.T) {
	t.Parallel()
	l := newLiveEnv(t, "")
	l.env["UTILREVIEW_PAYER_API"] = "true"
	l.env["UTILREVIEW_SUBSCRIPTIONS"] = "off"
	p := l.run(t, "127.0.0.1:0", serveOptions{})

	resp, err := http.Get(p.base + "/payer/fhir/metadata")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"valueUri":"`+p.base+`/payer/auth/token"`) {
		t.Fatalf("metadata: %d %s", resp.StatusCode, body)
	}
	resp, err = http.Get(p.base + "/payer/fhir/ClaimResponse?identifier=x")
	if err != nil {
		t.Fatal(err)
	}
	var oo struct{ ResourceType string }
	_ = json.NewDecoder(resp.Body).Decode(&oo)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || oo.ResourceType != "OperationOutcome" {
		t.Fatalf("search without a token: %d %s", resp.StatusCode, oo.ResourceType)
	}
}

// TestServePayerAPIConfig: the payer API's settings are checked at start.
func TestServePayerAPIConfig(t *testing.T) {
	base := map[string]string{
		"UTILREVIEW_FHIR_URL": "http://127.0.0.1:1/fhir", "UTILREVIEW_REDIS_URL": "redis://127.0.0.1:1/0",
		"UTILREVIEW_WEBHOOK_SECRET": "0123456789abcdef0123", "UTILREVIEW_SUBSCRIPTIONS": "off", "UTILREVIEW_PAYER_API": "true",
	}
	tests := []struct {
		name  string
		extra map[string]string
		want  string // "" accepted
	}{
		{"no public URL", nil, "UTILREVIEW_PAYER_API needs UTILREVIEW_PUBLIC_URL"},
		{"ok", map[string]string{"UTILREVIEW_PUBLIC_URL": "https://ur.example.org"}, ""},
		{"size bound too large", map[string]string{"UTILREVIEW_PUBLIC_URL": "https://ur.example.org", "UTILREVIEW_PAYER_EXPORT_MAX_MB": "1024"}, "UTILREVIEW_PAYER_EXPORT_MAX_MB"},
		{"zero TTL", map[string]string{"UTILREVIEW_PUBLIC_URL": "https://ur.example.org", "UTILREVIEW_PAYER_EXPORT_TTL": "0s"}, "UTILREVIEW_PAYER_EXPORT_TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tt.extra {
				env[k] = v
			}
			cfg, err := parseServeFlags(nil, func(k string) string { return env[k] }, io.Discard, io.Discard)
			if tt.want == "" {
				if err != nil || !cfg.PayerAPI || cfg.PayerExportMaxMB != 64 {
					t.Fatalf("%v %+v", err, cfg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one naming %s", err, tt.want)
			}
		})
	}
}
