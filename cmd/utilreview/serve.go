package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/handlers"
	"github.com/utilreview/utilreview/service/determination"
	"github.com/utilreview/utilreview/service/facts"
	"github.com/utilreview/utilreview/service/live"
	"github.com/utilreview/utilreview/service/payerapi"
	"github.com/utilreview/utilreview/service/payerauth"
	"github.com/utilreview/utilreview/service/queue"
	"github.com/utilreview/utilreview/service/report"
	"github.com/utilreview/utilreview/service/subscriptions"
)

// version and commit are stamped by the build (`make build`: -ldflags
// "-X main.version=$(VERSION) -X main.commit=$(COMMIT)"); `utilreview
// version` prints them and serve logs them at start.
var (
	version = "dev"
	commit  = "unknown"
)

// followedTypes are the resource types whose change can change a finding:
// every type the facts read, less Patient and Organization (their changes
// reach a patient's review through the others, and the catch-up cannot
// place an Organization with a patient), and Provenance, which can name who
// determined a completed Task after its completion (ownFilters narrows it to
// those that target utilreview's Tasks).
func followedTypes() []string {
	var out []string
	for _, t := range facts.ReadTypes() {
		if t != "Patient" && t != "Organization" {
			out = append(out, t)
		}
	}
	return append(out, "Provenance")
}

// ownFilters are the search filters of the followed types that concern
// utilreview's own Tasks, which carry none of the tags a configured filter
// names: the Tasks by their identifier system, and the Provenances that
// target them (a chained search, which HAPI matches against its database,
// as the catch-up's search and a rest-hook criteria; topicFilters says why
// a topic's cannot).
func ownFilters(system string) map[string]string {
	return map[string]string{
		"Task":       "identifier=" + system + "|",
		"Provenance": "target:Task.identifier=" + system + "|",
	}
}

// topicFilters are own as a topic Subscription's filters: HAPI's topic
// matcher works in memory and drops a chained filter, so in topic mode every
// Provenance is notified, and the webhook and the processor keep those that
// target utilreview's Tasks.
func topicFilters(own map[string]string) map[string]string {
	f := maps.Clone(own)
	f["Provenance"] = ""
	return f
}

// serveOptions are what tests change in process: the clock (tests of moving
// time) and where the listener is.
type serveOptions struct {
	now      func() time.Time
	listener net.Listener
	// ready, when set, is called with the listener's address once the HTTP
	// server accepts.
	ready func(addr string)
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseServeFlags(args, getenv, stdout, stderr)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, getenv, stderr, serveOptions{})
}

