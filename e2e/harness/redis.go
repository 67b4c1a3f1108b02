package harness

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis returns a client for the shared Redis server and a key prefix unique to this test; keys under the prefix
// are deleted when the test ends. Tests sharing the server keep every key under their prefix (and do not
// FLUSHDB), so packages running in parallel do not see each other's data.
func Redis(t testing.TB) (client *redis.Client, keyPrefix string) {
	t.Helper()
	client = redis.NewClient(&redis.Options{Addr: RedisAddr(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis %s: ping: %v", client.Options().Addr, err)
	}
	keyPrefix = "utilreview-test:" + UniqueID(t.Name()) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := client.Scan(ctx, 0, keyPrefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Logf("redis cleanup of %s*: %v", keyPrefix, err)
		}
		_ = client.Close()
	})
	return client, keyPrefix
}
