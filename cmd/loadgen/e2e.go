package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// The e2e mode measures, for N writes to the FHIR server, the time from the
// write's response until the utilreview Task it causes is readable on the
// server, and in the same run HAPI's own delivery latency: the time until
// HAPI's notification of the same write reaches a receiver of the tool's own
// (a rest-hook Subscription on the run's tag). Per write, the difference is
// the service's share.

const e2eUsage = `loadgen e2e: end-to-end latency, a write to the FHIR server until its utilreview Task is readable

  loadgen e2e -fhir URL -service URL -tag SYSTEM|CODE [flags]   against a running service
  loadgen e2e -fhir URL -serve [-bin PATH] [-redis A] [flags]   starts utilreview serve itself, then removes it

A running service must have been started with UTILREVIEW_SUBSCRIPTION_FILTER=_tag=SYSTEM|CODE, the same
tag as -tag: only then does it follow the writes. With -serve the tool builds ./cmd/utilreview (or runs
-bin), starts "serve" on a free loopback port with its own instance, Redis prefix, filter and secret,
waits for /readyz, and afterwards stops it, runs "subscriptions remove" with the same environment and
deletes its Redis keys. -fhir defaults to UTILREVIEW_TEST_FHIR_URL, -redis to UTILREVIEW_TEST_REDIS_ADDR.
Every URL must be http:// on a loopback address.
`

// Bounds on an e2e run: the writes go to a shared FHIR server.
const (
	maxE2EWrites = 1000
	maxE2ERate   = 10.0 // writes per second
	maxE2ERun    = 10 * time.Minute
	maxE2EPoll   = 5 * time.Second
)

// e2eConfig is one e2e run.
type e2eConfig struct {
	FHIR    string // the FHIR server's base URL
	Service string // the service's base URL (not with Serve)
	N       int
	Rate    float64 // writes per second
	Poll    time.Duration
	Timeout time.Duration // per write
	Tag     runTag
	Secret  string // the secret of the tool's Subscription and, with Serve, of the service
	Serve   bool
	Bin     string // with Serve: the utilreview binary ("" builds ./cmd/utilreview)
	Redis   string // with Serve: host:port
	Root    string
	JSON    bool
}

// runTag is the meta.tag on every resource of a run, and the filter the
// service follows.
type runTag struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

func (t runTag) param() string { return t.System + "|" + t.Code }

// parseTag reads "system|code".
func parseTag(s string) (runTag, error) {
	sys, code, ok := strings.Cut(s, "|")
	if !ok || sys == "" || code == "" || strings.ContainsAny(code, "|,&= ") || strings.ContainsAny(sys, "|,&= ") {
		return runTag{}, fmt.Errorf("-tag %q: want system|code (no spaces, commas, & or =)", s)
	}
	return runTag{System: sys, Code: code}, nil
}

// e2eTagSystem is the code system of the tags the tool makes up.
const e2eTagSystem = "https://utilreview.example/fhir/CodeSystem/loadgen-run"

// newRunID is an id fragment no other run uses: the time, then random hex.
func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%s", time.Now().UnixMilli(), hex.EncodeToString(b))
}

// parseRate reads "2/s", "120/m" or "2" (per second) as writes per second.
func parseRate(s string) (float64, error) {
	num, unit, _ := strings.Cut(strings.TrimSpace(s), "/")
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("-rate %q: want N/s, N/m or N", s)
	}
	switch unit {
	case "", "s":
	case "m", "min":
		v /= 60
	default:
		return 0, fmt.Errorf("-rate %q: want N/s, N/m or N", s)
	}
	return v, nil
}

// checkLoopbackFlag refuses a flag's URL that is not http on a loopback host.
func checkLoopbackFlag(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("%s %q: want an http:// URL", name, raw)
	}
	if !loopbackHost(u.Hostname()) {
		return fmt.Errorf("%s %q: load may only go to a loopback address (127.0.0.0/8, ::1, localhost)", name, raw)
	}
	return nil
}