// serve wires the live service and runs it until ctx ends (SIGTERM), then
// shuts down within cfg.ShutdownTimeout: intake stops first, in-flight
// reviews finish or are left for another replica, telemetry is flushed.
func serve(ctx context.Context, cfg *serveConfig, getenv func(string) string, stderr io.Writer, so serveOptions) error {
	log := newLogger(stderr, slog.LevelInfo)
	log.Info("utilreview serve starting", append([]any{slog.String("version", version), slog.String("commit", commit)}, cfg.logAttrs()...)...)
	fail := func(msg string, err error) error {
		log.Error(msg, "error", err.Error())
		return &exitError{code: 1, msg: fmt.Sprintf("%s: %v", msg, err)}
	}

	tp, shutdownTracing, err := setupTracing(ctx, getenv, version)
	if err != nil {
		return fail("telemetry", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdownTracing(sctx)
	}()
	tracer := tp.Tracer("github.com/utilreview/utilreview")

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// Redis: the queue, leases, wake-ups, watermarks.
	ropt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return fail("redis", errors.New("UTILREVIEW_REDIS_URL does not parse"))
	}
	ropt.PoolSize = max(ropt.PoolSize, cfg.Workers+16) // a blocked read per worker, plus the webhook's writes
	// go-redis's own lines (a failed dial, a dropped pub/sub connection)
	// go to the service's structured log at debug level: the service
	// reports Redis's state itself (readiness, "waiting for Redis", the
	// metrics), and a plain-text line would break a JSON log stream.
	redis.SetLogger(redisLog{log})
	rdb := redis.NewClient(ropt)
	defer rdb.Close()
	if err := redisotel.InstrumentTracing(rdb, redisotel.WithTracerProvider(tp)); err != nil {
		return fail("redis tracing", err)
	}
	// The HTTP server listens from here on: alive, not ready until wired.
	early, err := listenEarly(cfg, so, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if err != nil {
		return fail("listen", err)
	}
	defer early.close()
	// Redis down at start: wait, not ready; with UTILREVIEW_RULES_FALLBACK=
	// embedded the rules load from the replica's own files first (its
	// metrics say which version), and the rest waits for Redis, since the
	// queue lives there.
	fallback := cfg.RulesFallback == "embedded"
	if !fallback {
		if err := waitForRedis(ctx, rdb, log); err != nil {
			log.Info("shutting down: " + err.Error())
			return nil
		}
	}

	// The FHIR server.
	client, err := newFHIRClient(cfg, newFHIRMetrics(reg, fhir.NewTransport(http.DefaultTransport)))
	if err != nil {
		return fail("fhir client", err)
	}
	refs := cfg.literalRefs()
	if cfg.Requestor.Reference != "" {
		refs = append(refs, cfg.Requestor.Reference)
	}
	if err := checkReferences(ctx, client, refs); err != nil {
		return fail("owner and sender references", err)
	}

	// The rules: Redis's current version, compiled here, kept current.
	served, err := startRules(ctx, cfg, rdb, reg, log)
	if err != nil {
		return fail("rules", err)
	}
	if fallback {
		if err := waitForRedis(ctx, rdb, log); err != nil {
			log.Info("shutting down: " + err.Error())
			return nil
		}
		// Redis's current version (or, in an empty Redis, the replica's
		// own stored as the first) now, not at the next periodic check.
		if err := served.cache.Check(ctx); err != nil {
			log.Warn("rules: reading the current version after Redis answered", "error", err.Error())
		}
	}
	opt := served.options()
	clock := so.now
	if clock == nil {
		clock = time.Now
		if !cfg.AsOf.IsZero() {
			asOf := cfg.AsOf
			clock = func() time.Time { return asOf }
		}
	}

	// Wake-ups are times of the review clock, and the queue compares them
	// with its own: a clock a test moves is the queue's too. A fixed
	// UTILREVIEW_AS_OF is not (no retry would ever come due).
	q, err := queue.New(rdb, queue.Config{
		Prefix: cfg.RedisPrefix, Workers: cfg.Workers, MaxAttempts: cfg.MaxAttempts,
		DrainTimeout: cfg.ShutdownTimeout * 3 / 4, Logger: log, Registerer: reg, Now: so.now,
	})
	if err != nil {
		return fail("queue", err)
	}
	// A fixed clock never reaches a wake-up, so none is scheduled: on the
	// queue's real clock a past one would review every stay in progress
	// again each second.
	var wake live.Scheduler = q
	if so.now == nil && !cfg.AsOf.IsZero() {
		wake = nil
	}
	metrics := live.NewMetrics(reg)
	// The versions each plan transaction wrote go to Redis, so that the
	// notifications of the service's own writes (and the catch-up's hits on
	// them) queue no review.
	proc, err := live.New(live.Config{
		Review: opt, Versions: served.options, Now: clock, WindowDays: cfg.WindowDays, DryRun: cfg.DryRun,
		OwnWrites: q, Logger: log, Metrics: metrics, Tracer: tracer,
		Reviewers: cfg.Reviewers, Requestor: cfg.Requestor,
	}, client, wake)
	if cfg.Reviewers.Empty() {
		log.Warn("no clinical reviewers configured (UTILREVIEW_REVIEWERS): every determination on a completed Task is recorded")
	}
	if err != nil {
		return fail("processor", err)
	}
	// utilreview's own Tasks (which clinicians complete) and the
	// Provenances that attest them are followed by the Tasks' identifier
	// system: they carry none of the tags a filter names.
	filter, _ := url.ParseQuery(cfg.SubscriptionFilter)
	own := ownFilters(opt.Writer.IdentifierSystem())
	ownValues := map[string]url.Values{}
	for typ, f := range own {
		ownValues[typ], _ = url.ParseQuery(f)
	}
	subFilters := own
	if cfg.Subscriptions == subscriptions.ModeTopic {
		subFilters = topicFilters(own)
	}
	catchUp := live.NewCatchUp(live.CatchUpConfig{
		Types: followedTypes(), Filter: filter, TypeFilters: ownValues,
		Interval: cfg.CatchUpInterval, Window: cfg.CatchUpWindow, GapGrace: cfg.EventGapGrace, Logger: log, Metrics: metrics,
	}, client, q)
	// After a rules version becomes current, one replica schedules the
	// open worklist's re-review in the queue, paced.
	served.followWith(live.NewRereview(live.RereviewConfig{
		IdentifierSystem: opt.Writer.IdentifierSystem(), Filter: filter, Rate: cfg.RereviewRate, Logger: log,
	}, client), q, cfg.Instance, log)
	subs, err := subscriptions.New(client, subscriptions.Config{
		Instance: cfg.Instance, CanonicalBase: cfg.Base, PublicURL: cfg.PublicURL, Secret: cfg.WebhookSecret,
		Mode: cfg.Subscriptions, Types: followedTypes(), Filter: cfg.SubscriptionFilter,
		TypeFilters: subFilters, Logger: log,
	})
	if err != nil {
		return fail("subscriptions", err)
	}

	ready := map[string]handlers.Checker{
		"redis": q.Ping,
		"fhir":  func(ctx context.Context) error { return pingFHIR(ctx, client) },
		"rules": served.cache.Ready,
	}
	if cfg.Subscriptions != subscriptions.ModeOff {
		ready["subscriptions"] = func(ctx context.Context) error {
			ok, err := subs.Active(ctx)
			if err != nil {
				return err
			}
			if !ok {
				return errors.New("not all Subscriptions are active yet")
			}
			return nil
		}
	}
	// The payer portal API (/payer/fhir) and its authentication, on with a
	// clients file: state (spent assertion ids, access tokens, rate counts,
	// result pages, export jobs and files) in Redis under the service's
	// prefix.
	var payerAuth *payerauth.Service
	var payerAPI *payerapi.API
	if cfg.PayerClients != nil {
		payerAuth, err = payerauth.New(rdb, payerauth.Config{
			Registry: cfg.PayerClients, TokenURL: cfg.PublicURL + payerauth.TokenPath, Prefix: cfg.RedisPrefix,
			TokenTTL: cfg.PayerTokenTTL, ClockSkew: cfg.PayerClockSkew, RateLimit: cfg.PayerRateLimit,
			RateWindow: cfg.PayerRateWindow, Logger: log, Registerer: reg,
		})
		if err != nil {
			return fail("payer auth", err)
		}
		payerAPI, err = payerapi.New(payerapi.Config{
			PublicURL: cfg.PublicURL, DeterminationSystem: cfg.Base + determination.SystemPath, RedisPrefix: cfg.RedisPrefix,
			Export: payerapi.ExportConfig{MaxBytes: int64(cfg.PayerExportMaxMB) << 20, TTL: cfg.PayerExportTTL}, Logger: log, Version: version,
		}, client, rdb)
		if err != nil {
			return fail("payer API", err)
		}
	}
	// The committee report (GET /reports/committee): computed in the
	// background from the FHIR server with the current rules, one period at
	// a time, and cached, so that a view puts no burst of searches on the
	// FHIR server.
	reports := report.NewCache(ctx, func(ctx context.Context, from, to time.Time) (*report.Report, error) {
		resources, err := report.FetchServer(ctx, client, report.ServerOptions{From: from, To: to, Location: cfg.TZ})
		if err != nil {
			return nil, err
		}
		rep, problems, err := report.Compute(ctx, resources, report.Options{From: from, To: to, Now: clock(), Review: served.options()})
		if len(problems) > 0 {
			log.Warn("committee report: input problems", "count", len(problems))
		}
		return rep, err
	}, report.CacheConfig{})
	defer reports.Wait()
	web, err := handlers.New(handlers.Config{
		WebhookSecret: cfg.WebhookSecret, AdminToken: cfg.AdminToken, Logger: log,
		Registerer: reg, Gatherer: reg, Ready: ready, Rules: served.store, PayerAuth: payerAuth, PayerFHIR: payerAPI, Reports: reports,
	}, q, q)
	if err != nil {
		return fail("handlers", err)
	}

	early.route(web.Handler())
	srv, ln := early.srv, early.ln

	// Everything runs until ctx ends; the workers get their own context so
	// that intake stops before them.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := early.served(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	if so.ready != nil {
		so.ready(ln.Addr().String())
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = q.Run(workCtx, proc.Handle)
	}()
	if payerAPI != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = payerAPI.Run(workCtx) // export jobs: any replica runs them, from Redis
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = catchUp.Run(workCtx)
	}()
	wg.Go(func() { served.cache.Run(workCtx) })
	wg.Go(func() { served.watchRollouts(workCtx, cfg.RulesCheckInterval) })
	wg.Add(1)
	go func() {
		defer wg.Done()
		keepSubscriptions(workCtx, subs, log, tracer)
	}()
	log.Info("utilreview serve listening", "addr", ln.Addr().String())

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case runErr = <-errc:
		log.Error("stopping", "error", runErr.Error())
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// Intake first: no new notification is accepted once we stop working.
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	stopWork()
	done := make(chan struct{})
	go func() { wg.Wait(); served.wait(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
		log.Warn("shutdown bound reached; unfinished entries stay pending for another replica")
	}
	if runErr != nil {
		return &exitError{code: 1, msg: runErr.Error()}
	}
	return nil
}

