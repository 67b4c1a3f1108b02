package subscriptions

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
)

// masked is what stands for the secret in error and log text.
const masked = "[secret]"

// masker replaces the secret, in every form it may take in a message (as
// written, JSON-escaped, URL-escaped), by masked. The FHIR server's error
// text can quote the resource it refused, channel header included.
type masker struct{ forms []string }

func newMasker(secret string) masker {
	if secret == "" {
		return masker{}
	}
	forms := []string{secret}
	add := func(f string) {
		for _, have := range forms {
			if have == f {
				return
			}
		}
		forms = append(forms, f)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(secret)
	add(strings.Trim(strings.TrimSpace(b.String()), `"`))
	if j, err := json.Marshal(secret); err == nil {
		add(strings.Trim(string(j), `"`))
	}
	add(url.QueryEscape(secret))
	add(url.PathEscape(secret))
	return masker{forms: forms}
}

func (m masker) mask(s string) string {
	for _, f := range m.forms {
		s = strings.ReplaceAll(s, f, masked)
	}
	return s
}

// err wraps err so that its text has the secret masked; errors.Is and As still
// see the cause.
func (m masker) err(err error) error {
	if err == nil || len(m.forms) == 0 {
		return err
	}
	return &maskedError{cause: err, text: m.mask(err.Error())}
}

type maskedError struct {
	cause error
	text  string
}

func (e *maskedError) Error() string { return e.text }
func (e *maskedError) Unwrap() error { return e.cause }
