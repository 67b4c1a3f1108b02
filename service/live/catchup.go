package live

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/queue"
)

// CatchUpQueue is what the catch-up needs of the queue (service/queue).
type CatchUpQueue interface {
	Enqueue(ctx context.Context, e queue.Entry) (bool, error)
	TakeCatchUpRequest(ctx context.Context) (bool, error)
	Watermark(ctx context.Context, typ string) (time.Time, bool, error)
	AdvanceWatermark(ctx context.Context, typ string, t time.Time) error
	CatchUpLock(ctx context.Context, ttl time.Duration) (release func(), ok bool, err error)
	Gaps(ctx context.Context, grace time.Duration) ([]string, error)
	Seen(ctx context.Context, key string) (map[string]string, error)
	SetSeen(ctx context.Context, key string, seen map[string]string) error
}

// CatchUpConfig configures the catch-up searches.
type CatchUpConfig struct {
	// Types are the followed resource types (facts.ReadTypes less Patient
	// and Organization, whose changes reach a patient through the others).
	Types []string
	// Filter is added to every search, e.g. "_tag=urn:example|ward-7"
	// (UTILREVIEW_SUBSCRIPTION_FILTER), so a service follows only its part
	// of a shared server.
	Filter url.Values
	// TypeFilters replace Filter for the types they name (Task:
	// identifier=<system>|, utilreview's own Tasks, which carry no tag).
	TypeFilters map[string]url.Values
	// Interval between two catch-ups (default 60 s); Window how far back a
	// start with no watermark looks (default 24 h); Overlap how far before
	// the watermark each search starts again (default 30 s), for writes
	// the server committed after a later one was already visible.
	Interval, Window, Overlap time.Duration
	// GapGrace: a hole in topic event numbers still open after it means
	// notifications were lost (default 30 s).
	GapGrace time.Duration
	PageSize int // default 200
	Logger   *slog.Logger
	Metrics  *Metrics
}

// CatchUp finds what the FHIR server changed and never notified (HAPI drops
// a notification after a minute of failed deliveries; some servers send
// none) by searching each followed type by _lastUpdated, and enqueues the
// patients found. Its watermarks are the server's lastUpdated values, never
// the service's clock, and advance only past what was enqueued.
type CatchUp struct {
	cfg  CatchUpConfig
	fhir FHIR
	q    CatchUpQueue
}

// NewCatchUp returns a CatchUp.
func NewCatchUp(cfg CatchUpConfig, c FHIR, q CatchUpQueue) *CatchUp {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.Window <= 0 {
		cfg.Window = 24 * time.Hour
	}
	if cfg.Overlap < 0 {
		cfg.Overlap = 0
	} else if cfg.Overlap == 0 {
		cfg.Overlap = 30 * time.Second
	}
	if cfg.GapGrace <= 0 {
		cfg.GapGrace = 30 * time.Second
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 200
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &CatchUp{cfg: cfg, fhir: c, q: q}
}

// Run catches up at once (a start may follow an outage), then every
// Interval, and whenever a ping or an event gap asks for it (checked every
// second, so a burst of pings gives one catch-up). It returns when ctx ends.
func (c *CatchUp) Run(ctx context.Context) error {
	c.run(ctx, "start")
	interval := time.NewTicker(c.cfg.Interval)
	defer interval.Stop()
	poll := time.NewTicker(time.Second)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-interval.C:
			c.run(ctx, "interval")
		case <-poll.C:
			if ok, err := c.q.TakeCatchUpRequest(ctx); err == nil && ok {
				c.run(ctx, "request")
			}
			if subs, err := c.q.Gaps(ctx, c.cfg.GapGrace); err == nil && len(subs) > 0 {
				c.cfg.Logger.InfoContext(ctx, "event numbers missing past the grace", "subscriptions", subs, "grace", c.cfg.GapGrace.String())
				c.run(ctx, "event-gap")
			}
		}
	}
}

