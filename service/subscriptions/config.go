// Package subscriptions keeps utilreview's Subscriptions on the FHIR server:
// one per followed resource type, pointing at the service's webhook, active.
//
// An R4 Subscription has no identifier, so the Subscriptions an instance owns
// carry a meta.tag with the instance's name (system <CanonicalBase>/CodeSystem/instance,
// code <Instance>), and the instance finds them with Subscription?_tag=. A
// second tag of the same system, code "<Instance>:<Type>", names the slot one
// Subscription fills; it is what the conditional create (If-None-Exist) matches,
// so two replicas starting at once create one Subscription per type, not two.
// Two deployments (or two test runs) with different instance names on one FHIR
// server never see nor touch each other's Subscriptions.
//
// The package speaks to the server through a small Client interface that
// *fhir.Client satisfies.
package subscriptions

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Modes of Config.Mode.
const (
	// ModeRestHook: R4 rest-hook Subscriptions with criteria <Type>?<filter>;
	// HAPI delivers PUT|DELETE <endpoint>/<Type>/<id> with the full resource.
	ModeRestHook = "rest-hook"
	// ModeTopic: Subscriptions Backport IG (topic-based) Subscriptions on one
	// topic per type; HAPI posts notification Bundles to the endpoint.
	ModeTopic = "topic"
	// ModeOff: no Subscriptions (the service polls); Ensure removes the
	// instance's Subscriptions if any are left from an earlier mode.
	ModeOff = "off"
)

// DefaultInstance is the instance name when Config.Instance is empty.
const DefaultInstance = "utilreview"

// DefaultCanonicalBase is the canonical base of the instance tag's code system
// when Config.CanonicalBase is empty (the same default as worklist.DefaultBase).
const DefaultCanonicalBase = "https://utilreview.dev/fhir"

// DefaultActivationWait is Config.ActivationWait when unset.
const DefaultActivationWait = 2 * time.Minute

// DefaultRemoveQuiet is Config.RemoveQuiet when unset: on a loaded HAPI a
// deleted Subscription came back up to ~20 s after its activation.
const DefaultRemoveQuiet = 30 * time.Second

// NotifyPath is appended to Config.PublicURL to make the channel endpoint.
const NotifyPath = "/fhir/notify"

// SendDeleteExtension is HAPI's channel extension that makes it deliver
// DELETE <endpoint>/<Type>/<id> when a resource is deleted (without it a
// delete is never notified; docs/fhir-server-behaviour.md).
const SendDeleteExtension = "http://hapifhir.io/fhir/StructureDefinition/subscription-send-delete-messages"

// Subscriptions Backport IG profile and extensions (topic mode).
const (
	backportBase           = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
	BackportProfile        = backportBase + "backport-subscription"
	BackportFilterCriteria = backportBase + "backport-filter-criteria"
	BackportPayloadContent = backportBase + "backport-payload-content"
)

// PayloadMIMEType is channel.payload: full resources as FHIR JSON.
const PayloadMIMEType = "application/fhir+json"

// DefaultTopicBase is the prefix of DefaultTopicURL.
const DefaultTopicBase = "http://utilreview.example/fhir/SubscriptionTopic/"

// DefaultTypes are the resource types whose change can change a finding: every
// type service/facts reads except Patient and Organization (a patient's or
// payer's own record changes no finding on its own), Task, since clinicians
// close utilreview's Tasks, and Provenance, which can name who determined a
// completed Task.
var DefaultTypes = []string{
	"Encounter", "Claim", "Coverage", "Condition", "Procedure", "Communication",
	"ExplanationOfBenefit", "ClaimResponse", "Account", "Task", "Provenance",
}

// DefaultTopicURL is the topic canonical for a type in topic mode:
// http://utilreview.example/fhir/SubscriptionTopic/<lowercase type>-changed.
//
// The topics must exist on the FHIR server (for HAPI R4, as Basic resources
// like e2e/hapi/topics/*.json): HAPI accepts and activates a Subscription on a
// topic it does not hold, and then never notifies. The test server holds one
// for each of DefaultTypes; Ensure logs a warning and lists in
// Report.MissingTopics the topics it cannot find on the server.
func DefaultTopicURL(typ string) string {
	return DefaultTopicBase + strings.ToLower(typ) + "-changed"
}

