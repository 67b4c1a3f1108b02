package fhir

import "time"

// Task is an R4 Task as utilreview writes it: a work item for a person.
type Task struct {
	ID             string
	Identifier     []Identifier
	BasedOn        []Reference
	Status         string // required: draft | requested | ... | completed
	BusinessStatus CodeableConcept
	Intent         string // required: order for utilreview's Tasks
	Priority       string // routine | urgent | asap | stat
	Code           CodeableConcept
	Description    string
	Focus          Reference
	For            Reference
	Encounter      Reference
	AuthoredOn     time.Time
	LastModified   time.Time
	Requester      Reference
	Owner          Reference
	ReasonCode     CodeableConcept
	// Restriction is Task.restriction.period: End is the deadline.
	Restriction Period
	Input       []TaskInput
}

// TaskInput is one Task.input: a typed value, exactly one value[x].
type TaskInput struct {
	Type  CodeableConcept
	Value Value
}

// writable: both parts are required (1..1), so an input missing either is
// left out rather than written invalid.
func (in TaskInput) writable() bool { return !in.Type.IsZero() && in.Value.Valid() }

// IsZero reports an input that cannot be written: it needs a type and a value.
func (in TaskInput) IsZero() bool { return !in.writable() }

// AppendJSON writes the input with its one value[x].
func (in TaskInput) AppendJSON(b []byte) []byte {
	e := openObject(b)
	e.concept("type", in.Type)
	in.Value.appendMember(&e, "value")
	return e.close()
}

// payloadContent is one CommunicationRequest.payload: its content[x] is a
// string or a reference (R4 also allows an Attachment, which utilreview
// never writes).
type payloadContent struct{ v Value }

func (p payloadContent) IsZero() bool {
	return !p.v.Valid() || (p.v.kind != StringKind && p.v.kind != ReferenceKind)
}

func (p payloadContent) AppendJSON(b []byte) []byte {
	e := openObject(b)
	p.v.appendMember(&e, "content")
	return e.close()
}

// AppendJSON appends the Task's JSON.
func (t *Task) AppendJSON(b []byte) []byte {
	o := openObject(b)
	o.str("resourceType", "Task")
	o.str("id", t.ID)
	o.identifiers("identifier", t.Identifier)
	o.refs("basedOn", t.BasedOn)
	o.str("status", t.Status)
	o.concept("businessStatus", t.BusinessStatus)
	o.str("intent", t.Intent)
	o.str("priority", t.Priority)
	o.concept("code", t.Code)
	o.str("description", t.Description)
	o.ref("focus", t.Focus)
	o.ref("for", t.For)
	o.ref("encounter", t.Encounter)
	o.dateTime("authoredOn", t.AuthoredOn)
	o.dateTime("lastModified", t.LastModified)
	o.ref("requester", t.Requester)
	o.ref("owner", t.Owner)
	o.concept("reasonCode", t.ReasonCode)
	if !t.Restriction.IsZero() {
		o.key("restriction")
		r := openObject(o.b)
		r.value("period", t.Restriction)
		o.b = r.close()
	}
	writeArray(&o, "input", t.Input)
	return o.close()
}

// MarshalJSON makes Task usable with encoding/json.
func (t *Task) MarshalJSON() ([]byte, error) { return t.AppendJSON(nil), nil }

// CommunicationRequest is an R4 CommunicationRequest as utilreview writes it:
// a message someone must send (to a payer, to the attending).
type CommunicationRequest struct {
	ID         string
	Identifier []Identifier
	BasedOn    []Reference
	Status     string // required: draft | active | on-hold | revoked | completed | entered-in-error | unknown
	Category   []CodeableConcept
	Priority   string
	Subject    Reference
	About      []Reference
	Encounter  Reference
	// Payload holds each payload's content[x]: a StringValue or a
	// ReferenceValue (the only content types utilreview writes); others are
	// left out.
	Payload            []Value
	OccurrenceDateTime time.Time
	AuthoredOn         time.Time
	Requester          Reference
	Recipient          []Reference
	Sender             Reference
	ReasonCode         []CodeableConcept
}

// AppendJSON appends the CommunicationRequest's JSON.
func (c *CommunicationRequest) AppendJSON(b []byte) []byte {
	o := openObject(b)
	o.str("resourceType", "CommunicationRequest")
	o.str("id", c.ID)
	o.identifiers("identifier", c.Identifier)
	o.refs("basedOn", c.BasedOn)
	o.str("status", c.Status)
	o.concepts("category", c.Category)
	o.str("priority", c.Priority)
	o.ref("subject", c.Subject)
	o.refs("about", c.About)
	o.ref("encounter", c.Encounter)
	payload := make([]payloadContent, len(c.Payload))
	for i, p := range c.Payload {
		payload[i] = payloadContent{p}
	}
	writeArray(&o, "payload", payload)
	o.dateTime("occurrenceDateTime", c.OccurrenceDateTime)
	o.dateTime("authoredOn", c.AuthoredOn)
	o.ref("requester", c.Requester)
	o.refs("recipient", c.Recipient)
	o.ref("sender", c.Sender)
	o.concepts("reasonCode", c.ReasonCode)
	return o.close()
}

