package main

import (
	"flag"
	"fmt"
	"github.com/utilreview/utilreview/service/queue"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/live"
	"github.com/utilreview/utilreview/service/payerapi"
	"github.com/utilreview/utilreview/service/payerauth"
	"github.com/utilreview/utilreview/service/subscriptions"
)

// serveConfig is everything `utilreview serve` can be told: flags first,
// then UTILREVIEW_* environment variables, then defaults. Secrets come only
// from the environment or files, never from flags (a process list shows
// flags).
type serveConfig struct {
	engineConfig
	Listen             string
	FHIRURL            string
	RedisURL           string
	PublicURL          string
	WebhookSecret      string
	AdminToken         string
	Instance           string
	RedisPrefix        string
	SubscriptionFilter string
	Subscriptions      string
	WindowDays         int
	CatchUpInterval    time.Duration
	CatchUpWindow      time.Duration
	EventGapGrace      time.Duration
	FHIRAuth           string
	FHIRTokenFile      string
	SMARTClientID      string
	SMARTKeyFile       string
	SMARTTokenURL      string
	SMARTScopes        []string
	FHIRMaxConcurrency int
	DryRun             bool
	ShutdownTimeout    time.Duration
	AsOf               time.Time // zero: the real clock
	Workers            int
	MaxAttempts        int
	// The rules in Redis (service/rulestore).
	RulesCheckInterval time.Duration
	RulesFallback      string // "" (wait for Redis) or "embedded"
	RereviewRate       float64
	Publisher          string
	// The payer API's authentication (service/payerauth): off without a
	// clients file.
	PayerClientsFile string
	PayerClients     *payerauth.Registry
	PayerTokenTTL    time.Duration
	PayerRateLimit   int
	PayerRateWindow  time.Duration
	PayerClockSkew   time.Duration
	// Requestor is the hospital as the determinations' requestor
	// (service/determination; the reviewers are engine settings).
	Requestor fhir.Reference
	// The payer portal API (/payer/fhir, service/payerapi): on with the
	// clients file.
	PayerExportMaxMB int
	PayerExportTTL   time.Duration
}

const serveHint = `Run "utilreview serve --help" for the flags and the environment.`

const serveUsage = `usage: utilreview serve [flags]

Runs the live service: the FHIR server notifies it (FHIR Subscriptions) when
resources change; it reviews each patient concerned against the server's
current state and writes Tasks and CommunicationRequests back. Every flag
has a UTILREVIEW_* environment variable (flags win); secrets are read only
from UTILREVIEW_WEBHOOK_SECRET / UTILREVIEW_WEBHOOK_SECRET_FILE and
UTILREVIEW_ADMIN_TOKEN / UTILREVIEW_ADMIN_TOKEN_FILE.

Flags:
`

