package atrion_test

import (
	"context"
	"fmt"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// A request that carries a client key is admitted with AdmitKey, and its
// outcome is the key's evidence too. Here clients log in, one key's every
// attempt fails, and that key is banned within a few ticks while the
// clients go on; with a provider that shares bans (atrredis), every node
// refuses it.
func ExampleAtrion_AdmitKey() {
	clk := atrion.NewManualClock(time.Unix(1700000000, 0))
	a, err := atrion.New(atrion.WithClock(clk), atrion.WithBans(atrion.BanConfig{TTL: time.Minute}))
	if err != nil {
		panic(err)
	}
	defer a.Close(context.Background())

	login := func(key string, ok bool) atrion.Decision {
		t, d := a.AdmitKey("POST /login", key, atrion.PriorityNormal)
		if !d.Allowed {
			return d // answer 429 with d.RetryAfter (the adapters do)
		}
		if ok {
			t.Done(atrion.Success)
		} else {
			t.Blame() // a 401: the client's fault, not the service's
			t.Done(atrion.Ignored)
		}
		return d
	}
	for range 10 {
		for _, c := range []string{"alice", "bob", "carol"} {
			login(c, true)
			login(c, true)
		}
		for range 10 {
			login("stuffer", false)
		}
		clk.Advance(a.Tick())
	}
	d := login("stuffer", false)
	fmt.Println(d.Allowed, d.Reason, d.RetryAfter.Round(time.Minute)) // banned a few ticks ago, for a minute
	fmt.Println(login("alice", true).Allowed)
	for _, b := range a.Bans() {
		fmt.Println(b.Key, b.Reason, b.Strikes)
	}
	// Output:
	// false banned 1m0s
	// true
	// stuffer failures 1
}
