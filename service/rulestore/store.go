package rulestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/utilreview/utilreview/service/queue"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Reasons a publish is refused.
const (
	// ReasonInvalid: the bundle does not validate.
	ReasonInvalid = "invalid"
	// ReasonConflict: the bundle changes the content of a rule set under an
	// id@version a stored version already holds.
	ReasonConflict = "conflict"
)

// RefusedError is a bundle Publish refused whole; the current version is
// untouched. Problems are one message a line: for an invalid bundle the
// `file:line: field: reason` messages of `utilreview rules validate`.
type RefusedError struct {
	Reason   string
	Problems []string
}

func (e *RefusedError) Error() string {
	what := "invalid"
	if e.Reason == ReasonConflict {
		what = "in conflict with a stored version"
	}
	return fmt.Sprintf("rulestore: bundle refused (%s): %d problem(s):\n  %s", what, len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// ErrNotFound is returned (wrapped) when a version is not stored.
var ErrNotFound = errors.New("no such rules version")

// ErrShortVersion is returned (wrapped) for a version of fewer than 7
// characters.
var ErrShortVersion = errors.New("give at least 7 characters of the version hash")

// ErrAmbiguous is returned (wrapped) when a short version names several.
var ErrAmbiguous = errors.New("the short version names more than one stored version")

// Version is one stored version as List, Publish and Rollback describe it.
type Version struct {
	// Hash is the version: the SHA-256 of the bundle's files, hex.
	Hash      string    `json:"version"`
	Publisher string    `json:"publisher"`
	Published time.Time `json:"published"`
	Current   bool      `json:"current"`
	Report    Report    `json:"report"`
}

// Short is the version's first 12 characters, for people.
func (v Version) Short() string { return Short(v.Hash) }

// Short is a version's first 12 characters.
func Short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}

// Config configures a Store.
type Config struct {
	// Prefix starts every key: the queue's prefix (UTILREVIEW_REDIS_PREFIX,
	// default "{utilreview}:"), so the rule keys share its one hash tag and
	// Cluster slot.
	Prefix string
	// Now is the clock of publish times (default time.Now).
	Now func() time.Time
	// Registerer, when set, gets the refused-publish counter.
	Registerer prometheus.Registerer
}

// Store keeps rule versions in Redis. Its methods are safe for concurrent
// use, by several processes too.
type Store struct {
	rdb     redis.UniversalClient
	now     func() time.Time
	keys    keys
	refused *prometheus.CounterVec
}

// keys are the Redis keys of the rules, all under the prefix.
type keys struct {
	current  string // string: the current version's hash
	versions string // sorted set: hash → publish time (ms)
	metaPfx  string // + hash: hash {publisher, published, report}
	filesPfx string // + hash: hash file name → content
	ids      string // hash: "id@version" → its content digest (RuleSetInfo.Digest)
	rollout  string // + hash:generation: the marker of the replica that re-reviews the worklist for it
	gen      string // counter: incremented each time a version is made current
	channel  string // pub/sub channel: the new current hash
}

func newKeys(prefix string) keys {
	return keys{
		current:  prefix + "rules:current",
		versions: prefix + "rules:versions",
		metaPfx:  prefix + "rules:meta:",
		filesPfx: prefix + "rules:files:",
		ids:      prefix + "rules:digests",
		rollout:  prefix + "rules:rollout:",
		gen:      prefix + "rules:generation",
		channel:  prefix + "rules:changed",
	}
}

// New returns a store on rdb.
func New(rdb redis.UniversalClient, cfg Config) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("rulestore.New: no Redis client")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = queue.DefaultPrefix
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Store{rdb: rdb, now: cfg.Now, keys: newKeys(cfg.Prefix)}
	s.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "utilreview_rules_publishes_refused_total",
		Help: "Rule bundles refused by this process's publishes, by reason (invalid, conflict).",
	}, []string{"reason"})
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(s.refused); err != nil {
			return nil, fmt.Errorf("rulestore.New: %w", err)
		}
	}
	return s, nil
}

// Channel is the pub/sub channel that carries each new current version.
func (s *Store) Channel() string { return s.keys.channel }

// Publish validates b (label names it in the messages, as the directory
// does in `rules validate DIR`), stores it as a version, makes it current
// and announces it. A bundle with any problem, or one that changes the
// content of a stored rule set's id@version, is refused whole with a
// *RefusedError and nothing changes. Publishing a stored version again
// makes it current again (created false).
func (s *Store) Publish(ctx context.Context, b Bundle, label, publisher string) (v Version, created bool, err error) {
	v, created, err = s.publish(ctx, b, label, publisher, false)
	var re *RefusedError
	if errors.As(err, &re) {
		s.refused.WithLabelValues(re.Reason).Inc()
	}
	return v, created, err
}