// parseServeFlags reads serve's flags and environment. --help prints the
// usage on stdout (so that `| less` works); a wrong flag prints the problem
// and a pointer to --help on stderr.
func parseServeFlags(args []string, getenv func(string) string, stdout, stderr io.Writer) (*serveConfig, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	var problems []string
	intEnv := func(key string, def int) int {
		v := getenv(key)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s %q: want a whole number", key, v))
			return def
		}
		return n
	}
	durEnv := func(key string, def time.Duration) time.Duration {
		v := getenv(key)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			if n, err2 := strconv.Atoi(v); err2 == nil {
				return time.Duration(n) * time.Second // a plain number is seconds
			}
			problems = append(problems, fmt.Sprintf("%s %q: want a duration such as 60s or 5m", key, v))
			return def
		}
		return d
	}
	boolEnv := func(key string) bool {
		v := getenv(key)
		if v == "" {
			return false
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s %q: want true or false", key, v))
		}
		return b
	}

	listen := fs.String("listen", envOr(getenv, "UTILREVIEW_LISTEN", ":8080"), "address of the HTTP server")
	fhirURL := fs.String("fhir-url", getenv("UTILREVIEW_FHIR_URL"), "the hospital FHIR server's base URL (required)")
	redisURL := fs.String("redis-url", getenv("UTILREVIEW_REDIS_URL"), "redis:// or rediss:// URL of the queue's Redis (required); credentials may be in the URL")
	publicURL := fs.String("public-url", getenv("UTILREVIEW_PUBLIC_URL"), "the service's base URL as the FHIR server reaches it; notifications go to <public-url>/fhir/notify")
	secretFile := fs.String("webhook-secret-file", getenv("UTILREVIEW_WEBHOOK_SECRET_FILE"), "file holding the webhook secret (or UTILREVIEW_WEBHOOK_SECRET)")
	adminFile := fs.String("admin-token-file", getenv("UTILREVIEW_ADMIN_TOKEN_FILE"), "file holding the admin routes' bearer token (or UTILREVIEW_ADMIN_TOKEN); none: /admin/ is off")
	instance := fs.String("instance", envOr(getenv, "UTILREVIEW_INSTANCE", subscriptions.DefaultInstance), "this deployment's name: its Subscriptions carry a tag with it")
	prefix := fs.String("redis-prefix", envOr(getenv, "UTILREVIEW_REDIS_PREFIX", queue.DefaultPrefix), "prefix of every Redis key (keep one {hash tag} for Redis Cluster)")
	filter := fs.String("subscription-filter", getenv("UTILREVIEW_SUBSCRIPTION_FILTER"), "search parameters added to every subscription criteria and catch-up search, e.g. _tag=urn:example|ward-7")
	mode := fs.String("subscriptions", envOr(getenv, "UTILREVIEW_SUBSCRIPTIONS", subscriptions.ModeRestHook), "rest-hook | topic (Subscriptions Backport IG) | off (catch-up polling only)")
	window := fs.Int("review-window-days", intEnv("UTILREVIEW_REVIEW_WINDOW_DAYS", live.DefaultWindowDays), "review stays and claims that ended within this many days (review --since)")
	cuInterval := fs.Duration("catchup-interval", durEnv("UTILREVIEW_CATCHUP_INTERVAL", time.Minute), "how often the catch-up searches run")
	cuWindow := fs.Duration("catchup-window", durEnv("UTILREVIEW_CATCHUP_WINDOW", 24*time.Hour), "how far back a start with no watermark catches up")
	gapGrace := fs.Duration("event-gap-grace", durEnv("UTILREVIEW_EVENT_GAP_GRACE", 30*time.Second), "topic mode: how long a missing event number is awaited before a catch-up (deliveries arrive out of order, and late on a loaded server)")
	auth := fs.String("fhir-auth", envOr(getenv, "UTILREVIEW_FHIR_AUTH", "none"), "none | bearer (UTILREVIEW_FHIR_TOKEN_FILE) | smart (SMART Backend Services)")
	tokenFile := fs.String("fhir-token-file", getenv("UTILREVIEW_FHIR_TOKEN_FILE"), "file holding the FHIR server's bearer token (re-read when it changes)")
	smartID := fs.String("smart-client-id", getenv("UTILREVIEW_SMART_CLIENT_ID"), "SMART Backend Services client_id")
	smartKey := fs.String("smart-key-file", getenv("UTILREVIEW_SMART_KEY_FILE"), "PEM private key (RSA 2048+ for RS384, or P-384 for ES384) that signs the client assertion")
	smartURL := fs.String("smart-token-url", getenv("UTILREVIEW_SMART_TOKEN_URL"), "the authorization server's token endpoint")
	smartScopes := fs.String("smart-scopes", envOr(getenv, "UTILREVIEW_SMART_SCOPES", "system/*.rs system/Task.cu system/CommunicationRequest.cu system/Subscription.cud system/ClaimResponse.cu system/Claim.c"), "space-separated scopes to request")
	maxConc := fs.Int("fhir-max-concurrency", intEnv("UTILREVIEW_FHIR_MAX_CONCURRENCY", fhir.DefaultMaxConcurrency), "bound on concurrent calls to the FHIR server")
	dryRun := fs.Bool("dry-run", boolEnv("UTILREVIEW_DRY_RUN"), "compute and count the writes without making them (for go-live)")
	shutdown := fs.Duration("shutdown-timeout", durEnv("UTILREVIEW_SHUTDOWN_TIMEOUT", 25*time.Second), "bound on graceful shutdown")
	asOf := fs.String("as-of", getenv("UTILREVIEW_AS_OF"), "a fixed clock, for tests and demos only")
	workers := fs.Int("workers", intEnv("UTILREVIEW_WORKERS", 4), "patients reviewed at once")
	attempts := fs.Int("max-attempts", intEnv("UTILREVIEW_MAX_ATTEMPTS", 8), "attempts before an entry goes to the dead letters (backoff 5 s doubling to 5 min: 8 span over 10 minutes)")
	rulesCheck := fs.Duration("rules-check-interval", durEnv("UTILREVIEW_RULES_CHECK_INTERVAL", 30*time.Second), "how often the current rules version is read from Redis (the fallback for a missed pub/sub message)")
	rulesFallback := fs.String("rules-fallback", getenv("UTILREVIEW_RULES_FALLBACK"), "embedded: when Redis is unreachable at start, serve the replica's own rules (UTILREVIEW_RULES_DIR or the embedded defaults); default: wait for Redis, not ready")
	rereview := fs.Float64("rules-rereview-rate", floatEnv(getenv, "UTILREVIEW_RULES_REREVIEW_RATE", 5, &problems), "patients per second queued for re-review after a rules version becomes current")
	payerClients := fs.String("payer-clients-file", getenv("UTILREVIEW_PAYER_CLIENTS_FILE"), "JSON or YAML file of the payer API's clients (their payer, scopes, JWKS) and external token issuers; none: the payer API is off")
	payerTTL := fs.Duration("payer-token-ttl", durEnv("UTILREVIEW_PAYER_TOKEN_TTL", payerauth.DefaultTokenTTL), "lifetime of the access tokens POST /payer/auth/token issues")
	payerRate := fs.Int("payer-rate-limit", intEnv("UTILREVIEW_PAYER_RATE_LIMIT", payerauth.DefaultRateLimit), "requests per --payer-rate-window each payer client may make (across replicas)")
	payerWindow := fs.Duration("payer-rate-window", durEnv("UTILREVIEW_PAYER_RATE_WINDOW", payerauth.DefaultRateWindow), "the payer rate limit's window")
	payerSkew := fs.Duration("payer-clock-skew", durEnv("UTILREVIEW_PAYER_CLOCK_SKEW", payerauth.DefaultClockSkew), "leeway on exp, nbf and iat of payer tokens and assertions")
	requestor := fs.String("requestor", getenv("UTILREVIEW_REQUESTOR"), "the hospital as the determinations' requestor when a stay names no serviceProvider: Organization/id[|display]")
	payerMaxMB := fs.Int("payer-export-max-mb", intEnv("UTILREVIEW_PAYER_EXPORT_MAX_MB", payerapi.DefaultExportMaxBytes>>20), "bound on one payer export's NDJSON kept in Redis, in MiB")
	payerExportTTL := fs.Duration("payer-export-ttl", durEnv("UTILREVIEW_PAYER_EXPORT_TTL", payerapi.DefaultExportTTL), "how long a payer export's files are kept after it completes")
	engine, err := addEngineFlags(fs, getenv)
	if err != nil {
		return nil, &exitError{code: 2, msg: err.Error()}
	}
	rest, err := parseArgs(fs, args)
	if err != nil {
		return nil, flagsExit(err, fs, serveUsage, "", serveHint, stdout, stderr)
	}
	if len(rest) > 0 {
		problems = append(problems, fmt.Sprintf("unexpected argument %q", rest[0]))
	}
	cfg := &serveConfig{
		Listen: *listen, FHIRURL: strings.TrimRight(*fhirURL, "/"), RedisURL: *redisURL, PublicURL: strings.TrimRight(*publicURL, "/"),
		Instance: *instance, RedisPrefix: *prefix, SubscriptionFilter: *filter, Subscriptions: *mode,
		WindowDays: *window, CatchUpInterval: *cuInterval, CatchUpWindow: *cuWindow, EventGapGrace: *gapGrace,
		FHIRAuth: *auth, FHIRTokenFile: *tokenFile, SMARTClientID: *smartID, SMARTKeyFile: *smartKey, SMARTTokenURL: *smartURL,
		SMARTScopes: strings.Fields(*smartScopes), FHIRMaxConcurrency: *maxConc, DryRun: *dryRun, ShutdownTimeout: *shutdown,
		Workers: *workers, MaxAttempts: *attempts,
		RulesCheckInterval: *rulesCheck, RulesFallback: *rulesFallback, RereviewRate: *rereview,
		Publisher:        envOr(getenv, "UTILREVIEW_PUBLISHER", defaultPublisher()),
		PayerClientsFile: *payerClients, PayerTokenTTL: *payerTTL, PayerRateLimit: *payerRate, PayerRateWindow: *payerWindow,
		PayerClockSkew: *payerSkew, PayerExportMaxMB: *payerMaxMB, PayerExportTTL: *payerExportTTL,
	}
	if cfg.PayerClientsFile != "" {
		if cfg.PayerClients, err = payerauth.LoadRegistry(cfg.PayerClientsFile); err != nil {
			problems = append(problems, "UTILREVIEW_PAYER_CLIENTS_FILE: "+err.Error())
		}
	}
	if cfg.engineConfig, err = engine.resolve(); err != nil {
		problems = append(problems, err.Error())
	}
	if *requestor != "" {
		if cfg.Requestor, err = parseReference(*requestor, []string{"Organization"}); err != nil {
			problems = append(problems, "UTILREVIEW_REQUESTOR: "+err.Error())
		}
	}
	if cfg.WebhookSecret, err = secret(getenv, "UTILREVIEW_WEBHOOK_SECRET", *secretFile); err != nil {
		problems = append(problems, err.Error())
	}
	if cfg.AdminToken, err = secret(getenv, "UTILREVIEW_ADMIN_TOKEN", *adminFile); err != nil {
		problems = append(problems, err.Error())
	}
	if *asOf != "" && cfg.TZ != nil {
		t, _, err := fhir.ParseDateTime(*asOf, cfg.TZ)
		if err != nil {
			problems = append(problems, fmt.Sprintf("UTILREVIEW_AS_OF %q: %v", *asOf, err))
		}
		cfg.AsOf = t
	}
	problems = append(problems, cfg.validate()...)
	if len(problems) > 0 {
		return nil, &exitError{code: 2, msg: "serve: configuration:\n  " + strings.Join(problems, "\n  ")}
	}
	return cfg, nil
}