// validate checks the bounds and addresses before anything is contacted.
func (c e2eConfig) validate() error {
	var errs []error
	if c.FHIR == "" {
		errs = append(errs, errors.New("-fhir is required (or UTILREVIEW_TEST_FHIR_URL)"))
	} else if err := checkLoopbackFlag("-fhir", c.FHIR); err != nil {
		errs = append(errs, err)
	}
	if c.Serve {
		if c.Service != "" {
			errs = append(errs, errors.New("-service and -serve exclude each other: -serve starts its own service"))
		}
		if c.Redis == "" {
			errs = append(errs, errors.New("-serve needs -redis host:port (or UTILREVIEW_TEST_REDIS_ADDR)"))
		} else if err := checkLoopbackAddr("-redis", c.Redis); err != nil {
			errs = append(errs, err)
		}
		if len(c.Secret) < 16 {
			errs = append(errs, errors.New("-secret: at least 16 characters (the service refuses shorter)"))
		}
	} else {
		if c.Service == "" {
			errs = append(errs, errors.New("-service URL is required, or -serve to start one"))
		} else if err := checkLoopbackFlag("-service", c.Service); err != nil {
			errs = append(errs, err)
		}
		if c.Tag == (runTag{}) {
			errs = append(errs, fmt.Errorf("without -serve, -tag system|code is required, and the service must have been started with UTILREVIEW_SUBSCRIPTION_FILTER=_tag=<that tag>, e.g. -tag '%s|e2e-%s'", e2eTagSystem, newRunID()))
		}
	}
	if c.N < 1 || c.N > maxE2EWrites {
		errs = append(errs, fmt.Errorf("-n %d: want 1 to %d writes", c.N, maxE2EWrites))
	}
	if !(c.Rate > 0 && c.Rate <= maxE2ERate) {
		errs = append(errs, fmt.Errorf("-rate %g/s: want more than 0 and at most %g/s", c.Rate, maxE2ERate))
	}
	if c.Poll < 10*time.Millisecond || c.Poll > maxE2EPoll {
		errs = append(errs, fmt.Errorf("-poll %s: want 10ms to %s", c.Poll, maxE2EPoll))
	}
	if c.Timeout < time.Second || c.Timeout > 2*time.Minute {
		errs = append(errs, fmt.Errorf("-timeout %s: want 1s to 2m", c.Timeout))
	}
	if c.N >= 1 && c.Rate > 0 && c.Timeout > 0 {
		if d := c.schedule() + c.Timeout; d > maxE2ERun {
			errs = append(errs, fmt.Errorf("-n %d at -rate %g/s plus -timeout %s takes up to %s: at most %s", c.N, c.Rate, c.Timeout, d.Round(time.Second), maxE2ERun))
		}
	}
	return errors.Join(errs...)
}

// schedule is when the last write starts, after the first.
func (c e2eConfig) schedule() time.Duration {
	return time.Duration(float64(c.N-1) / c.Rate * float64(time.Second))
}

func parseE2E(args []string, getenv func(string) string, stderr io.Writer) (e2eConfig, error) {
	fs := flag.NewFlagSet("loadgen e2e", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, e2eUsage+"\nFlags:\n")
		fs.PrintDefaults()
	}
	c := e2eConfig{}
	fs.StringVar(&c.FHIR, "fhir", getenv("UTILREVIEW_TEST_FHIR_URL"), "the FHIR server's base URL (loopback only; default $UTILREVIEW_TEST_FHIR_URL)")
	fs.StringVar(&c.Service, "service", "", "the running service's base URL (loopback only); its /readyz must answer before the run")
	fs.IntVar(&c.N, "n", 100, fmt.Sprintf("writes (1 to %d)", maxE2EWrites))
	rate := fs.String("rate", "2/s", fmt.Sprintf("writes started per second, open loop: N/s, N/m or N (at most %g/s)", maxE2ERate))
	fs.DurationVar(&c.Poll, "poll", 50*time.Millisecond, "how often each write's Task is searched for")
	fs.DurationVar(&c.Timeout, "timeout", 30*time.Second, "per write: a Task (or a delivery) not seen this long after the write's response is a timeout")
	tag := fs.String("tag", "", "the run's tag system|code, the service's UTILREVIEW_SUBSCRIPTION_FILTER=_tag=<tag> (default with -serve: a new one)")
	fs.StringVar(&c.Secret, "secret", getenv("UTILREVIEW_WEBHOOK_SECRET"), "the secret of the tool's Subscription header and, with -serve, the service's webhook secret (default $UTILREVIEW_WEBHOOK_SECRET, else random)")
	fs.BoolVar(&c.Serve, "serve", false, "start utilreview serve for the run (and remove it and its Subscriptions after)")
	fs.StringVar(&c.Bin, "bin", "", "with -serve: the utilreview binary to run (default: go build ./cmd/utilreview into a temporary directory)")
	fs.StringVar(&c.Redis, "redis", getenv("UTILREVIEW_TEST_REDIS_ADDR"), "with -serve: Redis host:port (loopback only; default $UTILREVIEW_TEST_REDIS_ADDR)")
	fs.StringVar(&c.Root, "root", "", "the module's root, where ./cmd/utilreview is (default: found from the working directory)")
	fs.BoolVar(&c.JSON, "json", false, "print the result as JSON")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	var err error
	if c.Rate, err = parseRate(*rate); err != nil {
		return c, err
	}
	if *tag != "" {
		if c.Tag, err = parseTag(*tag); err != nil {
			return c, err
		}
	} else if c.Serve {
		c.Tag = runTag{System: e2eTagSystem, Code: "e2e-" + newRunID()}
	}
	if c.Secret == "" {
		b := make([]byte, 18)
		_, _ = rand.Read(b)
		c.Secret = hex.EncodeToString(b)
	}
	c.FHIR = strings.TrimRight(c.FHIR, "/")
	c.Service = strings.TrimRight(c.Service, "/")
	return c, c.validate()
}

