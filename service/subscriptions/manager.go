package subscriptions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/utilreview/utilreview/fhir"
)

// Client is the part of *fhir.Client the Manager uses.
type Client interface {
	Search(ctx context.Context, typ string, params url.Values, each func(e fhir.Entry) error) error
	Read(ctx context.Context, typ, id string) (*fhir.Response, error)
	Create(ctx context.Context, typ string, resource []byte, ifNoneExist string) (*fhir.Response, error)
	Update(ctx context.Context, typ, id string, resource []byte, ifMatchVersion string) (*fhir.Response, error)
	Delete(ctx context.Context, typ, id string) (*fhir.Response, error)
}

// Manager keeps one instance's Subscriptions on the FHIR server. It is safe
// for concurrent use, and several Managers of one instance (replicas) may run
// at once: they converge on one Subscription per type.
type Manager struct {
	c    Client
	cfg  Config
	mask masker
	log  *slog.Logger
	// Remove's pace (removePoll and Config.RemoveQuiet; shorter in unit tests).
	poll, quiet time.Duration
}

// New checks cfg (see Config for the defaults) and returns a Manager.
func New(c Client, cfg Config) (*Manager, error) {
	if c == nil {
		return nil, errors.New("subscriptions: no FHIR client")
	}
	cfg, err := cfg.withDefaults()
	m := newMasker(cfg.Secret)
	if err != nil {
		return nil, m.err(err)
	}
	return &Manager{
		c: c, cfg: cfg, mask: m, log: cfg.Logger.With("instance", cfg.Instance),
		poll: removePoll, quiet: cfg.RemoveQuiet,
	}, nil
}

// Report says what Ensure did and found.
type Report struct {
	Created  int // Subscriptions created
	Repaired int // updated back to the wanted shape (and status requested)
	Deleted  int // duplicates, and Subscriptions of types no longer followed
	// Deferred counts the duplicates and unfollowed Subscriptions left for a
	// later Ensure because the server has not activated them yet (see
	// Manager.Remove for why they are not deleted then).
	Deferred int
	// Active and Pending count the followed types whose Subscription is
	// active, or requested (the server activates asynchronously: ~0.2 s for
	// rest-hook, ~1.3 s for a topic on HAPI), after Ensure.
	Active, Pending int
	// MissingTopics (topic mode) are the topics of followed types that the
	// server does not list as SubscriptionTopic Basic resources. HAPI
	// activates a Subscription on a missing topic and never notifies it.
	MissingTopics []string
}

// LogValue lets a Report be logged as one attribute.
func (r Report) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.Int("created", r.Created), slog.Int("repaired", r.Repaired), slog.Int("deleted", r.Deleted),
		slog.Int("active", r.Active), slog.Int("pending", r.Pending), slog.Int("deferred", r.Deferred),
	}
	if len(r.MissingTopics) > 0 {
		attrs = append(attrs, slog.Any("missing_topics", r.MissingTopics))
	}
	return slog.GroupValue(attrs...)
}

// settleAttempts bounds how often Ensure goes round for one type when other
// writers (replicas, the server activating) keep changing it under its feet.
const settleAttempts = 6

// typeConcurrency bounds how many types Ensure settles at once.
const typeConcurrency = 4