// keepSubscriptions makes sure the instance's Subscriptions exist and are
// active, at start and every 5 minutes (a server restart or an operator may
// remove or switch them off); a failure is retried sooner.
func keepSubscriptions(ctx context.Context, subs *subscriptions.Manager, log *slog.Logger, tracer trace.Tracer) {
	wait := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		sctx, span := tracer.Start(ctx, "subscriptions.Ensure")
		rep, err := subs.Ensure(sctx)
		span.End()
		if err != nil {
			log.Warn("subscriptions not ensured", "error", err.Error())
			wait = 15 * time.Second
			continue
		}
		log.Info("subscriptions ensured", "report", fmt.Sprintf("%+v", rep))
		wait = 5 * time.Minute
	}
}

// newFHIRClient builds the FHIR client with the configured authentication.
func newFHIRClient(cfg *serveConfig, transport http.RoundTripper) (*fhir.Client, error) {
	cc := fhir.ClientConfig{BaseURL: cfg.FHIRURL, MaxConcurrency: cfg.FHIRMaxConcurrency, UserAgent: "utilreview/" + version, Transport: transport}
	switch cfg.FHIRAuth {
	case "bearer":
		cc.Auth = fhir.BearerTokenFile(cfg.FHIRTokenFile)
	case "smart":
		key, err := fhir.LoadPrivateKeyFile(cfg.SMARTKeyFile)
		if err != nil {
			return nil, err
		}
		ts, err := fhir.NewSMARTTokenSource(fhir.SMARTConfig{ClientID: cfg.SMARTClientID, TokenURL: cfg.SMARTTokenURL, Key: key, Scopes: cfg.SMARTScopes})
		if err != nil {
			return nil, err
		}
		cc.Auth = ts
	}
	return fhir.NewClient(cc)
}

