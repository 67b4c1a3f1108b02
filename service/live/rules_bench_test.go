package live_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
	"github.com/utilreview/utilreview/service/live"
	"github.com/utilreview/utilreview/service/review"
	"github.com/utilreview/utilreview/service/rulestore"
	"github.com/utilreview/utilreview/service/worklist"
)

// BenchmarkReviewsDuringPublish reviews the example patients on 2 workers
// while another goroutine switches the current rules version between two
// stored versions every 50 ms (each switch: a publish, the pub/sub message,
// a load and compile in the cache). No review may fail; reviews/s is
// reported with the number of switches the reviews saw.
//
//	UTILREVIEW_TEST_REDIS_ADDR=... go test ./service/live -run '^$' -bench ReviewsDuringPublish
func BenchmarkReviewsDuringPublish(b *testing.B) {
	rdb, prefix := harness.Redis(b)
	store, err := rulestore.New(rdb, rulestore.Config{Prefix: prefix + "{ur}:"})
	if err != nil {
		b.Fatal(err)
	}
	v1, err := rulestore.Defaults()
	if err != nil {
		b.Fatal(err)
	}
	v2 := rulestore.Bundle{}
	for k, v := range v1 {
		v2[k] = v
	}
	v2["commercial-capital.yaml"] = bytes.Replace(bytes.Replace(v1["commercial-capital.yaml"], []byte("los_days > 5"), []byte("los_days > 10"), 1),
		[]byte(`version: "2025.1"`), []byte(`version: "2026.1"`), 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, bb := range []rulestore.Bundle{v2, v1} {
		if _, _, err := store.Publish(ctx, bb, "", "bench"); err != nil {
			b.Fatal(err)
		}
	}
	cache, err := rulestore.NewCache(store, rulestore.CacheConfig{Seed: v1, CheckInterval: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	if err := cache.Start(ctx); err != nil {
		b.Fatal(err)
	}
	go cache.Run(ctx)

	mem, patients := newMemoryFHIR(b, "../../testdata/examples/ur-scenarios.json")
	loc, _ := time.LoadLocation("America/New_York")
	var memo atomic.Pointer[struct {
		c   *rulestore.Compiled
		opt review.Options
	}]
	versionsSeen := sync.Map{}
	options := func() review.Options {
		cur := cache.Current()
		if m := memo.Load(); m != nil && m.c == cur {
			return m.opt
		}
		w := worklist.New(worklist.Config{Location: loc, CustomChecks: worklist.CustomConcepts(cur.Registry.RuleSets())})
		m := &struct {
			c   *rulestore.Compiled
			opt review.Options
		}{cur, review.Options{Location: loc, Rules: cur.Registry, Writer: w, Checks: checks.Config{Location: loc}}}
		memo.Store(m)
		versionsSeen.Store(cur.Version.Hash, true)
		return m.opt
	}
	p, err := live.New(live.Config{
		Review: options(), Versions: options,
		Now: func() time.Time { return time.Date(2026, 11, 20, 17, 0, 0, 0, time.UTC) }, WindowDays: 20000,
	}, &lockedFHIR{m: mem}, nil)
	if err != nil {
		b.Fatal(err)
	}

	var switches atomic.Int64
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			bb := v1
			if i%2 == 0 {
				bb = v2
			}
			if _, _, err := store.Publish(ctx, bb, "", "bench"); err == nil {
				switches.Add(1)
			}
		}
	}()

	var reviews, failures atomic.Int64
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		var wg sync.WaitGroup
		for w := range 2 {
			wg.Go(func() {
				for i := w; i < len(patients); i += 2 {
					if _, err := p.ReviewPatient(ctx, patients[i]); err != nil {
						failures.Add(1)
						b.Error(err)
					}
					reviews.Add(1)
				}
			})
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	cancel()
	<-pubDone
	if failures.Load() > 0 {
		b.Fatalf("%d reviews failed during publishes", failures.Load())
	}
	seen := 0
	versionsSeen.Range(func(any, any) bool { seen++; return true })
	b.ReportMetric(float64(reviews.Load())/elapsed.Seconds(), "reviews/s")
	b.ReportMetric(float64(switches.Load()), "publishes")
	b.ReportMetric(float64(seen), "versions-seen")
}

// lockedFHIR serialises the in-memory server for concurrent workers (its
// write counter is not safe for concurrent use).
type lockedFHIR struct {
	mu sync.Mutex
	m  *memoryFHIR
}

func (l *lockedFHIR) Batch(ctx context.Context, bundle []byte) ([]fhir.Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m.Batch(ctx, bundle)
}

func (l *lockedFHIR) SearchPages(ctx context.Context, page []byte, each func(fhir.Entry) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m.SearchPages(ctx, page, each)
}

func (l *lockedFHIR) Transaction(ctx context.Context, bundle []byte) ([]fhir.Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m.Transaction(ctx, bundle)
}

func (l *lockedFHIR) Read(ctx context.Context, typ, id string) (*fhir.Response, error) {
	return l.m.Read(ctx, typ, id)
}

func (l *lockedFHIR) Do(ctx context.Context, method, path string, body []byte, h http.Header) (*fhir.Response, error) {
	return l.m.Do(ctx, method, path, body, h)
}

func (l *lockedFHIR) Search(ctx context.Context, typ string, params url.Values, each func(fhir.Entry) error) error {
	return l.m.Search(ctx, typ, params, each)
}
