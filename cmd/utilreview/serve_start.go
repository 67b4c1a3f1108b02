package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// earlyServer is serve's HTTP server from its first moments: while Redis
// and the rules are not there yet it answers /healthz (alive) and 503 not
// ready to everything else (a notification is retried by the FHIR server);
// once the service is wired, route gives it the routes.
type earlyServer struct {
	ln      net.Listener
	srv     *http.Server
	handler atomic.Pointer[http.Handler]
	done    chan error
}

// listenEarly listens before the service is wired: /healthz answers 200,
// /metrics the metrics registered so far (the rules' among them), and
// everything else 503.
func listenEarly(cfg *serveConfig, so serveOptions, metrics http.Handler) (*earlyServer, error) {
	ln := so.listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return nil, err
		}
	}
	e := &earlyServer{ln: ln, done: make(chan error, 1)}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			metrics.ServeHTTP(w, r)
			return
		}
		starting(w, r)
	})
	e.handler.Store(&h)
	e.srv = &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*e.handler.Load()).ServeHTTP(w, r) }),
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
	}
	go func() { e.done <- e.srv.Serve(ln) }()
	return e, nil
}

// route hands every request to h from now on.
func (e *earlyServer) route(h http.Handler) { e.handler.Store(&h) }

// served waits for the server to stop and returns Serve's error.
func (e *earlyServer) served() error { return <-e.done }

func (e *earlyServer) close() { _ = e.srv.Close() }

// starting answers while the service starts.
func starting(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		_, _ = io.WriteString(w, "ok\n")
		return
	}
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = io.WriteString(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"transient","diagnostics":"not ready: starting (waiting for Redis and the rules)"}]}`)
}

// waitForRedis waits until Redis answers, logging once while it does not;
// it returns an error only when ctx ends first.
func waitForRedis(ctx context.Context, rdb *redis.Client, log *slog.Logger) error {
	logged := false
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := rdb.Ping(pctx).Err()
		cancel()
		if err == nil {
			if logged {
				log.Info("Redis answers")
			}
			return nil
		}
		if !logged {
			log.Warn("waiting for Redis at UTILREVIEW_REDIS_URL (not ready meanwhile)", "error", err.Error())
			logged = true
		}
		select {
		case <-ctx.Done():
			return errors.New("stopped while waiting for Redis")
		case <-time.After(time.Second):
		}
	}
}
