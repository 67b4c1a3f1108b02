package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/utilreview/utilreview/service/queue"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/utilreview/utilreview/service/rulestore"
)

const rulesStoreUsage = `usage: utilreview rules publish [--publisher NAME] DIR
       utilreview rules list [--json]
       utilreview rules rollback VERSION

publish validates DIR as "rules validate" does and, when it is valid,
stores it in Redis as a new version (the SHA-256 of its files) and makes it
current: every serve replica switches to it. A bundle with any problem, or
one that changes a rule set's content under an id@version already stored,
is refused whole; the current version keeps serving.
list shows the stored versions, the current one first.
rollback makes a stored version (its hash, or at least 7 of its first
characters) current again.

Exit status 0 on success, 1 when the bundle is refused or Redis cannot be
reached, 2 on a usage error.

Flags (each also an environment variable):
  --redis-url URL      UTILREVIEW_REDIS_URL, as serve uses it (required)
  --redis-prefix P     UTILREVIEW_REDIS_PREFIX, as serve uses it (default {utilreview}:)
  --publisher NAME     UTILREVIEW_PUBLISHER (default user@host)
  --json               list: one JSON array instead of a table
`

// rulesStoreFlags are the flags publish, list and rollback share.
type rulesStoreFlags struct {
	redisURL, prefix, publisher *string
	json                        *bool
}

func newRulesStoreFlags(name string, getenv func(string) string, stderr io.Writer) (*flag.FlagSet, *rulesStoreFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	f := &rulesStoreFlags{
		redisURL:  fs.String("redis-url", getenv("UTILREVIEW_REDIS_URL"), "redis:// or rediss:// URL of the service's Redis"),
		prefix:    fs.String("redis-prefix", envOr(getenv, "UTILREVIEW_REDIS_PREFIX", queue.DefaultPrefix), "prefix of every Redis key"),
		publisher: fs.String("publisher", envOr(getenv, "UTILREVIEW_PUBLISHER", defaultPublisher()), "who publishes, recorded with the version"),
		json:      fs.Bool("json", false, "list as JSON"),
	}
	return fs, f
}

// defaultPublisher is the OS user at the host.
func defaultPublisher() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return name + "@" + host
}

// runRulesStore runs `rules publish|list|rollback`.
func runRulesStore(ctx context.Context, cmd string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, f := newRulesStoreFlags("rules "+cmd, getenv, stderr)
	pos, err := parseArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, rulesStoreUsage)
		return nil
	}
	want := map[string]int{"publish": 1, "list": 0, "rollback": 1}[cmd]
	if err != nil || len(pos) != want {
		fmt.Fprint(stderr, rulesStoreUsage)
		return &exitError{code: 2}
	}
	if *f.redisURL == "" {
		return &exitError{code: 2, msg: fmt.Sprintf("rules %s: UTILREVIEW_REDIS_URL (--redis-url) is required, e.g. redis://127.0.0.1:6379/0", cmd)}
	}
	opt, err := redis.ParseURL(*f.redisURL)
	if err != nil {
		return &exitError{code: 2, msg: fmt.Sprintf("rules %s: UTILREVIEW_REDIS_URL: want redis://[user:password@]host:port[/db] or rediss://", cmd)}
	}
	var bundle rulestore.Bundle
	if cmd == "publish" {
		// Read the directory before reaching for Redis: a wrong path is the
		// operator's first mistake to hear about.
		if bundle, err = rulestore.ReadDir(pos[0]); err != nil {
			return &exitError{code: 1, msg: "rules publish: " + err.Error()}
		}
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	store, err := rulestore.New(rdb, rulestore.Config{Prefix: *f.prefix})
	if err != nil {
		return &exitError{code: 1, msg: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("rules %s: cannot reach Redis at %s", cmd, maskRedisURL(*f.redisURL))}
	}
	switch cmd {
	case "publish":
		return rulesPublish(ctx, store, bundle, pos[0], *f.publisher, stdout, stderr)
	case "list":
		return rulesList(ctx, store, *f.json, stdout)
	default:
		return rulesRollback(ctx, store, pos[0], stdout)
	}
}

func rulesPublish(ctx context.Context, store *rulestore.Store, b rulestore.Bundle, dir, publisher string, stdout, stderr io.Writer) error {
	v, created, err := store.Publish(ctx, b, dir, publisher)
	var re *rulestore.RefusedError
	if errors.As(err, &re) {
		for _, p := range re.Problems {
			fmt.Fprintln(stderr, p)
		}
		what := "invalid"
		if re.Reason == rulestore.ReasonConflict {
			what = "conflicts with a stored version"
		}
		return &exitError{code: 1, msg: fmt.Sprintf("rules publish: %s %s: %d problem(s); nothing published, the current version keeps serving", dir, what, len(re.Problems))}
	}
	if err != nil {
		return &exitError{code: 1, msg: "rules publish: " + err.Error()}
	}
	if created {
		fmt.Fprintf(stdout, "published %s as version %s (current)\n", dir, v.Hash)
	} else {
		fmt.Fprintf(stdout, "%s is stored version %s (published by %s at %s); it is current again\n", dir, v.Hash, v.Publisher, v.Published.Format(time.RFC3339))
	}
	return nil
}

func rulesList(ctx context.Context, store *rulestore.Store, asJSON bool, stdout io.Writer) error {
	list, err := store.List(ctx)
	if err != nil {
		return &exitError{code: 1, msg: "rules list: " + err.Error()}
	}
	if asJSON {
		if list == nil {
			list = []rulestore.Version{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "no rules version stored yet (serve seeds one at its first start; or run rules publish DIR)")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CURRENT\tVERSION\tPUBLISHED\tPUBLISHER\tRULE SETS")
	for _, v := range list {
		cur := ""
		if v.Current {
			cur = "*"
		}
		var sets []string
		for _, rs := range v.Report.RuleSets {
			sets = append(sets, rs.Key)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", cur, v.Short(), v.Published.Format(time.RFC3339), v.Publisher, strings.Join(sets, " "))
	}
	return tw.Flush()
}

func rulesRollback(ctx context.Context, store *rulestore.Store, version string, stdout io.Writer) error {
	v, err := store.Rollback(ctx, version)
	if err != nil {
		return &exitError{code: 1, msg: "rules rollback: " + err.Error()}
	}
	fmt.Fprintf(stdout, "version %s (published by %s at %s) is current\n", v.Hash, v.Publisher, v.Published.Format(time.RFC3339))
	return nil
}