// Config says which Subscriptions an instance keeps.
type Config struct {
	// Instance is this deployment's name, the code of the tag its
	// Subscriptions carry. Default DefaultInstance. Letters, digits, '.', '_'
	// and '-', at most 64.
	Instance string
	// CanonicalBase makes the tag system <CanonicalBase>/CodeSystem/instance.
	// Default DefaultCanonicalBase. Changing it orphans the Subscriptions
	// made under the old one (remove them first).
	CanonicalBase string
	// PublicURL is the service's base URL as the FHIR server reaches it; the
	// channel endpoint is PublicURL + NotifyPath. Required unless Mode is off.
	PublicURL string
	// Secret is sent by the server in the channel header
	// "Authorization: Bearer <Secret>". Required unless Mode is off. Never
	// logged; masked in errors.
	Secret string
	// Mode is ModeRestHook (default when empty), ModeTopic or ModeOff.
	Mode string
	// Types are the followed resource types, one Subscription each (e.g.
	// DefaultTypes). Required unless Mode is off.
	Types []string
	// Filter is optional search parameters added to every criteria, e.g.
	// "_tag=urn:example|ward-7": the criteria is <Type>?<Filter> (in topic
	// mode the backport-filter-criteria).
	Filter string
	// TypeFilters replace Filter for the types they name, e.g. Task:
	// "identifier=<system>|" to follow utilreview's own Tasks (which carry
	// none of the tags a Filter names).
	TypeFilters map[string]string
	// TopicURL gives the topic canonical per type in topic mode. Default
	// DefaultTopicURL; the topics must exist on the server.
	TopicURL func(typ string) string
	// ActivationWait bounds how long Remove waits for the server to activate
	// a Subscription before deleting it anyway (see Manager.Remove). Default
	// DefaultActivationWait.
	ActivationWait time.Duration
	// RemoveQuiet is how long Remove watches, once the instance has no
	// Subscription left, for one that a late activation brings back (see
	// Manager.Remove). Default DefaultRemoveQuiet.
	RemoveQuiet time.Duration
	// Logger gets one line per Subscription created, repaired or deleted.
	// Default: discard.
	Logger *slog.Logger
}

var (
	instancePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	typePattern     = regexp.MustCompile(`^[A-Z][A-Za-z]{1,63}$`)
)