func (c *CatchUp) run(ctx context.Context, trigger string) {
	n, err := c.Once(ctx)
	switch {
	case err != nil && ctx.Err() != nil:
	case err != nil:
		c.cfg.Metrics.catchUp(trigger, "error")
		c.cfg.Logger.WarnContext(ctx, "catch-up failed", "trigger", trigger, "error", err.Error())
	default:
		c.cfg.Metrics.catchUp(trigger, "ok")
		c.cfg.Logger.InfoContext(ctx, "catch-up", "trigger", trigger, "resources", n)
	}
}

// Once runs one catch-up over every followed type, unless another replica
// is running one; it returns the number of resources (and deletes) queued:
// those found again by the overlap in a version the previous catch-up
// already queued are not.
func (c *CatchUp) Once(ctx context.Context) (int, error) {
	release, ok, err := c.q.CatchUpLock(ctx, 5*time.Minute)
	if err != nil {
		return 0, fmt.Errorf("live.CatchUp: %w", err)
	}
	if !ok {
		return 0, nil
	}
	defer release()
	total := 0
	for _, typ := range c.cfg.Types {
		n, err := c.catchUpType(ctx, typ)
		total += n
		if err != nil {
			return total, fmt.Errorf("live.CatchUp %s: %w", typ, err)
		}
	}
	return total, nil
}

func (c *CatchUp) catchUpType(ctx context.Context, typ string) (int, error) {
	n, err := c.searchType(ctx, typ)
	if err != nil {
		return n, err
	}
	d, err := c.deletes(ctx, typ)
	return n + d, err
}

// filterOf is the search filter of typ.
func (c *CatchUp) filterOf(typ string) url.Values {
	if f, ok := c.cfg.TypeFilters[typ]; ok {
		return f
	}
	return c.cfg.Filter
}

// searchFrom is where a search of typ starts: the watermark under key less
// the overlap (late commits), or, with none yet, the window before the
// server's time.
func (c *CatchUp) searchFrom(ctx context.Context, key, typ string) (time.Time, error) {
	from, ok, err := c.q.Watermark(ctx, key)
	if err != nil {
		return time.Time{}, err
	}
	if !ok {
		now, err := c.serverNow(ctx, typ)
		if err != nil {
			return time.Time{}, err
		}
		return now.Add(-c.cfg.Window), nil
	}
	return from.Add(-c.cfg.Overlap), nil
}

