package payerapi

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/payerapi/payerapitest"
	"github.com/utilreview/utilreview/service/payerauth"
)

// The payer API's throughput for one payer with 10,000 determinations on
// the shared HAPI (docs/benchmarks.md, "Payer API"). Not in CI: loading
// 10,000 ClaimResponses takes HAPI minutes. Run:
//
//	UTILREVIEW_TEST_FHIR_URL=... UTILREVIEW_TEST_REDIS_ADDR=... \
//	  go test ./service/payerapi -run '^$' -bench 'Payer' -benchtime 3x -timeout 30m
//
// UTILREVIEW_BENCH_DETERMINATIONS changes the count (default 10000);
// UTILREVIEW_BENCH_PAYER=<payer identifier value> reuses the determinations
// an earlier run loaded (its log names the value) instead of loading more.

var benchOnce struct {
	sync.Once
	payer payerauth.Identifier
	n     int
	err   error
}

func benchSetup(b *testing.B) (*API, *redis.Client, payerauth.Identifier, int) {
	b.Helper()
	if os.Getenv("CI") == "true" {
		b.Skip("not in CI: loads 10,000 determinations into the FHIR server")
	}
	fhirURL := harness.FHIRURL(b)
	rdb, prefix := harness.Redis(b)
	benchOnce.Do(func() {
		n := 10000
		if v, err := strconv.Atoi(os.Getenv("UTILREVIEW_BENCH_DETERMINATIONS")); err == nil && v > 0 {
			n = v
		}
		benchOnce.n = n
		if v := os.Getenv("UTILREVIEW_BENCH_PAYER"); v != "" {
			benchOnce.payer = payerauth.Identifier{System: payerapitest.PayerSystem, Value: v}
			return
		}
		unique := harness.UniqueID("bench")
		benchOnce.payer = payerauth.Identifier{System: payerapitest.PayerSystem, Value: "BENCH-" + unique}
		patients := make([]string, 100)
		for i := range patients {
			patients[i] = "MRN-BENCH-" + unique + "-" + strconv.Itoa(i)
		}
		start := time.Now()
		_, benchOnce.err = payerapitest.Load(fhirURL, payerapitest.Spec{Payer: benchOnce.payer, Patients: patients, N: n,
			Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Unique: unique})
		b.Logf("loaded %d determinations for payer %s in %s", n, benchOnce.payer.Value, time.Since(start).Round(time.Second))
	})
	if benchOnce.err != nil {
		b.Fatal(benchOnce.err)
	}
	client, err := fhir.NewClient(fhir.ClientConfig{BaseURL: fhirURL})
	if err != nil {
		b.Fatal(err)
	}
	a, err := New(Config{PublicURL: "https://ur.example.org", DeterminationSystem: payerapitest.DeterminationSystem, RedisPrefix: prefix,
		Export: ExportConfig{Poll: 20 * time.Millisecond, MaxPerPayer: 100}}, client, rdb)
	if err != nil {
		b.Fatal(err)
	}
	return a, rdb, benchOnce.payer, benchOnce.n
}

// BenchmarkPayerSearch pages through all of the payer's determinations,
// _count=200, through the service's own page tokens.
func BenchmarkPayerSearch(b *testing.B) {
	a, _, payer, n := benchSetup(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		q, err := ParseSearch(url.Values{"_count": {"200"}})
		if err != nil {
			b.Fatal(err)
		}
		p, err := a.Search(ctx, payer, q)
		got := 0
		for err == nil {
			got += len(p.IDs)
			token := nextToken(p)
			if token == "" {
				break
			}
			p, err = a.NextPage(ctx, payer, token)
		}
		if err != nil {
			b.Fatal(err)
		}
		if got != n {
			b.Fatalf("paged through %d determinations, want %d", got, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "determinations/s")
}

// BenchmarkPayerHAPIBaseline pages through the same search on the FHIR
// server directly (its own paging links, no page tokens, no payer check):
// what the search above costs the FHIR server alone.
func BenchmarkPayerHAPIBaseline(b *testing.B) {
	a, _, payer, n := benchSetup(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		q := a.payerFilter(payer)
		q.Set("_count", "200")
		bundle, err := a.get(ctx, "ClaimResponse?"+q.Encode())
		got := 0
		for err == nil {
			got += len(bundle.Entry)
			next := bundle.link("next")
			if next == "" {
				break
			}
			bundle, err = a.get(ctx, next)
		}
		if err != nil {
			b.Fatal(err)
		}
		if got != n {
			b.Fatalf("paged through %d determinations, want %d", got, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "determinations/s")
}

func nextToken(p *Page) string {
	var bundle upstreamBundle
	if err := json.Unmarshal(p.Bundle, &bundle); err != nil {
		return ""
	}
	next := bundle.link("next")
	if next == "" {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil {
		return ""
	}
	return u.Query().Get(ParamPage)
}

// BenchmarkPayerExport runs a whole Bulk Data export of the payer's
// determinations (kick-off to complete, one replica's worker) and reads its
// files back.
func BenchmarkPayerExport(b *testing.B) {
	a, _, payer, n := benchSetup(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = a.Run(ctx) }()
	p := payerauth.Principal{ClientID: "bench", Payer: payer}
	var bytes int64
	b.ResetTimer()
	for b.Loop() {
		id, err := a.Kickoff(ctx, p, ExportRequest{})
		if err != nil {
			b.Fatal(err)
		}
		var st *ExportStatus
		for {
			st, err = a.Status(ctx, p, id)
			if err != nil {
				b.Fatal(err)
			}
			if st.State == StateComplete || st.State == StateFailed {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if st.State != StateComplete || st.Written != n {
			b.Fatalf("export %s with %d written (%s), want %d", st.State, st.Written, st.Error, n)
		}
		j, err := a.loadJob(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		for f := 1; f <= j.files; f++ {
			file, err := a.ExportFile(ctx, p, id, f)
			if err != nil {
				b.Fatal(err)
			}
			bytes += int64(len(file.Body))
		}
		_ = a.Cancel(ctx, p, id)
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "determinations/s")
	b.ReportMetric(float64(bytes)/float64(b.N)/(1<<20), "MiB/export")
}
