package report

import (
	"context"
	"sync"
	"time"
)

// ComputeFunc computes the report of a period (the live service: read the
// period from the FHIR server, then Compute).
type ComputeFunc func(ctx context.Context, from, to time.Time) (*Report, error)

// CacheConfig configures a Cache.
type CacheConfig struct {
	// TTL is how long a computed report is served before it is computed
	// again (in the background; the old one is served meanwhile). Default 15 minutes.
	TTL time.Duration
	// ErrorTTL is how long a failed computation is answered before it is
	// tried again. Default 1 minute.
	ErrorTTL time.Duration
	// MaxEntries bounds the periods kept (least recently asked dropped first). Default 16.
	MaxEntries int
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// Cache computes committee reports in the background and keeps them, so
// that viewing the page does not put a burst of searches on the FHIR server
// per view: one computation at a time, each period computed at most once per
// TTL however often it is asked for.
type Cache struct {
	ctx     context.Context
	compute ComputeFunc
	cfg     CacheConfig
	sem     chan struct{} // one computation at a time

	mu      sync.Mutex
	entries map[[2]string]*cacheEntry
	wg      sync.WaitGroup
}

type cacheEntry struct {
	rep       *Report
	err       error
	at        time.Time // when rep or err was computed
	computing bool
	asked     time.Time
}

// NewCache returns a cache whose computations run under ctx: when ctx ends,
// they stop (Wait waits for them).
func NewCache(ctx context.Context, compute ComputeFunc, cfg CacheConfig) *Cache {
	if cfg.TTL <= 0 {
		cfg.TTL = 15 * time.Minute
	}
	if cfg.ErrorTTL <= 0 {
		cfg.ErrorTTL = time.Minute
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 16
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Cache{ctx: ctx, compute: compute, cfg: cfg, sem: make(chan struct{}, 1), entries: map[[2]string]*cacheEntry{}}
}

// Committee returns the report of the period (from and to as calendar days)
// and when it was computed. While it is first being computed it returns a
// nil report and no error: ask again later. A report older than the TTL is
// returned while a new one is computed. A failed computation's error is
// returned until ErrorTTL has passed.
func (c *Cache) Committee(from, to time.Time) (*Report, time.Time, error) {
	key := [2]string{from.Format(time.DateOnly), to.Format(time.DateOnly)}
	now := c.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		c.evict()
		e = &cacheEntry{}
		c.entries[key] = e
	}
	e.asked = now
	stale := e.at.IsZero() || (e.err != nil && now.Sub(e.at) >= c.cfg.ErrorTTL) || (e.err == nil && now.Sub(e.at) >= c.cfg.TTL)
	if stale && !e.computing && c.ctx.Err() == nil {
		e.computing = true
		c.wg.Add(1)
		go c.run(key, e, from, to)
	}
	if e.rep == nil && e.err != nil && e.computing {
		return nil, time.Time{}, nil // being tried again
	}
	return e.rep, e.at, e.err
}

// evict drops the least recently asked period not being computed when the
// cache is full. Called with mu held.
func (c *Cache) evict() {
	if len(c.entries) < c.cfg.MaxEntries {
		return
	}
	var oldest [2]string
	var at time.Time
	for k, e := range c.entries {
		if !e.computing && (at.IsZero() || e.asked.Before(at)) {
			oldest, at = k, e.asked
		}
	}
	if !at.IsZero() {
		delete(c.entries, oldest)
	}
}

func (c *Cache) run(key [2]string, e *cacheEntry, from, to time.Time) {
	defer c.wg.Done()
	select {
	case c.sem <- struct{}{}:
	case <-c.ctx.Done():
		c.mu.Lock()
		e.computing = false
		c.mu.Unlock()
		return
	}
	rep, err := c.compute(c.ctx, from, to)
	<-c.sem
	c.mu.Lock()
	defer c.mu.Unlock()
	e.computing = false
	e.at = c.cfg.Now()
	if err != nil {
		e.err = err // a report computed before is kept and served meanwhile
		if e.rep != nil {
			e.err = nil
			e.at = e.at.Add(c.cfg.ErrorTTL - c.cfg.TTL) // try again after ErrorTTL
		}
		return
	}
	e.rep, e.err = rep, nil
}

// Wait waits for the computations under way to end (after ctx ends, they stop).
func (c *Cache) Wait() { c.wg.Wait() }
