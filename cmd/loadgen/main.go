// Command loadgen measures webhook acceptance: a closed-loop HTTP load of
// full-resource Encounter notifications, on loopback only; and, in mode e2e,
// the end-to-end latency from a write to the FHIR server until its Task is
// readable (see e2e.go).
//
//	loadgen accept -url URL [-secret S]        against a running service
//	loadgen baseline -mode noop|xadd -redis A  against a bare Echo handler started in process
//	loadgen webhook -redis A                   against the real webhook started in process
//	loadgen e2e -fhir URL -serve               a running or started service against the FHIR server
//
// Every mode runs the same client: -c keep-alive connections, each sending
// PUT <url>/fhir/notify/Encounter/<id> back to back for -d after -warmup,
// and reports requests/s, latency percentiles and status counts (a table,
// or JSON with -json). Results are recorded in docs/benchmarks.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

const usage = `loadgen: webhook acceptance load on loopback

Usage:
  loadgen accept -url URL [-secret S] [flags]      a running service (secret also from UTILREVIEW_WEBHOOK_SECRET)
  loadgen baseline -mode noop|xadd [-redis A] [flags]  a bare Echo handler in process (204, or one XADD then 204)
  loadgen webhook [-redis A] [flags]               the real webhook (handlers on service/queue) in process
  loadgen e2e -fhir URL (-service URL -tag S|C | -serve) [flags]  end-to-end latency: a write to the FHIR
                                                   server until its Task is readable, and HAPI's delivery

-redis defaults to UTILREVIEW_TEST_REDIS_ADDR. Run "loadgen MODE -h" for the flags.
`

// report is one run's output.
type report struct {
	Mode        string  `json:"mode"`
	URL         string  `json:"url"`
	Connections int     `json:"connections"`
	Duration    float64 `json:"duration_s"`
	Warmup      float64 `json:"warmup_s"`
	Mix         string  `json:"mix"`
	Bodies      int     `json:"bodies"`
	Patients    int     `json:"patients"`
	BodyBytes   int     `json:"body_bytes_mean"`
	loadResult
	Queue *queueCounts `json:"queue,omitempty"`
	// LoadAverage is /proc/loadavg's 1, 5 and 15 minute figures before and
	// after the run (the machine is shared).
	LoadBefore []float64 `json:"load_average_before,omitempty"`
	LoadAfter  []float64 `json:"load_average_after,omitempty"`
	GoMaxProcs int       `json:"gomaxprocs"`
	// CPU is CPU time per request sent (warm-up included), in µs: of this
	// process (client and any in-process server) and, where the target
	// uses it, of the Redis server (from INFO cpu; other users of a shared
	// Redis add to it). On a shared machine these vary far less than the
	// rate.
	CPU cpuPerRequest `json:"cpu_us_per_request"`
}

type cpuPerRequest struct {
	Process float64 `json:"process"`
	Redis   float64 `json:"redis,omitempty"`
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	mode := args[0]
	if mode == "e2e" {
		return runE2E(ctx, args[1:], getenv, stdout, stderr)
	}
	fs := flag.NewFlagSet("loadgen "+mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	conns := fs.Int("c", 32, "keep-alive connections (closed loop: one request in flight on each)")
	duration := fs.Duration("d", 5*time.Second, "measured duration")
	warmup := fs.Duration("warmup", time.Second, "warm-up before the measured duration, not counted")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	copies := fs.Int("copies", 4, "copies of the source patients, each under new ids (per copy: synthea 10 patients and 55 Encounters, hl7 4 and 10)")
	mix := fs.String("mix", "synthea", "the Encounters sent: synthea (Synthea and the examples, ~1.1 KB) or hl7 (the HL7 R4 examples, ~3 KB)")
	root := fs.String("root", "", "the module's root, where the test data is (default: found from the working directory)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole process (client and any in-process server) to this file")
	var url, secret, baselineMode, redisAddr *string
	var take *time.Duration
	switch mode {
	case "accept":
		url = fs.String("url", "", "the service's base URL (loopback only), e.g. http://127.0.0.1:8080")
		secret = fs.String("secret", getenv("UTILREVIEW_WEBHOOK_SECRET"), "the webhook secret (default $UTILREVIEW_WEBHOOK_SECRET)")
	case "baseline":
		baselineMode = fs.String("mode", "noop", "noop: answer 204; xadd: one XADD to a Redis stream, then 204")
		redisAddr = fs.String("redis", getenv("UTILREVIEW_TEST_REDIS_ADDR"), "Redis host:port (loopback only) for -mode xadd")
	case "webhook":
		redisAddr = fs.String("redis", getenv("UTILREVIEW_TEST_REDIS_ADDR"), "Redis host:port (loopback only)")
		take = fs.Duration("take", 10*time.Millisecond, "empty the queue's stream this often, as workers taking entries would, so that notifications add entries rather than coalesce (0: never)")
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "loadgen: unknown mode %q\n\n%s", mode, usage)
		return flag.ErrHelp
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}

	if mode == "accept" {
		if _, err := checkLoopbackURL(*url); err != nil {
			return err // before reading anything
		}
	}
	if *root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		if *root, err = findRoot(wd); err != nil {
			return err
		}
	}
	notes, err := loadNotifications(*root, *mix, *copies)
	if err != nil {
		return err
	}
	cfg := loadConfig{Connections: *conns, Duration: *duration, Warmup: *warmup, Notifications: notes}
	rep := report{
		Mode: mode, Connections: *conns, Duration: duration.Seconds(), Warmup: warmup.Seconds(),
		GoMaxProcs: runtime.GOMAXPROCS(0),
	}
	rep.Mix = *mix
	rep.Bodies, rep.Patients, rep.BodyBytes = describe(notes)

	var t *target
	switch mode {
	case "accept":
		if *secret == "" {
			return errors.New("accept needs -secret or UTILREVIEW_WEBHOOK_SECRET")
		}
		cfg.URL, cfg.Secret = strings.TrimRight(*url, "/"), *secret
	default:
		if mode == "baseline" {
			rep.Mode += " " + *baselineMode
		}
		if err := cfg.checkBounds(); err != nil {
			return err // before starting anything
		}
		var rdbAddr string
		if mode == "webhook" || *baselineMode == "xadd" {
			if *redisAddr == "" {
				return fmt.Errorf("%s needs -redis (or UTILREVIEW_TEST_REDIS_ADDR)", mode)
			}
			rdbAddr = *redisAddr
		}
		closeRun, tg, err := startTarget(ctx, mode, baselineMode, take, rdbAddr)
		if err != nil {
			return err
		}
		defer closeRun()
		t = tg
		cfg.URL, cfg.Secret = t.url, webhookSecret
	}
	rep.URL = cfg.URL

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep.LoadBefore = loadAverage()
	cpu0, redis0 := processCPU(), time.Duration(0)
	if t != nil && t.redisCPU != nil {
		redis0 = t.redisCPU(ctx)
	}
	res, err := runLoad(ctx, cfg)
	if err != nil {
		return err
	}
	perRequest := func(d time.Duration) float64 {
		return math.Round(float64(d)/float64(max(res.Sent, 1))/10) / 100
	}
	rep.CPU.Process = perRequest(processCPU() - cpu0)
	if t != nil && t.redisCPU != nil {
		rep.CPU.Redis = perRequest(t.redisCPU(ctx) - redis0)
	}
	rep.LoadAfter = loadAverage()
	rep.loadResult = res
	if t != nil && t.counts != nil {
		if rep.Queue, err = t.counts(ctx); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printTable(stdout, rep)
	return nil
}

