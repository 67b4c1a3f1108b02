package rulestore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/utilreview/utilreview/e2e/harness"
	"github.com/utilreview/utilreview/service/rules"
)

// testStore is a store on the shared Redis under a prefix unique to the
// test, with one hash tag as serve's default prefix has.
func testStore(t *testing.T) (*Store, *redis.Client, string) {
	t.Helper()
	rdb, prefix := harness.Redis(t)
	prefix += "{ur}:"
	s, err := New(rdb, Config{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return s, rdb, prefix
}

func defaults(t *testing.T) Bundle {
	t.Helper()
	b, err := Defaults()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edit returns a copy of b with old replaced by new in file.
func edit(t *testing.T, b Bundle, file, old, new string) Bundle {
	t.Helper()
	if !bytes.Contains(b[file], []byte(old)) {
		t.Fatalf("%s does not contain %q", file, old)
	}
	out := Bundle{}
	for k, v := range b {
		out[k] = v
	}
	out[file] = bytes.Replace(b[file], []byte(old), []byte(new), 1)
	return out
}

const acme = "commercial-acme.yaml"

// acmeV2 changes the Acme admission-notification window and gives the rule
// set a new version, as a payer's change would be published.
func acmeV2(t *testing.T, b Bundle) Bundle {
	b = edit(t, b, acme, "hours: 24", "hours: 12")
	return edit(t, b, acme, `version: "2025.1"`, `version: "2025.2"`)
}

func TestHashIsContentAddressed(t *testing.T) {
	t.Parallel()
	b := Bundle{"a.yaml": []byte("x"), "tables/t.csv": []byte("y")}
	same := Bundle{"tables/t.csv": []byte("y"), "a.yaml": []byte("x")}
	tests := []struct {
		name string
		b    Bundle
		want bool // same hash as b
	}{
		{"same files in another order", same, true},
		{"a changed byte", Bundle{"a.yaml": []byte("z"), "tables/t.csv": []byte("y")}, false},
		{"a renamed file", Bundle{"b.yaml": []byte("x"), "tables/t.csv": []byte("y")}, false},
		{"content moved across the name boundary", Bundle{"a.yamlx": []byte(""), "tables/t.csv": []byte("y")}, false},
	}
	for _, tt := range tests {
		if got := tt.b.Hash() == b.Hash(); got != tt.want {
			t.Errorf("%s: same hash %v, want %v", tt.name, got, tt.want)
		}
	}
	if len(b.Hash()) != 64 {
		t.Errorf("hash %q: want 64 hex digits of SHA-256", b.Hash())
	}
}

func TestPublishListRollback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, _ := testStore(t)
	sub := s.Subscribe(ctx)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the subscription's confirmation
		t.Fatal(err)
	}
	msgs := sub.Channel()

	if cur, err := s.Current(ctx); err != nil || cur != "" {
		t.Fatalf("empty store: current %q, %v", cur, err)
	}
	b1 := defaults(t)
	v1, created, err := s.Publish(ctx, b1, "", "alice@ws1")
	if err != nil || !created {
		t.Fatalf("publish defaults: created %v, %v", created, err)
	}
	if v1.Hash != b1.Hash() || !v1.Current || v1.Publisher != "alice@ws1" {
		t.Errorf("version %+v: want hash %s, current, publisher alice@ws1", v1, b1.Hash())
	}
	if !slices.ContainsFunc(v1.Report.RuleSets, func(r RuleSetInfo) bool { return r.Key == "example-acme-health@2025.1" && r.File == acme }) {
		t.Errorf("report rule sets %+v: want example-acme-health@2025.1 from %s", v1.Report.RuleSets, acme)
	}
	wantMsg(t, msgs, v1.Hash)

	time.Sleep(2 * time.Millisecond) // distinct publish times order the list
	b2 := acmeV2(t, b1)
	v2, created, err := s.Publish(ctx, b2, "", "bob@ws2")
	if err != nil || !created {
		t.Fatalf("publish v2: created %v, %v", created, err)
	}
	wantMsg(t, msgs, v2.Hash)
	if cur, _ := s.Current(ctx); cur != v2.Hash {
		t.Errorf("current %s, want the new version %s", Short(cur), v2.Short())
	}

	list, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := hashes(list); !slices.Equal(got, []string{v2.Hash, v1.Hash}) {
		t.Errorf("list %v: want v2 (current) then v1", got)
	}
	if !list[0].Current || list[1].Current || list[1].Publisher != "alice@ws1" || list[1].Published.IsZero() {
		t.Errorf("list %+v: want the current first, each with publisher and time", list)
	}

	// Rollback by a short version: v1 is current again and announced; the
	// list puts it first.
	rv, err := s.Rollback(ctx, v1.Hash[:10])
	if err != nil || rv.Hash != v1.Hash || !rv.Current {
		t.Fatalf("rollback: %+v, %v", rv, err)
	}
	wantMsg(t, msgs, v1.Hash)
	list, _ = s.List(ctx)
	if got := hashes(list); !slices.Equal(got, []string{v1.Hash, v2.Hash}) {
		t.Errorf("list after rollback %v: want v1 then v2", got)
	}
	for _, bad := range []struct {
		version string
		want    error
	}{{strings.Repeat("0", 64), ErrNotFound}, {"abc", nil}} {
		if _, err := s.Rollback(ctx, bad.version); err == nil || (bad.want != nil && !errors.Is(err, bad.want)) {
			t.Errorf("rollback %q: %v, want an error (%v)", bad.version, err, bad.want)
		}
	}

	// Publishing a stored bundle again makes it current; nothing new is stored.
	again, created, err := s.Publish(ctx, b2, "", "carol@ws3")
	if err != nil || created || again.Publisher != "bob@ws2" || !again.Current {
		t.Errorf("republish: %+v created %v %v: want the stored version, current, its first publisher", again, created, err)
	}
	if list, _ := s.List(ctx); len(list) != 2 {
		t.Errorf("%d versions after a republish, want 2", len(list))
	}

	// The files read back are the bundle.
	got, _, err := s.Load(ctx, v2.Hash)
	if err != nil || got.Hash() != b2.Hash() || !bytes.Equal(got[acme], b2[acme]) {
		t.Errorf("load: %v", err)
	}
}

func hashes(vs []Version) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Hash)
	}
	return out
}

