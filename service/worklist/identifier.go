package worklist

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"io"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/checks"
)

// Identifiers are what make writes idempotent: the same finding (check,
// focus, episode) gets the same identifier in every run, in the offline
// command and in the live service, and a conditional create on it never
// makes a second Task. The value is readable (the check id first) and
// unique (a hash of check, focus key and episode).

// hashHexLen is how much of the SHA-256 the value keeps: 96 bits, so that
// collisions stay negligible across hundreds of millions of findings.
const hashHexLen = 24

// maxSlug bounds the readable prefix; the hash carries uniqueness.
const maxSlug = 64

// Resource kinds hashed into the identifier, so that a finding's Task and
// CommunicationRequest never share one.
const (
	kindTask          = "task"
	kindCommunication = "communication-request"
)

// Identifier is the Task identifier of a finding.
func (w *Writer) Identifier(f *checks.Finding) fhir.Identifier {
	return fhir.Identifier{System: w.cfg.IdentifierSystem, Value: identifierValue(kindTask, f)}
}

// CommunicationIdentifier is the CommunicationRequest identifier of a finding.
func (w *Writer) CommunicationIdentifier(f *checks.Finding) fhir.Identifier {
	return fhir.Identifier{System: w.cfg.IdentifierSystem, Value: identifierValue(kindCommunication, f)}
}

// focusKey is the focus's stable key: its business identifier or "Type/id",
// as the facts give it; the reference when the key is missing.
func focusKey(f *checks.Finding) string {
	if f.FocusKey != "" {
		return f.FocusKey
	}
	return f.FocusRef
}

// identifierValue is "<check>-<hash>" for a Task and "<check>-cr-<hash>"
// for a CommunicationRequest. Fields are separated by NUL in the hash input,
// which no field contains, so distinct (check, focus, episode) never hash the
// same input.
func identifierValue(kind string, f *checks.Finding) string {
	key := focusKey(f)
	var stack [256]byte
	in := stack[:0]
	in = append(in, kind...)
	in = append(in, 0)
	in = append(in, f.Check...)
	in = append(in, 0)
	in = append(in, key...)
	in = append(in, 0)
	in = append(in, f.Episode...)
	sum := sha256.Sum256(in)

	out := make([]byte, 0, maxSlug+4+hashHexLen)
	out = appendSlug(out, f.Check)
	if kind == kindCommunication {
		out = append(out, "-cr"...)
	}
	out = append(out, '-')
	out = hex.AppendEncode(out, sum[:hashHexLen/2])
	return string(out)
}

// appendSlug keeps the check id readable and safe in a search token:
// lowercase letters, digits, '-' and '.'; anything else (the ':' of
// "custom:<id>", spaces) becomes '-'.
func appendSlug(b []byte, check string) []byte {
	n := 0
	for i := 0; i < len(check) && n < maxSlug; i++ {
		c := check[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.':
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		default:
			c = '-'
		}
		b = append(b, c)
		n++
	}
	if n == 0 {
		b = append(b, "finding"...)
	}
	return b
}

// uuidNamespaceURL is RFC 9562's namespace for URLs (6ba7b811-...).
const uuidNamespaceURL = "\x6b\xa7\xb8\x11\x9d\xad\x11\xd1\x80\xb4\x00\xc0\x4f\xd4\x30\xc8"

// fullURL is a deterministic "urn:uuid:" for a Bundle entry: a version 5
// (name-based, SHA-1) UUID of the identifier token or canonical url, so the
// same Bundle is written byte for byte on every run.
func fullURL(name string) string {
	h := sha1.New()
	io.WriteString(h, uuidNamespaceURL)
	io.WriteString(h, name)
	var sum [sha1.Size]byte
	u := h.Sum(sum[:0])
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	var buf [45]byte
	out := append(buf[:0], "urn:uuid:"...)
	for i, c := range u[:16] {
		switch i {
		case 4, 6, 8, 10:
			out = append(out, '-')
		}
		out = append(out, hexDigit(c>>4), hexDigit(c&0xf))
	}
	return string(out)
}

func hexDigit(c byte) byte {
	if c < 10 {
		return '0' + c
	}
	return 'a' + c - 10
}
