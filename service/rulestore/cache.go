package rulestore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/utilreview/utilreview/service/rules"
)

// Compiled is one rules version loaded and compiled in process (CEL
// programs compiled once, when the version is loaded). It is read-only.
type Compiled struct {
	Version  Version
	Registry *rules.Registry
	// Bundle is the version's files, kept to store them again should Redis
	// lose its data.
	Bundle Bundle
	// Fallback: Redis was unreachable at start and the replica serves its
	// seed (UTILREVIEW_RULES_FALLBACK=embedded), not a stored version.
	Fallback bool
}

// CacheConfig configures a Cache.
type CacheConfig struct {
	// Seed is stored as the first version when Redis holds none (the
	// embedded defaults, or UTILREVIEW_RULES_DIR); SeedLabel names it in
	// validation messages and Publisher records who seeded.
	Seed      Bundle
	SeedLabel string
	Publisher string
	// CheckInterval is how often the current-version key is read, the
	// fallback for a missed pub/sub message (default 30s).
	CheckInterval time.Duration
	// RetryInterval is how often Start retries while Redis is unreachable
	// (default 1s).
	RetryInterval time.Duration
	// Fallback: when Redis is unreachable at Start, serve Seed (compiled
	// from the replica's own files) instead of waiting.
	Fallback bool
	// OnChange, when set, is called (in Run's goroutine) after the cache
	// switched to another version; not for the version Start loads.
	OnChange func(ctx context.Context, c *Compiled)
	Logger   *slog.Logger
	// Registerer, when set, gets the cache's metrics.
	Registerer prometheus.Registerer
	Now        func() time.Time
}

// Cache holds the current rules version compiled in process and keeps it
// current: a pub/sub message announces a new version, and the current key
// is read every CheckInterval in case a message was missed. With Redis
// unreachable it keeps the version it holds.
type Cache struct {
	store *Store
	cfg   CacheConfig
	cur   atomic.Pointer[Compiled]
	// mu serialises switches (pub/sub and the periodic check may race).
	mu sync.Mutex
	// storeErr is the last Redis error of a check, nil after a good one.
	storeErr atomic.Pointer[error]
	metrics  *cacheMetrics
}

// NewCache returns a cache on store; Start loads its first version.
func NewCache(store *Store, cfg CacheConfig) (*Cache, error) {
	if store == nil {
		return nil, errors.New("rulestore.NewCache: no store")
	}
	if cfg.CheckInterval <= 0 {
		cfg.CheckInterval = 30 * time.Second
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Cache{store: store, cfg: cfg}
	c.metrics = newCacheMetrics(c)
	if cfg.Registerer != nil {
		if err := c.metrics.register(cfg.Registerer); err != nil {
			return nil, fmt.Errorf("rulestore.NewCache: %w", err)
		}
	}
	return c, nil
}

// Current is the version every review should run on; nil before Start.
func (c *Cache) Current() *Compiled { return c.cur.Load() }

// Start loads the current version (storing Seed first when Redis holds
// none) and returns once one is compiled. While Redis is unreachable it
// retries until ctx ends, unless Fallback is set: then it compiles Seed and
// returns, and Run switches to Redis's version once Redis answers.
func (c *Cache) Start(ctx context.Context) error {
	logged := false
	for {
		err := c.Check(ctx)
		if err == nil && c.Current() != nil {
			return nil
		}
		var re *RefusedError
		if errors.As(err, &re) {
			return fmt.Errorf("rulestore: the seed rules (%s) are refused: %w", c.cfg.SeedLabel, err)
		}
		if c.cfg.Fallback {
			return c.fallback(err)
		}
		if !logged {
			c.cfg.Logger.WarnContext(ctx, "rules: waiting for Redis to load the current rules version", "error", errText(err))
			logged = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("rulestore: no rules version loaded: %w", ctx.Err())
		case <-time.After(c.cfg.RetryInterval):
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// fallback compiles the seed when Redis cannot be reached at start.
func (c *Cache) fallback(cause error) error {
	start := time.Now()
	reg, _, err := validate(c.cfg.Seed, c.cfg.SeedLabel)
	if err != nil {
		return fmt.Errorf("rulestore: fallback rules: %w", err)
	}
	c.metrics.compiled(time.Since(start))
	cp := &Compiled{
		Version:  Version{Hash: c.cfg.Seed.Hash(), Publisher: "fallback (Redis unreachable at start)", Published: c.cfg.Now().UTC()},
		Registry: reg, Bundle: c.cfg.Seed, Fallback: true,
	}
	c.swap(cp)
	c.cfg.Logger.Warn("rules: Redis unreachable at start; serving the replica's own rules (UTILREVIEW_RULES_FALLBACK=embedded) until it answers",
		"version", cp.Version.Short(), "error", errText(cause))
	return nil
}

// Ready is the readiness check: a version is held and the last read of
// Redis succeeded. It does not touch Redis.
func (c *Cache) Ready(context.Context) error {
	cur := c.Current()
	if cur == nil {
		return errors.New("rules: no version loaded yet")
	}
	if p := c.storeErr.Load(); p != nil && *p != nil {
		return fmt.Errorf("rules: serving version %s, Redis unreachable: %w", cur.Version.Short(), *p)
	}
	if cur.Fallback {
		return fmt.Errorf("rules: serving the fallback rules %s, not a stored version", cur.Version.Short())
	}
	return nil
}

// Run keeps the cache current until ctx ends: a pub/sub subscription
// switches on each announced version, the current key is read every
// CheckInterval. It returns when ctx ends.
func (c *Cache) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { c.listen(ctx) })
	t := time.NewTicker(c.cfg.CheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-t.C:
			if err := c.Check(ctx); err != nil && ctx.Err() == nil {
				c.cfg.Logger.WarnContext(ctx, "rules: check of the current version failed; serving the version held", "error", err.Error())
			}
		}
	}
}

// listen follows the announcements. go-redis re-subscribes after a lost
// connection; what was announced meanwhile the periodic check finds.
func (c *Cache) listen(ctx context.Context) {
	sub := c.store.Subscribe(ctx)
	defer sub.Close()
	ch := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			if err := c.switchTo(ctx, m.Payload); err != nil && ctx.Err() == nil {
				c.cfg.Logger.WarnContext(ctx, "rules: announced version not loaded; the periodic check retries", "version", Short(m.Payload), "error", err.Error())
			}
		}
	}
}

