package payerauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
)

// JWKS cache bounds. A max-age below the minimum (or no-cache, no-store)
// is read as the minimum: an issuer saying "do not cache" must not make
// every request fetch its keys. Above the maximum, the maximum, so a
// revoked key does not live for weeks. No Cache-Control: the default.
const (
	DefaultJWKSMinAge       = 30 * time.Second
	DefaultJWKSMaxAge       = 24 * time.Hour
	DefaultJWKSAge          = time.Hour
	DefaultUnknownKIDPeriod = 30 * time.Second
	maxJWKSBody             = 1 << 20
	jwksFetchTimeout        = 10 * time.Second
)

// remoteJWKS is a JWK Set fetched from a URL and cached for the response's
// Cache-Control max-age (within bounds). A key id it does not hold makes
// it fetch again at once, at most once per unknownKIDPeriod, so a rotated
// key is found without letting tokens with made-up key ids make it fetch
// on every request. It is a jwkset.Storage, so keyfunc turns it into the
// jwt.Keyfunc; the embedded memory storage holds the current keys.
type remoteJWKS struct {
	*jwkset.MemoryJWKSet
	url string
	jwksOptions

	mu        sync.Mutex // held while fetching: concurrent readers wait for one fetch
	fetched   bool
	expires   time.Time
	lastFetch time.Time
	fetches   int // for tests and the log
}

type jwksOptions struct {
	client           *http.Client
	now              func() time.Time
	log              *slog.Logger
	minAge, maxAge   time.Duration
	defaultAge       time.Duration
	unknownKIDPeriod time.Duration
}

func newRemoteJWKS(u string, o jwksOptions) *remoteJWKS {
	return &remoteJWKS{MemoryJWKSet: jwkset.NewMemoryStorage(), url: u, jwksOptions: o}
}

// KeyRead returns the key with the id, fetching the set first when the
// cached copy has expired, and again when the id is unknown (rate-bound).
func (r *remoteJWKS) KeyRead(ctx context.Context, kid string) (jwkset.JWK, error) {
	r.refreshIfStale(ctx)
	k, err := r.MemoryJWKSet.KeyRead(ctx, kid)
	if !errors.Is(err, jwkset.ErrKeyNotFound) {
		return k, err
	}
	if r.refreshUnknownKID(ctx) {
		return r.MemoryJWKSet.KeyRead(ctx, kid)
	}
	return k, err
}

// KeyReadAll returns every key (for a token without kid), fresh.
func (r *remoteJWKS) KeyReadAll(ctx context.Context) ([]jwkset.JWK, error) {
	r.refreshIfStale(ctx)
	return r.MemoryJWKSet.KeyReadAll(ctx)
}

func (r *remoteJWKS) refreshIfStale(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fetched && r.now().Before(r.expires) {
		return
	}
	// A failed fetch keeps the keys held (an issuer's outage must not lock
	// every payer out) and is tried again after the minimum age.
	r.fetchLocked(ctx)
}

// refreshUnknownKID fetches once more unless a fetch happened within the
// period; it reports whether it fetched.
func (r *remoteJWKS) refreshUnknownKID(ctx context.Context) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fetched && r.now().Sub(r.lastFetch) < r.unknownKIDPeriod {
		return false
	}
	return r.fetchLocked(ctx) == nil
}

func (r *remoteJWKS) fetchLocked(ctx context.Context) error {
	now := r.now()
	r.lastFetch, r.fetched = now, true
	r.fetches++
	keys, age, err := r.fetch(ctx)
	if err != nil {
		r.expires = now.Add(r.minAge)
		r.log.LogAttrs(ctx, slog.LevelWarn, "payer auth: JWKS fetch failed, keeping the keys held",
			slog.String("jwks_url", r.url), slog.String("error", err.Error()))
		return err
	}
	r.expires = now.Add(age)
	return r.KeyReplaceAll(ctx, keys)
}

func (r *remoteJWKS) fetch(ctx context.Context) ([]jwkset.JWK, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), jwksFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBody+1))
	if err != nil {
		return nil, 0, err
	}
	if len(body) > maxJWKSBody {
		return nil, 0, fmt.Errorf("JWK Set larger than %d bytes", maxJWKSBody)
	}
	keys, _, err := parseJWKS(body)
	if err != nil {
		return nil, 0, err
	}
	return keys, r.cacheAge(resp.Header.Get("Cache-Control")), nil
}

// cacheAge reads Cache-Control: max-age, bounded; no-store and no-cache
// mean the minimum, no header the default.
func (r *remoteJWKS) cacheAge(cc string) time.Duration {
	age := r.defaultAge
	for _, d := range strings.Split(cc, ",") {
		d = strings.ToLower(strings.TrimSpace(d))
		switch {
		case d == "no-store" || d == "no-cache":
			return r.minAge
		case strings.HasPrefix(d, "max-age="):
			n, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(d, "max-age="), `"`), 10, 64)
			if err == nil && n >= 0 {
				age = time.Duration(min(n, int64(r.maxAge/time.Second)+1)) * time.Second
			}
		}
	}
	return max(r.minAge, min(r.maxAge, age))
}

// Fetches is how often the set was fetched (tests).
func (r *remoteJWKS) Fetches() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fetches
}
