package handlers_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io/fs"
	"net/http"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/handlers"
	"github.com/utilreview/utilreview/service/rules"
	"github.com/utilreview/utilreview/service/rulestore"
)

// rulesTar is the shipped rule directory as a tar (gz: gzip-compressed)
// under a top directory "rules/", with edits (file → old → new) applied.
func rulesTar(t *testing.T, gz bool, edits ...[3]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	var zw *gzip.Writer
	tw := tar.NewWriter(&buf)
	if gz {
		zw = gzip.NewWriter(&buf)
		tw = tar.NewWriter(zw)
	}
	err := fs.WalkDir(rules.DefaultsFS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(rules.DefaultsFS(), name)
		if err != nil {
			return err
		}
		for _, e := range edits {
			if e[0] == name {
				if !bytes.Contains(data, []byte(e[1])) {
					t.Fatalf("%s lacks %q", name, e[1])
				}
				data = bytes.Replace(data, []byte(e[1]), []byte(e[2]), 1)
			}
		}
		if err := tw.WriteHeader(&tar.Header{Name: "rules/" + name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// The rules routes are admin routes: 401 without credentials, 403 with the
// wrong ones (the webhook secret included), 404 when no admin token or no
// store is configured. Refused requests never reach the store.
func TestAdminRulesAuth(t *testing.T) {
	t.Parallel()
	// A store on an address nothing listens on: a request that reached it
	// would answer 503, not the status wanted.
	store, err := rulestore.New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), rulestore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		token  string
		store  bool
		header string
		status int
		code   string
	}{
		{"disabled without a token", "", true, "Bearer " + adminToken, 404, "not-found"},
		{"no credentials", adminToken, true, "", 401, "login"},
		{"the webhook secret is not the admin token", adminToken, true, "Bearer " + secret, 403, "forbidden"},
		{"wrong token", adminToken, true, "Bearer x" + adminToken, 403, "forbidden"},
		{"no rule store", adminToken, false, "Bearer " + adminToken, 404, "not-found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, func(c *handlers.Config) {
				c.AdminToken = tt.token
				if tt.store {
					c.Rules = store
				}
			})
			for _, req := range []*http.Request{
				request(http.MethodPut, "/admin/rules", rulesTar(t, true), "Authorization", tt.header),
				request(http.MethodGet, "/admin/rules", nil, "Authorization", tt.header),
				request(http.MethodPost, "/admin/rules/rollback", []byte(`{"version":"0123456789"}`), "Authorization", tt.header),
			} {
				checkOutcome(t, ts.do(req), tt.status, tt.code)
			}
		})
	}
}