// searchType finds what changed in typ since its watermark by _lastUpdated.
func (c *CatchUp) searchType(ctx context.Context, typ string) (int, error) {
	from, err := c.searchFrom(ctx, typ, typ)
	if err != nil {
		return 0, err
	}
	params := url.Values{}
	for k, vs := range c.filterOf(typ) {
		params[k] = append([]string(nil), vs...)
	}
	params.Set("_lastUpdated", "ge"+from.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	params.Set("_sort", "_lastUpdated")
	params.Set("_count", strconv.Itoa(c.cfg.PageSize))
	// A version the previous catch-up already queued (found again by the
	// overlap) is not queued again: its review came after it existed.
	seen, err := c.q.Seen(ctx, typ)
	if err != nil {
		return 0, err
	}
	found := map[string]string{}
	var newest time.Time
	n := 0
	err = c.fhir.Search(ctx, typ, params, func(e fhir.Entry) error {
		if e.Resource == nil || e.Mode == "include" {
			return nil
		}
		s, err := fhir.SummarizeResource(e.Resource)
		if err != nil {
			return nil // not a resource utilreview can place; the search goes on
		}
		ref := s.Type + "/" + s.ID
		if s.Version == "" || seen[ref] != s.Version {
			entry := queue.Entry{Patient: s.Patient, Resource: ref, Version: s.Version, Reason: "catch-up"}
			if _, err := c.q.Enqueue(ctx, entry); err != nil {
				return err
			}
			n++
		}
		if s.Version != "" {
			found[ref] = s.Version
		}
		if t := lastUpdated(e.Resource); t.After(newest) {
			newest = t
		}
		return nil
	})
	c.cfg.Metrics.found(typ, n)
	if err != nil {
		// The watermark stays: what was enqueued is found again next time,
		// which costs a review, never a loss.
		return n, err
	}
	if err := c.q.SetSeen(ctx, typ, found); err != nil {
		return n, err
	}
	if !newest.IsZero() {
		if err := c.q.AdvanceWatermark(ctx, typ, newest); err != nil {
			return n, err
		}
	}
	return n, nil
}

// deletesSuffix names a type's watermark of deletes in the watermarks hash.
const deletesSuffix = "/_history"

// deletes finds what was deleted in typ since its deletes watermark: a
// search cannot see a deleted resource, but the type's history lists each
// delete (request.method DELETE, request.url "Type/id/_history/<n>", no
// resource; docs/fhir-server-behaviour.md). For each, the version before
// (n-1) names the patient, whose review then cancels what depended on the
// resource. The history cannot be filtered by search parameters, so the
// filter is applied to that previous version (_tag and identifier; a
// filter with other parameters cannot be checked, and such deletes are
// left to the send-delete notification). The watermark is the server's
// time of the history's first page (Bundle.meta.lastUpdated), advanced
// only after every delete found was enqueued.
func (c *CatchUp) deletes(ctx context.Context, typ string) (int, error) {
	key := typ + deletesSuffix
	from, err := c.searchFrom(ctx, key, typ)
	if err != nil {
		return 0, err
	}
	params := url.Values{
		"_since":    {from.UTC().Format("2006-01-02T15:04:05.000Z07:00")},
		"_count":    {strconv.Itoa(c.cfg.PageSize)},
		"_elements": {"id"}, // only the deletes matter: the other versions' content is not needed
	}
	resp, err := c.fhir.Do(ctx, http.MethodGet, typ+"/_history?"+params.Encode(), nil, nil)
	if err != nil {
		return 0, err
	}
	asOf := bundleTime(resp.Body)
	if asOf.IsZero() {
		if asOf, err = http.ParseTime(resp.Header.Get("Date")); err != nil {
			return 0, fmt.Errorf("the history carries no server time")
		}
	}
	type deleted struct{ ref, id, version string }
	var found []deleted
	listed := map[string]bool{}
	err = c.fhir.SearchPages(ctx, resp.Body, func(e fhir.Entry) error {
		if e.Request == nil || e.Request.Method != http.MethodDelete {
			return nil
		}
		path, version, _ := strings.Cut(e.Request.URL, "/_history/")
		r, ok := fhir.ParseReference(path)
		if !ok || r.Type != typ || listed[r.Relative()] {
			return nil
		}
		listed[r.Relative()] = true
		found = append(found, deleted{r.Relative(), r.ID, version})
		return nil
	})
	if err != nil {
		return 0, err
	}
	seen, err := c.q.Seen(ctx, key)
	if err != nil {
		return 0, err
	}
	filter := c.filterOf(typ)
	n := 0
	now := map[string]string{}
	for _, d := range found {
		now[d.ref] = d.version
		if d.version != "" && seen[d.ref] == d.version {
			continue // queued by the previous catch-up (the overlap finds it again)
		}
		prev, err := c.lastContent(ctx, typ, d.id, d.version)
		if err != nil {
			return n, err
		}
		if prev == nil {
			continue
		}
		match, known := matchesFilter(prev, filter)
		if !known {
			c.cfg.Metrics.deleteFound(typ, "unfiltered")
			continue
		}
		if !match {
			continue
		}
		s, err := fhir.SummarizeResource(prev)
		if err != nil || s.Patient == "" {
			continue
		}
		if _, err := c.q.Enqueue(ctx, queue.Entry{Patient: s.Patient, Resource: d.ref, Reason: "catch-up"}); err != nil {
			return n, err
		}
		c.cfg.Metrics.deleteFound(typ, "enqueued")
		n++
	}
	if n > 0 {
		c.cfg.Logger.InfoContext(ctx, "catch-up found deletes", "type", typ, "deleted", n)
	}
	if err := c.q.SetSeen(ctx, key, now); err != nil {
		return n, err
	}
	return n, c.q.AdvanceWatermark(ctx, key, asOf)
}

// lastContent is the content of typ/id before its deleting version: the
// version before it (a vread), else the newest version with content in
// the resource's history. nil when there is none.
func (c *CatchUp) lastContent(ctx context.Context, typ, id, deletedVersion string) (json.RawMessage, error) {
	if n, err := strconv.Atoi(deletedVersion); err == nil && n > 1 {
		resp, err := c.fhir.Do(ctx, http.MethodGet, typ+"/"+id+"/_history/"+strconv.Itoa(n-1), nil, nil)
		switch {
		case err == nil:
			return resp.Body, nil
		case !fhir.IsStatus(err, http.StatusNotFound) && !fhir.IsStatus(err, http.StatusGone):
			return nil, err
		}
	}
	hist, err := c.fhir.Do(ctx, http.MethodGet, typ+"/"+id+"/_history?_count=10", nil, nil)
	if err != nil {
		if fhir.IsStatus(err, http.StatusNotFound) || fhir.IsStatus(err, http.StatusGone) {
			return nil, nil
		}
		return nil, err
	}
	var out json.RawMessage
	err = c.fhir.SearchPages(ctx, hist.Body, func(e fhir.Entry) error {
		if out == nil && e.Resource != nil {
			out = e.Resource
		}
		return nil
	})
	return out, err
}

// matchesFilter evaluates a catch-up filter on a resource's content, for
// the deletes a search cannot filter: _tag and identifier token values
// ("system|code", "|code", "code", "system|"; values of one parameter
// separated by commas are alternatives, parameters all apply). known is
// false when the filter has another parameter.
func matchesFilter(raw json.RawMessage, filter url.Values) (match, known bool) {
	if len(filter) == 0 {
		return true, true
	}
	var r struct {
		Meta struct {
			Tag []struct{ System, Code string } `json:"tag"`
		} `json:"meta"`
		Identifier []struct {
			System string `json:"system"`
			Value  string `json:"value"`
		} `json:"identifier"`
	}
	if json.Unmarshal(raw, &r) != nil {
		return false, true
	}
	match = true
	for param, values := range filter {
		var have [][2]string
		switch param {
		case "_tag":
			for _, t := range r.Meta.Tag {
				have = append(have, [2]string{t.System, t.Code})
			}
		case "identifier":
			for _, id := range r.Identifier {
				have = append(have, [2]string{id.System, id.Value})
			}
		default:
			return false, false
		}
		for _, v := range values {
			if !anyToken(have, strings.Split(v, ",")) {
				match = false
			}
		}
	}
	return match, true
}

// anyToken reports whether one of the codings matches one of the token
// search values.
func anyToken(have [][2]string, values []string) bool {
	for _, v := range values {
		system, code, hasSystem := strings.Cut(v, "|")
		for _, h := range have {
			switch {
			case !hasSystem && h[1] == v:
				return true
			case hasSystem && system == "" && h[0] == "" && h[1] == code:
				return true
			case hasSystem && system != "" && h[0] == system && (code == "" || h[1] == code):
				return true
			}
		}
	}
	return false
}

// bundleTime is a Bundle's meta.lastUpdated: for HAPI the server's time
// of the answer.
func bundleTime(raw []byte) time.Time {
	return lastUpdated(raw)
}

// serverNow is the FHIR server's clock (its Date header), for the first
// catch-up's window: the service's own clock may be minutes off.
func (c *CatchUp) serverNow(ctx context.Context, typ string) (time.Time, error) {
	resp, err := c.fhir.Do(ctx, http.MethodGet, typ+"?_summary=count", nil, nil)
	if err != nil {
		return time.Time{}, err
	}
	t, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return time.Time{}, fmt.Errorf("the server sent no usable Date header")
	}
	return t, nil
}

// lastUpdated is meta.lastUpdated of a resource, zero when absent.
func lastUpdated(raw json.RawMessage) time.Time {
	var r struct {
		Meta struct {
			LastUpdated string `json:"lastUpdated"`
		} `json:"meta"`
	}
	if json.Unmarshal(raw, &r) != nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, r.Meta.LastUpdated)
	if err != nil {
		return time.Time{}
	}
	return t
}
