// Package harness gives tests the real FHIR server (HAPI FHIR R4) and Redis that scripts/test.sh starts once
// per test run, and small helpers to use them without colliding with other tests that share them.
//
// The servers are handed over in environment variables:
//
//	UTILREVIEW_TEST_FHIR_URL    base URL of the FHIR server, e.g. http://127.0.0.1:40123/fhir
//	UTILREVIEW_TEST_REDIS_ADDR  host:port of a Redis server
//
// When one is missing, a test that needs it is skipped under -short, fails with CI=true, and is skipped otherwise.
package harness

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Environment variables that hand the shared servers to the tests.
const (
	EnvFHIRURL   = "UTILREVIEW_TEST_FHIR_URL"
	EnvRedisAddr = "UTILREVIEW_TEST_REDIS_ADDR"
)

// FHIRURL returns the base URL of the shared FHIR server (no trailing slash), or skips or fails the test when
// there is none.
func FHIRURL(t testing.TB) string {
	t.Helper()
	return strings.TrimRight(require(t, EnvFHIRURL, "a FHIR server (HAPI FHIR, scripts/hapi.sh)"), "/")
}

// RedisAddr returns host:port of the shared Redis server, or skips or fails the test when there is none.
func RedisAddr(t testing.TB) string {
	t.Helper()
	return require(t, EnvRedisAddr, "a Redis server (scripts/redis.sh)")
}

func require(t testing.TB, env, what string) string {
	t.Helper()
	if v := os.Getenv(env); v != "" {
		return v
	}
	// -short means "no servers" everywhere, CI included (make test-short starts none).
	if testing.Short() {
		t.Skipf("skipped under -short: needs %s (%s)", what, env)
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set: this test needs %s; run the tests with `make test` (scripts/test.sh starts it and sets %s)", env, what, env)
	}
	t.Skipf("skipped: %s is not set; run `make test`, or start %s yourself and export %s", env, what, env)
	return ""
}

// UniqueID returns a FHIR id (at most 64 characters of [A-Za-z0-9-.]) that no other test or run will use:
// prefix, then the time, then random hex. Tests sharing one server give client-assigned ids with it.
func UniqueID(prefix string) string {
	prefix = invalidIDChars.ReplaceAllString(prefix, "-")
	suffix := fmt.Sprintf("%x-%s", time.Now().UnixMilli(), randomHex(4))
	if max := 64 - len(suffix) - 1; len(prefix) > max {
		prefix = prefix[:max]
	}
	if prefix == "" {
		return suffix
	}
	return prefix + "-" + suffix
}

var invalidIDChars = regexp.MustCompile(`[^A-Za-z0-9\-.]`)

// TagSystem is the code system of the tags that scope a test's resources on the shared server.
const TagSystem = "https://utilreview.example/fhir/CodeSystem/test-run"

// Tag is a meta.tag Coding unique to one test, so that its searches find only its own resources.
type Tag struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

// UniqueTag returns a tag no other test or run uses; put it in meta.tag and search with `_tag=` + Param().
func UniqueTag(t testing.TB) Tag {
	t.Helper()
	return Tag{System: TagSystem, Code: UniqueID(t.Name())}
}

// Param is the tag as a token search value: system|code.
func (g Tag) Param() string { return g.System + "|" + g.Code }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("harness: random: %v", err))
	}
	return hex.EncodeToString(b)
}

// Eventually polls cond every interval until it returns true or timeout passes, then fails the test with the
// last error cond gave. Use it instead of sleeping: the servers are slow on small machines, and generous
// timeouts cost nothing when the condition holds early.
func Eventually(t testing.TB, timeout, interval time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(interval)
	}
	if lastErr != nil {
		t.Fatalf("%s: not after %s: %v", what, timeout, lastErr)
	}
	t.Fatalf("%s: not after %s", what, timeout)
}
