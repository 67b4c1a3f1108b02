// Package rulestore keeps payer rule bundles in Redis: every bundle (the
// files of a rule directory, as `--rules DIR` holds them) is one immutable,
// content-addressed version with its publisher, time and validation report;
// one key names the current version, and a pub/sub message tells every
// replica when it changes. Cache holds the current version compiled in
// process.
package rulestore

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"testing/fstest"

	"github.com/utilreview/utilreview/service/rules"
)

// Bundle is a rule directory's files: slash-separated path relative to the
// directory ("medicare-ffs.yaml", "tables/hrrp_ami.csv") → content.
type Bundle map[string][]byte

// MaxBundleBytes caps a bundle's total size: the shipped defaults are about
// 150 KB; a bundle is stored in Redis whole, once per version.
const MaxBundleBytes = 16 << 20

// Hash is the bundle's version: the SHA-256 of its sorted file names and
// contents (each length-prefixed, so no two bundles share an encoding), hex.
func (b Bundle) Hash() string {
	h := sha256.New()
	for _, name := range b.names() {
		fmt.Fprintf(h, "%d:%s\x00%d:", len(name), name, len(b[name]))
		h.Write(b[name])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (b Bundle) names() []string {
	names := make([]string, 0, len(b))
	for n := range b {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (b Bundle) size() int {
	n := 0
	for _, c := range b {
		n += len(c)
	}
	return n
}

// FS is the bundle as a file system, for rules.LoadBundle.
func (b Bundle) FS() fs.FS {
	m := fstest.MapFS{}
	for name, content := range b {
		m[name] = &fstest.MapFile{Data: content, Mode: 0o444}
	}
	return m
}

// ReadDir reads a rule directory into a bundle: every regular file under it
// (symbolic links followed, as a Kubernetes ConfigMap mount holds them),
// except hidden ones (".git", a ConfigMap's "..data").
func ReadDir(dir string) (Bundle, error) {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("rule directory %s: does not exist", dir)
	case err != nil:
		return nil, fmt.Errorf("rule directory %s: %w", dir, err)
	case !st.IsDir():
		return nil, fmt.Errorf("rule directory %s: not a directory", dir)
	}
	b, err := FromFS(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("rule directory %s: %w", dir, err)
	}
	return b, nil
}

// FromFS reads every regular, non-hidden file of fsys into a bundle. A
// symbolic link to a file or a directory is followed (a Kubernetes
// ConfigMap volume links each key, and a `tables/` path its items give,
// into a hidden `..data` directory), at most maxLinkDepth links deep, so a
// link cycle ends.
func FromFS(fsys fs.FS) (Bundle, error) {
	b := Bundle{}
	total := 0
	if err := walkBundle(fsys, ".", 0, b, &total); err != nil {
		return nil, err
	}
	return b, nil
}

// maxLinkDepth bounds the symbolic links to directories followed in a row.
const maxLinkDepth = 4

func walkBundle(fsys fs.FS, root string, depth int, b Bundle, total *int) error {
	return fs.WalkDir(fsys, root, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			// A symbolic link: keep it when it leads to a regular file,
			// walk it when it leads to a directory.
			st, err := fs.Stat(fsys, name)
			switch {
			case err != nil:
				return nil
			case st.IsDir() && name != root:
				if depth >= maxLinkDepth {
					return fmt.Errorf("%s: more than %d symbolic links to directories in a row", name, maxLinkDepth)
				}
				return walkBundle(fsys, name, depth+1, b, total)
			case !st.Mode().IsRegular():
				return nil
			}
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		if *total += len(data); *total > MaxBundleBytes {
			return fmt.Errorf("larger than %d bytes", MaxBundleBytes)
		}
		b[name] = data
		return nil
	})
}

// Defaults is the embedded rule directory as a bundle.
func Defaults() (Bundle, error) {
	return FromFS(rules.DefaultsFS())
}

// ReadTar reads a tar archive of a rule directory, gzip-compressed or not
// (recognised by its magic bytes), into a bundle of at most limit bytes of
// content. Names are taken relative to the directory: a leading "./" is
// dropped, and so is a single top-level directory that holds everything
// (`tar czf rules.tgz rules/`). Only regular files are kept; absolute names
// and names with ".." are refused.
func ReadTar(r io.Reader, limit int64) (Bundle, error) {
	br := bufio.NewReader(r)
	var in io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("not a gzip stream: %w", err)
		}
		defer zr.Close()
		in = zr
	}
	tr := tar.NewReader(in)
	b := Bundle{}
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not a tar archive: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		name := strings.TrimPrefix(h.Name, "./")
		if name == "" || strings.HasPrefix(name, "/") || !fs.ValidPath(name) {
			return nil, fmt.Errorf("archive member %q: not a relative path inside the directory", h.Name)
		}
		if hidden(name) {
			continue
		}
		if total += h.Size; total > limit {
			return nil, fmt.Errorf("the files are larger than %d bytes", limit)
		}
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, io.LimitReader(tr, h.Size)); err != nil {
			return nil, fmt.Errorf("archive member %q: %w", h.Name, err)
		}
		b[name] = buf.Bytes()
	}
	if len(b) == 0 {
		return nil, errors.New("the archive holds no files")
	}
	return stripTop(b), nil
}

