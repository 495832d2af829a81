// Command redis runs two Atrion instances that share route state through a
// local Redis, the way two replicas of a service would. Instance A's
// dependency fails for two seconds; instance B's stays healthy, yet B's
// resistance rises with A's because A's scar reaches B through Redis. With
// Redis unreachable both keep running on their own state (fail open) and
// the provider's error count grows.
//
//	redis-server --port 6379 --save '' &
//	go run . -addr 127.0.0.1:6379
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	atrredis "github.com/atrion-go/atrion/providers/redis"
	"github.com/redis/go-redis/v9"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:6379", "Redis address")
	merge := flag.String("merge", "lww", "merge policy: max (max-scar), gamma (γ 0.3) or lww (last writer wins)")
	duration := flag.Duration("duration", 6*time.Second, "how long to run")
	flag.Parse()
	policies := map[string]func(local, remote atrion.PhysicsVector) atrion.PhysicsVector{
		"max": atrion.MergeMaxScar, "gamma": atrion.MergeGamma(atrredis.DefaultGamma), "lww": atrion.MergeLastWriterWins,
	}
	policy, ok := policies[*merge]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown -merge %q (max, gamma or lww)\n", *merge)
		os.Exit(2)
	}
	a, stopA := instance(*addr, "instance-a", policy)
	defer stopA()
	b, stopB := instance(*addr, "instance-b", policy)
	defer stopB()

	const route = "GET /inventory"
	start := time.Now()
	failing := func(t time.Duration) bool { return t > time.Second && t < 3*time.Second }
	fmt.Println("A's dependency fails from 1 s to 3 s; B stays healthy")
	fmt.Println("time   A mode         A R     A scar | B mode         B R     B scar | provider errors")
	var last time.Duration
	for elapsed := time.Duration(0); elapsed < *duration; elapsed = time.Since(start) {
		serve(a.engine, route, failing(elapsed))
		serve(b.engine, route, false)
		time.Sleep(2 * time.Millisecond)
		if elapsed-last >= 250*time.Millisecond {
			last = elapsed
			sa, _ := a.engine.Snapshot(route)
			sb, _ := b.engine.Snapshot(route)
			fmt.Printf("%4.1fs  %-12v %6.1f %8.1f | %-12v %6.1f %8.1f | %d\n", elapsed.Seconds(),
				sa.Mode, sa.Resistance, sa.Scar, sb.Mode, sb.Resistance, sb.Scar,
				a.provider.Stats().Errors+b.provider.Stats().Errors)
		}
	}
}

type node struct {
	engine   *atrion.Atrion
	provider *atrredis.Provider
}

// instance starts one engine with its own Redis client and provider, as a
// separate process would; stop closes them in order.
func instance(addr, id string, merge func(local, remote atrion.PhysicsVector) atrion.PhysicsVector) (node, func()) {
	client := redis.NewClient(&redis.Options{
		Addr: addr, DialTimeout: 200 * time.Millisecond, ReadTimeout: 200 * time.Millisecond,
		WriteTimeout: 200 * time.Millisecond, ContextTimeoutEnabled: true,
	})
	p, err := atrredis.New(client, atrredis.WithMerge(merge))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	e, err := atrion.New(
		atrion.WithProvider(p), atrion.WithNodeID(id),
		atrion.WithTick(50*time.Millisecond),
		atrion.WithPhysics(atrion.PhysicsConfig{DecayRate: 0.8}), // heal fast enough to watch
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return node{e, p}, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = e.Close(ctx) // writes the last batch
		_ = p.Close()
		_ = client.Close()
	}
}

// serve handles one request on route, whose dependency fails or not.
func serve(a *atrion.Atrion, route string, fail bool) {
	t, d := a.Admit(route, atrion.PriorityNormal)
	if !d.Allowed {
		return
	}
	if fail {
		t.Done(atrion.Failure)
		return
	}
	t.Done(atrion.Success)
}
