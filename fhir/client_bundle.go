package fhir

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Entry is one Bundle.entry of an answer.
type Entry struct {
	FullURL  string
	Resource json.RawMessage // nil when the entry has none (a delete in a history, a batch failure)
	// Mode is search.mode: match | include | outcome; "" outside a searchset.
	Mode     string
	Request  *EntryRequest  // entry.request, in a history Bundle
	Response *EntryResponse // entry.response, in a batch-, transaction-response or history Bundle
}

// EntryRequest is entry.request.
type EntryRequest struct {
	Method, URL string
}

// EntryResponse is entry.response.
type EntryResponse struct {
	Status       int // the code of entry.response.status ("201 Created" -> 201), 0 when unreadable
	Location     string
	Etag         string
	LastModified string
	Outcome      *OperationOutcome // nil when there is none
}

type bundleJSON struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Link         []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []entryJSON `json:"entry"`
}

type entryJSON struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
	Search   *struct {
		Mode string `json:"mode"`
	} `json:"search"`
	Request *struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	} `json:"request"`
	Response *struct {
		Status       string       `json:"status"`
		Location     string       `json:"location"`
		Etag         string       `json:"etag"`
		LastModified string       `json:"lastModified"`
		Outcome      *outcomeJSON `json:"outcome"`
	} `json:"response"`
}

func (ej *entryJSON) entry() Entry {
	e := Entry{FullURL: ej.FullURL, Resource: ej.Resource}
	if bytes.Equal(bytes.TrimSpace(e.Resource), []byte("null")) {
		e.Resource = nil
	}
	if ej.Search != nil {
		e.Mode = ej.Search.Mode
	}
	if ej.Request != nil {
		e.Request = &EntryRequest{Method: ej.Request.Method, URL: ej.Request.URL}
	}
	if r := ej.Response; r != nil {
		e.Response = &EntryResponse{Location: r.Location, Etag: r.Etag, LastModified: r.LastModified}
		code, _, _ := strings.Cut(strings.TrimSpace(r.Status), " ")
		if n, err := strconv.Atoi(code); err == nil && n >= 100 && n <= 999 {
			e.Response.Status = n
		}
		if r.Outcome != nil && r.Outcome.ResourceType == "OperationOutcome" {
			e.Response.Outcome = r.Outcome.outcome()
		}
	}
	return e
}

func (b *bundleJSON) next() string {
	for _, l := range b.Link {
		if l.Relation == "next" {
			return l.URL
		}
	}
	return ""
}

var errNotBundle = errors.New("the answer is not a FHIR Bundle")

func decodeBundle(body []byte, types ...string) (*bundleJSON, error) {
	var b bundleJSON
	if err := json.Unmarshal(body, &b); err != nil || b.ResourceType != "Bundle" {
		return nil, errNotBundle
	}
	for _, t := range types {
		if b.Type == t {
			return &b, nil
		}
	}
	return nil, fmt.Errorf("the answer is a Bundle of type %q, want %s", safeCode(b.Type), strings.Join(types, " or "))
}

// safeCode shows a code from the server only when it looks like one.
func safeCode(s string) string {
	if len(s) > 40 || strings.ContainsFunc(s, func(r rune) bool { return !(r == '-' || r >= 'a' && r <= 'z') }) {
		return "?"
	}
	return s
}

// Search runs GET typ?params and calls each for every entry of every page,
// following Bundle.link[next] while it stays under the base URL (a link
// elsewhere is refused: the token must not leave the server). Entries with
// search.mode match and include are passed (an entry without a mode counts
// as a match); outcome entries are not. An error from each stops the search
// and is returned as it is.
func (c *Client) Search(ctx context.Context, typ string, params url.Values, each func(e Entry) error) error {
	if !IsTypeName(typ) {
		return &Error{Op: "search", Method: http.MethodGet, Err: errors.New("invalid resource type")}
	}
	p := typ
	if len(params) > 0 {
		p += "?" + params.Encode()
	}
	cl := call{op: "search", method: http.MethodGet, path: p, idempotent: true}
	resp, err := c.send(ctx, cl)
	if err != nil {
		return err
	}
	return c.pages(ctx, resp.Body, typ, each)
}

// SearchPages goes on with a search whose first page is already in hand (a
// searchset or history Bundle, e.g. the resource of a batch-response entry):
// each is called for its entries, then for those of the pages its next links
// lead to, as in Search. In a history Bundle every entry is passed.
func (c *Client) SearchPages(ctx context.Context, page []byte, each func(e Entry) error) error {
	return c.pages(ctx, page, "", each)
}

func (c *Client) pages(ctx context.Context, page []byte, typ string, each func(Entry) error) error {
	seen := map[string]bool{}
	for n := 1; ; n++ {
		fail := func(err error) error {
			return &Error{Op: "search", Method: http.MethodGet, Path: typ, Err: fmt.Errorf("page %d: %w", n, err)}
		}
		b, err := decodeBundle(page, "searchset", "history")
		if err != nil {
			return fail(err)
		}
		for i := range b.Entry {
			e := b.Entry[i].entry()
			if b.Type == "searchset" {
				if e.Mode == "outcome" {
					continue
				}
				if e.Mode == "" {
					e.Mode = "match"
				}
			}
			if err := each(e); err != nil {
				return err
			}
		}
		next := b.next()
		if next == "" {
			return nil
		}
		if !c.underBase(next) {
			return fail(errors.New("next link is not under the base URL: refused"))
		}
		if seen[next] {
			return fail(errors.New("next link repeats an earlier page"))
		}
		seen[next] = true
		resp, err := c.send(ctx, call{op: "search", method: http.MethodGet, path: next, idempotent: true, shownPath: typ})
		if err != nil {
			return err
		}
		page = resp.Body
	}
}

// Batch posts a batch Bundle to the base and returns the response entries in
// order, each with Response set. A failed entry is reported in its
// Response.Status and Outcome, not as an error: the error is for the batch
// as a whole.
func (c *Client) Batch(ctx context.Context, bundle []byte) ([]Entry, error) {
	return c.bundle(ctx, "batch", bundle)
}

// Transaction posts a transaction Bundle to the base and returns the response
// entries in order, each with Response set. The server applies all of it or
// nothing: a failure is an *Error.
func (c *Client) Transaction(ctx context.Context, bundle []byte) ([]Entry, error) {
	return c.bundle(ctx, "transaction", bundle)
}

func (c *Client) bundle(ctx context.Context, typ string, bundle []byte) ([]Entry, error) {
	cl := call{op: typ, method: http.MethodPost, path: "", body: bundle, idempotent: true}
	resp, err := c.send(ctx, cl)
	if err != nil {
		return nil, err
	}
	b, err := decodeBundle(resp.Body, typ+"-response")
	if err != nil {
		return nil, cl.fail(0, resp.Status, nil, err)
	}
	entries := make([]Entry, len(b.Entry))
	for i := range b.Entry {
		entries[i] = b.Entry[i].entry()
		if entries[i].Response == nil {
			return nil, cl.fail(0, resp.Status, nil, fmt.Errorf("response entry %d has no response", i))
		}
	}
	return entries, nil
}
