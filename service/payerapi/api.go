// Package payerapi is the payer portal's FHIR API over the determinations
// (ClaimResponses) utilreview records: each payer reads, searches and
// bulk-exports its own determinations and no other payer's. The FHIR server
// stays the system of record: every read and search goes to it with the
// payer filter added, and every answer is checked again against the payer
// before it leaves. Paging links and export jobs are the service's own,
// kept in Redis with the payer they belong to.
//
// A determination belongs to payer P when it is a ClaimResponse with an
// identifier in the determination system and its insurer is P: the server
// is asked for the tag naming P that the determinations writer puts on it
// (determination.PayerTagPath; a chained insurer.identifier search would
// read the insurer Organization instead, and HAPI FHIR has no `:identifier`
// modifier, HAPI-2498), and the answer is kept only when
// ClaimResponse.insurer.identifier is P as well.
package payerapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/determination"
	"github.com/utilreview/utilreview/service/payerauth"
)

// ErrNotFound is a determination, page or export job that does not exist or
// is not the calling payer's: the two are not told apart, so ids never leak.
var ErrNotFound = errors.New("not found")

// FHIR is what the API needs of the FHIR client (fhir.Client).
type FHIR interface {
	Do(ctx context.Context, method, path string, body []byte, header http.Header) (*fhir.Response, error)
	Base() string
}

// Defaults of Config.
const (
	DefaultPageTTL = 30 * time.Minute
)

// Config configures the API.
type Config struct {
	// PublicURL is the service's base URL as payers reach it (no trailing
	// slash); the payer API is at PublicURL/payer/fhir. Required.
	PublicURL string
	// DeterminationSystem is the identifier system of the determinations'
	// ClaimResponses (<canonical base>/identifier/determination). Required.
	DeterminationSystem string
	// RedisPrefix prefixes every Redis key (with its {hash tag}).
	RedisPrefix string
	// PageTTL is how long a search's paging links stay valid (default 30
	// min; HAPI keeps a search's results an hour by default).
	PageTTL time.Duration
	// Export configures Bulk Data $export.
	Export ExportConfig
	// Logger gets the export workers' lines; nil discards.
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Version is the software version the CapabilityStatement names.
	Version string
}

// API serves the payer portal's FHIR interactions.
type API struct {
	cfg   Config
	fhir  FHIR
	rdb   redis.UniversalClient
	log   *slog.Logger
	now   func() time.Time
	base  string // PublicURL + "/payer/fhir"
	token string // worker identity for export leases
	// testAfterPage, when set, is called after each export page is stored
	// (tests stop a worker there to prove another replica resumes).
	testAfterPage func(jobID string, page int)
}

