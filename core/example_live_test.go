package atrion_test

import (
	"context"
	"fmt"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// Update changes the configuration while traffic flows: validated whole
// first, applied at each route's next tick close, refused by name for
// what cannot change live. Each change goes to the audit trail.
func ExampleAtrion_Update() {
	audit := atrion.AuditFunc(func(r atrion.AuditRecord) {
		if r.Kind == atrion.AuditConfig {
			fmt.Println("audited: config update by", r.Actor)
		}
	})
	a, err := atrion.New(atrion.WithAudit(audit))
	if err != nil {
		panic(err)
	}
	defer a.Close(context.Background())

	// a bad value changes nothing
	fmt.Println(a.Update(atrion.WithPhysics(atrion.PhysicsConfig{DecayRate: -1})) != nil)
	// the tick is fixed for the engine's life
	fmt.Println(a.Update(atrion.WithTick(time.Second)) != nil)
	// one route's break point, said by whom
	err = a.Update(atrion.UpdatedBy("ops@console"),
		atrion.WithRouteConfig("GET /search", atrion.RouteConfig{Physics: &atrion.PhysicsConfig{BreakMultiplier: 6}}))
	fmt.Println(err)
	a.Flush(context.Background())
	// Output:
	// true
	// true
	// <nil>
	// audited: config update by ops@console
}

// ParseConfig reads the JSON configuration file schema (LoadConfig reads
// it from a path) into options for New or Update; a wrong field is an
// error that names it.
func ExampleParseConfig() {
	opts, err := atrion.ParseConfig([]byte(`{
		"idleTTL": "10m",
		"routes": {"GET /search": {"physics": {"breakMultiplier": 6}}}
	}`))
	fmt.Println(len(opts) > 0, err)
	_, err = atrion.ParseConfig([]byte(`{"routes": {"GET /search": {"physics": {"breakMultiplier": "six"}}}}`))
	fmt.Println(err != nil)
	// Output:
	// true <nil>
	// true
}

// An audit sink receives one record per decision-changing event:
// transitions, configuration updates, peers' state adopted or refused,
// evictions, bans, and what operators' controls report through Audit.
func ExampleWithAudit() {
	sink := atrion.AuditFunc(func(r atrion.AuditRecord) {
		fmt.Println(r.Kind, r.Actor, r.Action, r.Route)
	})
	a, err := atrion.New(atrion.WithAudit(sink))
	if err != nil {
		panic(err)
	}
	defer a.Close(context.Background())
	a.Audit(atrion.AuditRecord{Kind: atrion.AuditControl, Actor: "dashboard 10.0.0.7", Action: "evict", Route: "GET /old"})
	a.Flush(context.Background())
	// Output:
	// control dashboard 10.0.0.7 evict GET /old
}