// startTarget starts the in-process server of a baseline or webhook run,
// with its own Redis key prefix; closeRun stops it and deletes the keys.
func startTarget(ctx context.Context, mode string, baselineMode *string, take *time.Duration, redisAddr string) (closeRun func(), t *target, err error) {
	var cleanups []func()
	closeRun = func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	defer func() {
		if err != nil {
			closeRun()
		}
	}()
	prefix := runPrefix()
	var rdb *redis.Client
	if redisAddr != "" {
		c, err := newRedis(ctx, redisAddr)
		if err != nil {
			return nil, nil, err
		}
		rdb = c
		cleanups = append(cleanups, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := deleteKeys(ctx, c, prefix); err != nil {
				fmt.Fprintf(os.Stderr, "loadgen: deleting the keys under %s: %v\n", prefix, err)
			}
			_ = c.Close()
		})
	}
	if mode == "webhook" {
		t, err = startWebhook(rdb, prefix, *take)
	} else {
		t, err = startBaseline(*baselineMode, rdb, prefix)
	}
	if err != nil {
		return nil, nil, err
	}
	cleanups = append(cleanups, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = t.close(ctx)
	})
	return closeRun, t, nil
}

// processCPU is the CPU time (user and system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// describe is the number of bodies and patients and the mean body size.
func describe(notes []notification) (bodies, patients, meanBytes int) {
	seen := map[string]bool{}
	total := 0
	for _, n := range notes {
		seen[n.patient] = true
		total += len(n.body)
	}
	return len(notes), len(seen), total / max(len(notes), 1)
}

// loadAverage is /proc/loadavg's first three fields, nil where there is none.
func loadAverage() []float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil
	}
	var l [3]float64
	if _, err := fmt.Sscan(string(b), &l[0], &l[1], &l[2]); err != nil {
		return nil
	}
	return l[:]
}

func printTable(w io.Writer, r report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "mode\t%s\n", r.Mode)
	fmt.Fprintf(tw, "url\t%s/fhir/notify/Encounter/{id}\n", r.URL)
	fmt.Fprintf(tw, "load\t%d connections, %gs after %gs warm-up; %d Encounters (mix %s) of %d patients, %d bytes each on average\n",
		r.Connections, r.Duration, r.Warmup, r.Bodies, r.Mix, r.Patients, r.BodyBytes)
	fmt.Fprintf(tw, "requests\t%d\t%.0f/s\n", r.Requests, r.PerSecond)
	fmt.Fprintf(tw, "latency ms\tp50 %.2f\tp90 %.2f\tp99 %.2f\tmax %.2f\n", r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
	for _, k := range slices.Sorted(maps.Keys(r.Status)) {
		fmt.Fprintf(tw, "status %s\t%d\n", k, r.Status[k])
	}
	fmt.Fprintf(tw, "errors (not 204)\t%d\n", r.Errors)
	if r.Queue != nil {
		fmt.Fprintf(tw, "queue (warm-up and run)\tqueued %d\tcoalesced %d\n", r.Queue.Queued, r.Queue.Coalesced)
	}
	if r.LoadBefore != nil && r.LoadAfter != nil {
		fmt.Fprintf(tw, "load average\tbefore %.2f %.2f %.2f\tafter %.2f %.2f %.2f\n",
			r.LoadBefore[0], r.LoadBefore[1], r.LoadBefore[2], r.LoadAfter[0], r.LoadAfter[1], r.LoadAfter[2])
	}
	fmt.Fprintf(tw, "CPU µs per request\tprocess %.1f", r.CPU.Process)
	if r.CPU.Redis > 0 {
		fmt.Fprintf(tw, "\tRedis %.1f", r.CPU.Redis)
	}
	fmt.Fprintf(tw, "\t(%d sent, warm-up included)\n", r.Sent)
	fmt.Fprintf(tw, "GOMAXPROCS\t%d\n", r.GoMaxProcs)
	_ = tw.Flush()
}