// Seed publishes b only when Redis holds no current version yet; it then
// returns the version it stored and true. Otherwise it stores nothing and
// returns the current version and false. Several replicas may seed at once:
// one wins.
func (s *Store) Seed(ctx context.Context, b Bundle, label, publisher string) (Version, bool, error) {
	cur, err := s.Current(ctx)
	if err != nil {
		return Version{}, false, err
	}
	if cur == "" {
		// The seed is validated only when it is needed: once Redis holds a
		// version, a replica's directory is not what it serves.
		v, created, err := s.publish(ctx, b, label, publisher, true)
		if err != nil || created {
			return v, created, err
		}
		if cur, err = s.Current(ctx); err != nil {
			return Version{}, false, err
		}
	}
	v, err := s.Get(ctx, cur)
	return v, false, err
}

func (s *Store) publish(ctx context.Context, b Bundle, label, publisher string, onlyIfEmpty bool) (Version, bool, error) {
	_, rep, err := validate(b, label)
	if err != nil {
		return Version{}, false, err
	}
	hash := b.Hash()
	v := Version{Hash: hash, Publisher: publisher, Published: s.now().UTC(), Current: true, Report: rep}
	report, err := json.Marshal(rep)
	if err != nil {
		return Version{}, false, err
	}
	created := false
	// WATCH the rule set identities and the current version: a concurrent
	// publish of another content under the same id@version, or a seed
	// racing a publish, retries (and then sees the other's write).
	txf := func(tx *redis.Tx) error {
		created = false
		if onlyIfEmpty {
			n, err := tx.Exists(ctx, s.keys.current).Result()
			if err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
		}
		if len(rep.RuleSets) > 0 {
			ids := make([]string, len(rep.RuleSets))
			for i, rs := range rep.RuleSets {
				ids[i] = rs.Key
			}
			got, err := tx.HMGet(ctx, s.keys.ids, ids...).Result()
			if err != nil {
				return err
			}
			var problems []string
			for i, g := range got {
				if d, ok := g.(string); ok && d != rep.RuleSets[i].Digest {
					rs := rep.RuleSets[i]
					problems = append(problems, fmt.Sprintf("%s: rule set %s: a stored version holds other content under this id@version (its file or a table it names); give the changed rule set a new version", displayName(label, rs.File), rs.Key))
				}
			}
			if len(problems) > 0 {
				return &RefusedError{Reason: ReasonConflict, Problems: problems}
			}
		}
		exists, err := tx.Exists(ctx, s.keys.metaPfx+hash).Result()
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if exists == 0 {
				files := make([]any, 0, 2*len(b))
				for _, name := range b.names() {
					files = append(files, name, b[name])
				}
				p.HSet(ctx, s.keys.filesPfx+hash, files...)
				p.HSet(ctx, s.keys.metaPfx+hash, "publisher", publisher, "published", v.Published.Format(time.RFC3339Nano), "report", report)
				p.ZAdd(ctx, s.keys.versions, redis.Z{Score: float64(v.Published.UnixMilli()), Member: hash})
				for _, rs := range rep.RuleSets {
					p.HSetNX(ctx, s.keys.ids, rs.Key, rs.Digest)
				}
			}
			p.Set(ctx, s.keys.current, hash, 0)
			p.Incr(ctx, s.keys.gen)
			p.Publish(ctx, s.keys.channel, hash)
			return nil
		})
		if err == nil {
			created = exists == 0
		}
		return err
	}
	if err := s.watch(ctx, txf, s.keys.ids, s.keys.current); err != nil {
		return Version{}, false, err
	}
	if onlyIfEmpty && !created {
		return Version{}, false, nil // another replica seeded first
	}
	if !created {
		// Stored before: report it as it was stored.
		got, err := s.Get(ctx, hash)
		if err != nil {
			return Version{}, false, err
		}
		return got, false, nil
	}
	return v, true, nil
}

// watch runs an optimistic transaction, retrying when a watched key
// changed under it.
func (s *Store) watch(ctx context.Context, fn func(*redis.Tx) error, watched ...string) error {
	var err error
	for range 10 {
		err = s.rdb.Watch(ctx, fn, watched...)
		if !errors.Is(err, redis.TxFailedErr) {
			break
		}
	}
	var re *RefusedError
	if err != nil && !errors.As(err, &re) {
		return fmt.Errorf("rulestore: %w", err)
	}
	return err
}

