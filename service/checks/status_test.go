package checks

import (
	"testing"
	"time"
)

func TestStatusFor(t *testing.T) {
	t.Parallel()
	asOf := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	r := &run{asOf: asOf, loc: time.UTC}
	tests := []struct {
		name string
		due  time.Time
		want string
	}{
		{"a second ago", asOf.Add(-time.Second), StatusOverdue},
		{"now", asOf, StatusDueSoon},
		{"in an hour", asOf.Add(time.Hour), StatusDueSoon},
		{"in exactly 24 h", asOf.Add(24 * time.Hour), StatusDueSoon},
		{"in 24 h and a second", asOf.Add(24*time.Hour + time.Second), StatusAwaitingReview},
		{"next week", asOf.AddDate(0, 0, 7), StatusAwaitingReview},
	}
	for _, tc := range tests {
		if got := r.statusFor(tc.due); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