// secret reads a secret from KEY, or from the file KEY_FILE (or the flag)
// names; both set is an error, so an operator never wonders which one wins.
func secret(getenv func(string) string, key, file string) (string, error) {
	v := getenv(key)
	if v != "" && file != "" {
		return "", fmt.Errorf("%s and %s_FILE are both set: set one", key, key)
	}
	if file == "" {
		return v, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s_FILE: cannot read %s", key, file)
	}
	return strings.TrimSpace(string(b)), nil
}

// validate lists every problem at once, so an operator fixes them in one go.
func (c *serveConfig) validate() []string {
	var p []string
	if c.FHIRURL == "" {
		p = append(p, "UTILREVIEW_FHIR_URL (--fhir-url) is required: the hospital FHIR server's base URL")
	} else if u, err := url.Parse(c.FHIRURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p = append(p, "UTILREVIEW_FHIR_URL: want an absolute http(s) URL")
	}
	if c.RedisURL == "" {
		p = append(p, "UTILREVIEW_REDIS_URL (--redis-url) is required, e.g. redis://127.0.0.1:6379/0")
	} else if _, err := redis.ParseURL(c.RedisURL); err != nil {
		p = append(p, "UTILREVIEW_REDIS_URL: want redis://[user:password@]host:port[/db] or rediss://")
	}
	if c.WebhookSecret == "" {
		p = append(p, "UTILREVIEW_WEBHOOK_SECRET or UTILREVIEW_WEBHOOK_SECRET_FILE is required: the FHIR server sends it with every notification")
	} else if len(c.WebhookSecret) < 16 {
		p = append(p, "the webhook secret is shorter than 16 characters")
	}
	switch c.Subscriptions {
	case subscriptions.ModeRestHook, subscriptions.ModeTopic:
		if c.PublicURL == "" {
			p = append(p, "UTILREVIEW_PUBLIC_URL (--public-url) is required with subscriptions on: the FHIR server posts to <public-url>/fhir/notify")
		} else if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p = append(p, "UTILREVIEW_PUBLIC_URL: want an absolute http(s) URL")
		}
	case subscriptions.ModeOff:
	default:
		p = append(p, fmt.Sprintf("UTILREVIEW_SUBSCRIPTIONS %q: want rest-hook, topic or off", c.Subscriptions))
	}
	if c.PayerClientsFile != "" {
		if c.PayerExportMaxMB < 1 || c.PayerExportMaxMB > 512 {
			p = append(p, fmt.Sprintf("UTILREVIEW_PAYER_EXPORT_MAX_MB %d: want 1 to 512 (a Redis string holds at most 512 MiB)", c.PayerExportMaxMB))
		}
		if c.PayerExportTTL <= 0 {
			p = append(p, fmt.Sprintf("UTILREVIEW_PAYER_EXPORT_TTL %s: want a positive duration", c.PayerExportTTL))
		}
	}
	if c.SubscriptionFilter != "" {
		if _, err := url.ParseQuery(c.SubscriptionFilter); err != nil || strings.Contains(c.SubscriptionFilter, "?") {
			p = append(p, "UTILREVIEW_SUBSCRIPTION_FILTER: want search parameters such as _tag=system|code")
		}
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		p = append(p, fmt.Sprintf("UTILREVIEW_LISTEN %q: want host:port or :port", c.Listen))
	}
	switch c.FHIRAuth {
	case "none":
	case "bearer":
		if c.FHIRTokenFile == "" {
			p = append(p, "UTILREVIEW_FHIR_AUTH=bearer needs UTILREVIEW_FHIR_TOKEN_FILE")
		}
	case "smart":
		if c.SMARTClientID == "" || c.SMARTKeyFile == "" || c.SMARTTokenURL == "" {
			p = append(p, "UTILREVIEW_FHIR_AUTH=smart needs UTILREVIEW_SMART_CLIENT_ID, UTILREVIEW_SMART_KEY_FILE and UTILREVIEW_SMART_TOKEN_URL")
		}
	default:
		p = append(p, fmt.Sprintf("UTILREVIEW_FHIR_AUTH %q: want none, bearer or smart", c.FHIRAuth))
	}
	for _, x := range []struct {
		name string
		v    int
	}{{"UTILREVIEW_REVIEW_WINDOW_DAYS", c.WindowDays}, {"UTILREVIEW_FHIR_MAX_CONCURRENCY", c.FHIRMaxConcurrency}, {"UTILREVIEW_WORKERS", c.Workers}, {"UTILREVIEW_MAX_ATTEMPTS", c.MaxAttempts}} {
		if x.v < 1 {
			p = append(p, fmt.Sprintf("%s %d: want 1 or more", x.name, x.v))
		}
	}
	switch c.RulesFallback {
	case "", "none", "embedded":
	default:
		p = append(p, fmt.Sprintf("UTILREVIEW_RULES_FALLBACK %q: want embedded, or none (wait for Redis)", c.RulesFallback))
	}
	if c.PayerClientsFile != "" {
		if c.PublicURL == "" {
			p = append(p, "UTILREVIEW_PUBLIC_URL (--public-url) is required with UTILREVIEW_PAYER_CLIENTS_FILE: client assertions are addressed to <public-url>"+payerauth.TokenPath)
		}
		if c.PayerTokenTTL <= 0 || c.PayerTokenTTL > payerauth.MaxTokenTTL {
			p = append(p, fmt.Sprintf("UTILREVIEW_PAYER_TOKEN_TTL %s: want a positive duration up to %s", c.PayerTokenTTL, payerauth.MaxTokenTTL))
		}
		if c.PayerRateLimit < 1 {
			p = append(p, fmt.Sprintf("UTILREVIEW_PAYER_RATE_LIMIT %d: want 1 or more", c.PayerRateLimit))
		}
		if c.PayerRateWindow < time.Second {
			p = append(p, fmt.Sprintf("UTILREVIEW_PAYER_RATE_WINDOW %s: want 1s or more", c.PayerRateWindow))
		}
		if c.PayerClockSkew < 0 || c.PayerClockSkew > payerauth.MaxClockSkew {
			p = append(p, fmt.Sprintf("UTILREVIEW_PAYER_CLOCK_SKEW %s: want 0 to %s", c.PayerClockSkew, payerauth.MaxClockSkew))
		}
	}
	if c.RereviewRate <= 0 {
		p = append(p, fmt.Sprintf("UTILREVIEW_RULES_REREVIEW_RATE %g: want a positive number of patients per second", c.RereviewRate))
	}
	for _, x := range []struct {
		name string
		v    time.Duration
	}{{"UTILREVIEW_CATCHUP_INTERVAL", c.CatchUpInterval}, {"UTILREVIEW_CATCHUP_WINDOW", c.CatchUpWindow}, {"UTILREVIEW_EVENT_GAP_GRACE", c.EventGapGrace}, {"UTILREVIEW_SHUTDOWN_TIMEOUT", c.ShutdownTimeout}, {"UTILREVIEW_RULES_CHECK_INTERVAL", c.RulesCheckInterval}} {
		if x.v <= 0 {
			p = append(p, fmt.Sprintf("%s %s: want a positive duration", x.name, x.v))
		}
	}
	return p
}