// MarshalJSON makes CommunicationRequest usable with encoding/json.
func (c *CommunicationRequest) MarshalJSON() ([]byte, error) { return c.AppendJSON(nil), nil }

// CodeSystem is an R4 CodeSystem with a flat list of concepts.
type CodeSystem struct {
	ID            string
	URL           string
	Version       string
	Name          string // computer-friendly: [A-Z][A-Za-z0-9_]*
	Title         string
	Status        string // required: draft | active | retired | unknown
	Experimental  bool
	Publisher     string
	Description   string
	CaseSensitive bool
	Content       string // required: not-present | example | fragment | complete | supplement
	Concept       []CodeSystemConcept
}

// CodeSystemConcept is one code.
type CodeSystemConcept struct {
	Code       string
	Display    string
	Definition string
}

// AppendJSON appends the CodeSystem's JSON; concepts without a code are left
// out and count is the number written.
func (cs *CodeSystem) AppendJSON(b []byte) []byte {
	o := openObject(b)
	o.str("resourceType", "CodeSystem")
	o.str("id", cs.ID)
	o.str("url", cs.URL)
	o.str("version", cs.Version)
	o.str("name", cs.Name)
	o.str("title", cs.Title)
	o.str("status", cs.Status)
	o.boolean("experimental", cs.Experimental)
	o.str("publisher", cs.Publisher)
	o.str("description", cs.Description)
	o.boolean("caseSensitive", cs.CaseSensitive)
	o.str("content", cs.Content)
	count := 0
	for _, c := range cs.Concept {
		if c.Code != "" {
			count++
		}
	}
	if count > 0 {
		o.integer("count", count)
		o.key("concept")
		o.b = append(o.b, '[')
		n := 0
		for _, c := range cs.Concept {
			if c.Code == "" {
				continue
			}
			if n > 0 {
				o.b = append(o.b, ',')
			}
			e := openObject(o.b)
			e.str("code", c.Code)
			e.str("display", c.Display)
			e.str("definition", c.Definition)
			o.b = e.close()
			n++
		}
		o.b = append(o.b, ']')
	}
	return o.close()
}

// MarshalJSON makes CodeSystem usable with encoding/json.
func (cs *CodeSystem) MarshalJSON() ([]byte, error) { return cs.AppendJSON(nil), nil }

// BundleEntry is one entry of a Bundle utilreview writes.
type BundleEntry struct {
	FullURL  string
	Resource JSONAppender // nil for an entry without a resource (e.g. a DELETE)
	Request  BundleRequest
}

// BundleRequest is entry.request of a transaction or batch.
type BundleRequest struct {
	Method      string // GET | HEAD | POST | PUT | DELETE | PATCH
	URL         string
	IfNoneExist string // the query of a conditional create, e.g. "identifier=system|value"
	IfMatch     string // a version-aware update: the version the writer read (written as W/"<version>")
}

// BundleWriter appends a Bundle entry by entry, so that a large transaction
// is written without holding every resource in memory first.
type BundleWriter struct {
	o       object
	entries int
}

// NewBundleWriter starts a Bundle of the given type in b.
func NewBundleWriter(b []byte, bundleType string) *BundleWriter {
	w := &BundleWriter{o: openObject(b)}
	w.o.str("resourceType", "Bundle")
	w.o.str("type", bundleType)
	return w
}

// Add appends one entry.
func (w *BundleWriter) Add(e BundleEntry) {
	if w.entries == 0 {
		w.o.key("entry")
		w.o.b = append(w.o.b, '[')
	} else {
		w.o.b = append(w.o.b, ',')
	}
	w.entries++
	eo := openObject(w.o.b)
	eo.str("fullUrl", e.FullURL)
	if e.Resource != nil {
		eo.key("resource")
		eo.b = e.Resource.AppendJSON(eo.b)
	}
	if e.Request.Method != "" || e.Request.URL != "" {
		eo.key("request")
		ro := openObject(eo.b)
		ro.str("method", e.Request.Method)
		ro.str("url", e.Request.URL)
		ro.str("ifNoneExist", e.Request.IfNoneExist)
		if e.Request.IfMatch != "" {
			ro.str("ifMatch", `W/"`+e.Request.IfMatch+`"`)
		}
		eo.b = ro.close()
	}
	w.o.b = eo.close()
}

// Len is the number of entries added.
func (w *BundleWriter) Len() int { return w.entries }

// Take returns the bytes written so far and forgets them (the buffer is
// reused: they are valid until the next Add), so that a Bundle of any size
// can be written out entry by entry with the memory of one entry.
func (w *BundleWriter) Take() []byte {
	b := w.o.b
	w.o.b = w.o.b[:0]
	return b
}

// Finish closes the Bundle and returns the bytes (after Take, the rest of
// them); the writer must not be used after.
func (w *BundleWriter) Finish() []byte {
	if w.entries > 0 {
		w.o.b = append(w.o.b, ']')
	}
	return w.o.close()
}