func hidden(name string) bool {
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") {
			return true
		}
	}
	return false
}

// stripTop drops a top-level directory every file is under.
func stripTop(b Bundle) Bundle {
	top := ""
	for name := range b {
		dir, _, ok := strings.Cut(name, "/")
		if !ok || (top != "" && dir != top) || dir == "tables" {
			return b
		}
		top = dir
	}
	out := Bundle{}
	for name, c := range b {
		out[strings.TrimPrefix(name, top+"/")] = c
	}
	return out
}

// Report is the validation report stored with a version.
type Report struct {
	// RuleSets are the rule sets the bundle defines, "id@version" with the
	// file and the effective period.
	RuleSets []RuleSetInfo `json:"rule_sets"`
	// Files are the bundle's files.
	Files []string `json:"files"`
	// Problems are the validation messages (none in a stored version).
	Problems []string `json:"problems"`
}

// RuleSetInfo names one rule set of a bundle.
type RuleSetInfo struct {
	Key       string `json:"key"`
	File      string `json:"file"`
	Effective string `json:"effective"`
	// Digest is the content its id@version names, in every version that
	// holds it: the rule set's file and the tables it names (contentDigest).
	Digest string `json:"digest"`
}

// contentDigest is the SHA-256 (hex) of a rule set's file followed, for
// each table it names in name order, by NUL, "tables/<name>", NUL and the
// table's SHA-256: a corrected MS-DRG or code list table under an unchanged
// id@version changes it as surely as an edited threshold. A rule set that
// names no table digests as its file alone.
func contentDigest(file []byte, tables map[string]string) string {
	h := sha256.New()
	h.Write(file)
	for _, name := range slices.Sorted(maps.Keys(tables)) {
		fmt.Fprintf(h, "\x00tables/%s\x00%s", name, tables[name])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// validate loads the bundle as `rules validate` would load its directory
// (label names it in the messages) and reports its rule sets, or the
// problems as RefusedError.
func validate(b Bundle, label string) (*rules.Registry, Report, error) {
	rep := Report{Files: b.names(), Problems: []string{}}
	if size := b.size(); size > MaxBundleBytes {
		return nil, rep, &RefusedError{Reason: ReasonInvalid, Problems: []string{fmt.Sprintf("the bundle is larger than %d bytes", MaxBundleBytes)}}
	}
	reg, err := rules.LoadBundle(b.FS(), label)
	if err != nil {
		var ve rules.ValidationErrors
		if !errors.As(err, &ve) {
			return nil, rep, err
		}
		for _, e := range ve {
			rep.Problems = append(rep.Problems, e.Error())
		}
		return nil, rep, &RefusedError{Reason: ReasonInvalid, Problems: rep.Problems}
	}
	prefix := ""
	if label != "" {
		prefix = path.Clean(label) + "/"
	}
	for _, rs := range reg.RuleSets() {
		file := strings.TrimPrefix(rs.File, prefix)
		rep.RuleSets = append(rep.RuleSets, RuleSetInfo{
			Key: rs.Key(), File: file, Effective: effective(rs.Effective), Digest: contentDigest(b[file], rs.TableSums()),
		})
	}
	return reg, rep, nil
}

func effective(p rules.Period) string {
	from, to := "", ""
	if !p.From.IsZero() {
		from = p.From.String()
	}
	if !p.To.IsZero() {
		to = p.To.String()
	}
	return from + ".." + to
}
