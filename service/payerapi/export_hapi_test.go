package payerapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/payerapi/payerapitest"
	"github.com/utilreview/utilreview/service/payerauth"
)

// replicas are two payer APIs over one Redis (one prefix) and the shared
// HAPI, as two replicas of the service are.
type replicas struct {
	t      *testing.T
	rdb    *redis.Client
	prefix string
	payer  payerauth.Principal
	dets   []payerapitest.Determination
	client *fhir.Client
}

func newReplicas(t *testing.T, n int) *replicas {
	t.Helper()
	fhirURL := harness.FHIRURL(t)
	rdb, prefix := harness.Redis(t)
	unique := harness.UniqueID("px")
	payer := payerauth.Identifier{System: payerapitest.PayerSystem, Value: "X-" + unique}
	dets, err := payerapitest.Load(fhirURL, payerapitest.Spec{Payer: payer, Patients: []string{"MRN-X-" + unique}, N: n,
		Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Unique: unique})
	if err != nil {
		t.Fatal(err)
	}
	client, err := fhir.NewClient(fhir.ClientConfig{BaseURL: fhirURL})
	if err != nil {
		t.Fatal(err)
	}
	return &replicas{t: t, rdb: rdb, prefix: prefix, dets: dets, client: client,
		payer: payerauth.Principal{ClientID: "c", Payer: payer, Scopes: []string{"system/ClaimResponse.rs"}}}
}

func (r *replicas) api(exp ExportConfig) *API {
	r.t.Helper()
	if exp.Poll == 0 {
		exp.Poll = 50 * time.Millisecond
	}
	a, err := New(Config{PublicURL: "https://ur.example.org", DeterminationSystem: payerapitest.DeterminationSystem,
		RedisPrefix: r.prefix, Export: exp}, r.client, r.rdb)
	if err != nil {
		r.t.Fatal(err)
	}
	return a
}

