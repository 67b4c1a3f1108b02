package queue

import (
	"context"
	"testing"
	"time"
)

// Admit recognises the versions the service wrote itself (RecordOwnWrites)
// for OwnWriteTTL: equal, or an earlier decimal version (the If-Match write
// read it); a later version, a non-decimal one that differs, no version, or
// a record that expired is queued. Own versions neither queue nor mark the
// patient waiting.
func TestAdmitOwnWrites(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		own     string // recorded version of Task/t
		version string // the notification's
		expire  bool   // the record expired before the notification
		want    Admission
	}{
		{"the version written", "3", "3", false, OwnWrite},
		{"an earlier version", "3", "2", false, OwnWrite},
		{"a later version: a clinician's edit", "3", "4", false, Queued},
		{"a longer decimal is later", "9", "10", false, Queued},
		{"opaque versions must be equal", "abc", "abd", false, Queued},
		{"opaque version equal", "MTY4", "MTY4", false, OwnWrite},
		{"no version (id-only, delete)", "3", "", false, Queued},
		{"the record expired", "3", "3", true, Queued},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q, _ := newQueue(t, func(c *Config) { c.OwnWriteTTL = 100 * time.Millisecond })
			ctx := context.Background()
			if err := q.RecordOwnWrites(ctx, map[string]string{"Task/t": tt.own}); err != nil {
				t.Fatal(err)
			}
			if tt.expire {
				time.Sleep(250 * time.Millisecond)
			}
			a, err := q.Admit(ctx, Entry{Patient: "Patient/p", Resource: "Task/t", Version: tt.version, Reason: "notification"})
			if err != nil {
				t.Fatal(err)
			}
			if a != tt.want {
				t.Fatalf("Admit: %v, want %v", a, tt.want)
			}
			st, err := q.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[Admission]int64{OwnWrite: 0, Queued: 1}[tt.want]; st.Depth != want {
				t.Errorf("depth %d, want %d", st.Depth, want)
			}
			// The patient is not marked waiting by an own version: the next
			// change queues.
			if tt.want == OwnWrite {
				if a, err := q.Admit(ctx, Entry{Patient: "Patient/p", Resource: "Encounter/e", Version: "1"}); err != nil || a != Queued {
					t.Errorf("a change after an own version: %v (%v), want queued", a, err)
				}
			}
		})
	}
}
