package main

// The container image (issue 10): the Dockerfile's form (base images pinned
// by tag and digest, the Go of go.mod, the build through `make build`, a
// numeric non-root USER on a distroless runtime), the Makefile's build target,
// and the binary `make build` makes: static, -trimpath, and stamped with the
// version and commit it was given (`utilreview version`). No registry is
// reachable, so a digest is checked for its form only.

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const repoRoot = "../.."

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd, args string
}

// stage is one FROM and what follows it.
type stage struct {
	image, name string
	body        []instruction
}

func parseDockerfile(text string) []stage {
	var stages []stage
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := instruction{strings.ToUpper(cmd), strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			f = slices.DeleteFunc(f, func(s string) bool { return strings.HasPrefix(s, "--") })
			st := stage{}
			if len(f) > 0 {
				st.image = f[0]
			}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			return
		}
		if len(stages) > 0 {
			stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
		}
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		if s, ok := strings.CutSuffix(l, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(l)
		flush()
	}
	flush()
	return stages
}

var pinnedImage = regexp.MustCompile(`^([^@\s:]+(?:/[^@\s:]+)*):([^@\s:/]+)@sha256:[0-9a-f]{64}$`)

// checkDockerfile lists what the Dockerfile lacks; goVersion is go.mod's.
func checkDockerfile(text, goVersion string) []string {
	var p problems
	stages := parseDockerfile(text)
	if len(stages) < 2 {
		p.add("Dockerfile: want a multi-stage build, found %d stage(s)", len(stages))
		return p
	}
	for i, st := range stages {
		if st.image == "scratch" && i == len(stages)-1 {
			continue
		}
		if !pinnedImage.MatchString(st.image) {
			p.add("Dockerfile: FROM %s: want name:tag@sha256:<64 hex> (the tag for the reader, the digest for the pull)", st.image)
		}
	}
	build, run := stages[0], stages[len(stages)-1]
	if m := pinnedImage.FindStringSubmatch(build.image); m != nil {
		if !strings.HasSuffix(m[1], "golang") || (m[2] != goVersion && !strings.HasPrefix(m[2], goVersion+"-")) {
			p.add("Dockerfile: builder %s: want golang:%s (go.mod's Go)", build.image, goVersion)
		}
	}
	args := map[string]bool{}
	makeBuild := false
	for _, in := range build.body {
		switch in.cmd {
		case "ARG":
			name, _, _ := strings.Cut(in.args, "=")
			args[name] = true
		case "RUN":
			if regexp.MustCompile(`\bgo\s+build\b`).MatchString(in.args) {
				p.add("Dockerfile: RUN %s: build through `make build`, not go build, so the image and CI cannot drift", in.args)
			}
			if regexp.MustCompile(`\bmake\s+(.*\s)?build\b`).MatchString(in.args) {
				makeBuild = true
				for _, v := range []string{"VERSION", "COMMIT"} {
					if !args[v] || !strings.Contains(in.args, v+`="${`+v+`}"`) {
						p.add("Dockerfile: the build does not pass %s from a build argument (.git is not in the context)", v)
					}
				}
			}
		}
	}
	if !makeBuild {
		p.add("Dockerfile: the build stage does not run `make build`")
	}
	if !strings.HasPrefix(run.image, "gcr.io/distroless/static") && run.image != "scratch" {
		p.add("Dockerfile: runtime %s: want gcr.io/distroless/static…:nonroot or scratch", run.image)
	}
	user, copied, entry := "", false, false
	for _, in := range run.body {
		switch in.cmd {
		case "USER":
			user = in.args
		case "COPY":
			copied = copied || strings.Contains(in.args, "--from=")
		case "ENTRYPOINT":
			entry = true
		}
	}
	if user != "65532:65532" {
		p.add("Dockerfile: runtime USER %q: want 65532:65532, numeric (the kubelet cannot verify runAsNonRoot for a name)", user)
	}
	if !copied || !entry {
		p.add("Dockerfile: the runtime stage must copy the binary from the build stage and name it ENTRYPOINT")
	}
	return p
}

// checkMakefile: the build target is the static, stamped build.
func checkMakefile(text string) []string {
	var p problems
	i := strings.Index(text, "\nbuild:")
	if i < 0 {
		p.add("Makefile: no build target")
		return p
	}
	recipe := ""
	for _, l := range strings.Split(text[i+1:], "\n")[1:] {
		if !strings.HasPrefix(l, "\t") {
			break
		}
		recipe += l + "\n"
	}
	for _, want := range []string{"CGO_ENABLED=0", "go build", "-trimpath", "-X main.version=$(VERSION)", "-X main.commit=$(COMMIT)", "./cmd/utilreview"} {
		if !strings.Contains(recipe, want) {
			p.add("Makefile: the build recipe lacks %q", want)
		}
	}
	return p
}

func checkDockerignore(text string) []string {
	var p problems
	lines := strings.Fields(text)
	for _, want := range []string{".git", ".cache"} {
		if !slices.Contains(lines, want) && !slices.Contains(lines, "/"+want) {
			p.add(".dockerignore: %s is not excluded", want)
		}
	}
	return p
}

func goModVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("go.mod: no go directive")
	}
	return string(m[1])
}

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDockerfile(t *testing.T) {
	goVersion := goModVersion(t)
	docker, mk, ignore := readRepoFile(t, "Dockerfile"), readRepoFile(t, "Makefile"), readRepoFile(t, ".dockerignore")
	for _, pr := range slices.Concat(checkDockerfile(docker, goVersion), checkMakefile(mk), checkDockerignore(ignore)) {
		t.Error(pr)
	}

	// Each check can fail: one thing broken at a time.
	replace := func(s, old, new string) string {
		if !strings.Contains(s, old) {
			t.Fatalf("%q is not there to break", old)
		}
		return strings.Replace(s, old, new, 1)
	}
	digest := regexp.MustCompile(`@sha256:[0-9a-f]{64}`)
	builderFrom := regexp.MustCompile(`(?m)^FROM golang:\S+`).FindString(docker)
	runtimeFrom := regexp.MustCompile(`(?m)^FROM gcr\.io/\S+`).FindString(docker)
	for _, tc := range []struct {
		name, file, text, want string
	}{
		{"builder by tag only", "Dockerfile", replace(docker, builderFrom, digest.ReplaceAllString(builderFrom, "")), "FROM golang"},
		{"runtime by tag only", "Dockerfile", replace(docker, runtimeFrom, digest.ReplaceAllString(runtimeFrom, "")), "FROM gcr.io"},
		{"short digest", "Dockerfile", replace(docker, runtimeFrom, runtimeFrom[:len(runtimeFrom)-1]), "FROM gcr.io"},
		{"another Go", "Dockerfile", replace(docker, builderFrom, strings.Replace(builderFrom, "golang:"+goVersion, "golang:1.25.0", 1)), "go.mod's Go"},
		{"named user", "Dockerfile", replace(docker, "USER 65532:65532", "USER nonroot:nonroot"), "USER"},
		{"user without group", "Dockerfile", replace(docker, "USER 65532:65532", "USER 65532"), "USER"},
		{"no user", "Dockerfile", replace(docker, "USER 65532:65532", ""), "USER"},
		{"go build in the Dockerfile", "Dockerfile", replace(docker, "RUN make build", "RUN CGO_ENABLED=0 go build -o /out/utilreview ./cmd/utilreview && make build"), "not go build"},
		{"no make build", "Dockerfile", replace(docker, "RUN make build", "RUN make all"), "does not run `make build`"},
		{"commit not passed", "Dockerfile", replace(docker, `COMMIT="${COMMIT}"`, ""), "COMMIT from a build argument"},
		{"a shell runtime", "Dockerfile", replace(docker, runtimeFrom, "FROM debian:bookworm-slim@sha256:"+strings.Repeat("a", 64)), "distroless"},
		{"cgo on", "Makefile", replace(mk, "CGO_ENABLED=0 go build", "go build"), "CGO_ENABLED=0"},
		{"no trimpath", "Makefile", replace(mk, "go build -trimpath", "go build"), "-trimpath"},
		{"commit not stamped", "Makefile", replace(mk, " -X main.commit=$(COMMIT)", ""), "main.commit"},
		{".git in the context", ".dockerignore", replace(ignore, "\n.git\n", "\n"), ".git is not excluded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			switch tc.file {
			case "Dockerfile":
				got = checkDockerfile(tc.text, goVersion)
			case "Makefile":
				got = checkMakefile(tc.text)
			default:
				got = checkDockerignore(tc.text)
			}
			if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, tc.want) }) {
				t.Errorf("not caught: want a problem containing %q, got %q", tc.want, got)
			}
		})
	}
}

// TestMakeBuildDefaults: without VERSION and COMMIT, `make build` stamps
// what git says in a checkout, and "dev" and "unknown" where there is no .git
// (the Docker build context). Dry runs (make -n): nothing is built.
func TestMakeBuildDefaults(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		skipOrFail(t, "make is not installed")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Makefile"), []byte(readRepoFile(t, "Makefile")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("make", "-n", "-C", dir, "build").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n build without .git: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("-X main.version=dev -X main.commit=unknown")) {
		t.Errorf("without .git, want version dev and commit unknown:\n%s", out)
	}
	if _, err := exec.LookPath("git"); err != nil {
		return
	}
	root, _ := filepath.Abs(repoRoot)
	head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	out, err = exec.Command("make", "-n", "-C", root, "build").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n build: %v\n%s", err, out)
	}
	if want := "-X main.commit=" + strings.TrimSpace(string(head)); !bytes.Contains(out, []byte(want)) {
		t.Errorf("in the checkout, want %q:\n%s", want, out)
	}
}

// TestMakeBuildStampsVersion builds the binary as the Dockerfile does and
// checks what it carries. About 90 s with a cold build cache (-trimpath
// compiles every package anew), 2 s warm: not under -short.
func TestMakeBuildStampsVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary with make build (-short)")
	}
	if _, err := exec.LookPath("make"); err != nil {
		skipOrFail(t, "make is not installed")
	}
	root, _ := filepath.Abs(repoRoot)
	bin := filepath.Join(t.TempDir(), "utilreview")
	const ver, commit = "v9.8.7-k8s-test", "0123456789abcdef0123456789abcdef01234567"
	out, err := exec.Command("make", "-C", root, "build", "VERSION="+ver, "COMMIT="+commit, "BIN="+bin).CombinedOutput()
	if err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	got, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("utilreview version: %v", err)
	}
	if want := fmt.Sprintf("utilreview %s (commit %s)\n", ver, commit); string(got) != want {
		t.Errorf("utilreview version printed %q, want %q", got, want)
	}
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
		t.Errorf("build settings CGO_ENABLED=%q -trimpath=%q, want 0 and true", settings["CGO_ENABLED"], settings["-trimpath"])
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Error("the binary names a dynamic loader (PT_INTERP): not static, it would not start on distroless static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v", libs)
	}
}

// skipOrFail skips a test that needs a tool, or fails it in CI (CI=true),
// where the tool must be there.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}
