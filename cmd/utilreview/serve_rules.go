package main

import (
	"context"
	"log/slog"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

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
}

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