func TestAdminRules(t *testing.T) {
	t.Parallel()
	rdb, prefix := harness.Redis(t)
	store, err := rulestore.New(rdb, rulestore.Config{Prefix: prefix + "{ur}:"})
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, func(c *handlers.Config) { c.Rules = store; c.MaxRulesBody = 1 << 20 })
	auth := []string{"Authorization", "Bearer " + adminToken}
	put := func(body []byte, extra ...string) *http.Request {
		return request(http.MethodPut, "/admin/rules", body, append(append([]string{}, auth...), extra...)...)
	}
	version := func(t *testing.T, w interface{ Bytes() []byte }) rulestore.Version {
		t.Helper()
		var v rulestore.Version
		if err := json.Unmarshal(w.Bytes(), &v); err != nil {
			t.Fatalf("not a version: %v: %s", err, w.Bytes())
		}
		return v
	}

	// A tar.gz of the shipped rules: 201, the version named by the hash of
	// the files (the top directory dropped).
	w := ts.do(put(rulesTar(t, true), "X-Utilreview-Publisher", "alice"))
	if w.Code != http.StatusCreated {
		t.Fatalf("PUT tar.gz: %d %s", w.Code, w.Body)
	}
	want, _ := rulestore.Defaults()
	v1 := version(t, w.Body)
	if v1.Hash != want.Hash() || v1.Publisher != "alice" || !v1.Current {
		t.Errorf("version %+v, want %s by alice, current", v1, want.Hash())
	}
	// The same bundle as a plain tar: a stored version, 200.
	if w := ts.do(put(rulesTar(t, false))); w.Code != http.StatusOK || version(t, w.Body).Hash != v1.Hash {
		t.Errorf("PUT the same tar: %d %s, want 200 and the stored version", w.Code, w.Body)
	}
	// A changed rule set under a new version (plain tar): 201, current.
	w = ts.do(put(rulesTar(t, false, [3]string{"commercial-acme.yaml", "hours: 24", "hours: 12"}, [3]string{"commercial-acme.yaml", `version: "2025.1"`, `version: "2025.2"`})))
	if w.Code != http.StatusCreated {
		t.Fatalf("PUT v2: %d %s", w.Code, w.Body)
	}
	v2 := version(t, w.Body)
	if v2.Publisher != "admin API" {
		t.Errorf("publisher %q without the header, want admin API", v2.Publisher)
	}

	// Invalid: 422, every validation message an issue, nothing changes.
	w = ts.do(put(rulesTar(t, true, [3]string{"commercial-acme.yaml", "factor: 1.0", "factor: -1"}, [3]string{"medicaid-example.yaml", "program: medicaid", "program: medicai"})))
	checkOutcome(t, w, http.StatusUnprocessableEntity, "invalid")
	var oo struct {
		Issue []struct{ Diagnostics string }
	}
	_ = json.Unmarshal(w.Body.Bytes(), &oo)
	var diags []string
	for _, is := range oo.Issue {
		diags = append(diags, is.Diagnostics)
	}
	if len(diags) < 2 || !strings.HasPrefix(diags[0], "commercial-acme.yaml:") || !strings.Contains(strings.Join(diags, "\n"), "medicaid-example.yaml:") {
		t.Errorf("issues %q: want file:line: field: reason for both files", diags)
	}
	// Changed content under a stored id@version: 409.
	checkOutcome(t, ts.do(put(rulesTar(t, true, [3]string{"commercial-acme.yaml", "hours: 24", "hours: 6"}))), http.StatusConflict, "conflict")
	// Not a tar, too large.
	checkOutcome(t, ts.do(put([]byte("id: x\n"))), http.StatusBadRequest, "structure")
	var big bytes.Buffer
	bw := tar.NewWriter(&big)
	_ = bw.WriteHeader(&tar.Header{Name: "big.yaml", Typeflag: tar.TypeReg, Mode: 0o644, Size: 2 << 20})
	_, _ = bw.Write(bytes.Repeat([]byte("x"), 2<<20))
	_ = bw.Close()
	checkOutcome(t, ts.do(put(big.Bytes())), http.StatusRequestEntityTooLarge, "too-long")

	// GET lists current first.
	w = ts.do(request(http.MethodGet, "/admin/rules", nil, auth...))
	var list []rulestore.Version
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil || len(list) != 2 || list[0].Hash != v2.Hash || !list[0].Current || list[1].Hash != v1.Hash {
		t.Fatalf("GET /admin/rules: %d %s", w.Code, w.Body)
	}

	// Rollback.
	w = ts.do(request(http.MethodPost, "/admin/rules/rollback", []byte(`{"version":"`+v1.Hash+`"}`), auth...))
	if w.Code != http.StatusOK || version(t, w.Body).Hash != v1.Hash {
		t.Errorf("rollback: %d %s", w.Code, w.Body)
	}
	if cur, _ := store.Current(t.Context()); cur != v1.Hash {
		t.Errorf("current %s after rollback, want v1", cur)
	}
	for _, c := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"version":"` + strings.Repeat("0", 64) + `"}`, 404, "not-found"},
		{`{"version":"abc"}`, 400, "structure"},
		{`{}`, 400, "structure"},
		{`not json`, 400, "structure"},
	} {
		checkOutcome(t, ts.do(request(http.MethodPost, "/admin/rules/rollback", []byte(c.body), auth...)), c.status, c.code)
	}
}