// New checks cfg and returns the API.
func New(cfg Config, client FHIR, rdb redis.UniversalClient) (*API, error) {
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	u, err := url.Parse(cfg.PublicURL)
	switch {
	case client == nil || rdb == nil:
		return nil, errors.New("payerapi.New: a FHIR client and a Redis client are required")
	case cfg.PublicURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "":
		return nil, errors.New("payerapi.New: PublicURL must be an absolute http(s) URL without a query")
	case cfg.DeterminationSystem == "":
		return nil, errors.New("payerapi.New: DeterminationSystem is required")
	case cfg.PageTTL < 0:
		return nil, errors.New("payerapi.New: PageTTL is negative")
	}
	if cfg.PageTTL == 0 {
		cfg.PageTTL = DefaultPageTTL
	}
	if err := cfg.Export.defaults(); err != nil {
		return nil, fmt.Errorf("payerapi.New: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &API{cfg: cfg, fhir: client, rdb: rdb, log: cfg.Logger, now: cfg.Now,
		base: cfg.PublicURL + "/payer/fhir", token: newToken()}, nil
}

// Base is the payer API's base URL, PublicURL/payer/fhir.
func (a *API) Base() string { return a.base }

// TokenURL is the SMART token endpoint the payer clients use.
func (a *API) TokenURL() string { return a.cfg.PublicURL + "/payer/auth/token" }

// newToken is 16 random bytes, base64url: page tokens, job ids, lease holders.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// payerFilter is the upstream query every read, search and export carries:
// the determination system and the payer's tag, which the determinations
// writer puts on each ClaimResponse (determination.PayerTagPath: a chained
// insurer.identifier search would read the payer Organization on the
// server, which may lack the identifier the determination names).
func (a *API) payerFilter(payer payerauth.Identifier) url.Values {
	system, code := determination.PayerTag(a.cfg.DeterminationSystem, payer.System, payer.Value)
	return url.Values{
		"identifier": {a.cfg.DeterminationSystem + "|"},
		"_tag":       {system + "|" + code},
	}
}

// claimResponse is what the payer check reads of a ClaimResponse.
type claimResponse struct {
	ResourceType string `json:"resourceType"`
	ID           string `json:"id"`
	Identifier   []struct {
		System string `json:"system"`
	} `json:"identifier"`
	Insurer struct {
		Identifier *payerauth.Identifier `json:"identifier"`
	} `json:"insurer"`
}

// belongs reports whether raw is a determination of payer, and its id: the
// second check, on what the server answered, so that a server that ignored a
// search parameter still shows a payer nothing of another's.
func (a *API) belongs(raw json.RawMessage, payer payerauth.Identifier) (string, bool) {
	var cr claimResponse
	if err := json.Unmarshal(raw, &cr); err != nil || cr.ResourceType != "ClaimResponse" || cr.ID == "" {
		return "", false
	}
	if cr.Insurer.Identifier == nil || *cr.Insurer.Identifier != payer || payer.Value == "" {
		return "", false
	}
	for _, id := range cr.Identifier {
		if id.System == a.cfg.DeterminationSystem {
			return cr.ID, true
		}
	}
	return "", false
}

// Version is the versionId and lastUpdated of a resource's meta ("" when absent).
func Version(raw json.RawMessage) (versionID, lastUpdated string) {
	var r struct {
		Meta struct {
			VersionID   string `json:"versionId"`
			LastUpdated string `json:"lastUpdated"`
		} `json:"meta"`
	}
	_ = json.Unmarshal(raw, &r)
	return r.Meta.VersionID, r.Meta.LastUpdated
}

// Read returns the payer's determination ClaimResponse/id, or ErrNotFound
// when there is none or it is another payer's.
func (a *API) Read(ctx context.Context, payer payerauth.Identifier, id string) (json.RawMessage, error) {
	if !fhir.IsID(id) || payer.Value == "" {
		return nil, ErrNotFound
	}
	// A search, not a read: the payer filter goes to the server with the
	// id, and a determination of another payer is as absent as none.
	q := a.payerFilter(payer)
	q.Set("_id", id)
	b, err := a.get(ctx, "ClaimResponse?"+q.Encode())
	if err != nil {
		return nil, err
	}
	for _, e := range b.Entry {
		if got, ok := a.belongs(e.Resource, payer); ok && got == id && e.mode() == "match" {
			return e.Resource, nil
		}
	}
	return nil, ErrNotFound
}

// upstreamBundle is what the API reads of the server's searchset.
type upstreamBundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Total        *int   `json:"total"`
	Meta         struct {
		LastUpdated string `json:"lastUpdated"`
	} `json:"meta"`
	Link []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []upstreamEntry `json:"entry"`
}

type upstreamEntry struct {
	Resource json.RawMessage `json:"resource"`
	Search   *struct {
		Mode string `json:"mode"`
	} `json:"search"`
}

func (e upstreamEntry) mode() string {
	if e.Search == nil || e.Search.Mode == "" {
		return "match"
	}
	return e.Search.Mode
}

func (b *upstreamBundle) link(rel string) string {
	for _, l := range b.Link {
		if l.Relation == rel {
			return l.URL
		}
	}
	return ""
}

// get reads a searchset from the FHIR server: a path under its base, or one
// of its paging links (the client refuses a URL elsewhere).
func (a *API) get(ctx context.Context, path string) (*upstreamBundle, error) {
	resp, err := a.fhir.Do(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, err
	}
	var b upstreamBundle
	if err := json.Unmarshal(resp.Body, &b); err != nil || b.ResourceType != "Bundle" || b.Type != "searchset" {
		return nil, errors.New("the FHIR server's answer is not a searchset Bundle")
	}
	return &b, nil
}

// Page is one page of search results, the service's own searchset Bundle.
type Page struct {
	// Bundle is the searchset, ready to answer.
	Bundle json.RawMessage
	// IDs are the determinations on the page, for the audit log.
	IDs []string
}

// pageState is what a page token stands for, in Redis.
type pageState struct {
	Payer payerauth.Identifier `json:"payer"`
	// Upstream is the FHIR server's paging link.
	Upstream string `json:"upstream"`
}

