package subscriptions

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Subscription statuses (R4).
const (
	statusRequested = "requested"
	statusActive    = "active"
	statusError     = "error"
	statusOff       = "off"
)

// subscription is the part of an R4 Subscription utilreview writes and reads.
// Unknown elements of the server's copy are dropped: the instance owns these
// resources, and a repair writes the whole resource.
type subscription struct {
	ResourceType string   `json:"resourceType"`
	ID           string   `json:"id,omitempty"`
	Meta         meta     `json:"meta"`
	Status       string   `json:"status"`
	Reason       string   `json:"reason"`
	Criteria     string   `json:"criteria"`
	CriteriaExt  *element `json:"_criteria,omitempty"`
	Error        string   `json:"error,omitempty"`
	Channel      channel  `json:"channel"`
}

type meta struct {
	VersionID string   `json:"versionId,omitempty"`
	Profile   []string `json:"profile,omitempty"`
	Tag       []coding `json:"tag,omitempty"`
}

type coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

type channel struct {
	Extension  []extension `json:"extension,omitempty"`
	Type       string      `json:"type"`
	Endpoint   string      `json:"endpoint,omitempty"`
	Payload    string      `json:"payload,omitempty"`
	PayloadExt *element    `json:"_payload,omitempty"`
	Header     []string    `json:"header,omitempty"`
}

// element is the extension holder of a primitive (_criteria, _payload).
type element struct {
	Extension []extension `json:"extension,omitempty"`
}

type extension struct {
	URL          string `json:"url"`
	ValueBoolean *bool  `json:"valueBoolean,omitempty"`
	ValueString  string `json:"valueString,omitempty"`
	ValueCode    string `json:"valueCode,omitempty"`
}

func findExtension(e []extension, url string) *extension {
	for i := range e {
		if e[i].URL == url {
			return &e[i]
		}
	}
	return nil
}

func (e *element) extension(url string) *extension {
	if e == nil {
		return nil
	}
	return findExtension(e.Extension, url)
}

// criteria is the search criteria for a type: <Type>?<filter>, the type's
// own filter where TypeFilters has one. HAPI refuses a bare type (HAPI-0014
// wants "{Resource Type}?[params]").
func (c Config) criteria(typ string) string { return typ + "?" + c.filter(typ) }

func (c Config) filter(typ string) string {
	if f, ok := c.TypeFilters[typ]; ok {
		return f
	}
	return c.Filter
}

// header is the channel header that carries the secret.
func (c Config) header() string { return "Authorization: Bearer " + c.Secret }

// desired is the Subscription the instance wants for a type.
func (c Config) desired(typ string) subscription {
	s := subscription{
		ResourceType: "Subscription",
		Meta: meta{Tag: []coding{
			{System: c.tagSystem(), Code: c.Instance},
			{System: c.tagSystem(), Code: c.slotCode(typ)},
		}},
		Status: statusRequested,
		Reason: fmt.Sprintf("utilreview (instance %s): review the patients whose %s resources change", c.Instance, typ),
		Channel: channel{
			Type:     "rest-hook",
			Endpoint: c.endpoint(),
			Payload:  PayloadMIMEType,
			Header:   []string{c.header()},
		},
	}
	switch c.Mode {
	case ModeTopic:
		s.Meta.Profile = []string{BackportProfile}
		s.Criteria = c.TopicURL(typ)
		// Always a filter, "<Type>?" when there is none: HAPI refuses a
		// topic Subscription without one (HAPI-0011).
		s.CriteriaExt = &element{Extension: []extension{{URL: BackportFilterCriteria, ValueString: c.criteria(typ)}}}
		s.Channel.PayloadExt = &element{Extension: []extension{{URL: BackportPayloadContent, ValueCode: "full-resource"}}}
	default:
		s.Criteria = c.criteria(typ)
		yes := true
		s.Channel.Extension = []extension{{URL: SendDeleteExtension, ValueBoolean: &yes}}
	}
	return s
}

// shape is what makes a Subscription deliver the right notifications to the
// right place; two Subscriptions of equal shape are interchangeable.
type shape struct {
	Backport       bool
	Criteria       string
	Filter         string
	ChannelType    string
	Endpoint       string
	Payload        string
	PayloadContent string
	Headers        string
	SendDeletes    bool
}

func (s subscription) shape() shape {
	sh := shape{
		Backport:    slices.Contains(s.Meta.Profile, BackportProfile),
		Criteria:    s.Criteria,
		ChannelType: s.Channel.Type,
		Endpoint:    s.Channel.Endpoint,
		Payload:     s.Channel.Payload,
	}
	if e := s.CriteriaExt.extension(BackportFilterCriteria); e != nil {
		sh.Filter = e.ValueString
	}
	if e := s.Channel.PayloadExt.extension(BackportPayloadContent); e != nil {
		sh.PayloadContent = e.ValueCode
	}
	if e := findExtension(s.Channel.Extension, SendDeleteExtension); e != nil && e.ValueBoolean != nil {
		sh.SendDeletes = *e.ValueBoolean
	}
	headers := slices.Clone(s.Channel.Header)
	slices.Sort(headers)
	sh.Headers = strings.Join(headers, "\n")
	return sh
}

// drift names the ways have differs from want: the fields that differ, and
// "status" when the server gave up on it (off, error or anything but
// requested and active). The names never carry values: the headers hold the
// secret.
func drift(have, want subscription) []string {
	var d []string
	if have.Status != statusRequested && have.Status != statusActive {
		d = append(d, "status")
	}
	h, w := have.shape(), want.shape()
	for _, f := range []struct {
		name string
		same bool
	}{
		{"profile", h.Backport == w.Backport},
		{"criteria", h.Criteria == w.Criteria},
		{"filter-criteria", h.Filter == w.Filter},
		{"channel.type", h.ChannelType == w.ChannelType},
		{"endpoint", h.Endpoint == w.Endpoint},
		{"payload", h.Payload == w.Payload},
		{"payload-content", h.PayloadContent == w.PayloadContent},
		{"header", h.Headers == w.Headers},
		{"send-delete", h.SendDeletes == w.SendDeletes},
	} {
		if !f.same {
			d = append(d, f.name)
		}
	}
	return d
}

// hasTag reports whether the Subscription carries the tag.
func (s subscription) hasTag(system, code string) bool {
	return slices.ContainsFunc(s.Meta.Tag, func(c coding) bool { return c.System == system && c.Code == code })
}

// slot is the type whose slot tag the Subscription carries, or "" when it
// carries none (or more than one).
func (c Config) slot(s subscription) string {
	prefix := c.Instance + ":"
	var typ string
	n := 0
	for _, t := range s.Meta.Tag {
		if t.System == c.tagSystem() && strings.HasPrefix(t.Code, prefix) {
			typ = strings.TrimPrefix(t.Code, prefix)
			n++
		}
	}
	if n != 1 {
		return ""
	}
	return typ
}

func decodeSubscription(data []byte) (subscription, error) {
	var s subscription
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("decode Subscription: %w", err)
	}
	if s.ResourceType != "Subscription" {
		return s, fmt.Errorf("decode Subscription: got resourceType %q", s.ResourceType)
	}
	return s, nil
}