func wantMsg(t *testing.T, msgs <-chan *redis.Message, hash string) {
	t.Helper()
	select {
	case m := <-msgs:
		if m.Payload != hash {
			t.Errorf("announced %s, want %s", Short(m.Payload), Short(hash))
		}
	case <-time.After(5 * time.Second):
		t.Errorf("no announcement of %s", Short(hash))
	}
}

// An invalid bundle is refused whole, with the messages `rules validate`
// prints for the same directory; the current version stays.
func TestPublishRefusesInvalidWhole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, _ := testStore(t)
	good := defaults(t)
	v1, _, err := s.Publish(ctx, good, "", "alice")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		b    Bundle
	}{
		{"a negative factor", edit(t, acmeV2(t, good), acme, "factor: 1.0", "factor: -1")},
		{"broken YAML in one of six files", edit(t, acmeV2(t, good), "medicaid-example.yaml", "id:", "id: [")},
		{"a table with a bad row", edit(t, acmeV2(t, good), "tables/hrrp_ami.csv", "\n", "\nnot,a,row,\"\n")},
		{"no rule sets", Bundle{"tables/x.csv": []byte("a\n")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeDir(t, tt.b)
			_, _, err := s.Publish(ctx, tt.b, dir, "mallory")
			var re *RefusedError
			if !errors.As(err, &re) || re.Reason != ReasonInvalid {
				t.Fatalf("got %v, want an invalid bundle refused", err)
			}
			var want []string
			for _, e := range rules.ValidateDir(dir) {
				want = append(want, e.Error())
			}
			if len(want) == 0 || !slices.Equal(re.Problems, want) {
				t.Errorf("problems\n  %s\nwant those of rules validate\n  %s", strings.Join(re.Problems, "\n  "), strings.Join(want, "\n  "))
			}
			if cur, _ := s.Current(ctx); cur != v1.Hash {
				t.Errorf("current %s after a refused publish, want %s", Short(cur), v1.Short())
			}
		})
	}
	if list, _ := s.List(ctx); len(list) != 1 {
		t.Errorf("%d versions stored, want only the valid one", len(list))
	}
}