// Check reads the current-version key and switches to it when it differs
// from the version held. When Redis holds no version it stores the held
// one again (Redis lost its data), or the seed.
func (c *Cache) Check(ctx context.Context) error {
	cur, err := c.store.Current(ctx)
	if err == nil && cur == "" {
		cur, err = c.seed(ctx)
	}
	c.setStoreErr(err)
	if err != nil {
		return err
	}
	return c.switchTo(ctx, cur)
}

func (c *Cache) setStoreErr(err error) {
	var re *RefusedError
	if errors.As(err, &re) {
		err = nil // Redis answered
	}
	c.storeErr.Store(&err)
	c.metrics.storeUp(err == nil)
}

// seed stores the version held (or the seed) as the first version.
func (c *Cache) seed(ctx context.Context) (string, error) {
	b, label, publisher := c.cfg.Seed, c.cfg.SeedLabel, c.cfg.Publisher
	if held := c.Current(); held != nil && !held.Fallback {
		b, label, publisher = held.Bundle, "", held.Version.Publisher+" (stored again: Redis held no version)"
	}
	v, seeded, err := c.store.Seed(ctx, b, label, publisher)
	if err != nil {
		return "", err
	}
	if seeded {
		c.cfg.Logger.InfoContext(ctx, "rules: Redis held no version; stored this replica's", "version", v.Short(), "publisher", publisher)
	}
	return v.Hash, nil
}

// switchTo loads and compiles version hash unless it is the one held, and
// makes it current for the reviews that start from then on.
func (c *Cache) switchTo(ctx context.Context, hash string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	held := c.Current()
	if held != nil && held.Version.Hash == hash && !held.Fallback {
		return nil
	}
	b, v, err := c.store.Load(ctx, hash)
	if err != nil {
		c.metrics.reload(false)
		return err
	}
	start := time.Now()
	reg, err := rules.LoadBundle(b.FS(), "")
	if err != nil {
		// Stored versions were validated; this is a binary that validates
		// differently (an older replica during a rollout). Keep serving.
		c.metrics.reload(false)
		return fmt.Errorf("rulestore: version %s does not load in this replica: %w", Short(hash), err)
	}
	c.metrics.compiled(time.Since(start))
	cp := &Compiled{Version: v, Registry: reg, Bundle: b}
	c.swap(cp)
	first := held == nil
	if !first {
		c.metrics.reload(true)
	}
	from := ""
	if held != nil {
		from = held.Version.Short()
	}
	c.cfg.Logger.InfoContext(ctx, "rules: version loaded", "version", v.Short(), "previous", from,
		"publisher", v.Publisher, "published", v.Published.Format(time.RFC3339), "compile_ms", time.Since(start).Milliseconds())
	if !first && c.cfg.OnChange != nil {
		c.cfg.OnChange(ctx, cp)
	}
	return nil
}

func (c *Cache) swap(cp *Compiled) {
	c.cur.Store(cp)
	c.metrics.version(cp.Version.Hash)
}

// cacheMetrics are the cache's Prometheus collectors.
type cacheMetrics struct {
	info     *prometheus.GaugeVec
	age      prometheus.GaugeFunc
	compile  prometheus.Histogram
	reloads  *prometheus.CounterVec
	up       prometheus.Gauge
	mu       sync.Mutex
	shownVer string
}

func newCacheMetrics(c *Cache) *cacheMetrics {
	return &cacheMetrics{
		info: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "utilreview_rules_version_info",
			Help: "The rules version this replica evaluates (value 1), by its hash.",
		}, []string{"version"}),
		age: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "utilreview_rules_version_age_seconds",
			Help: "Seconds since the rules version this replica evaluates was published.",
		}, func() float64 {
			cur := c.Current()
			if cur == nil {
				return 0
			}
			return c.cfg.Now().Sub(cur.Version.Published).Seconds()
		}),
		compile: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "utilreview_rules_compile_seconds",
			Help:    "Time to load and compile a rules version (CEL included).",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "utilreview_rules_reloads_total",
			Help: "Switches to another rules version (outcome ok), and versions that could not be loaded (error).",
		}, []string{"outcome"}),
		up: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "utilreview_rules_store_up",
			Help: "1 when the last read of the rules store (Redis) succeeded, 0 while the replica serves the version it holds without Redis.",
		}),
	}
}

func (m *cacheMetrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.info, m.age, m.compile, m.reloads, m.up} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *cacheMetrics) version(hash string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.shownVer != "" {
		m.info.DeleteLabelValues(m.shownVer)
	}
	m.info.WithLabelValues(hash).Set(1)
	m.shownVer = hash
}

func (m *cacheMetrics) compiled(d time.Duration) { m.compile.Observe(d.Seconds()) }

func (m *cacheMetrics) reload(ok bool) {
	outcome := "ok"
	if !ok {
		outcome = "error"
	}
	m.reloads.WithLabelValues(outcome).Inc()
}

func (m *cacheMetrics) storeUp(up bool) {
	if up {
		m.up.Set(1)
	} else {
		m.up.Set(0)
	}
}
