package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/utilreview/utilreview/service/live"
	"github.com/utilreview/utilreview/service/queue"
	"github.com/utilreview/utilreview/service/review"
	"github.com/utilreview/utilreview/service/rulestore"
)

// servedRules are serve's rules: Redis's current version, compiled in
// process and kept current by the cache; each review takes the options of
// the version current when it starts.
type servedRules struct {
	cfg   engineConfig
	store *rulestore.Store
	cache *rulestore.Cache
	memo  atomic.Pointer[versionOptions]
	// changed, when set before the cache runs, is called after each switch.
	changed func(ctx context.Context, c *rulestore.Compiled)
	// rereviews are the re-reviews running.
	rereviews sync.WaitGroup
	// rolloutLease is the lease of a re-review claim (rolloutLease).
	rolloutLease time.Duration
}

// rolloutLease is the lease of a re-review claim: its holder renews it
// every third of it; when a replica dies mid re-review, another takes the
// re-review over at its next check after the lease ran out.
const rolloutLease = 30 * time.Second

// rereviewer schedules the re-review of the worklist (live.Rereview).
type rereviewer interface {
	Run(ctx context.Context, version string, schedule live.Schedule) (int, error)
}

// stagger writes paced entries into a transaction (queue.Queue.Stagger).
type stagger interface {
	Stagger(ctx context.Context, p redis.Pipeliner, entries []queue.Entry, interval time.Duration, tag string) error
}

// followWith makes the worklist follow each new version: the first replica
// to claim the version (a lease in Redis) finds the patients in the
// background, bounded by the cache's context, and schedules their reviews
// through q with the claim's completion; watchRollouts lets another
// replica take over a claim whose holder died before it scheduled.
func (s *servedRules) followWith(r rereviewer, q stagger, instance string, log *slog.Logger) {
	host, _ := os.Hostname()
	owner := fmt.Sprintf("%s/%s-%d", instance, host, os.Getpid())
	if s.rolloutLease == 0 {
		s.rolloutLease = rolloutLease
	}
	s.changed = func(ctx context.Context, c *rulestore.Compiled) { s.rollout(ctx, c, r, q, owner, log) }
}

// rollout claims the re-review of c becoming current, finds its patients
// (renewing the claim meanwhile) and schedules their reviews in Redis in
// the same transaction that marks the claim done: from then on the queue
// holds the re-review, and any replica's workers run it at its pace. A
// replica that stops before (shutdown, an error) releases the claim for
// another replica, or this one at its next check.
func (s *servedRules) rollout(ctx context.Context, c *rulestore.Compiled, r rereviewer, q stagger, owner string, log *slog.Logger) {
	if c == nil || c.Fallback {
		return // not Redis's version: Redis was unreachable
	}
	ro, err := s.store.ClaimRollout(ctx, c.Version.Hash, owner, s.rolloutLease)
	if err != nil {
		log.WarnContext(ctx, "rules: cannot claim the re-review of the new version", "version", c.Version.Short(), "error", err.Error())
		return
	}
	if ro == nil {
		return // another replica schedules it, or has
	}
	s.rereviews.Go(func() {
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		renewed := make(chan struct{})
		go func() {
			defer close(renewed)
			tick := time.NewTicker(ro.Lease() / 3)
			defer tick.Stop()
			for {
				select {
				case <-rctx.Done():
					return
				case <-tick.C:
				}
				if ok, err := ro.Renew(rctx); err == nil && !ok {
					log.WarnContext(ctx, "rules: lost the re-review claim (the lease ran out), another replica has it", "version", c.Version.Short())
					cancel()
					return
				}
			}
		}()
		tag := "rules:" + ro.ID()
		_, err := r.Run(rctx, c.Version.Short(), func(ctx context.Context, entries []queue.Entry, interval time.Duration) (bool, error) {
			return ro.DoneWith(ctx, func(p redis.Pipeliner) error { return q.Stagger(ctx, p, entries, interval, tag) })
		})
		cancel()
		<-renewed
		if err == nil || errors.Is(err, live.ErrClaimLost) {
			return
		}
		if ctx.Err() == nil {
			log.WarnContext(ctx, "rules: re-review after the new version stopped before it was scheduled; released for a retry", "version", c.Version.Short(), "error", err.Error())
		}
		fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer fcancel()
		_, _ = ro.Release(fctx)
	})
}

// watchRollouts checks every interval whether the current version's
// re-review is unclaimed and not done (its holder died, or failed and
// released it), and takes it over.
func (s *servedRules) watchRollouts(ctx context.Context, interval time.Duration) {
	if s.changed == nil {
		return
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s.changed(ctx, s.cache.Current())
	}
}

// wait waits for the re-reviews to stop (their context ended).
func (s *servedRules) wait() { s.rereviews.Wait() }

// versionOptions are the review options built for one compiled version.
type versionOptions struct {
	c   *rulestore.Compiled
	opt review.Options
}

// startRules loads the current rules version from Redis, seeding it with
// UTILREVIEW_RULES_DIR or the embedded defaults when Redis holds none. It
// waits for Redis (ctx bounds it) unless UTILREVIEW_RULES_FALLBACK=embedded.
func startRules(ctx context.Context, cfg *serveConfig, rdb redis.UniversalClient, reg prometheus.Registerer, log *slog.Logger) (*servedRules, error) {
	seed, label := rulestore.Bundle(nil), cfg.RulesDir
	var err error
	if cfg.RulesDir != "" {
		seed, err = rulestore.ReadDir(cfg.RulesDir)
	} else {
		seed, err = rulestore.Defaults()
	}
	if err != nil {
		return nil, err
	}
	store, err := rulestore.New(rdb, rulestore.Config{Prefix: cfg.RedisPrefix, Registerer: reg})
	if err != nil {
		return nil, err
	}
	s := &servedRules{cfg: cfg.engineConfig, store: store}
	s.cache, err = rulestore.NewCache(store, rulestore.CacheConfig{
		Seed: seed, SeedLabel: label, Publisher: cfg.Publisher + " (seed)", CheckInterval: cfg.RulesCheckInterval,
		Fallback: cfg.RulesFallback == "embedded", Logger: log, Registerer: reg,
		OnChange: func(ctx context.Context, c *rulestore.Compiled) {
			if s.changed != nil {
				s.changed(ctx, c)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	if err := s.cache.Start(ctx); err != nil {
		return nil, err
	}
	cur := s.cache.Current()
	if cfg.RulesDir != "" && seed.Hash() != cur.Version.Hash {
		log.Warn("UTILREVIEW_RULES_DIR differs from the current rules version in Redis, which wins: publish the directory (utilreview rules publish) to deploy it",
			"rules_dir", cfg.RulesDir, "current", cur.Version.Short())
	}
	return s, nil
}

// options are the review options of the current version, built once per
// version.
func (s *servedRules) options() review.Options {
	cur := s.cache.Current()
	if m := s.memo.Load(); m != nil && m.c == cur {
		return m.opt
	}
	m := &versionOptions{c: cur, opt: s.cfg.optionsFor(cur.Registry)}
	s.memo.Store(m)
	return m.opt
}