func writeDir(t *testing.T, b Bundle) string {
	t.Helper()
	dir := t.TempDir()
	for name, c := range b {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, c, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// The version in Task evidence (id@version) must name one content: a
// bundle that changes a stored rule set under the same id@version is
// refused; an unchanged rule set may appear in many versions.
func TestPublishRefusesChangedContentUnderSameVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, _ := testStore(t)
	good := defaults(t)
	v1, _, err := s.Publish(ctx, good, "", "alice")
	if err != nil {
		t.Fatal(err)
	}
	changed := edit(t, good, acme, "hours: 24", "hours: 12") // still 2025.1
	_, _, err = s.Publish(ctx, changed, "rules", "mallory")
	var re *RefusedError
	if !errors.As(err, &re) || re.Reason != ReasonConflict {
		t.Fatalf("got %v, want a conflict", err)
	}
	if len(re.Problems) != 1 || !strings.HasPrefix(re.Problems[0], "rules/commercial-acme.yaml: rule set example-acme-health@2025.1:") {
		t.Errorf("problems %q: want one naming the file and example-acme-health@2025.1", re.Problems)
	}
	if cur, _ := s.Current(ctx); cur != v1.Hash {
		t.Errorf("current changed to %s by a refused publish", Short(cur))
	}
	// A new version of the changed rule set, with the others unchanged, is fine.
	if _, created, err := s.Publish(ctx, acmeV2(t, good), "", "alice"); err != nil || !created {
		t.Errorf("publish with a new version: created %v, %v", created, err)
	}
	// A comment-only change to another rule set is still a content change.
	if _, _, err := s.Publish(ctx, edit(t, acmeV2(t, good), "medicare-ffs.yaml", "\n", "\n# a comment\n"), "", "alice"); !errors.As(err, &re) || re.Reason != ReasonConflict {
		t.Errorf("comment change under the same version: %v, want a conflict", err)
	}
	// So is a changed table under the rule sets that name it: a corrected
	// norm (heart failure p75 6 -> 7 days) changes what example-medicaid
	// 2025.1 decides, and only that rule set names the table.
	norms := "tables/medicaid_los_norms_illustrative.csv"
	table := edit(t, acmeV2(t, good), norms, "ms-drg,291,4,6,8,", "ms-drg,291,4,7,8,")
	_, _, err = s.Publish(ctx, table, "rules", "alice")
	if !errors.As(err, &re) || re.Reason != ReasonConflict {
		t.Fatalf("changed table under the same version: %v, want a conflict", err)
	}
	if len(re.Problems) != 1 || !strings.HasPrefix(re.Problems[0], "rules/medicaid-example.yaml: rule set example-medicaid@2025.1:") || !strings.Contains(re.Problems[0], "a table it names") {
		t.Errorf("problems %q: want one naming medicaid-example.yaml, example-medicaid@2025.1 and its tables", re.Problems)
	}
	// With the rule set's version raised, the corrected table is published.
	bumped := edit(t, table, "medicaid-example.yaml", `version: "2025.1"`, `version: "2025.2"`)
	if _, created, err := s.Publish(ctx, bumped, "", "alice"); err != nil || !created {
		t.Errorf("publish of the corrected table under a new version: created %v, %v", created, err)
	}
}

// A rule set's content digest covers the tables it names, as read, and
// nothing else: a rule set without tables digests as its file alone.
func TestContentDigestCoversTables(t *testing.T) {
	t.Parallel()
	b := defaults(t)
	_, rep, err := validate(b, "")
	if err != nil {
		t.Fatal(err)
	}
	digests := map[string]string{}
	for _, rs := range rep.RuleSets {
		digests[rs.File] = rs.Digest
	}
	changed := edit(t, b, "tables/mue_synthetic_example.csv", "every value below is invented", "every value below is made up")
	_, rep2, err := validate(changed, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range rep2.RuleSets {
		moved := digests[rs.File] != rs.Digest
		if want := rs.File == "commercial-capital.yaml"; moved != want {
			t.Errorf("%s: digest moved %v after the MUE table changed, want %v (only commercial-capital names it)", rs.File, moved, want)
		}
	}
	file := sha256.Sum256([]byte("id: x"))
	if got := contentDigest([]byte("id: x"), nil); got != hex.EncodeToString(file[:]) {
		t.Errorf("no tables: digest %s, want the file's SHA-256", got)
	}
	if contentDigest([]byte("x"), map[string]string{"a.csv": "1", "b.csv": "2"}) == contentDigest([]byte("x"), map[string]string{"a.csv": "2", "b.csv": "1"}) {
		t.Error("tables' sums swapped between names: same digest")
	}
}

func TestSeed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, _ := testStore(t)
	b := defaults(t)
	v, seeded, err := s.Seed(ctx, b, "", "seed")
	if err != nil || !seeded || v.Hash != b.Hash() {
		t.Fatalf("first seed: %+v seeded %v %v", v, seeded, err)
	}
	// Once Redis holds a version, a replica's other directory (even an
	// invalid one) is not stored: Redis's current version wins.
	other := acmeV2(t, b)
	for _, seedB := range []Bundle{other, {"x.yaml": []byte("id: [")}} {
		got, seeded, err := s.Seed(ctx, seedB, "", "seed2")
		if err != nil || seeded || got.Hash != b.Hash() {
			t.Errorf("second seed: %s seeded %v %v, want the first version kept", got.Short(), seeded, err)
		}
	}
	if list, _ := s.List(ctx); len(list) != 1 {
		t.Errorf("%d versions after seeding twice, want 1", len(list))
	}
}

// Many replicas seed at once: exactly one version is stored.
func TestSeedRace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, _ := testStore(t)
	b := defaults(t)
	other := acmeV2(t, b)
	errs := make(chan error, 6)
	seeded := make(chan bool, 6)
	for i := range 6 {
		go func() {
			bb := b
			if i%2 == 1 {
				bb = other
			}
			_, ok, err := s.Seed(ctx, bb, "", "replica")
			errs <- err
			seeded <- ok
		}()
	}
	n := 0
	for range 6 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
		if <-seeded {
			n++
		}
	}
	if list, _ := s.List(ctx); n != 1 || len(list) != 1 {
		t.Errorf("%d seeds won, %d versions stored; want 1 and 1", n, len(list))
	}
}

