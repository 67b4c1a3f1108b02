package live_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/live"
	"github.com/utilreview/utilreview/service/queue"
)

// skewedServer is a FHIR server whose clock is off from the service's by
// skew: its Date header and every meta.lastUpdated are in its own time, as
// a hospital's server may be minutes off the service's.
type skewedServer struct {
	mu        sync.Mutex
	skew      time.Duration
	encounter []string // lastUpdated of Encounter e<i>, in the server's time
	queries   []string
}

func (s *skewedServer) now() time.Time { return time.Now().Add(s.skew).UTC() }

// add stores an Encounter of patient p<i> updated now, server time.
func (s *skewedServer) add() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.encounter = append(s.encounter, s.now().Format("2006-01-02T15:04:05.000Z07:00"))
}

func (s *skewedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Date", s.now().Format(http.TimeFormat))
	w.Header().Set("Content-Type", "application/fhir+json")
	q := r.URL.Query()
	if r.URL.Path == "/fhir/Encounter" {
		s.queries = append(s.queries, q.Get("_lastUpdated"))
	}
	if r.URL.Path != "/fhir/Encounter" {
		fmt.Fprint(w, `{"resourceType":"Bundle","type":"searchset","total":0}`)
		return
	}
	if q.Get("_summary") == "count" {
		fmt.Fprintf(w, `{"resourceType":"Bundle","type":"searchset","total":%d}`, len(s.encounter))
		return
	}
	from, err := time.Parse("2006-01-02T15:04:05.000Z07:00", strings.TrimPrefix(q.Get("_lastUpdated"), "ge"))
	if err != nil {
		http.Error(w, "bad _lastUpdated", http.StatusBadRequest)
		return
	}
	var entries []string
	for i, lu := range s.encounter {
		t, _ := time.Parse("2006-01-02T15:04:05.000Z07:00", lu)
		if !t.Before(from) {
			entries = append(entries, fmt.Sprintf(`{"resource":{"resourceType":"Encounter","id":"e%d","meta":{"versionId":"1","lastUpdated":%q},"status":"in-progress","class":{"code":"IMP"},"subject":{"reference":"Patient/p%d"}},"search":{"mode":"match"}}`, i, lu, i))
		}
	}
	fmt.Fprintf(w, `{"resourceType":"Bundle","type":"searchset","entry":[%s]}`, strings.Join(entries, ","))
}

// TestCatchUpUsesTheServersClock: the catch-up's watermark is the server's
// lastUpdated, never the service's clock, so a server 10 minutes ahead of
// or behind the service loses nothing: what changed after a catch-up is
// found by the next one, and the first one looks back its window in the
// server's time.
func TestCatchUpUsesTheServersClock(t *testing.T) {
	t.Parallel()
	for _, skew := range []time.Duration{10 * time.Minute, -10 * time.Minute} {
		t.Run(fmt.Sprintf("server %+v", skew), func(t *testing.T) {
			t.Parallel()
			rdb, prefix := harness.Redis(t)
			q, err := queue.New(rdb, queue.Config{Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			srv := &skewedServer{skew: skew}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			client, err := fhir.NewClient(fhir.ClientConfig{BaseURL: ts.URL + "/fhir", MaxAttempts: 1})
			if err != nil {
				t.Fatal(err)
			}
			cu := live.NewCatchUp(live.CatchUpConfig{Types: []string{"Encounter"}, Window: 5 * time.Minute, Overlap: time.Second}, client, q)
			ctx := context.Background()

			srv.add() // changed before the service ever ran
			if n, err := cu.Once(ctx); err != nil || n != 1 {
				t.Fatalf("first catch-up: found %d (%v), want the 1 Encounter of the 5-minute window in the server's time (a window from the service's clock misses it when the server is behind)", n, err)
			}
			wm, ok, err := q.Watermark(ctx, "Encounter")
			if err != nil || !ok {
				t.Fatalf("no watermark after the first catch-up (%v)", err)
			}
			if got := wm.Format("2006-01-02T15:04:05.000Z07:00"); got != srv.encounter[0] {
				t.Errorf("watermark %s, want the server's lastUpdated %s", got, srv.encounter[0])
			}

			srv.add()
			// The search starts again an overlap before the watermark (a
			// write committed late is not lost), so the first Encounter is
			// found again too; its version was queued by the first catch-up,
			// so only the new one is queued.
			n, err := cu.Once(ctx)
			if err != nil || n != 1 {
				t.Fatalf("second catch-up: queued %d (%v), want 1 (the new Encounter; the first, found again by the overlap, was already queued)", n, err)
			}
			if want := "ge" + wm.Add(-time.Second).Format("2006-01-02T15:04:05.000Z07:00"); srv.queries[len(srv.queries)-1] != want {
				t.Errorf("second search from %s, want %s (the watermark less the overlap, in the server's time)", srv.queries[len(srv.queries)-1], want)
			}
			st, err := q.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.Depth != 2 {
				t.Errorf("queue depth %d, want 2 (one entry per patient changed)", st.Depth)
			}
			// Nothing changed: the overlap finds the same versions, and a
			// third catch-up queues nothing (at a fixed clock the service
			// would otherwise review the newest patients at every interval).
			if n, err := cu.Once(ctx); err != nil || n != 0 {
				t.Errorf("third catch-up with nothing changed: queued %d (%v), want 0", n, err)
			}
		})
	}
}
