package payerapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/utilreview/utilreview/fhir"
	"github.com/utilreview/utilreview/service/payerauth"
)

// Bulk Data $export of the payer's determinations. A job and its NDJSON
// files live in Redis, never on local disk (the container's root filesystem
// is read-only), so any replica answers a job's status and serves its files,
// and a replica that dies mid-job leaves its cursor behind for another:
//
//	<prefix>payer:export:<id>          hash: the payer, the request, the state, the cursor (the
//	                                   FHIR server's paging link), counts, the expiry
//	<prefix>payer:export:<id>:file:<n> string: NDJSON, at most FileBytes
//	<prefix>payer:export:<id>:lease    the worker holding the job (SET NX PX, renewed)
//	<prefix>payer:exports              zset of the jobs still to run, polled by every replica
//	<prefix>payer:exports:active:<payer> set of a payer's jobs not yet finished
//
// Each page the worker reads is stored by one script that first checks the
// worker still holds the lease, so a worker that lost it (paused past the
// lease, then woke up) writes nothing. A job whose worker died is picked up
// when its lease expires and goes on from the stored cursor; if the FHIR
// server forgot the search (404/410 on the paging link), the job starts
// again from the beginning, its files emptied.

// Defaults of ExportConfig.
const (
	DefaultExportMaxBytes     = 64 << 20
	DefaultExportFileBytes    = 4 << 20
	DefaultExportTTL          = time.Hour
	DefaultExportPageSize     = 200
	DefaultExportLease        = 30 * time.Second
	DefaultExportPoll         = 2 * time.Second
	DefaultExportWorkers      = 2
	DefaultExportMaxPerPayer  = 2
	DefaultExportRetryAfter   = 2 * time.Second
	defaultExportMaxAttempts  = 5
	defaultExportMaxRestarts  = 3
	exportOutputType          = "ClaimResponse"
	bulkExportOperationDefURL = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"
)

// ExportConfig bounds and paces Bulk Data export. Zero values take the
// defaults.
type ExportConfig struct {
	// MaxBytes bounds one job's NDJSON in Redis (default 64 MiB): a larger
	// export fails with an OperationOutcome asking for a later _since.
	MaxBytes int64
	// FileBytes bounds one output file (default 4 MiB): a file is served
	// from memory.
	FileBytes int64
	// TTL is how long a job and its files are kept: after completion (the
	// files' Expires), and after the last progress while it runs (default 1 h).
	TTL time.Duration
	// PageSize is the _count of the searches a job runs (default 200).
	PageSize int
	// Lease is how long a worker holds a job without renewing (default 30 s):
	// the longest a job waits after its replica died.
	Lease time.Duration
	// Poll is how often each replica looks for jobs to run (default 2 s).
	Poll time.Duration
	// Workers is how many jobs a replica runs at once (default 2).
	Workers int
	// MaxPerPayer is how many unfinished jobs a payer may have (default 2);
	// a further kick-off is answered 429.
	MaxPerPayer int
	// RetryAfter is the polling interval a running job's status suggests.
	RetryAfter time.Duration
}