func (a *API) pageKey(token string) string { return a.cfg.RedisPrefix + "payer:page:" + token }

// Search runs a validated search over the payer's determinations and
// answers its first page.
func (a *API) Search(ctx context.Context, payer payerauth.Identifier, q Query) (*Page, error) {
	if payer.Value == "" {
		return nil, ErrNotFound
	}
	up := a.payerFilter(payer)
	for k, vs := range q.params {
		up[k] = append(up[k], vs...)
	}
	up.Set("_count", fmt.Sprint(q.count))
	b, err := a.get(ctx, "ClaimResponse?"+up.Encode())
	if fhir.IsStatus(err, http.StatusBadRequest) {
		// A value the checks passed and the server did not take.
		return nil, &ParamError{Why: "the FHIR server refused the search's values"}
	}
	if err != nil {
		return nil, err
	}
	return a.page(ctx, payer, b, a.base+"/ClaimResponse?"+q.Encode())
}

// NextPage answers the page a token of an earlier search stands for, when
// the token is the payer's; else ErrNotFound.
func (a *API) NextPage(ctx context.Context, payer payerauth.Identifier, token string) (*Page, error) {
	raw, err := a.rdb.Get(ctx, a.pageKey(token)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("page token: %w", err)
	}
	var st pageState
	if err := json.Unmarshal(raw, &st); err != nil || st.Payer != payer || payer.Value == "" {
		return nil, ErrNotFound
	}
	b, err := a.get(ctx, st.Upstream)
	if err != nil {
		if fhir.IsStatus(err, http.StatusNotFound) || fhir.IsStatus(err, http.StatusGone) {
			return nil, ErrNotFound // the server forgot the search
		}
		return nil, err
	}
	return a.page(ctx, payer, b, a.base+"/ClaimResponse?"+url.Values{ParamPage: {token}}.Encode())
}

// page builds the service's searchset from the server's: only the payer's
// determinations, fullUrls under the payer API, and next/previous links that
// are page tokens of this payer.
func (a *API) page(ctx context.Context, payer payerauth.Identifier, b *upstreamBundle, self string) (*Page, error) {
	type link struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	}
	type entry struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Search   struct {
			Mode string `json:"mode"`
		} `json:"search"`
	}
	out := struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Meta         struct {
			LastUpdated string `json:"lastUpdated"`
		} `json:"meta"`
		Total *int    `json:"total,omitempty"`
		Link  []link  `json:"link"`
		Entry []entry `json:"entry,omitempty"`
	}{ResourceType: "Bundle", Type: "searchset", Total: b.Total}
	out.Meta.LastUpdated = a.now().UTC().Format(time.RFC3339Nano)
	out.Link = append(out.Link, link{"self", self})
	for _, rel := range []string{"next", "previous"} {
		up := b.link(rel)
		if up == "" && rel == "previous" {
			up = b.link("prev")
		}
		if up == "" {
			continue
		}
		token, err := a.storePage(ctx, payer, up)
		if err != nil {
			return nil, err
		}
		out.Link = append(out.Link, link{rel, a.base + "/ClaimResponse?" + url.Values{ParamPage: {token}}.Encode()})
	}
	p := &Page{}
	dropped := 0
	for _, e := range b.Entry {
		if e.mode() != "match" {
			continue
		}
		id, ok := a.belongs(e.Resource, payer)
		if !ok {
			dropped++
			continue
		}
		en := entry{FullURL: a.base + "/ClaimResponse/" + id, Resource: e.Resource}
		en.Search.Mode = "match"
		out.Entry = append(out.Entry, en)
		p.IDs = append(p.IDs, id)
	}
	if dropped > 0 {
		// The server answered what the filter should have excluded; the
		// total it gave counts them too.
		a.log.LogAttrs(ctx, slog.LevelWarn, "payer search: the FHIR server answered resources outside the payer filter; left out",
			slog.Int("count", dropped))
		out.Total = nil
	}
	body, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	p.Bundle = body
	return p, nil
}

func (a *API) storePage(ctx context.Context, payer payerauth.Identifier, upstream string) (string, error) {
	token := newToken()
	raw, _ := json.Marshal(pageState{Payer: payer, Upstream: upstream})
	if err := a.rdb.Set(ctx, a.pageKey(token), raw, a.cfg.PageTTL).Err(); err != nil {
		return "", fmt.Errorf("store page token: %w", err)
	}
	return token, nil
}