func displayName(label, file string) string {
	if label == "" {
		return file
	}
	return strings.TrimSuffix(label, "/") + "/" + file
}

// Current is the current version's hash, "" when Redis holds none.
func (s *Store) Current(ctx context.Context) (string, error) {
	h, err := s.rdb.Get(ctx, s.keys.current).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("rulestore.Current: %w", err)
	}
	return h, nil
}

// Get describes a stored version.
func (s *Store) Get(ctx context.Context, hash string) (Version, error) {
	cur, err := s.Current(ctx)
	if err != nil {
		return Version{}, err
	}
	m, err := s.rdb.HGetAll(ctx, s.keys.metaPfx+hash).Result()
	if err != nil {
		return Version{}, fmt.Errorf("rulestore.Get: %w", err)
	}
	if len(m) == 0 {
		return Version{}, fmt.Errorf("rulestore.Get %s: %w", Short(hash), ErrNotFound)
	}
	return decodeVersion(hash, m, cur)
}

func decodeVersion(hash string, m map[string]string, current string) (Version, error) {
	v := Version{Hash: hash, Publisher: m["publisher"], Current: hash == current}
	var err error
	if v.Published, err = time.Parse(time.RFC3339Nano, m["published"]); err != nil {
		return v, fmt.Errorf("rulestore: version %s: bad publish time", Short(hash))
	}
	if err := json.Unmarshal([]byte(m["report"]), &v.Report); err != nil {
		return v, fmt.Errorf("rulestore: version %s: bad report", Short(hash))
	}
	return v, nil
}