func (c *ExportConfig) defaults() error {
	if c.MaxBytes < 0 || c.FileBytes < 0 || c.TTL < 0 || c.PageSize < 0 || c.Lease < 0 || c.Poll < 0 || c.Workers < 0 || c.MaxPerPayer < 0 || c.RetryAfter < 0 {
		return errors.New("export limits must not be negative")
	}
	setDefault(&c.MaxBytes, DefaultExportMaxBytes)
	setDefault(&c.FileBytes, DefaultExportFileBytes)
	setDefault(&c.TTL, DefaultExportTTL)
	setDefault(&c.PageSize, DefaultExportPageSize)
	setDefault(&c.Lease, DefaultExportLease)
	setDefault(&c.Poll, DefaultExportPoll)
	setDefault(&c.Workers, DefaultExportWorkers)
	setDefault(&c.MaxPerPayer, DefaultExportMaxPerPayer)
	setDefault(&c.RetryAfter, DefaultExportRetryAfter)
	if c.FileBytes > c.MaxBytes {
		c.FileBytes = c.MaxBytes
	}
	if c.PageSize > 1000 {
		return errors.New("export page size above 1000")
	}
	return nil
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// ErrTooManyExports is a kick-off while the payer already has MaxPerPayer
// jobs unfinished (429).
var ErrTooManyExports = errors.New("too many exports in progress for this payer")

// Job states.
const (
	StateQueued   = "queued"
	StateRunning  = "running"
	StateComplete = "complete"
	StateFailed   = "failed"
)

// ExportRequest is a validated kick-off.
type ExportRequest struct {
	// Since is _since (zero: everything).
	Since time.Time
	// Request is the kick-off URL as the payer sent it (the manifest's request).
	Request string
}

// ParseExport checks a kick-off's parameters: _type (ClaimResponse only),
// _since (an instant), _outputFormat (NDJSON); anything else is refused.
func ParseExport(v url.Values) (ExportRequest, error) {
	var r ExportRequest
	for name, vals := range v {
		if len(vals) != 1 {
			return r, paramErr(safeName(name), "may be given once")
		}
		val := vals[0]
		switch name {
		case "_type":
			for _, t := range bytes.Split([]byte(val), []byte(",")) {
				if string(t) != exportOutputType {
					return r, paramErr(name, "only ClaimResponse is exported")
				}
			}
		case "_since":
			t, err := ParseSince(val)
			if err != nil {
				return r, err
			}
			r.Since = t
		case "_outputFormat":
			switch val {
			case "application/fhir+ndjson", "application/ndjson", "ndjson":
			default:
				return r, paramErr(name, "only application/fhir+ndjson is supported")
			}
		default:
			return r, paramErr(safeName(name), "not supported by this export (supported: _type, _since, _outputFormat)")
		}
	}
	return r, nil
}

func (a *API) jobKey(id string) string         { return a.cfg.RedisPrefix + "payer:export:" + id }
func (a *API) leaseKey(id string) string       { return a.jobKey(id) + ":lease" }
func (a *API) fileKey(id string, n int) string { return a.jobKey(id) + ":file:" + strconv.Itoa(n) }
func (a *API) queueKey() string                { return a.cfg.RedisPrefix + "payer:exports" }
func (a *API) activeKey(p payerauth.Identifier) string {
	return a.cfg.RedisPrefix + "payer:exports:active:" + hashPayer(p)
}

// StatusURL and FileURL are the job's URLs under the payer API.
func (a *API) StatusURL(id string) string { return a.base + "/$export-status/" + id }
func (a *API) FileURL(id string, n int) string {
	return a.base + "/$export-file/" + id + "/" + strconv.Itoa(n)
}

// Kickoff queues an export of the payer's determinations and returns the
// job id. Any replica's worker runs it (Run).
func (a *API) Kickoff(ctx context.Context, p payerauth.Principal, r ExportRequest) (string, error) {
	if p.Payer.Value == "" {
		return "", ErrNotFound
	}
	active, err := a.activeJobs(ctx, p.Payer)
	if err != nil {
		return "", err
	}
	if active >= a.cfg.Export.MaxPerPayer {
		return "", ErrTooManyExports
	}
	id := newToken()
	now := a.now().UTC()
	since := ""
	if !r.Since.IsZero() {
		since = r.Since.Format(time.RFC3339Nano)
	}
	fields := map[string]any{
		"payer_system": p.Payer.System, "payer_value": p.Payer.Value, "client": p.ClientID,
		"request": r.Request, "since": since, "state": StateQueued, "created": now.Format(time.RFC3339Nano),
		"written": 0, "files": 0, "bytes": 0, "file_bytes": 0, "attempts": 0, "restarts": 0,
	}
	pipe := a.rdb.TxPipeline()
	pipe.HSet(ctx, a.jobKey(id), fields)
	pipe.PExpire(ctx, a.jobKey(id), a.cfg.Export.TTL)
	pipe.ZAdd(ctx, a.queueKey(), redis.Z{Score: float64(now.UnixMilli()), Member: id})
	pipe.SAdd(ctx, a.activeKey(p.Payer), id)
	pipe.PExpire(ctx, a.activeKey(p.Payer), a.cfg.Export.TTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return "", fmt.Errorf("queue export: %w", err)
	}
	return id, nil
}

// activeJobs counts the payer's unfinished jobs, forgetting those expired.
func (a *API) activeJobs(ctx context.Context, payer payerauth.Identifier) (int, error) {
	ids, err := a.rdb.SMembers(ctx, a.activeKey(payer)).Result()
	if err != nil {
		return 0, fmt.Errorf("count exports: %w", err)
	}
	n := 0
	for _, id := range ids {
		state, err := a.rdb.HGet(ctx, a.jobKey(id), "state").Result()
		if errors.Is(err, redis.Nil) || state == StateComplete || state == StateFailed {
			a.rdb.SRem(ctx, a.activeKey(payer), id)
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("count exports: %w", err)
		}
		n++
	}
	return n, nil
}

// job is a job's hash, read.
type job struct {
	id                     string
	payer                  payerauth.Identifier
	client, request, since string
	state, next, errText   string
	tx, expires            time.Time
	written, files         int
	bytes, fileBytes       int64
	attempts, restarts     int
	counts                 map[int]int
}

func (a *API) loadJob(ctx context.Context, id string) (*job, error) {
	m, err := a.rdb.HGetAll(ctx, a.jobKey(id)).Result()
	if err != nil {
		return nil, fmt.Errorf("read export job: %w", err)
	}
	if len(m) == 0 {
		return nil, ErrNotFound
	}
	j := &job{id: id, payer: payerauth.Identifier{System: m["payer_system"], Value: m["payer_value"]},
		client: m["client"], request: m["request"], since: m["since"], state: m["state"], next: m["next"],
		errText: m["error"], counts: map[int]int{}}
	j.tx, _ = time.Parse(time.RFC3339Nano, m["tx"])
	j.expires, _ = time.Parse(time.RFC3339Nano, m["expires"])
	j.written, _ = strconv.Atoi(m["written"])
	j.files, _ = strconv.Atoi(m["files"])
	j.bytes, _ = strconv.ParseInt(m["bytes"], 10, 64)
	j.fileBytes, _ = strconv.ParseInt(m["file_bytes"], 10, 64)
	j.attempts, _ = strconv.Atoi(m["attempts"])
	j.restarts, _ = strconv.Atoi(m["restarts"])
	for n := 1; n <= j.files; n++ {
		j.counts[n], _ = strconv.Atoi(m["count"+strconv.Itoa(n)])
	}
	return j, nil
}

// clientsJob loads a job only when the client that kicked it off asks, for
// the same payer (a client's tokens change as they expire, its identity
// does not); else ErrNotFound, as for a job that does not exist.
func (a *API) clientsJob(ctx context.Context, p payerauth.Principal, id string) (*job, error) {
	if !pageTokenRE.MatchString(id) || p.Payer.Value == "" {
		return nil, ErrNotFound
	}
	j, err := a.loadJob(ctx, id)
	if err != nil {
		return nil, err
	}
	if j.payer != p.Payer || j.client != p.ClientID {
		return nil, ErrNotFound
	}
	return j, nil
}

// ExportStatus is what a status poll answers.
type ExportStatus struct {
	State string
	// Written is how many determinations the job has written so far.
	Written int
	// Manifest is the completion manifest (StateComplete only).
	Manifest json.RawMessage
	// Expires is when the job and its files are removed (StateComplete and
	// StateFailed).
	Expires time.Time
	// Error is why the job failed (StateFailed only); free of PHI.
	Error string
	// RetryAfter is the suggested polling interval.
	RetryAfter time.Duration
}

// Status answers a status poll of the client's job id.
func (a *API) Status(ctx context.Context, p payerauth.Principal, id string) (*ExportStatus, error) {
	j, err := a.clientsJob(ctx, p, id)
	if err != nil {
		return nil, err
	}
	st := &ExportStatus{State: j.state, Written: j.written, Expires: j.expires, Error: j.errText, RetryAfter: a.cfg.Export.RetryAfter}
	if j.state != StateComplete {
		return st, nil
	}
	type output struct {
		Type  string `json:"type"`
		URL   string `json:"url"`
		Count int    `json:"count"`
	}
	m := struct {
		TransactionTime     string   `json:"transactionTime"`
		Request             string   `json:"request"`
		RequiresAccessToken bool     `json:"requiresAccessToken"`
		Output              []output `json:"output"`
		Error               []output `json:"error"`
	}{TransactionTime: j.tx.UTC().Format(time.RFC3339Nano), Request: j.request, RequiresAccessToken: true,
		Output: []output{}, Error: []output{}}
	for n := 1; n <= j.files; n++ {
		if j.counts[n] > 0 {
			m.Output = append(m.Output, output{Type: exportOutputType, URL: a.FileURL(id, n), Count: j.counts[n]})
		}
	}
	st.Manifest, err = json.Marshal(m)
	return st, err
}

// Cancel deletes the client's job id and its files (a running worker stops
// at its next page: its writes check the job exists).
func (a *API) Cancel(ctx context.Context, p payerauth.Principal, id string) error {
	j, err := a.clientsJob(ctx, p, id)
	if err != nil {
		return err
	}
	return a.remove(ctx, j)
}

func (a *API) remove(ctx context.Context, j *job) error {
	keys := []string{a.jobKey(j.id), a.leaseKey(j.id)}
	for n := 1; n <= j.files+1; n++ { // +1: a file a page may be adding
		keys = append(keys, a.fileKey(j.id, n))
	}
	pipe := a.rdb.TxPipeline()
	pipe.Del(ctx, keys...)
	pipe.ZRem(ctx, a.queueKey(), j.id)
	pipe.SRem(ctx, a.activeKey(j.payer), j.id)
	_, err := pipe.Exec(ctx)
	return err
}

// File is one NDJSON output file of a complete job.
type File struct {
	Body    []byte
	Expires time.Time
	// IDs are the determinations in the file, for the audit log.
	IDs []string
}

// ExportFile returns file n of the client's complete job id.
func (a *API) ExportFile(ctx context.Context, p payerauth.Principal, id string, n int) (*File, error) {
	j, err := a.clientsJob(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if j.state != StateComplete || n < 1 || n > j.files {
		return nil, ErrNotFound
	}
	body, err := a.rdb.Get(ctx, a.fileKey(id, n)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read export file: %w", err)
	}
	f := &File{Body: body, Expires: j.expires}
	for line := range bytes.Lines(body) {
		var r struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(line, &r) == nil {
			f.IDs = append(f.IDs, r.ID)
		}
	}
	return f, nil
}

// Run runs export jobs until ctx ends: every Poll it looks for queued jobs
// and jobs whose worker's lease expired, and runs up to Workers at once.
func (a *API) Run(ctx context.Context) error {
	sem := make(chan struct{}, a.cfg.Export.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(a.cfg.Export.Poll)
	defer t.Stop()
	for {
		ids, err := a.rdb.ZRange(ctx, a.queueKey(), 0, 99).Result()
		if err != nil && ctx.Err() == nil {
			a.log.LogAttrs(ctx, slog.LevelWarn, "payer export: list jobs", slog.String("error", err.Error()))
		}
		for _, id := range ids {
			if len(sem) == cap(sem) {
				break
			}
			lease := newToken()
			ok, err := a.rdb.SetNX(ctx, a.leaseKey(id), lease, a.cfg.Export.Lease).Result()
			if err != nil || !ok {
				continue
			}
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				a.runJob(ctx, id, lease)
			}()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// renewLease extends the lease when it is still the worker's.
var renewLease = redis.NewScript(`
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0`)

// commitPage stores one page: KEYS[1] the lease, KEYS[2] the job, KEYS[3..]
// the files appended to; ARGV[1] the lease holder, ARGV[2] the TTL in ms,
// ARGV[3] how many files, then their data, then the job's field/value
// pairs. 0: the lease is lost; -1: the job is gone (cancelled, expired).
var commitPage = redis.NewScript(`
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('exists', KEYS[2]) == 0 then return -1 end
local n = tonumber(ARGV[3])
for i = 1, n do
  redis.call('append', KEYS[2 + i], ARGV[3 + i])
  redis.call('pexpire', KEYS[2 + i], ARGV[2])
end
local f = {}
for i = 4 + n, #ARGV do f[#f + 1] = ARGV[i] end
if #f > 0 then redis.call('hset', KEYS[2], unpack(f)) end
redis.call('pexpire', KEYS[2], ARGV[2])
return 1`)

// resetJob empties a job's files (the FHIR server forgot its search): KEYS
// as commitPage, the files to delete; ARGV[1] the lease holder, then the
// job's field/value pairs.
var resetJob = redis.NewScript(`
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('exists', KEYS[2]) == 0 then return -1 end
for i = 3, #KEYS do redis.call('del', KEYS[i]) end
local f = {}
for i = 2, #ARGV do f[#f + 1] = ARGV[i] end
redis.call('hdel', KEYS[2], 'next', 'tx')
if #f > 0 then redis.call('hset', KEYS[2], unpack(f)) end
return 1`)

var errLeaseLost = errors.New("export lease lost or job gone")

// runJob runs one job while the worker holds its lease.
func (a *API) runJob(parent context.Context, id, lease string) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(a.cfg.Export.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				n, err := renewLease.Run(ctx, a.rdb, []string{a.leaseKey(id)}, lease, a.cfg.Export.Lease.Milliseconds()).Int()
				if err == nil && n == 0 {
					cancel() // another worker has it: stop
					return
				}
			}
		}
	}()
	release := func() {
		// Give the lease back only when it is still ours.
		_, _ = redis.NewScript(`if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`).
			Run(context.WithoutCancel(ctx), a.rdb, []string{a.leaseKey(id)}, lease).Result()
	}
	defer release()

	for page := 1; ; page++ {
		j, err := a.loadJob(ctx, id)
		if errors.Is(err, ErrNotFound) {
			a.rdb.ZRem(context.WithoutCancel(ctx), a.queueKey(), id)
			return
		}
		if err != nil {
			return // Redis trouble: the job stays queued for the next poll
		}
		if j.state == StateComplete || j.state == StateFailed {
			a.rdb.ZRem(context.WithoutCancel(ctx), a.queueKey(), id)
			return
		}
		finished, err := a.step(ctx, j, lease)
		switch {
		case errors.Is(err, errLeaseLost) || ctx.Err() != nil:
			return
		case err != nil:
			a.log.LogAttrs(ctx, slog.LevelWarn, "payer export: a page failed", slog.String("job", id), slog.String("error", err.Error()))
			a.attemptFailed(ctx, j, lease)
			return
		}
		if finished {
			return
		}
		if a.testAfterPage != nil {
			a.testAfterPage(id, page)
		}
	}
}

// step reads the job's next page from the FHIR server and stores it; it
// reports whether the job is finished.
func (a *API) step(ctx context.Context, j *job, lease string) (bool, error) {
	path := j.next
	first := path == ""
	if first {
		q := a.payerFilter(j.payer)
		if j.since != "" {
			q.Set("_lastUpdated", "ge"+j.since)
		}
		q.Set("_count", strconv.Itoa(a.cfg.Export.PageSize))
		path = "ClaimResponse?" + q.Encode()
	}
	b, err := a.get(ctx, path)
	if err != nil {
		if !first && (fhir.IsStatus(err, http.StatusNotFound) || fhir.IsStatus(err, http.StatusGone)) {
			return false, a.restart(ctx, j, lease)
		}
		return false, err
	}
	// The page's resources, NDJSON, cut into files of at most FileBytes.
	type appendTo struct {
		n     int
		data  bytes.Buffer
		count int
	}
	files, fileBytes := j.files, j.fileBytes
	var appends []*appendTo
	var total int64
	written := 0
	for _, e := range b.Entry {
		if e.mode() != "match" {
			continue
		}
		if _, ok := a.belongs(e.Resource, j.payer); !ok {
			continue
		}
		var line bytes.Buffer
		if err := json.Compact(&line, e.Resource); err != nil {
			continue
		}
		line.WriteByte('\n')
		size := int64(line.Len())
		if files == 0 || fileBytes+size > a.cfg.Export.FileBytes && fileBytes > 0 {
			files++
			fileBytes = 0
		}
		if len(appends) == 0 || appends[len(appends)-1].n != files {
			appends = append(appends, &appendTo{n: files})
		}
		last := appends[len(appends)-1]
		last.data.Write(line.Bytes())
		last.count++
		fileBytes += size
		total += size
		written++
	}
	if j.bytes+total > a.cfg.Export.MaxBytes {
		return true, a.fail(ctx, j, lease, fmt.Sprintf("the export is larger than this service's limit of %d bytes; export a shorter period with a later _since", a.cfg.Export.MaxBytes))
	}
	next := b.link("next")
	now := a.now().UTC()
	expires := now.Add(a.cfg.Export.TTL)
	fields := []any{"state", StateRunning, "next", next, "written", j.written + written, "files", files,
		"bytes", j.bytes + total, "file_bytes", fileBytes, "attempts", 0, "expires", expires.Format(time.RFC3339Nano)}
	if first {
		// The export's point in time: the FHIR server's time of the search
		// when it gives one (its clock decides _lastUpdated), never later
		// than the kick-off was queued, so a _since of it misses nothing.
		tx := now
		if t, err := time.Parse(time.RFC3339Nano, b.Meta.LastUpdated); err == nil && t.Before(tx) {
			tx = t
		}
		fields = append(fields, "tx", tx.UTC().Format(time.RFC3339Nano))
	}
	for _, ap := range appends {
		fields = append(fields, "count"+strconv.Itoa(ap.n), j.counts[ap.n]+ap.count)
	}
	if next == "" {
		fields = append(fields, "state", StateComplete)
	}
	keys := []string{a.leaseKey(j.id), a.jobKey(j.id)}
	args := []any{lease, a.cfg.Export.TTL.Milliseconds(), len(appends)}
	for _, ap := range appends {
		keys = append(keys, a.fileKey(j.id, ap.n))
		args = append(args, ap.data.Bytes())
	}
	args = append(args, fields...)
	res, err := commitPage.Run(ctx, a.rdb, keys, args...).Int()
	if err != nil {
		return false, fmt.Errorf("store export page: %w", err)
	}
	if res != 1 {
		return false, errLeaseLost
	}
	if next != "" {
		return false, nil
	}
	// Complete: every file expires with the manifest.
	bg := context.WithoutCancel(ctx)
	pipe := a.rdb.Pipeline()
	for n := 1; n <= files; n++ {
		pipe.PExpireAt(bg, a.fileKey(j.id, n), expires)
	}
	pipe.PExpireAt(bg, a.jobKey(j.id), expires)
	pipe.ZRem(bg, a.queueKey(), j.id)
	pipe.SRem(bg, a.activeKey(j.payer), j.id)
	_, err = pipe.Exec(bg)
	return true, err
}

// restart empties the job to run it again from its first page.
func (a *API) restart(ctx context.Context, j *job, lease string) error {
	if j.restarts >= defaultExportMaxRestarts {
		return a.fail(ctx, j, lease, "the FHIR server forgot the export's search too often; start the export again")
	}
	keys := []string{a.leaseKey(j.id), a.jobKey(j.id)}
	for n := 1; n <= j.files; n++ {
		keys = append(keys, a.fileKey(j.id, n))
	}
	res, err := resetJob.Run(ctx, a.rdb, keys, lease, "written", 0, "files", 0, "bytes", 0, "file_bytes", 0,
		"restarts", j.restarts+1).Int()
	if err != nil {
		return fmt.Errorf("restart export: %w", err)
	}
	if res != 1 {
		return errLeaseLost
	}
	return nil
}

// attemptFailed counts a failed page; the job is retried at the next poll
// (by any replica) until it failed defaultExportMaxAttempts times.
func (a *API) attemptFailed(ctx context.Context, j *job, lease string) {
	if j.attempts+1 >= defaultExportMaxAttempts {
		_ = a.fail(ctx, j, lease, "the FHIR server could not be read; start the export again later")
		return
	}
	_, _ = commitPage.Run(context.WithoutCancel(ctx), a.rdb, []string{a.leaseKey(j.id), a.jobKey(j.id)},
		lease, a.cfg.Export.TTL.Milliseconds(), 0, "attempts", j.attempts+1).Result()
}

// fail ends the job as failed with a reason the status poll answers.
func (a *API) fail(ctx context.Context, j *job, lease, why string) error {
	bg := context.WithoutCancel(ctx)
	expires := a.now().UTC().Add(a.cfg.Export.TTL)
	res, err := commitPage.Run(bg, a.rdb, []string{a.leaseKey(j.id), a.jobKey(j.id)}, lease,
		a.cfg.Export.TTL.Milliseconds(), 0, "state", StateFailed, "error", why, "expires", expires.Format(time.RFC3339Nano)).Int()
	if err != nil {
		return err
	}
	if res != 1 {
		return errLeaseLost
	}
	keys := []string{}
	for n := 1; n <= j.files+1; n++ {
		keys = append(keys, a.fileKey(j.id, n))
	}
	pipe := a.rdb.Pipeline()
	pipe.Del(bg, keys...)
	pipe.ZRem(bg, a.queueKey(), j.id)
	pipe.SRem(bg, a.activeKey(j.payer), j.id)
	_, err = pipe.Exec(bg)
	return err
}
