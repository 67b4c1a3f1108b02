package fhir

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBearerTokenFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "token")
	write := func(content string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	write("  secret-one\n", t0)
	ts := BearerTokenFile(path)
	mustToken := func(want string) {
		t.Helper()
		got, err := ts.Token(ctx)
		if err != nil || got != want {
			t.Fatalf("Token() = %q, %v; want %q", got, err, want)
		}
	}
	mustToken("secret-one")

	// Same size and time: the cached token, though the file changed.
	write("  secret-two\n", t0)
	mustToken("secret-one")
	// A refused token is read again.
	ts.(TokenInvalidator).Invalidate("secret-one")
	mustToken("secret-two")
	// A new modification time: read again.
	write("secret-333\n", t0.Add(time.Second))
	mustToken("secret-333")

	for name, content := range map[string]string{"empty": " \n", "two tokens": "secret-a secret-b"} {
		write(content, t0.Add(time.Hour))
		if _, err := ts.Token(ctx); err == nil || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: got %v, want an error naming the file and not its content", name, err)
		}
	}
	os.Remove(path)
	if _, err := ts.Token(ctx); err == nil || !strings.Contains(err.Error(), "bearer token file "+path) {
		t.Errorf("missing file: got %v", err)
	}
}

func TestBearerTokenFileWithClient(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("abc.def\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rc := &recorder{answers: []func(http.ResponseWriter, *http.Request){status(200)}}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv.URL+"/fhir", ClientConfig{Auth: BearerTokenFile(path)})
	if _, err := c.Read(context.Background(), "Encounter", "e1"); err != nil {
		t.Fatal(err)
	}
	if got := rc.req(0).Header.Get("Authorization"); got != "Bearer abc.def" {
		t.Errorf("Authorization = %q", got)
	}
}