// e2eReport is one e2e run's output.
type e2eReport struct {
	Mode     string  `json:"mode"`
	FHIR     string  `json:"fhir"`
	Service  string  `json:"service"`
	Instance string  `json:"instance,omitempty"` // with -serve
	Tag      runTag  `json:"tag"`
	Writes   int     `json:"writes"`
	Rate     float64 `json:"rate_per_s"`
	PollMS   float64 `json:"poll_ms"`
	Timeout  float64 `json:"timeout_s"`
	Elapsed  float64 `json:"elapsed_s"`
	e2eStats
	ServiceMetrics *serviceMetrics `json:"service_metrics,omitempty"` // with -serve
	LoadBefore     []float64       `json:"load_average_before,omitempty"`
	LoadAfter      []float64       `json:"load_average_after,omitempty"`
	GoMaxProcs     int             `json:"gomaxprocs"`
}

// e2eSample is what one write measured; durations count from the write's
// response.
type e2eSample struct {
	WriteOK bool
	// Write is the transaction's round trip.
	Write time.Duration
	// Task: the first search that found the Task answered this long after;
	// TaskOK false is a timeout.
	Task   time.Duration
	TaskOK bool
	// Delivery: HAPI's notification of the Encounter reached the tool's
	// receiver this long after (negative if it came before the response).
	Delivery   time.Duration
	DeliveryOK bool
	// PollErrors counts searches that failed (transport error, not 200).
	PollErrors int
}

// e2eStats summarizes the samples. Every percentile is over the writes that
// have the figure: Task over those whose Task was seen, Delivery over those
// whose notification came, Service over those with both.
type e2eStats struct {
	Written     int `json:"written"`
	WriteErrors int `json:"write_errors"`
	// Timeouts: written, and no Task within the timeout.
	Timeouts int `json:"timeouts"`
	// Undelivered: written, and no notification within the timeout.
	Undelivered int       `json:"undelivered"`
	PollErrors  int       `json:"poll_errors"`
	WriteMS     latencies `json:"write_ms"`
	TaskMS      latencies `json:"task_readable_ms"`
	DeliveryMS  latencies `json:"hapi_delivery_ms"`
	// ServiceMS is, per write, Task minus Delivery: the service's share
	// (notification to Task readable).
	ServiceMS latencies `json:"service_share_ms"`
	// ServiceShare is the median of the per-write ratio (Task − Delivery) / Task.
	ServiceShare float64 `json:"service_share_of_task_p50"`
}

func summarize(samples []e2eSample) e2eStats {
	var s e2eStats
	var write, task, delivery, service []time.Duration
	var ratio []float64
	for _, x := range samples {
		if !x.WriteOK {
			s.WriteErrors++
			continue
		}
		s.Written++
		s.PollErrors += x.PollErrors
		write = append(write, x.Write)
		if x.TaskOK {
			task = append(task, x.Task)
		} else {
			s.Timeouts++
		}
		if x.DeliveryOK {
			delivery = append(delivery, x.Delivery)
		} else {
			s.Undelivered++
		}
		if x.TaskOK && x.DeliveryOK {
			service = append(service, x.Task-x.Delivery)
			if x.Task > 0 {
				ratio = append(ratio, float64(x.Task-x.Delivery)/float64(x.Task))
			}
		}
	}
	s.WriteMS, s.TaskMS, s.DeliveryMS, s.ServiceMS = summary(write), summary(task), summary(delivery), summary(service)
	if len(ratio) > 0 {
		slices.Sort(ratio)
		rank := int(math.Ceil(0.5 * float64(len(ratio))))
		s.ServiceShare = math.Round(ratio[max(rank, 1)-1]*1000) / 1000
	}
	return s
}

