package queue

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultPrefix starts every Redis key of the service (queue, rules)
// unless configured: one hash tag, so that every key lives in one Redis
// Cluster slot.
const DefaultPrefix = "{utilreview}:"

// Config is the queue's configuration. Zero values take the defaults named
// on each field.
type Config struct {
	// Prefix starts every key. Default "{utilreview}:": one hash tag, so all
	// keys land in one Redis Cluster slot and the Lua scripts may touch them
	// together. A prefix without a hash tag works on a single Redis only.
	Prefix string
	// Group is the stream's consumer group (default "workers"); Consumer this
	// process's name in it (default hostname-pid, unique per process, so a
	// restarted replica never mistakes a crashed one's entries for its own).
	Group    string
	Consumer string
	// Workers is the number of entries handled at once (default 4).
	Workers int
	// MaxAttempts is how many times an entry is handled before it goes to the
	// dead-letter stream (default 8). With the default backoffs the attempts
	// span at least 10 minutes (5+10+20+40+80+160+300 s).
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the delay before a retry (defaults 5s
	// and 5m): MinBackoff doubled per earlier failure, plus up to a quarter
	// of jitter (never less, so the total span stays predictable), capped at
	// MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// LeaseTTL is how long a patient's lease lives without renewal (default
	// 30s); it is renewed every LeaseTTL/3 while the handler runs, and
	// expires that long after its holder died.
	LeaseTTL time.Duration
	// ClaimIdle is how long an entry stays pending (delivered, not
	// acknowledged, its lease not renewed) before another consumer claims it
	// (default 1m). Keep it above LeaseTTL/3: a running handler's renewal
	// resets the entry's idle time.
	ClaimIdle time.Duration
	// Block is how long a worker waits in XREADGROUP for a new entry
	// (default 1s); it also bounds how long Run takes to notice shutdown.
	Block time.Duration
	// Poll is how often due retries and wake-ups are moved into the stream
	// (default 1s).
	Poll time.Duration
	// BusyDelay is how long an entry waits when its patient's lease is held
	// elsewhere (default 1s). It is not counted as an attempt.
	BusyDelay time.Duration
	// DrainTimeout bounds how long in-flight handlers may run once Run's
	// context is done (default 20s); then their context is cancelled and an
	// unfinished entry is left pending for another replica to claim.
	DrainTimeout time.Duration
	// OwnWriteTTL is how long a version the service wrote is remembered
	// (RecordOwnWrites) to recognise its notification (default 15m: HAPI
	// retries a delivery for a minute, and delivers late under load; a
	// notification after it costs one review).
	OwnWriteTTL time.Duration
	// Now is the clock of retries, wake-ups and event gaps (default
	// time.Now).
	Now func() time.Time
	// Logger receives operational logs (default: discarded). The queue logs
	// patient keys and entry ids, never resource content.
	Logger *slog.Logger
	// Registerer, when set, receives the queue's Prometheus collectors.
	Registerer prometheus.Registerer
}

// withDefaults returns the configuration with zero values replaced by the
// defaults, or an error naming the first invalid field.
func (c Config) withDefaults() (Config, error) {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.Group == "" {
		c.Group = "workers"
	}
	if c.Consumer == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "utilreview"
		}
		c.Consumer = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	durations := []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"MinBackoff", &c.MinBackoff, 5 * time.Second},
		{"MaxBackoff", &c.MaxBackoff, 5 * time.Minute},
		{"LeaseTTL", &c.LeaseTTL, 30 * time.Second},
		{"ClaimIdle", &c.ClaimIdle, time.Minute},
		{"Block", &c.Block, time.Second},
		{"Poll", &c.Poll, time.Second},
		{"BusyDelay", &c.BusyDelay, time.Second},
		{"DrainTimeout", &c.DrainTimeout, 20 * time.Second},
		{"OwnWriteTTL", &c.OwnWriteTTL, 15 * time.Minute},
	}
	for _, d := range durations {
		switch {
		case *d.v < 0:
			return c, fmt.Errorf("%s is negative (%s)", d.name, *d.v)
		case *d.v == 0:
			*d.v = d.def
		}
	}
	if c.Workers < 0 || c.MaxAttempts < 0 {
		return c, errors.New("Workers and MaxAttempts must not be negative")
	}
	if c.Workers == 0 {
		c.Workers = 4
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 8
	}
	if c.MaxBackoff < c.MinBackoff {
		return c, fmt.Errorf("MaxBackoff (%s) is below MinBackoff (%s)", c.MaxBackoff, c.MinBackoff)
	}
	if c.LeaseTTL < 3*time.Millisecond {
		return c, fmt.Errorf("LeaseTTL (%s) is too short to renew", c.LeaseTTL)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}