// Ensure makes the server hold exactly one Subscription of this instance per
// followed type, in the wanted shape and not off or in error: it creates the
// missing ones (conditionally, so racing replicas create one), repairs the
// ones that drifted, and deletes duplicates and Subscriptions of types no
// longer followed. In ModeOff it deletes all of the instance's Subscriptions.
// Call it at start and periodically.
//
// A duplicate or unfollowed Subscription that the server has not activated
// yet is left for a later Ensure (Report.Deferred; see Remove for why). For
// the same reason a repair can be undone once: HAPI's late activation of an
// earlier requested version writes that version back; the next Ensure
// repairs it again.
func (m *Manager) Ensure(ctx context.Context) (Report, error) {
	var rep Report
	owned, err := m.list(ctx, m.cfg.Instance)
	if err != nil {
		return rep, m.fail("Ensure", err)
	}
	followed := m.followed()
	bySlot := map[string][]subscription{}
	var errs []error
	for _, s := range owned {
		typ := m.cfg.slot(s)
		if slices.Contains(followed, typ) {
			bySlot[typ] = append(bySlot[typ], s)
			continue
		}
		if s.Status == statusRequested {
			rep.Deferred++
			continue
		}
		deleted, err := m.delete(ctx, s, "not followed")
		if err != nil {
			errs = append(errs, err)
		} else if deleted {
			rep.Deleted++
		}
	}
	// The types are independent: settle them side by side (each is a few
	// round trips of ~0.2 s on HAPI), a few at a time.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		sem  = make(chan struct{}, typeConcurrency)
		reps = make([]Report, len(followed))
	)
	for i, typ := range followed {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := m.ensureType(ctx, typ, bySlot[typ], &reps[i]); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", typ, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, r := range reps {
		rep.Created += r.Created
		rep.Repaired += r.Repaired
		rep.Deleted += r.Deleted
		rep.Deferred += r.Deferred
		rep.Active += r.Active
		rep.Pending += r.Pending
	}
	if m.cfg.Mode == ModeTopic {
		rep.MissingTopics = m.missingTopics(ctx)
	}
	if err := errors.Join(errs...); err != nil {
		return rep, m.fail("Ensure", err)
	}
	return rep, nil
}

// Active reports whether every followed type has a Subscription of this
// instance and all of the instance's Subscriptions are active: the readiness
// of notifications. In ModeOff it is true.
func (m *Manager) Active(ctx context.Context) (bool, error) {
	if m.cfg.Mode == ModeOff {
		return true, nil
	}
	owned, err := m.list(ctx, m.cfg.Instance)
	if err != nil {
		return false, m.fail("Active", err)
	}
	have := map[string]bool{}
	for _, s := range owned {
		if s.Status != statusActive {
			return false, nil
		}
		have[m.cfg.slot(s)] = true
	}
	for _, typ := range m.cfg.Types {
		if !have[typ] {
			return false, nil
		}
	}
	return true, nil
}

// Remove deletes all of this instance's Subscriptions (uninstall) and returns
// how many it deleted. Other instances' Subscriptions are not touched.
//
// HAPI 8.8 activates a Subscription asynchronously by reading the version
// that was written as requested and writing it back as active; when the
// Subscription was deleted in between, that write brings it back to life.
// Measured on a loaded server (load average 10 to 20, activation taking up
// to 40 s): deleted while requested, active again 1m46s later; and deleted
// once active, active again up to ~20 s after its first activation: HAPI
// sometimes activates the same requested version twice (the history shows
// requested v1, active v2, deleted v3, active v4 with v1's content), and the
// second activation can come after the delete. So Remove deletes a
// Subscription only once the server has activated it (waiting up to
// Config.ActivationWait, then deleting what is still requested with a
// warning), and returns only when the instance has had no Subscription for
// Config.RemoveQuiet, deleting again whatever came back. On an idle server
// activation takes 0.2 to 1.3 s and nothing came back; on a loaded one a
// Subscription can still come back after the quiet period (Remove again, or
// an Ensure in ModeOff, deletes it).
//
// Stop the instance's services first: Remove gives up when Subscriptions keep
// appearing.
func (m *Manager) Remove(ctx context.Context) (int, error) {
	n := 0
	deadline := time.Now().Add(m.cfg.ActivationWait)
	lateRounds := 0
	confirmed := false
	for {
		owned, err := m.list(ctx, m.cfg.Instance)
		if err != nil {
			return n, m.fail("Remove", err)
		}
		if len(owned) == 0 {
			if confirmed {
				return n, nil
			}
			// Look again after a while: a late activation may bring one back.
			confirmed = true
			if err := sleep(ctx, m.quiet); err != nil {
				return n, m.fail("Remove", err)
			}
			continue
		}
		confirmed = false
		late := !time.Now().Before(deadline)
		if late {
			if lateRounds == removeLateRounds {
				return n, m.fail("Remove", fmt.Errorf("%d Subscriptions keep appearing: is an instance named %s still running?", len(owned), m.cfg.Instance))
			}
			lateRounds++
		}
		for _, s := range owned {
			if s.Status == statusRequested {
				if !late {
					continue // wait for the server to activate it
				}
				m.log.WarnContext(ctx, "deleting a Subscription the server has not activated: it may come back when the server activates it", "id", s.ID)
			}
			deleted, err := m.delete(ctx, s, "remove")
			if err != nil {
				return n, m.fail("Remove", err)
			}
			if deleted {
				n++
			}
		}
		if err := sleep(ctx, m.poll); err != nil {
			return n, m.fail("Remove", err)
		}
	}
}