// withDefaults returns the config with its defaults applied and checked, or an
// error naming every problem.
func (c Config) withDefaults() (Config, error) {
	if c.Instance == "" {
		c.Instance = DefaultInstance
	}
	if c.CanonicalBase == "" {
		c.CanonicalBase = DefaultCanonicalBase
	}
	c.CanonicalBase = strings.TrimRight(c.CanonicalBase, "/")
	if c.Mode == "" {
		c.Mode = ModeRestHook
	}
	if c.TopicURL == nil {
		c.TopicURL = DefaultTopicURL
	}
	if c.ActivationWait <= 0 {
		c.ActivationWait = DefaultActivationWait
	}
	if c.RemoveQuiet <= 0 {
		c.RemoveQuiet = DefaultRemoveQuiet
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	c.Filter = strings.TrimSpace(c.Filter)
	c.Types = append([]string(nil), c.Types...)

	var errs []error
	if !instancePattern.MatchString(c.Instance) {
		errs = append(errs, fmt.Errorf("instance %q: want 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", c.Instance))
	}
	if u, err := url.Parse(c.CanonicalBase); err != nil || !u.IsAbs() || u.Host == "" {
		errs = append(errs, fmt.Errorf("canonical base %q: want an absolute URL", c.CanonicalBase))
	}
	switch c.Mode {
	case ModeRestHook, ModeTopic, ModeOff:
	default:
		errs = append(errs, fmt.Errorf("mode %q: want %s, %s or %s", c.Mode, ModeRestHook, ModeTopic, ModeOff))
	}
	if err := checkFilter(c.Filter); err != nil {
		errs = append(errs, err)
	}
	filters := make(map[string]string, len(c.TypeFilters))
	for typ, f := range c.TypeFilters {
		f = strings.TrimSpace(f)
		if err := checkFilter(f); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", typ, err))
		}
		filters[typ] = f
	}
	c.TypeFilters = filters
	if c.Mode != ModeOff {
		errs = append(errs, checkPublicURL(c.PublicURL)...)
		if err := checkSecret(c.Secret); err != nil {
			errs = append(errs, err)
		}
		if len(c.Types) == 0 {
			errs = append(errs, errors.New("no resource types to follow"))
		}
		seen := map[string]bool{}
		for _, t := range c.Types {
			switch {
			case !typePattern.MatchString(t):
				errs = append(errs, fmt.Errorf("resource type %q: want a FHIR resource type name such as Encounter", t))
			case seen[t]:
				errs = append(errs, fmt.Errorf("resource type %s is listed twice", t))
			}
			seen[t] = true
		}
		if c.Mode == ModeTopic {
			for _, t := range c.Types {
				if !typePattern.MatchString(t) {
					continue
				}
				if u, err := url.Parse(c.TopicURL(t)); err != nil || !u.IsAbs() {
					errs = append(errs, fmt.Errorf("topic of %s: %q is not an absolute URL", t, c.TopicURL(t)))
				}
			}
		}
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("subscriptions config: %w", errors.Join(errs...))
	}
	return c, nil
}

func checkPublicURL(s string) []error {
	if s == "" {
		return []error{errors.New("public URL is required: the FHIR server must reach the service's webhook at <public URL>" + NotifyPath)}
	}
	u, err := url.Parse(s)
	if err != nil {
		return []error{fmt.Errorf("public URL %q: %v", s, err)}
	}
	var errs []error
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		errs = append(errs, fmt.Errorf("public URL %q: want an absolute http or https URL", s))
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(s, "?#") {
		errs = append(errs, fmt.Errorf("public URL %q: want no query or fragment", s))
	}
	if u.User != nil {
		errs = append(errs, errors.New("public URL: want no user information (the secret goes in the channel header)"))
	}
	return errs
}

func checkSecret(s string) error {
	if s == "" {
		return errors.New("secret is required: the FHIR server sends it in the channel header and the webhook refuses deliveries without it")
	}
	if strings.TrimSpace(s) != s {
		return errors.New("secret has leading or trailing white space")
	}
	for _, r := range s {
		if r < 0x21 || r == 0x7f {
			return errors.New("secret contains a space or control character (it goes into an HTTP header)")
		}
	}
	return nil
}

func checkFilter(f string) error {
	if f == "" {
		return nil
	}
	if strings.HasPrefix(f, "?") || strings.HasPrefix(f, "&") {
		return fmt.Errorf("filter %q: want search parameters without a leading '?' or '&', e.g. _tag=urn:example|ward-7", f)
	}
	if strings.ContainsAny(f, "# \t\r\n") {
		return fmt.Errorf("filter %q: want no '#' or white space (escape values as in a URL)", f)
	}
	q, err := url.ParseQuery(f)
	if err != nil {
		return fmt.Errorf("filter %q: %v", f, err)
	}
	for k := range q {
		if k == "" {
			return fmt.Errorf("filter %q: a parameter has no name", f)
		}
	}
	return nil
}

// endpoint is the channel endpoint the Subscriptions point at.
func (c Config) endpoint() string { return c.PublicURL + NotifyPath }

// tagSystem is the system of the instance and slot tags.
func (c Config) tagSystem() string { return c.CanonicalBase + "/CodeSystem/instance" }

// slotCode is the code of the tag that names the Subscription for one type.
func (c Config) slotCode(typ string) string { return c.Instance + ":" + typ }