// summary is the nearest-rank p50, p90, p99 and max of d, in ms.
func summary(d []time.Duration) latencies {
	d = slices.Clone(d)
	slices.Sort(d)
	return latencies{P50: ms(percentile(d, 50)), P90: ms(percentile(d, 90)), P99: ms(percentile(d, 99)), Max: ms(percentile(d, 100))}
}

// runE2E is the e2e mode.
func runE2E(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	cfg, err := parseE2E(args, getenv, stderr)
	if err != nil {
		return err
	}
	if cfg.Root == "" && cfg.Serve && cfg.Bin == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		if cfg.Root, err = findRoot(wd); err != nil {
			return err
		}
	}
	rep := e2eReport{
		Mode: "e2e", FHIR: cfg.FHIR, Service: cfg.Service, Tag: cfg.Tag, Writes: cfg.N, Rate: cfg.Rate,
		PollMS: float64(cfg.Poll.Milliseconds()), Timeout: cfg.Timeout.Seconds(), GoMaxProcs: runtime.GOMAXPROCS(0),
	}
	fc := newFHIRClient(cfg.FHIR)
	defer fc.http.CloseIdleConnections()
	runID := newRunID()

	var sp *serveProc
	if cfg.Serve {
		fmt.Fprintf(stderr, "loadgen e2e: starting utilreview serve, tag %s\n", cfg.Tag.param())
		if sp, err = startServe(ctx, cfg, "loadgen-e2e-"+runID, stderr); err != nil {
			return err
		}
		defer func() {
			if stopErr := sp.stop(stderr, err != nil); stopErr != nil {
				fmt.Fprintf(stderr, "loadgen e2e: stopping the service: %v\n", stopErr)
				if err == nil {
					err = stopErr
				}
			}
		}()
		rep.Service, rep.Instance = sp.url, sp.instance
	} else {
		fmt.Fprintf(stderr, "loadgen e2e: tag %s (the service must follow UTILREVIEW_SUBSCRIPTION_FILTER=_tag=%s)\n", cfg.Tag.param(), cfg.Tag.param())
		if err := checkReady(ctx, cfg.Service); err != nil {
			return err
		}
	}

	recv, err := startReceiver()
	if err != nil {
		return err
	}
	defer recv.close()
	subID, err := fc.createSubscription(ctx, cfg.Tag, recv.url, cfg.Secret)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), subscriptionRemoval)
		defer cancel()
		if derr := fc.removeSubscription(cctx, cfg.Tag); derr != nil {
			fmt.Fprintf(stderr, "loadgen e2e: removing the tool's Subscription/%s: %v\n", subID, derr)
			if err == nil {
				err = derr
			}
		}
	}()
	if err := fc.waitActive(ctx, subID, subscriptionActivation); err != nil {
		return err
	}
	payer := "lg-" + runID + "-payer"
	if err := fc.put(ctx, "Organization/"+payer, payerOrganization(payer, cfg.Tag)); err != nil {
		return fmt.Errorf("writing the payer Organization: %w", err)
	}

	rctx, cancel := context.WithTimeout(ctx, maxE2ERun)
	defer cancel()
	rep.LoadBefore = loadAverage()
	begin := time.Now()
	samples := runWrites(rctx, cfg, fc, recv, "lg-"+runID, payer)
	rep.Elapsed = math.Round(time.Since(begin).Seconds()*10) / 10
	rep.LoadAfter = loadAverage()
	if err := ctx.Err(); err != nil {
		return err
	}
	rep.e2eStats = summarize(samples)
	if sp != nil {
		if rep.ServiceMetrics, err = scrapeMetrics(ctx, sp.url); err != nil {
			return fmt.Errorf("the service's metrics: %w", err)
		}
	}

	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		printE2E(stdout, rep)
	}
	if err == nil && rep.Written == 0 {
		err = errors.New("no write succeeded")
	}
	return err
}