const (
	removePoll       = 500 * time.Millisecond
	removeLateRounds = 3
)

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (m *Manager) followed() []string {
	if m.cfg.Mode == ModeOff {
		return nil
	}
	return m.cfg.Types
}

func (m *Manager) fail(op string, err error) error {
	return m.mask.err(fmt.Errorf("subscriptions.%s: %w", op, err))
}

// ensureType brings one type's slot to exactly one Subscription in the wanted
// shape; have are the Subscriptions found in the slot.
func (m *Manager) ensureType(ctx context.Context, typ string, have []subscription, rep *Report) error {
	want := m.cfg.desired(typ)
	for attempt := range settleAttempts {
		if attempt > 0 {
			if err := pause(ctx, attempt); err != nil {
				return err
			}
		}
		if len(have) == 0 {
			s, created, err := m.create(ctx, typ, want)
			switch {
			case fhir.IsStatus(err, http.StatusConflict) || fhir.IsStatus(err, http.StatusPreconditionFailed):
				// 409: a racing replica's conditional create won; 412: two
				// exist already. Either way, look at what is there now.
				m.log.DebugContext(ctx, "subscription create raced", "type", typ)
				if have, err = m.list(ctx, m.cfg.slotCode(typ)); err != nil {
					return err
				}
				continue
			case err != nil:
				return err
			case created:
				rep.Created++
				rep.Pending++
				m.log.InfoContext(ctx, "subscription created", "type", typ, "id", s.ID, "mode", m.cfg.Mode, "endpoint", want.Channel.Endpoint)
				return nil
			}
			have = []subscription{s} // another replica's, found by the condition
		}

		keep, dups := pickKeeper(have)
		for _, d := range dups {
			if d.Status == statusRequested {
				rep.Deferred++
				continue
			}
			deleted, err := m.delete(ctx, d, "duplicate")
			if err != nil {
				return err
			}
			if deleted {
				rep.Deleted++
			}
		}
		d := drift(keep, want)
		if len(d) == 0 {
			switch keep.Status {
			case statusActive:
				rep.Active++
			default:
				rep.Pending++
			}
			return nil
		}
		repaired, err := m.repair(ctx, keep, want)
		switch {
		case fhir.IsStatus(err, http.StatusConflict) || fhir.IsStatus(err, http.StatusPreconditionFailed) ||
			fhir.IsStatus(err, http.StatusNotFound) || fhir.IsStatus(err, http.StatusGone):
			// Changed or deleted since it was read (a replica, or the server
			// activating it): read the slot again.
			if have, err = m.list(ctx, m.cfg.slotCode(typ)); err != nil {
				return err
			}
			continue
		case err != nil:
			return err
		}
		rep.Repaired++
		rep.Pending++
		m.log.InfoContext(ctx, "subscription repaired", "type", typ, "id", keep.ID, "drift", d, "version", repaired.Meta.VersionID)
		return nil
	}
	return fmt.Errorf("the Subscription did not settle after %d attempts (other writers keep changing it)", settleAttempts)
}

