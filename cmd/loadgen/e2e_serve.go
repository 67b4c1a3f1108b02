package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// serveProc is a `utilreview serve` the e2e mode started for its run, in its
// own process (nothing of package main is imported): its own instance,
// Redis prefix, subscription filter and secret, on a free loopback port.
type serveProc struct {
	cmd      *exec.Cmd
	exited   chan struct{}
	bin      string
	env      []string
	dir      string // temporary: the built binary and the service's log
	logPath  string
	url      string
	instance string
	prefix   string
	redis    string
}

// Bounds on the service's start and stop.
const (
	serveBuildTimeout = 5 * time.Minute
	serveReadyTimeout = 3 * time.Minute
	serveStopTimeout  = 30 * time.Second
)

// startServe builds ./cmd/utilreview under cfg.Root (unless cfg.Bin names a
// binary), starts `serve` and waits for /readyz. The binary is built rather
// than run with `go run`: go run does not pass SIGTERM on to its child, so
// the service could not be stopped gracefully through it.
func startServe(ctx context.Context, cfg e2eConfig, instance string, stderr io.Writer) (*serveProc, error) {
	dir, err := os.MkdirTemp("", "loadgen-e2e-")
	if err != nil {
		return nil, err
	}
	bin := cfg.Bin
	if bin == "" {
		bin = filepath.Join(dir, "utilreview")
		bctx, cancel := context.WithTimeout(ctx, serveBuildTimeout)
		defer cancel()
		build := exec.CommandContext(bctx, "go", "build", "-o", bin, "./cmd/utilreview")
		build.Dir = cfg.Root
		if out, err := build.CombinedOutput(); err != nil {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("go build ./cmd/utilreview: %w\n%s", err, out)
		}
	}
	port, err := freePort()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	sp := &serveProc{
		bin: bin, dir: dir, logPath: filepath.Join(dir, "serve.log"),
		url: "http://" + port, instance: instance, prefix: "{" + instance + "}:", redis: cfg.Redis,
		exited: make(chan struct{}),
	}
	sp.env = serveEnv(os.Environ(), map[string]string{
		"UTILREVIEW_FHIR_URL":            cfg.FHIR,
		"UTILREVIEW_REDIS_URL":           "redis://" + cfg.Redis + "/0",
		"UTILREVIEW_LISTEN":              port,
		"UTILREVIEW_PUBLIC_URL":          sp.url,
		"UTILREVIEW_WEBHOOK_SECRET":      cfg.Secret,
		"UTILREVIEW_INSTANCE":            instance,
		"UTILREVIEW_REDIS_PREFIX":        sp.prefix,
		"UTILREVIEW_SUBSCRIPTION_FILTER": "_tag=" + cfg.Tag.param(),
		"UTILREVIEW_SHUTDOWN_TIMEOUT":    "10s",
	})
	log, err := os.Create(sp.logPath)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	sp.cmd = exec.Command(bin, "serve")
	sp.cmd.Env, sp.cmd.Stdout, sp.cmd.Stderr = sp.env, log, log
	// Its own process group: a Ctrl-C at the terminal reaches the tool,
	// which then stops the service and removes its Subscriptions in order.
	sp.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := sp.cmd.Start(); err != nil {
		_ = log.Close()
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("starting %s serve: %w", bin, err)
	}
	go func() {
		_ = sp.cmd.Wait()
		_ = log.Close()
		close(sp.exited)
	}()

	deadline := time.Now().Add(serveReadyTimeout)
	for {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		rerr := checkReady(rctx, sp.url)
		cancel()
		if rerr == nil {
			return sp, nil
		}
		select {
		case <-sp.exited:
			err = fmt.Errorf("utilreview serve exited before it was ready (log: %s)", sp.logPath)
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(250 * time.Millisecond):
			if time.Now().After(deadline) {
				err = fmt.Errorf("utilreview serve not ready after %s: %v (log: %s)", serveReadyTimeout, rerr, sp.logPath)
			}
		}
		if err != nil {
			_ = sp.stop(stderr, true)
			return nil, err
		}
	}
}

// stop ends the service (SIGTERM, SIGKILL after serveStopTimeout), removes
// its Subscriptions with `utilreview subscriptions remove` in the same
// environment, deletes its Redis keys and its temporary directory; the log
// is kept, and its path printed, when keepLog.
func (sp *serveProc) stop(stderr io.Writer, keepLog bool) error {
	var errs []error
	select {
	case <-sp.exited:
	default:
		_ = sp.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-sp.exited:
		case <-time.After(serveStopTimeout):
			_ = sp.cmd.Process.Kill()
			<-sp.exited
			errs = append(errs, fmt.Errorf("utilreview serve did not stop within %s of SIGTERM: killed", serveStopTimeout))
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), subscriptionRemoval)
	defer cancel()
	// HAPI under load can fail a delete (500 when a lock times out): run
	// remove again until it succeeds or the bound passes.
	for attempt := 1; ; attempt++ {
		rm := exec.CommandContext(ctx, sp.bin, "subscriptions", "remove")
		rm.Env = sp.env
		var out bytes.Buffer
		rm.Stdout, rm.Stderr = &out, &out
		err := rm.Run()
		if err == nil {
			fmt.Fprintf(stderr, "loadgen e2e: %s\n", strings.TrimSpace(out.String()))
			break
		}
		fmt.Fprintf(stderr, "loadgen e2e: utilreview subscriptions remove (instance %s), attempt %d: %v: %s\n", sp.instance, attempt, err, strings.TrimSpace(out.String()))
		if serr := sleep(ctx, 10*time.Second); serr != nil {
			errs = append(errs, fmt.Errorf("utilreview subscriptions remove (instance %s) failed %d times: Subscriptions may be left: %w", sp.instance, attempt, err))
			break
		}
	}

	if rdb, err := newRedis(ctx, sp.redis); err != nil {
		errs = append(errs, err)
	} else {
		if err := deleteKeys(ctx, rdb, sp.prefix); err != nil {
			errs = append(errs, fmt.Errorf("deleting the keys under %s: %w", sp.prefix, err))
		}
		_ = rdb.Close()
	}

	if keepLog || len(errs) > 0 {
		_ = os.Remove(filepath.Join(sp.dir, "utilreview"))
		fmt.Fprintf(stderr, "loadgen e2e: the service's log is %s\n", sp.logPath)
	} else {
		_ = os.RemoveAll(sp.dir)
	}
	return errors.Join(errs...)
}

// serveEnv is the parent's environment without any UTILREVIEW_ or OTEL_
// setting (a leftover UTILREVIEW_AS_OF would fix the service's clock), with
// set added.
func serveEnv(parent []string, set map[string]string) []string {
	var env []string
	for _, kv := range parent {
		if strings.HasPrefix(kv, "UTILREVIEW_") || strings.HasPrefix(kv, "OTEL_") {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range set {
		env = append(env, k+"="+v)
	}
	return env
}

// freePort is a loopback host:port nobody listens on now.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}