// List lists the stored versions: the current one first, then the others
// newest first.
func (s *Store) List(ctx context.Context) ([]Version, error) {
	cur, err := s.Current(ctx)
	if err != nil {
		return nil, err
	}
	hashes, err := s.rdb.ZRevRange(ctx, s.keys.versions, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("rulestore.List: %w", err)
	}
	cmds := make([]*redis.MapStringStringCmd, len(hashes))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, h := range hashes {
			cmds[i] = p.HGetAll(ctx, s.keys.metaPfx+h)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rulestore.List: %w", err)
	}
	out := make([]Version, 0, len(hashes))
	for i, h := range hashes {
		v, err := decodeVersion(h, cmds[i].Val(), cur)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.SortStableFunc(out, func(a, b Version) int {
		switch {
		case a.Current == b.Current:
			return 0
		case a.Current:
			return -1
		}
		return 1
	})
	return out, nil
}

// Resolve finds the stored version a full hash or a unique prefix of at
// least 7 characters names.
func (s *Store) Resolve(ctx context.Context, version string) (string, error) {
	version = strings.ToLower(strings.TrimSpace(version))
	if len(version) < 7 {
		return "", fmt.Errorf("rulestore: version %q: %w", version, ErrShortVersion)
	}
	hashes, err := s.rdb.ZRange(ctx, s.keys.versions, 0, -1).Result()
	if err != nil {
		return "", fmt.Errorf("rulestore.Resolve: %w", err)
	}
	var found []string
	for _, h := range hashes {
		if strings.HasPrefix(h, version) {
			found = append(found, h)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("rulestore: version %s: %w", version, ErrNotFound)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("rulestore: version %s: %w", version, ErrAmbiguous)
}

// Rollback makes a stored version current again and announces it.
func (s *Store) Rollback(ctx context.Context, version string) (Version, error) {
	hash, err := s.Resolve(ctx, version)
	if err != nil {
		return Version{}, err
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.keys.current, hash, 0)
		p.Incr(ctx, s.keys.gen)
		p.Publish(ctx, s.keys.channel, hash)
		return nil
	})
	if err != nil {
		return Version{}, fmt.Errorf("rulestore.Rollback: %w", err)
	}
	return s.Get(ctx, hash)
}

// Load reads a stored version's files.
func (s *Store) Load(ctx context.Context, hash string) (Bundle, Version, error) {
	v, err := s.Get(ctx, hash)
	if err != nil {
		return nil, Version{}, err
	}
	m, err := s.rdb.HGetAll(ctx, s.keys.filesPfx+hash).Result()
	if err != nil {
		return nil, Version{}, fmt.Errorf("rulestore.Load: %w", err)
	}
	b := make(Bundle, len(m))
	for name, c := range m {
		b[name] = []byte(c)
	}
	if got := b.Hash(); got != hash {
		return nil, Version{}, fmt.Errorf("rulestore.Load %s: the stored files hash to %s", Short(hash), Short(got))
	}
	return b, v, nil
}

// Subscribe subscribes to the announcements of new current versions.
func (s *Store) Subscribe(ctx context.Context) *redis.PubSub {
	return s.rdb.Subscribe(ctx, s.keys.channel)
}

// Rollout is one replica's claim of the re-review of the worklist that
// follows a version becoming current (one per version and generation: a
// later rollback to the version is a new one). The claim is a lease: the
// holder renews it while it queues the patients and marks it done at the
// end. A holder that dies stops renewing, the lease expires, and another
// replica's ClaimRollout then takes the re-review over; a done rollout is
// never claimed again.
type Rollout struct {
	s          *Store
	key, owner string
	lease      time.Duration
}

// rolloutDone is the marker's value once its re-review has been queued.
const rolloutDone = "done"

// rolloutDoneTTL is how long a done marker is kept: far longer than any
// replica takes to learn of a switch, so that none claims it again.
const rolloutDoneTTL = 90 * 24 * time.Hour

// ClaimRollout claims the re-review of the worklist for version hash being
// current now (at the store's current generation), for lease. It returns
// nil when another replica holds the claim or the re-review is done.
func (s *Store) ClaimRollout(ctx context.Context, hash, owner string, lease time.Duration) (*Rollout, error) {
	gen, err := s.rdb.Get(ctx, s.keys.gen).Result()
	if errors.Is(err, redis.Nil) {
		gen, err = "0", nil
	}
	if err != nil {
		return nil, fmt.Errorf("rulestore.ClaimRollout: %w", err)
	}
	key := s.keys.rollout + hash + ":" + gen
	ok, err := s.rdb.SetNX(ctx, key, owner, lease).Result()
	if err != nil {
		return nil, fmt.Errorf("rulestore.ClaimRollout: %w", err)
	}
	if !ok {
		return nil, nil
	}
	return &Rollout{s: s, key: key, owner: owner, lease: lease}, nil
}

// ifOwner runs a command on the marker only while this holder owns it.
var rolloutIfOwner = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == 'renew' then redis.call('PEXPIRE', KEYS[1], ARGV[3])
else redis.call('DEL', KEYS[1]) end
return 1`)

func (r *Rollout) do(ctx context.Context, op string, ttl time.Duration) (bool, error) {
	n, err := rolloutIfOwner.Run(ctx, r.s.rdb, []string{r.key}, r.owner, op, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("rulestore: rollout %s: %w", op, err)
	}
	return n == 1, nil
}

// Renew extends the lease; false when the claim was lost (it expired and
// another replica took the re-review over).
func (r *Rollout) Renew(ctx context.Context) (bool, error) { return r.do(ctx, "renew", r.lease) }

// DoneWith marks the re-review scheduled (no replica claims it again)
// and, in the same transaction, writes what write adds to it (the queue's
// schedule of the reviews; nil adds nothing): both happen, or, when the
// claim was lost meanwhile, neither (false). So a re-review is scheduled
// once per claim, never half, and never again by the replica that takes
// over a lost claim.
func (r *Rollout) DoneWith(ctx context.Context, write func(p redis.Pipeliner) error) (bool, error) {
	done := false
	err := r.s.rdb.Watch(ctx, func(tx *redis.Tx) error {
		owner, err := tx.Get(ctx, r.key).Result()
		if errors.Is(err, redis.Nil) || (err == nil && owner != r.owner) {
			return nil // lost: expired, or another replica's now
		}
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if write != nil {
				if err := write(p); err != nil {
					return err
				}
			}
			p.Set(ctx, r.key, rolloutDone, rolloutDoneTTL)
			return nil
		})
		done = err == nil
		return err
	}, r.key)
	if errors.Is(err, redis.TxFailedErr) {
		return false, nil // the marker changed between the read and the write
	}
	if err != nil {
		return false, fmt.Errorf("rulestore: rollout done: %w", err)
	}
	return done, nil
}

// Release gives the claim up unfinished (a replica shutting down), so
// that another replica takes it over at its next check instead of after
// the lease.
func (r *Rollout) Release(ctx context.Context) (bool, error) { return r.do(ctx, "release", 0) }

// ID names the claim: the version's hash and the generation at which it
// was made current.
func (r *Rollout) ID() string { return strings.TrimPrefix(r.key, r.s.keys.rollout) }

// Lease is the claim's lease.
func (r *Rollout) Lease() time.Duration { return r.lease }