// runWrites starts write i at i/rate after the first (open loop), each in
// its own goroutine: transaction, then a Task search every poll until found
// or the timeout, then a wait for HAPI's notification to the receiver.
func runWrites(ctx context.Context, cfg e2eConfig, fc *fhirClient, recv *receiver, idPrefix, payer string) []e2eSample {
	samples := make([]e2eSample, cfg.N)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range cfg.N {
		at := start.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))
		if d := time.Until(at); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			samples[i] = oneWrite(ctx, cfg, fc, recv, fmt.Sprintf("%s-%d", idPrefix, i), payer)
		})
	}
	wg.Wait()
	return samples
}

func oneWrite(ctx context.Context, cfg e2eConfig, fc *fhirClient, recv *receiver, id, payer string) e2eSample {
	var s e2eSample
	encounter := "enc-" + id
	arrived := recv.expect(encounter)
	bundle := admissionBundle(fc.base, id, payer, cfg.Tag, time.Now())
	sent := time.Now()
	if err := fc.transaction(ctx, bundle); err != nil {
		return s
	}
	written := time.Now()
	s.WriteOK, s.Write = true, written.Sub(sent)
	deadline := written.Add(cfg.Timeout)

	query := taskQuery(encounter)
	tick := time.NewTicker(cfg.Poll)
	defer tick.Stop()
	for {
		found, err := fc.found(ctx, query)
		now := time.Now()
		if err != nil {
			s.PollErrors++
		}
		if found {
			s.Task, s.TaskOK = now.Sub(written), true
			break
		}
		if !now.Before(deadline) || ctx.Err() != nil {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
	}

	wait := time.NewTimer(max(time.Until(deadline), 0))
	defer wait.Stop()
	select {
	case <-arrived:
	case <-wait.C:
	case <-ctx.Done():
	}
	if at, ok := recv.arrival(encounter); ok {
		s.Delivery, s.DeliveryOK = at.Sub(written), true
	}
	return s
}

func printE2E(w io.Writer, r e2eReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "mode\te2e: a write to the FHIR server until its admission-notification Task is readable\n")
	fmt.Fprintf(tw, "fhir\t%s\n", r.FHIR)
	fmt.Fprintf(tw, "service\t%s", r.Service)
	if r.Instance != "" {
		fmt.Fprintf(tw, " (started by the tool, instance %s)", r.Instance)
	}
	fmt.Fprintf(tw, "\ntag\t%s\n", r.Tag.param())
	fmt.Fprintf(tw, "load\t%d writes at %g/s (open loop), Task searched every %gms, %gs timeout per write; %.1fs\n",
		r.Writes, r.Rate, r.PollMS, r.Timeout, r.Elapsed)
	fmt.Fprintf(tw, "writes\t%d written\t%d failed\n", r.Written, r.WriteErrors)
	fmt.Fprintf(tw, "timeouts\t%d no Task\t%d no notification\t%d failed searches\n", r.Timeouts, r.Undelivered, r.PollErrors)
	row := func(name string, l latencies) {
		fmt.Fprintf(tw, "%s\tp50 %.0f\tp90 %.0f\tp99 %.0f\tmax %.0f\n", name, l.P50, l.P90, l.P99, l.Max)
	}
	fmt.Fprintf(tw, "ms after the write's response\n")
	row("  Task readable", r.TaskMS)
	row("  HAPI delivery", r.DeliveryMS)
	row("  service (Task − delivery)", r.ServiceMS)
	row("transaction round trip ms", r.WriteMS)
	fmt.Fprintf(tw, "service's share of the Task latency\tmedian %.0f%%\n", r.ServiceShare*100)
	if m := r.ServiceMetrics; m != nil {
		fmt.Fprintf(tw, "the service's /metrics\t%.0f notifications\t%.0f reviews, mean %.0f ms\t%.0f writes\n", m.Notifications, m.Reviews, m.ReviewMeanMS, m.Writes)
		for _, method := range slices.Sorted(maps.Keys(m.FHIR)) {
			fmt.Fprintf(tw, "  FHIR %s\t%.0f requests, mean %.0f ms\n", method, m.FHIR[method].Count, m.FHIR[method].MeanMS)
		}
	}
	if r.LoadBefore != nil && r.LoadAfter != nil {
		fmt.Fprintf(tw, "load average\tbefore %.2f %.2f %.2f\tafter %.2f %.2f %.2f\n",
			r.LoadBefore[0], r.LoadBefore[1], r.LoadBefore[2], r.LoadAfter[0], r.LoadAfter[1], r.LoadAfter[2])
	}
	fmt.Fprintf(tw, "GOMAXPROCS\t%d\n", r.GoMaxProcs)
	_ = tw.Flush()
}
