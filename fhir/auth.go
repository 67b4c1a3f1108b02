package fhir

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"
)

// TokenSource gives the bearer access token for a request to the FHIR
// server. The Client asks for one before every attempt, so a source must
// cache: BearerTokenFile and NewSMARTTokenSource do.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// TokenInvalidator is implemented by a TokenSource that can drop a token the
// server refused. After a 401 the Client calls Invalidate with the token it
// sent, then asks for a fresh one and tries once more. A source drops its
// token only when it is still that one, so that concurrent 401s do not throw
// away a token fetched in between.
type TokenInvalidator interface {
	Invalidate(token string)
}

// BearerTokenFile is a static bearer token read from a file (surrounding
// space trimmed). The file is read again whenever its modification time or
// size changes, and after the server refused its token, so a rotated token is
// picked up without a restart. Errors name the file, never its content.
func BearerTokenFile(path string) TokenSource {
	return &tokenFile{path: path}
}

type tokenFile struct {
	path string

	mu      sync.Mutex
	token   string
	modTime time.Time
	size    int64
	stale   bool
}

// maxTokenFileBytes bounds what is read: a token is a few kilobytes at most.
const maxTokenFileBytes = 64 << 10

func (f *tokenFile) Token(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fi, err := os.Stat(f.path)
	if err != nil {
		return "", f.fail(err)
	}
	if f.token != "" && !f.stale && fi.ModTime().Equal(f.modTime) && fi.Size() == f.size {
		return f.token, nil
	}
	if fi.Size() > maxTokenFileBytes {
		return "", f.fail(fmt.Errorf("larger than %d bytes", maxTokenFileBytes))
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		return "", f.fail(err)
	}
	tok := strings.TrimSpace(string(data))
	switch {
	case tok == "":
		return "", f.fail(errors.New("is empty"))
	case strings.ContainsFunc(tok, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return "", f.fail(errors.New("holds more than one token (space or control character inside)"))
	}
	f.token, f.modTime, f.size, f.stale = tok, fi.ModTime(), fi.Size(), false
	return tok, nil
}

func (f *tokenFile) Invalidate(token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if token == f.token {
		f.stale = true
	}
}

func (f *tokenFile) fail(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("bearer token file %s: %w", f.path, err)
}
