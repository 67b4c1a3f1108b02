package harness

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

func TestUniqueIDIsAValidFHIRID(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)
	tests := []string{"", "task", "TestX/sub test #1", strings.Repeat("long", 40)}
	for _, prefix := range tests {
		a, b := UniqueID(prefix), UniqueID(prefix)
		if !valid.MatchString(a) {
			t.Errorf("UniqueID(%q) = %q, not a FHIR id", prefix, a)
		}
		if a == b {
			t.Errorf("UniqueID(%q) twice: got %q both times", prefix, a)
		}
	}
}

func TestQueryEscapesValues(t *testing.T) {
	t.Parallel()
	got := Query("Task", "_tag", "https://x.example/cs|a b", "_count", "5")
	want := "Task?_count=5&_tag=https%3A%2F%2Fx.example%2Fcs%7Ca+b"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// Keys a test writes under its prefix are gone after it ends; another test's prefix differs.
func TestRedisKeyPrefixIsolatedAndCleanedUp(t *testing.T) {
	ctx := context.Background()
	var first string
	t.Run("writer", func(t *testing.T) {
		client, prefix := Redis(t)
		first = prefix
		if err := client.Set(ctx, prefix+"k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if n := client.Exists(ctx, prefix+"k").Val(); n != 1 {
			t.Fatalf("got %d keys, want 1", n)
		}
	})
	if first == "" {
		return // the writer skipped or failed and said why
	}
	client, prefix := Redis(t)
	if prefix == first {
		t.Fatalf("two tests got the same prefix %q", prefix)
	}
	if n := client.Exists(ctx, first+"k").Val(); n != 0 {
		t.Errorf("key of the finished test still exists")
	}
}