// pause waits a little longer on each attempt: 50, 100, 200 ms ...
func pause(ctx context.Context, attempt int) error {
	return sleep(ctx, time.Duration(25<<attempt)*time.Millisecond)
}

// pickKeeper chooses the Subscription to keep among a slot's: the one with the
// lowest id, so that replicas looking at the same duplicates keep the same one.
func pickKeeper(have []subscription) (keep subscription, dups []subscription) {
	sorted := slices.Clone(have)
	slices.SortFunc(sorted, func(a, b subscription) int { return compareIDs(a.ID, b.ID) })
	return sorted[0], sorted[1:]
}

// compareIDs orders server ids numerically when both are numbers (HAPI's), else
// as strings.
func compareIDs(a, b string) int {
	na, errA := strconv.ParseUint(a, 10, 64)
	nb, errB := strconv.ParseUint(b, 10, 64)
	switch {
	case errA == nil && errB == nil:
		return cmpUint(na, nb)
	case errA == nil:
		return -1
	case errB == nil:
		return 1
	}
	return strings.Compare(a, b)
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// list returns the instance's Subscriptions carrying the tag code (the instance
// name for all, a slot code for one type's).
func (m *Manager) list(ctx context.Context, code string) ([]subscription, error) {
	params := url.Values{"_tag": {m.cfg.tagSystem() + "|" + code}, "_count": {"100"}}
	var out []subscription
	err := m.c.Search(ctx, "Subscription", params, func(e fhir.Entry) error {
		if e.Resource == nil || e.Mode != "" && e.Mode != "match" {
			return nil
		}
		s, err := decodeSubscription(e.Resource)
		if err != nil {
			return err
		}
		// The server filtered by tag; check again, since deleting what is not
		// ours is the one thing this package must never do.
		if s.ID != "" && s.hasTag(m.cfg.tagSystem(), code) {
			out = append(out, s)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("search Subscriptions: %w", err)
	}
	return out, nil
}

// create posts the wanted Subscription with If-None-Exist on its slot tag. It
// returns created=false with the existing Subscription when the server found
// one (a replica's).
func (m *Manager) create(ctx context.Context, typ string, want subscription) (subscription, bool, error) {
	body, err := json.Marshal(want)
	if err != nil {
		return subscription{}, false, err
	}
	cond := url.Values{"_tag": {m.cfg.tagSystem() + "|" + m.cfg.slotCode(typ)}}.Encode()
	resp, err := m.c.Create(ctx, "Subscription", body, cond)
	if err != nil {
		return subscription{}, false, fmt.Errorf("create Subscription: %w", err)
	}
	s, err := m.fromResponse(ctx, resp)
	if err != nil {
		return subscription{}, false, fmt.Errorf("create Subscription: %w", err)
	}
	return s, resp.Status == http.StatusCreated, nil
}

// repair updates keep to want, only if nobody changed it since it was read.
func (m *Manager) repair(ctx context.Context, keep, want subscription) (subscription, error) {
	want.ID = keep.ID
	body, err := json.Marshal(want)
	if err != nil {
		return subscription{}, err
	}
	resp, err := m.c.Update(ctx, "Subscription", keep.ID, body, keep.Meta.VersionID)
	if err != nil {
		return subscription{}, fmt.Errorf("update Subscription/%s: %w", keep.ID, err)
	}
	s, err := m.fromResponse(ctx, resp)
	if err != nil {
		// Written; only the answer is unusable.
		m.log.WarnContext(ctx, "subscription repaired, answer unreadable", "id", keep.ID, "error", m.mask.mask(err.Error()))
		return want, nil
	}
	return s, nil
}

// fromResponse decodes the Subscription a create or update answered with, or
// reads it from the Location when the server answered without a body.
func (m *Manager) fromResponse(ctx context.Context, resp *fhir.Response) (subscription, error) {
	if len(resp.Body) > 0 {
		if s, err := decodeSubscription(resp.Body); err == nil && s.ID != "" {
			return s, nil
		}
	}
	id := idFromLocation(resp.Location)
	if id == "" {
		return subscription{}, errors.New("the answer has neither the Subscription nor its Location")
	}
	r, err := m.c.Read(ctx, "Subscription", id)
	if err != nil {
		return subscription{}, err
	}
	return decodeSubscription(r.Body)
}

// idFromLocation takes the id out of ".../Subscription/<id>[/_history/<v>]".
func idFromLocation(loc string) string {
	if u, err := url.Parse(loc); err == nil {
		loc = u.Path
	}
	parts := strings.Split(strings.Trim(loc, "/"), "/")
	for i := len(parts) - 2; i >= 0; i-- {
		if parts[i] == "Subscription" {
			return parts[i+1]
		}
	}
	return ""
}

// delete deletes one of the instance's Subscriptions; deleted is false when it
// was gone already (a replica deleted it).
//
// HAPI answers 409 (HAPI-0550, a version conflict) when the delete meets the
// server's own update of the Subscription (activation, right after a create
// or repair): that is tried again.
func (m *Manager) delete(ctx context.Context, s subscription, why string) (bool, error) {
	var err error
	for attempt := range settleAttempts {
		if attempt > 0 {
			if err := pause(ctx, attempt); err != nil {
				return false, err
			}
		}
		_, err = m.c.Delete(ctx, "Subscription", s.ID)
		if !fhir.IsStatus(err, http.StatusConflict) {
			break
		}
	}
	switch {
	case fhir.IsStatus(err, http.StatusNotFound) || fhir.IsStatus(err, http.StatusGone):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("delete Subscription/%s: %w", s.ID, err)
	}
	m.log.InfoContext(ctx, "subscription deleted", "id", s.ID, "type", m.cfg.slot(s), "why", why)
	return true, nil
}

// R4 SubscriptionTopics are Basic resources with this code and the topic's
// canonical in a cross-version extension (as HAPI 8.8 holds them).
const (
	topicCodeParam  = "http://hl7.org/fhir/fhir-types|SubscriptionTopic"
	topicURLR5      = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.url"
	topicURLR4B     = "http://hl7.org/fhir/4.3/StructureDefinition/extension-SubscriptionTopic.url"
	topicSearchType = "Basic"
)

// missingTopics lists the followed types' topics the server does not hold as
// R4 topics (Basic). It is advice, not a failure: a server may keep its topics
// elsewhere, so a search that fails is only logged.
func (m *Manager) missingTopics(ctx context.Context) []string {
	held := map[string]bool{}
	err := m.c.Search(ctx, topicSearchType, url.Values{"code": {topicCodeParam}, "_count": {"100"}}, func(e fhir.Entry) error {
		var b struct {
			Extension []struct {
				URL      string `json:"url"`
				ValueURI string `json:"valueUri"`
			} `json:"extension"`
		}
		if e.Resource == nil || json.Unmarshal(e.Resource, &b) != nil {
			return nil
		}
		for _, x := range b.Extension {
			if x.URL == topicURLR5 || x.URL == topicURLR4B {
				held[x.ValueURI] = true
			}
		}
		return nil
	})
	if err != nil {
		m.log.WarnContext(ctx, "could not list the server's subscription topics", "error", m.mask.mask(err.Error()))
		return nil
	}
	var missing []string
	for _, typ := range m.cfg.Types {
		if u := m.cfg.TopicURL(typ); !held[u] {
			missing = append(missing, u)
		}
	}
	if len(missing) > 0 {
		m.log.WarnContext(ctx, "subscription topics not found on the FHIR server: their Subscriptions will never notify", "topics", missing)
	}
	return missing
}
