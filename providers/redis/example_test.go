package atrredis_test

import (
	"context"
	"fmt"
	"log"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	atrredis "github.com/atrion-go/atrion/providers/redis"
	"github.com/redis/go-redis/v9"
)

// An engine sharing route state with the other instances of a service.
func ExampleNew() {
	client := redis.NewClient(&redis.Options{
		Addr: "127.0.0.1:6379",
		// short timeouts: a dead Redis costs a background call, never a request
		DialTimeout: time.Second, ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond,
		ContextTimeoutEnabled: true,
	})
	defer client.Close()

	p, err := atrredis.New(client)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	a, err := atrion.New(atrion.WithProvider(p), atrion.WithNodeID("checkout-1"))
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close(context.Background())

	t, d := a.Admit("POST /checkout", atrion.PriorityNormal)
	if d.Allowed {
		t.Done(atrion.Success)
	}
	fmt.Printf("%+v\n", p.Stats())
}

// Two applications on one Redis keep their routes apart with their own
// prefixes; a service whose replicas share traffic merges with max-scar,
// so trouble seen by any replica counts on all of them.
func ExampleWithMerge() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer client.Close()
	p, err := atrredis.New(client,
		atrredis.WithKeyPrefix("billing:atrion:"),
		atrredis.WithMerge(atrion.MergeMaxScar), // or atrion.MergeGamma(atrredis.DefaultGamma)
		atrredis.WithTTL(2*time.Minute),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	a, err := atrion.New(atrion.WithProvider(p))
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close(context.Background())
}