// Every key carries the prefix's one hash tag, so all live in one Redis
// Cluster slot (the WATCH transaction needs that).
func TestKeysShareOneHashTag(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, rdb, prefix := testStore(t)
	v, _, err := s.Publish(ctx, defaults(t), "", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimRollout(ctx, v.Hash, "me", time.Minute); err != nil {
		t.Fatal(err)
	}
	keys, err := rdb.Keys(ctx, strings.ReplaceAll(prefix, "{", `\{`)+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 5 {
		t.Fatalf("keys %q: want current, versions, meta, files, ids, rollout", keys)
	}
	for _, k := range append(keys, s.Channel()) {
		if tag := hashTag(k); tag != "ur" {
			t.Errorf("key %q has hash tag %q, want the prefix's %q", k, tag, "ur")
		}
	}
}

// hashTag is the part of a key Redis Cluster hashes: between the first "{"
// and the next "}", when not empty.
func hashTag(key string) string {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(key[i+1:], '}')
	if j <= 0 {
		return ""
	}
	return key[i+1 : i+1+j]
}

// One replica re-reviews the worklist each time a version is made
// current: a second claim of the same event fails, a later rollback to the
// version is a new event.
func TestClaimRolloutOncePerVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, _ := testStore(t)
	v1, _, err := s.Publish(ctx, defaults(t), "", "alice")
	if err != nil {
		t.Fatal(err)
	}
	claim := func(hash, owner string) bool {
		t.Helper()
		r, err := s.ClaimRollout(ctx, hash, owner, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return r != nil
	}
	if !claim(v1.Hash, "a") {
		t.Fatal("first claim refused")
	}
	if claim(v1.Hash, "b") {
		t.Error("a second replica claimed the same version")
	}
	v2, _, err := s.Publish(ctx, acmeV2(t, defaults(t)), "", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !claim(v2.Hash, "b") {
		t.Error("another version could not be claimed")
	}
	if _, err := s.Rollback(ctx, v1.Hash); err != nil {
		t.Fatal(err)
	}
	if !claim(v1.Hash, "b") {
		t.Error("a rollback to v1 could not be claimed: the worklist would not follow it")
	}
	if claim(v1.Hash, "a") {
		t.Error("the rollback was claimed twice")
	}
}

// The claim is a lease: renewed it holds; a holder that stops renewing (it
// died) loses it to another replica, whose takeover the first cannot
// renew or finish; a released claim is free at once; a done one is never
// claimed again.
func TestRolloutLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _, _ := testStore(t)
	v1, _, err := s.Publish(ctx, defaults(t), "", "alice")
	if err != nil {
		t.Fatal(err)
	}
	const lease = 300 * time.Millisecond
	a, err := s.ClaimRollout(ctx, v1.Hash, "a", lease)
	if err != nil || a == nil {
		t.Fatalf("claim: %v %v", a, err)
	}
	for range 4 { // held across several leases while renewed
		time.Sleep(lease / 2)
		if ok, err := a.Renew(ctx); !ok || err != nil {
			t.Fatalf("renew: %v %v", ok, err)
		}
		if b, _ := s.ClaimRollout(ctx, v1.Hash, "b", lease); b != nil {
			t.Fatal("a renewed claim was taken over")
		}
	}
	time.Sleep(2 * lease) // a stops renewing: it died
	b, err := s.ClaimRollout(ctx, v1.Hash, "b", lease)
	if err != nil || b == nil {
		t.Fatalf("takeover after the lease: %v %v", b, err)
	}
	if ok, _ := a.Renew(ctx); ok {
		t.Error("the dead holder renewed the claim another replica took over")
	}
	if ok, _ := a.DoneWith(ctx, nil); ok {
		t.Error("the dead holder finished the claim another replica took over")
	}
	if ok, err := b.Release(ctx); !ok || err != nil {
		t.Fatalf("release: %v %v", ok, err)
	}
	c, err := s.ClaimRollout(ctx, v1.Hash, "c", lease)
	if err != nil || c == nil {
		t.Fatalf("claim after a release: %v %v", c, err)
	}
	if ok, err := c.DoneWith(ctx, nil); !ok || err != nil {
		t.Fatalf("done: %v %v", ok, err)
	}
	time.Sleep(2 * lease)
	if d, _ := s.ClaimRollout(ctx, v1.Hash, "d", lease); d != nil {
		t.Error("a done re-review was claimed again")
	}
}

// DoneWith writes the schedule and the done marker in one transaction: a
// holder that lost its claim writes neither (the replica that took over
// schedules instead), and the holder's own schedule is written once.
func TestRolloutDoneWithWritesOnlyWhileHeld(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, rdb, prefix := testStore(t)
	v1, _, err := s.Publish(ctx, defaults(t), "", "alice")
	if err != nil {
		t.Fatal(err)
	}
	schedule := prefix + "schedule"
	write := func(owner string) func(redis.Pipeliner) error {
		return func(p redis.Pipeliner) error {
			p.RPush(ctx, schedule, owner)
			return nil
		}
	}
	const lease = 200 * time.Millisecond
	a, err := s.ClaimRollout(ctx, v1.Hash, "a", lease)
	if err != nil || a == nil {
		t.Fatalf("claim: %v %v", a, err)
	}
	time.Sleep(2 * lease) // a died before it scheduled
	b, err := s.ClaimRollout(ctx, v1.Hash, "b", time.Minute)
	if err != nil || b == nil {
		t.Fatalf("takeover: %v %v", b, err)
	}
	if ok, err := a.DoneWith(ctx, write("a")); ok || err != nil {
		t.Errorf("the dead holder's DoneWith: %v %v, want false", ok, err)
	}
	if ok, err := b.DoneWith(ctx, func(redis.Pipeliner) error { return errors.New("cannot encode") }); ok || err == nil {
		t.Errorf("DoneWith whose write fails: %v %v, want an error", ok, err)
	}
	if ok, err := b.DoneWith(ctx, write("b")); !ok || err != nil {
		t.Fatalf("DoneWith: %v %v", ok, err)
	}
	if ok, _ := b.DoneWith(ctx, write("b")); ok { // the marker says done, not b
		t.Error("a done rollout was scheduled a second time")
	}
	if got := rdb.LRange(ctx, schedule, 0, -1).Val(); len(got) != 1 || got[0] != "b" {
		t.Errorf("schedules written %v, want b's once", got)
	}
	if c, _ := s.ClaimRollout(ctx, v1.Hash, "c", lease); c != nil {
		t.Error("a done re-review was claimed again")
	}
}
