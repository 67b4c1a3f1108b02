package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FHIRContentType is the media type the client sends and accepts.
const FHIRContentType = "application/fhir+json"

// FHIR is a small JSON client for the shared FHIR server, for tests: every call fails the test on a transport
// error and returns the response whatever its status, so the test asserts the status itself.
type FHIR struct {
	Base string
	HTTP *http.Client
	t    testing.TB
}

// NewFHIR returns a client for the shared FHIR server (see FHIRURL).
func NewFHIR(t testing.TB) *FHIR {
	t.Helper()
	return &FHIR{Base: FHIRURL(t), HTTP: &http.Client{Timeout: 120 * time.Second}, t: t}
}

// Response is a read-in HTTP response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Decode unmarshals the body into v, failing the test when it is not JSON.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode response (status %d): %v; body starts %.300s", r.Status, err, r.Body)
	}
}

// Resource decodes the body as a generic resource.
func (r *Response) Resource(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.Decode(t, &m)
	return m
}

// Do sends a request. path is relative to the base URL ("Patient?name=x") or absolute (a paging link). body may
// be nil, []byte, string or anything json.Marshal takes.
func (c *FHIR) Do(method, path string, body any, header http.Header) *Response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			c.t.Fatalf("%s %s: marshal body: %v", method, path, err)
		}
		rd = bytes.NewReader(data)
	}
	target := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		target = c.Base + "/" + strings.TrimLeft(path, "/")
	}
	req, err := http.NewRequestWithContext(context.Background(), method, target, rd)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	req.Header.Set("Accept", FHIRContentType)
	if rd != nil {
		req.Header.Set("Content-Type", FHIRContentType)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// Get reads a resource or runs a search.
func (c *FHIR) Get(path string) *Response { c.t.Helper(); return c.Do(http.MethodGet, path, nil, nil) }

// Post creates a resource (or posts a Bundle to the base with path "").
func (c *FHIR) Post(path string, body any, header http.Header) *Response {
	c.t.Helper()
	return c.Do(http.MethodPost, path, body, header)
}

// Put updates a resource.
func (c *FHIR) Put(path string, body any) *Response {
	c.t.Helper()
	return c.Do(http.MethodPut, path, body, nil)
}

// Delete deletes a resource.
func (c *FHIR) Delete(path string) *Response {
	c.t.Helper()
	return c.Do(http.MethodDelete, path, nil, nil)
}

// MustStatus fails the test unless the response has one of the statuses.
func (r *Response) MustStatus(t testing.TB, want ...int) *Response {
	t.Helper()
	for _, w := range want {
		if r.Status == w {
			return r
		}
	}
	t.Fatalf("got status %d, want %v; body starts %.800s", r.Status, want, r.Body)
	return r
}

// Transaction posts a transaction (or batch) Bundle to the base and requires 200.
func (c *FHIR) Transaction(bundle any) *Response {
	c.t.Helper()
	return c.Post("", bundle, nil).MustStatus(c.t, http.StatusOK)
}

// Create posts a resource and returns its server id. The resource must have a resourceType.
func (c *FHIR) Create(resource map[string]any) string {
	c.t.Helper()
	rt, _ := resource["resourceType"].(string)
	r := c.Post(rt, resource, nil).MustStatus(c.t, http.StatusCreated)
	return r.Resource(c.t)["id"].(string)
}

// Bundle is the part of a searchset Bundle tests need.
type Bundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Total        *int   `json:"total"`
	Link         []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []struct {
		FullURL  string          `json:"fullUrl"`
		Resource json.RawMessage `json:"resource"`
		Search   *struct {
			Mode string `json:"mode"`
		} `json:"search"`
		Response *struct {
			Status   string `json:"status"`
			Location string `json:"location"`
		} `json:"response"`
	} `json:"entry"`
}

// Next is the bundle's next-page link, or "".
func (b *Bundle) Next() string {
	for _, l := range b.Link {
		if l.Relation == "next" {
			return l.URL
		}
	}
	return ""
}

// SearchAll runs a search and follows its next links until the last page (at most maxPages), returning every
// entry's resource and the number of pages read.
func (c *FHIR) SearchAll(query string, maxPages int) (resources []json.RawMessage, pages int) {
	c.t.Helper()
	next := query
	for next != "" {
		if pages == maxPages {
			c.t.Fatalf("search %s: more than %d pages", query, maxPages)
		}
		var b Bundle
		c.Get(next).MustStatus(c.t, http.StatusOK).Decode(c.t, &b)
		pages++
		for _, e := range b.Entry {
			if e.Search == nil || e.Search.Mode != "include" {
				resources = append(resources, e.Resource)
			}
		}
		next = b.Next()
	}
	return resources, pages
}

// Query builds "Type?k=v&..." with the values escaped; pairs are name, value, name, value, ...
func Query(resourceType string, pairs ...string) string {
	if len(pairs)%2 != 0 {
		panic("harness.Query: odd number of arguments")
	}
	v := url.Values{}
	for i := 0; i < len(pairs); i += 2 {
		v.Add(pairs[i], pairs[i+1])
	}
	return fmt.Sprintf("%s?%s", resourceType, v.Encode())
}
