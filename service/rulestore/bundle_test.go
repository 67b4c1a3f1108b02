package rulestore

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tarOf builds a tar archive of files (name → content; a name ending in "/"
// is a directory), gzip-compressed when gz.
func tarOf(t testing.TB, gz bool, names []string, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	var zw *gzip.Writer
	var tw *tar.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		tw = tar.NewWriter(zw)
	} else {
		tw = tar.NewWriter(&buf)
	}
	for _, name := range names {
		if strings.HasSuffix(name, "/") {
			if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		c := files[name]
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(c))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestReadTar(t *testing.T) {
	t.Parallel()
	files := map[string]string{"a.yaml": "a", "tables/t.csv": "t", "./b.yaml": "b", "rules/a.yaml": "a", "rules/tables/t.csv": "t",
		"../x.yaml": "x", "/etc/x.yaml": "x", ".hidden/x": "h", "..data/a.yaml": "a"}
	tests := []struct {
		name    string
		members []string
		want    []string // file names, or nil for an error
		errText string
	}{
		{"flat", []string{"a.yaml", "tables/", "tables/t.csv"}, []string{"a.yaml", "tables/t.csv"}, ""},
		{"tar -C dir . (leading ./)", []string{"./b.yaml"}, []string{"b.yaml"}, ""},
		{"tar dir/ (one top directory)", []string{"rules/", "rules/a.yaml", "rules/tables/t.csv"}, []string{"a.yaml", "tables/t.csv"}, ""},
		{"a tables directory alone is kept", []string{"tables/t.csv"}, []string{"tables/t.csv"}, ""},
		{"hidden files (a ConfigMap's ..data) skipped", []string{"a.yaml", ".hidden/x", "..data/a.yaml"}, []string{"a.yaml"}, ""},
		{"parent directory refused", []string{"../x.yaml"}, nil, "not a relative path"},
		{"absolute name refused", []string{"/etc/x.yaml"}, nil, "not a relative path"},
		{"empty archive", []string{"tables/"}, nil, "no files"},
	}
	for _, tt := range tests {
		for _, gz := range []bool{false, true} {
			b, err := ReadTar(bytes.NewReader(tarOf(t, gz, tt.members, files)), 1<<20)
			if tt.want == nil {
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Errorf("%s (gzip %v): got %v, want an error with %q", tt.name, gz, err, tt.errText)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s (gzip %v): %v", tt.name, gz, err)
				continue
			}
			if got := b.names(); !slices.Equal(got, tt.want) {
				t.Errorf("%s (gzip %v): files %v, want %v", tt.name, gz, got, tt.want)
			}
		}
	}
	if _, err := ReadTar(strings.NewReader("not a tar at all, but long enough to be read as a header block?"), 1<<20); err == nil {
		t.Error("garbage read as a tar")
	}
	big := map[string]string{"a.yaml": strings.Repeat("x", 2000)}
	if _, err := ReadTar(bytes.NewReader(tarOf(t, true, []string{"a.yaml"}, big)), 1000); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("over the cap: %v", err)
	}
}

// A rule directory as a ConfigMap mounts it: files are symbolic links into
// a hidden ..data directory. The bundle holds the files once, by their
// names.
func TestReadDirConfigMapLayout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "..2026_12_06")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "a.yaml"), []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..2026_12_06", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..data/a.yaml", filepath.Join(dir, "a.yaml")); err != nil {
		t.Fatal(err)
	}
	b, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.names(); !slices.Equal(got, []string{"a.yaml"}) || string(b["a.yaml"]) != "a" {
		t.Errorf("bundle %v, want a.yaml only", got)
	}
	// A ConfigMap volume with items placing keys under tables/: the
	// directory is a link into ..data too.
	if err := os.MkdirAll(filepath.Join(data, "tables"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "tables", "ms_drg.csv"), []byte("drg"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..data/tables", filepath.Join(dir, "tables")); err != nil {
		t.Fatal(err)
	}
	b, err = ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.names(); !slices.Equal(got, []string{"a.yaml", "tables/ms_drg.csv"}) || string(b["tables/ms_drg.csv"]) != "drg" {
		t.Errorf("bundle %v, want a.yaml and tables/ms_drg.csv", got)
	}
	// A link cycle ends with an error, not a hang.
	if err := os.Symlink(".", filepath.Join(data, "tables", "loop")); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadDir(dir); err == nil || !strings.Contains(err.Error(), "symbolic links") {
		t.Errorf("a link cycle: %v, want an error naming the links", err)
	}
	if _, err := ReadDir(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing directory: %v", err)
	}
}