// checkReferences refuses to start when a configured owner or sender names
// a resource the FHIR server does not hold: the server would refuse every
// transaction that references it (HAPI-1094).
func checkReferences(ctx context.Context, c *fhir.Client, refs []string) error {
	for _, ref := range refs {
		r, ok := fhir.ParseReference(ref)
		if !ok || r.Type == "" {
			continue
		}
		if r.Base != "" && r.Base != strings.TrimRight(c.Base(), "/") {
			continue // on another server: not ours to check
		}
		if _, err := c.Read(ctx, r.Type, r.ID); err != nil {
			if fhir.IsStatus(err, http.StatusNotFound) || fhir.IsStatus(err, http.StatusGone) {
				return fmt.Errorf("%s does not exist on the FHIR server: create it or change the owner/sender setting", r.Relative())
			}
			return fmt.Errorf("reading %s: %w", r.Relative(), err)
		}
	}
	return nil
}

// pingFHIR is the readiness check of the FHIR server: a cheap search.
func pingFHIR(ctx context.Context, c *fhir.Client) error {
	_, err := c.Do(ctx, http.MethodGet, "Task?_summary=count", nil, nil)
	return err
}

// runSubscriptions is `utilreview subscriptions remove`: it takes the
// instance's Subscriptions off the FHIR server (uninstall).
func runSubscriptions(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "remove" {
		fmt.Fprint(stderr, "usage: utilreview subscriptions remove [--fhir-url URL] [--instance NAME] [--watch 30s]\n")
		return &exitError{code: 2}
	}
	fs := newSubsFlagSet(stderr)
	fhirURL := fs.String("fhir-url", getenv("UTILREVIEW_FHIR_URL"), "the FHIR server's base URL")
	instance := fs.String("instance", envOr(getenv, "UTILREVIEW_INSTANCE", subscriptions.DefaultInstance), "the deployment whose Subscriptions are removed")
	base := fs.String("canonical-base", envOr(getenv, "UTILREVIEW_CANONICAL_BASE", ""), "canonical base of the instance tag")
	auth := fs.String("fhir-auth", envOr(getenv, "UTILREVIEW_FHIR_AUTH", "none"), "none | bearer | smart, as for serve")
	watch := fs.Duration("watch", subscriptions.DefaultRemoveQuiet, "how long to watch for Subscriptions the server's late activation brings back (see docs/fhir-server-behaviour.md)")
	rest, err := parseArgs(fs, args[1:])
	if err != nil {
		return &exitError{code: 2}
	}
	if len(rest) > 0 {
		return &exitError{code: 2, msg: fmt.Sprintf("subscriptions remove: unexpected argument %q", rest[0])}
	}
	if *fhirURL == "" {
		return &exitError{code: 2, msg: "subscriptions remove: UTILREVIEW_FHIR_URL (--fhir-url) is required"}
	}
	cfg := &serveConfig{FHIRURL: strings.TrimRight(*fhirURL, "/"), FHIRAuth: *auth, FHIRTokenFile: getenv("UTILREVIEW_FHIR_TOKEN_FILE"),
		SMARTClientID: getenv("UTILREVIEW_SMART_CLIENT_ID"), SMARTKeyFile: getenv("UTILREVIEW_SMART_KEY_FILE"), SMARTTokenURL: getenv("UTILREVIEW_SMART_TOKEN_URL"),
		SMARTScopes: strings.Fields(envOr(getenv, "UTILREVIEW_SMART_SCOPES", "system/Subscription.rs system/Subscription.d"))}
	client, err := newFHIRClient(cfg, nil)
	if err != nil {
		return &exitError{code: 1, msg: err.Error()}
	}
	subs, err := subscriptions.New(client, subscriptions.Config{Instance: *instance, CanonicalBase: *base, Mode: subscriptions.ModeOff, RemoveQuiet: *watch})
	if err != nil {
		return &exitError{code: 2, msg: err.Error()}
	}
	// Remove waits for HAPI to activate what it deletes, and watches for
	// Subscriptions a late activation brings back (docs/fhir-server-behaviour.md).
	rctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	n, err := subs.Remove(rctx)
	if err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("subscriptions remove: %v", err)}
	}
	fmt.Fprintf(stdout, "removed %d Subscription(s) of instance %s\n", n, *instance)
	return nil
}

func newSubsFlagSet(stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("subscriptions remove", flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// fhirMetrics counts and times every request to the FHIR server, by method
// and status ("error" when no answer came): the operator's view of the
// hospital server's health from utilreview's side.
type fhirMetrics struct {
	next     http.RoundTripper
	duration *prometheus.HistogramVec
}

func newFHIRMetrics(reg prometheus.Registerer, next http.RoundTripper) http.RoundTripper {
	m := &fhirMetrics{next: next, duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "utilreview_fhir_request_duration_seconds",
		Help:    "Requests to the FHIR server by method and status code (\"error\": no answer); count them with _count.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"method", "code"})}
	reg.MustRegister(m.duration)
	return m
}

func (m *fhirMetrics) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := m.next.RoundTrip(req)
	code := "error"
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	m.duration.WithLabelValues(req.Method, code).Observe(time.Since(start).Seconds())
	return resp, err
}

// redisLog routes go-redis's internal log lines to slog at debug level.
type redisLog struct{ log *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.log.DebugContext(ctx, "redis client", "message", fmt.Sprintf(format, v...))
}