func run(t *testing.T, a *API) context.CancelFunc {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Run(ctx) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

func (r *replicas) wait(a *API, id, want string) *ExportStatus {
	r.t.Helper()
	var st *ExportStatus
	harness.Eventually(r.t, 60*time.Second, 50*time.Millisecond, "export "+want, func() (bool, error) {
		var err error
		st, err = a.Status(context.Background(), r.payer, id)
		return err == nil && st.State == want, err
	})
	return st
}

// exported reads every file of a complete job and returns the ids, sorted.
func (r *replicas) exported(a *API, id string, st *ExportStatus) []string {
	r.t.Helper()
	var m struct {
		Output []struct{ URL string } `json:"output"`
	}
	if err := json.Unmarshal(st.Manifest, &m); err != nil {
		r.t.Fatal(err)
	}
	var ids []string
	for n := range m.Output {
		f, err := a.ExportFile(context.Background(), r.payer, id, n+1)
		if err != nil {
			r.t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(f.Body))
		for sc.Scan() {
			var res struct{ ID string }
			_ = json.Unmarshal(sc.Bytes(), &res)
			ids = append(ids, res.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

func allIDs(ds []payerapitest.Determination) []string {
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	slices.Sort(ids)
	return ids
}

// TestExportResumedByAnotherReplica: a replica dies after the first page of
// an export (its worker stops, its lease runs out); another replica goes on
// from the stored cursor, and the files hold every determination once. The
// other replica answers status and serves the files.
func TestExportResumedByAnotherReplica(t *testing.T) {
	t.Parallel()
	r := newReplicas(t, 7)
	exp := ExportConfig{PageSize: 2, Lease: time.Second}
	first := r.api(exp)
	died := make(chan struct{})
	first.testAfterPage = func(id string, page int) {
		if page == 1 {
			close(died)
			<-make(chan struct{}) // the replica hangs here, as a dead one would: no renewals after its context ends
		}
	}
	id, err := first.Kickoff(context.Background(), r.payer, ExportRequest{Request: "https://ur.example.org/payer/fhir/$export"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = first.Run(ctx) }()
	<-died
	cancel() // the lease renewals stop with it; the worker goroutine stays stuck, writing nothing more
	st, err := first.Status(context.Background(), r.payer, id)
	if err != nil || st.State != StateRunning || st.Written != 2 {
		t.Fatalf("after one page: %+v %v", st, err)
	}
	second := r.api(exp)
	run(t, second)
	st = r.wait(second, id, StateComplete)
	if got := r.exported(second, id, st); !slices.Equal(got, allIDs(r.dets)) {
		t.Errorf("resumed export: %v, want %v", got, allIDs(r.dets))
	}
}

// TestExportRestartsWhenTheSearchIsGone: when the FHIR server no longer
// knows the stored paging link, the job starts again from its first page
// and the files hold every determination once.
func TestExportRestartsWhenTheSearchIsGone(t *testing.T) {
	t.Parallel()
	r := newReplicas(t, 5)
	a := r.api(ExportConfig{PageSize: 2})
	stopped := make(chan struct{})
	a.testAfterPage = func(id string, page int) {
		if page == 1 {
			// A paging link the server does not know (as after its search
			// cache expired): HAPI answers 410 Gone / 404.
			r.rdb.HSet(context.Background(), a.jobKey(id), "next", r.client.Base()+"?_getpages=no-such-search-"+id+"&_getpagesoffset=2&_count=2")
			close(stopped)
		}
	}
	id, err := a.Kickoff(context.Background(), r.payer, ExportRequest{})
	if err != nil {
		t.Fatal(err)
	}
	run(t, a)
	<-stopped
	st := r.wait(a, id, StateComplete)
	if got := r.exported(a, id, st); !slices.Equal(got, allIDs(r.dets)) {
		t.Errorf("restarted export: %v, want %v", got, allIDs(r.dets))
	}
	if n, _ := r.rdb.HGet(context.Background(), a.jobKey(id), "restarts").Int(); n != 1 {
		t.Errorf("restarts %d, want 1", n)
	}
}

// TestExportBounds: an export larger than MaxBytes fails with a reason
// (and its files are deleted); a payer with MaxPerPayer unfinished jobs is
// refused; a complete job's keys expire with the manifest (Redis TTL).
func TestExportBounds(t *testing.T) {
	t.Parallel()
	r := newReplicas(t, 4)
	ctx := context.Background()

	small := r.api(ExportConfig{MaxBytes: 1500, PageSize: 2, TTL: 10 * time.Minute})
	stopSmall := run(t, small)
	id, err := small.Kickoff(ctx, r.payer, ExportRequest{})
	if err != nil {
		t.Fatal(err)
	}
	st := r.wait(small, id, StateFailed)
	if st.Error == "" {
		t.Error("failed without a reason")
	}
	if n, _ := r.rdb.Exists(ctx, small.fileKey(id, 1)).Result(); n != 0 {
		t.Error("a failed export's files are kept")
	}
	if ttl := r.rdb.PTTL(ctx, small.jobKey(id)).Val(); ttl <= 0 || ttl > 10*time.Minute {
		t.Errorf("failed job's TTL %v", ttl)
	}
	stopSmall() // the replicas below share its Redis: its bound would fail their jobs

	idle := r.api(ExportConfig{MaxPerPayer: 1, TTL: 10 * time.Minute}) // no Run: jobs stay queued
	if _, err := idle.Kickoff(ctx, r.payer, ExportRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := idle.Kickoff(ctx, r.payer, ExportRequest{}); err != ErrTooManyExports {
		t.Errorf("second job: %v, want ErrTooManyExports", err)
	}
	other := r.payer
	other.Payer.Value += "-other"
	if _, err := idle.Kickoff(ctx, other, ExportRequest{}); err != nil {
		t.Errorf("another payer's first job: %v", err)
	}

	ok := r.api(ExportConfig{TTL: 3 * time.Minute, MaxPerPayer: 5})
	run(t, ok)
	id, err = ok.Kickoff(ctx, r.payer, ExportRequest{})
	if err != nil {
		t.Fatal(err)
	}
	st = r.wait(ok, id, StateComplete)
	if d := time.Until(st.Expires); d <= 2*time.Minute || d > 3*time.Minute {
		t.Errorf("expires in %v, want about 3m", d)
	}
	for _, k := range []string{ok.jobKey(id), ok.fileKey(id, 1)} {
		if ttl := r.rdb.PTTL(ctx, k).Val(); ttl <= 2*time.Minute || ttl > 3*time.Minute {
			t.Errorf("%s TTL %v, want about 3m", k, ttl)
		}
	}
	// Another payer's view of the job: not found, everywhere.
	if _, err := ok.Status(ctx, other, id); err != ErrNotFound {
		t.Errorf("status by another payer: %v", err)
	}
	if _, err := ok.ExportFile(ctx, other, id, 1); err != ErrNotFound {
		t.Errorf("file by another payer: %v", err)
	}
	if err := ok.Cancel(ctx, other, id); err != ErrNotFound {
		t.Errorf("cancel by another payer: %v", err)
	}
	// Another client of the same payer: not found either (the job is the
	// client's that kicked it off).
	sibling := r.payer
	sibling.ClientID += "-sibling"
	if _, err := ok.Status(ctx, sibling, id); err != ErrNotFound {
		t.Errorf("status by another client of the payer: %v", err)
	}
	if _, err := ok.ExportFile(ctx, sibling, id, 1); err != ErrNotFound {
		t.Errorf("file by another client of the payer: %v", err)
	}
}

// TestExportCancelledWhileRunning: DELETE during a run stops the worker at
// its next page and nothing of the job stays in Redis.
func TestExportCancelledWhileRunning(t *testing.T) {
	t.Parallel()
	r := newReplicas(t, 5)
	a := r.api(ExportConfig{PageSize: 1})
	ctx := context.Background()
	cancelled := make(chan struct{})
	a.testAfterPage = func(id string, page int) {
		if page == 2 {
			if err := a.Cancel(ctx, r.payer, id); err != nil {
				t.Errorf("cancel: %v", err)
			}
			close(cancelled)
		}
	}
	id, err := a.Kickoff(ctx, r.payer, ExportRequest{})
	if err != nil {
		t.Fatal(err)
	}
	run(t, a)
	<-cancelled
	harness.Eventually(t, 10*time.Second, 50*time.Millisecond, "the job's keys are gone", func() (bool, error) {
		keys, err := r.rdb.Keys(ctx, a.jobKey(id)+"*").Result()
		return err == nil && len(keys) == 0, err
	})
	time.Sleep(300 * time.Millisecond) // a worker that went on would write within this
	if keys, _ := r.rdb.Keys(ctx, a.jobKey(id)+"*").Result(); len(keys) != 0 {
		t.Errorf("keys left after cancel: %v", keys)
	}
	if _, err := a.Status(ctx, r.payer, id); err != ErrNotFound {
		t.Errorf("status after cancel: %v", err)
	}
	if n, _ := r.rdb.ZScore(ctx, a.queueKey(), id).Result(); n != 0 {
		t.Error("the cancelled job is still queued")
	}
}
