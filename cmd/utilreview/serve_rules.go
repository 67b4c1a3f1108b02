package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/utilreview/utilreview/service/live"
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
}

// rolloutClaimTTL is how long a re-review marker lives (one per version
// made current): longer than a replica takes to learn of the switch.
const rolloutClaimTTL = 24 * time.Hour

// followWith makes the worklist follow each new version: the first replica
// to claim the version (a SET NX marker) queues the re-review, in the
// background, bounded by the cache's context.
func (s *servedRules) followWith(r *live.Rereview, instance string, log *slog.Logger) {
	host, _ := os.Hostname()
	owner := fmt.Sprintf("%s/%s-%d", instance, host, os.Getpid())
	s.changed = func(ctx context.Context, c *rulestore.Compiled) {
		ok, err := s.store.ClaimRollout(ctx, c.Version.Hash, owner, rolloutClaimTTL)
		if err != nil {
			log.WarnContext(ctx, "rules: cannot claim the re-review of the new version", "version", c.Version.Short(), "error", err.Error())
			return
		}
		if !ok {
			return // another replica queues it
		}
		s.rereviews.Go(func() {
			if _, err := r.Run(ctx, c.Version.Short()); err != nil && ctx.Err() == nil {
				log.WarnContext(ctx, "rules: re-review after the new version stopped", "version", c.Version.Short(), "error", err.Error())
			}
		})
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
