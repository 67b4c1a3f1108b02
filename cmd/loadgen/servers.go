package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/utilreview/utilreview/handlers"
	"github.com/utilreview/utilreview/service/queue"
)

// target is a server started in process for one run.
type target struct {
	url string
	// counts reports what the server did with the notifications (webhook
	// mode), nil elsewhere.
	counts func(ctx context.Context) (*queueCounts, error)
	close  func(ctx context.Context) error
	// redisCPU is the Redis server's CPU time so far, nil when the target
	// uses no Redis.
	redisCPU func(ctx context.Context) time.Duration
}

// queueCounts is what the webhook did with the notifications it accepted,
// over warm-up and run together.
type queueCounts struct {
	// Queued were added to the stream, Coalesced found their patient
	// already waiting.
	Queued    int64 `json:"queued"`
	Coalesced int64 `json:"coalesced"`
}

// serve starts h on 127.0.0.1 on a free port.
func serve(h http.Handler) (url string, closeFn func(context.Context) error, err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), srv.Shutdown, nil
}

// startBaseline starts a bare Echo server on the webhook's route that
// answers 204 (noop) or does one XADD of a small entry to a stream under
// prefix, then answers 204 (xadd).
func startBaseline(mode string, rdb *redis.Client, prefix string) (*target, error) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	switch mode {
	case "noop":
		e.PUT("/fhir/notify/:type/:id", func(c echo.Context) error {
			return c.NoContent(http.StatusNoContent)
		})
	case "xadd":
		if rdb == nil {
			return nil, errors.New("baseline -mode xadd needs -redis")
		}
		stream := prefix + "baseline"
		e.PUT("/fhir/notify/:type/:id", func(c echo.Context) error {
			err := rdb.XAdd(c.Request().Context(), &redis.XAddArgs{
				Stream: stream,
				Values: []string{"resource", c.Param("type") + "/" + c.Param("id")},
			}).Err()
			if err != nil {
				return err
			}
			return c.NoContent(http.StatusNoContent)
		})
	default:
		return nil, fmt.Errorf("baseline -mode %q: want noop or xadd", mode)
	}
	url, closeFn, err := serve(e)
	if err != nil {
		return nil, err
	}
	t := &target{url: url, close: closeFn}
	if rdb != nil {
		t.redisCPU = redisCPU(rdb)
	}
	return t, nil
}

// webhookSecret is the in-process webhook's secret.
const webhookSecret = "loadgen-webhook-secret"

// startWebhook starts the real webhook (handlers.New on queue.New) on rdb
// with keys under prefix. When take is positive, the stream is emptied that
// often, as workers taking entries would, so that a patient's next
// notification adds an entry instead of coalescing into a waiting one.
func startWebhook(rdb *redis.Client, prefix string, take time.Duration) (*target, error) {
	q, err := queue.New(rdb, queue.Config{Prefix: prefix})
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	srv, err := handlers.New(handlers.Config{WebhookSecret: webhookSecret, Registerer: reg}, q, q)
	if err != nil {
		return nil, err
	}
	url, closeServer, err := serve(srv.Handler())
	if err != nil {
		return nil, err
	}
	stopTaking := func() {}
	if take > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			t := time.NewTicker(take)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					_ = rdb.XTrimMaxLen(ctx, prefix+"stream", 0).Err()
				}
			}
		}()
		stopTaking = func() { cancel(); <-done }
	}
	return &target{
		url:      url,
		redisCPU: redisCPU(rdb),
		counts:   func(context.Context) (*queueCounts, error) { return webhookCounts(reg) },
		close: func(ctx context.Context) error {
			stopTaking()
			return closeServer(ctx)
		},
	}, nil
}

// webhookCounts reads utilreview_notifications_received_total by outcome.
func webhookCounts(g prometheus.Gatherer) (*queueCounts, error) {
	families, err := g.Gather()
	if err != nil {
		return nil, err
	}
	c := &queueCounts{}
	for _, f := range families {
		if f.GetName() != "utilreview_notifications_received_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() != "outcome" {
					continue
				}
				switch l.GetValue() {
				case "accepted":
					c.Queued += int64(m.GetCounter().GetValue())
				case "coalesced":
					c.Coalesced += int64(m.GetCounter().GetValue())
				}
			}
		}
	}
	return c, nil
}

// newRedis is a client for a loopback Redis, with go-redis's default pool
// (the same for the xadd baseline and the webhook).
func newRedis(ctx context.Context, addr string) (*redis.Client, error) {
	if err := checkLoopbackAddr("-redis", addr); err != nil {
		return nil, err
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, Dialer: dialLoopback})
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("redis %s: %w", addr, err)
	}
	return rdb, nil
}

// redisCPU reads the server's used_cpu_user and used_cpu_sys (INFO cpu);
// 0 when it cannot.
func redisCPU(rdb *redis.Client) func(ctx context.Context) time.Duration {
	return func(ctx context.Context) time.Duration {
		info, err := rdb.Info(ctx, "cpu").Result()
		if err != nil {
			return 0
		}
		var total float64
		for line := range strings.Lines(info) {
			k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
			if k == "used_cpu_user" || k == "used_cpu_sys" {
				f, _ := strconv.ParseFloat(v, 64)
				total += f
			}
		}
		return time.Duration(total * float64(time.Second))
	}
}

// runPrefix is a key prefix no other run uses, with one hash tag.
func runPrefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("utilreview-loadgen:{%x-%s}:", time.Now().UnixMilli(), hex.EncodeToString(b))
}

// deleteKeys removes every key under prefix.
func deleteKeys(ctx context.Context, rdb *redis.Client, prefix string) error {
	iter := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
	for iter.Next(ctx) {
		if err := rdb.Del(ctx, iter.Val()).Err(); err != nil {
			return err
		}
	}
	return iter.Err()
}