// logAttrs is the resolved configuration for the start log line, secrets
// masked (said to be set or not), credentials taken out of the Redis URL.
func (c *serveConfig) logAttrs() []any {
	set := func(s string) string {
		if s == "" {
			return "unset"
		}
		return "set"
	}
	asOf := "real clock"
	if !c.AsOf.IsZero() {
		asOf = c.AsOf.Format(time.RFC3339)
	}
	return []any{
		slog.String("listen", c.Listen), slog.String("fhir_url", c.FHIRURL), slog.String("redis_url", maskRedisURL(c.RedisURL)),
		slog.String("public_url", c.PublicURL), slog.String("webhook_secret", set(c.WebhookSecret)), slog.String("admin_token", set(c.AdminToken)),
		slog.String("instance", c.Instance), slog.String("redis_prefix", c.RedisPrefix), slog.String("subscription_filter", c.SubscriptionFilter),
		slog.String("subscriptions", c.Subscriptions), slog.Int("review_window_days", c.WindowDays),
		slog.String("catchup_interval", c.CatchUpInterval.String()), slog.String("catchup_window", c.CatchUpWindow.String()),
		slog.String("event_gap_grace", c.EventGapGrace.String()),
		slog.String("fhir_auth", c.FHIRAuth), slog.Int("fhir_max_concurrency", c.FHIRMaxConcurrency), slog.Bool("dry_run", c.DryRun),
		slog.String("shutdown_timeout", c.ShutdownTimeout.String()), slog.String("as_of", asOf), slog.Int("workers", c.Workers),
		slog.Int("max_attempts", c.MaxAttempts), slog.String("tz", c.TZ.String()), slog.String("rules_dir", c.RulesDir),
		slog.String("canonical_base", c.Base), slog.String("identifier_system", c.IdentifierSystem),
		slog.Bool("include_moot", c.IncludeMoot), slog.String("rules_check_interval", c.RulesCheckInterval.String()),
		slog.String("rules_fallback", c.RulesFallback), slog.Float64("rules_rereview_rate", c.RereviewRate),
		slog.String("payer_clients_file", c.PayerClientsFile), slog.String("payer_token_ttl", c.PayerTokenTTL.String()),
		slog.Int("payer_rate_limit", c.PayerRateLimit), slog.String("payer_rate_window", c.PayerRateWindow.String()),
		slog.String("payer_clock_skew", c.PayerClockSkew.String()),
		slog.Int("reviewers", c.Reviewers.Len()), slog.String("requestor", c.Requestor.Reference),
		slog.Int("payer_export_max_mb", c.PayerExportMaxMB), slog.String("payer_export_ttl", c.PayerExportTTL.String()),
	}
}

// maskRedisURL hides the password of a redis:// URL.
func maskRedisURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable)"
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	return u.String()
}

// floatEnv reads a number from the environment, noting a bad one.
func floatEnv(getenv func(string) string, key string, def float64, problems *[]string) float64 {
	v := getenv(key)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		*problems = append(*problems, fmt.Sprintf("%s %q: want a number", key, v))
		return def
	}
	return f
}
