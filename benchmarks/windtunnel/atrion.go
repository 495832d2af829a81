package windtunnel

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// Atrion is Atrion with its defaults: zero configuration beyond the
// simulated clock. One engine runs per node (by default the service that
// serves a route: a server middleware), as a user deploys it.
var Atrion = AtrionWith("atrion", "defaults (zero config): learned latency baselines, AutoTuner on, 100 ms ticks; one engine per node")

// AtrionSat is Atrion with its defaults plus the one signal aegis's BBR
// gets and zero-config Atrion does not: each engine's saturation is its
// node's CPU reading (WithSaturation), the same 500 ms samples BBR reads.
var AtrionSat = Contestant{
	Name:       "atrion+sat",
	Settings:   "defaults plus WithSaturation fed the node's CPU usage (the 500 ms samples aegis-bbr reads); one engine per node",
	SyncsState: true,
	New:        newAtrionGuard(true, nil),
}

// AtrionWith is Atrion configured by opts (the simulated clock is added),
// under another name.
func AtrionWith(name, settings string, opts ...atrion.Option) Contestant {
	return Contestant{Name: name, Settings: settings, SyncsState: true, New: newAtrionGuard(false, opts)}
}

// In a scenario with shared state the nodes share one provider (see
// clusterProvider) and also read it back in full every clusterResync, as
// a user who shares state would set it. Nodes start nodeStagger apart, as
// real ones do; it also keeps their background timers from firing at the
// same instant as each other or as the simulation's own events, which
// keeps the run the same every time.
const (
	clusterResync = time.Second
	nodeStagger   = 1234567 * time.Nanosecond
)

// newAtrionGuard builds one engine per node, with the node's CPU as its
// saturation when sat.
func newAtrionGuard(sat bool, opts []atrion.Option) func(Env) (Guard, error) {
	return func(env Env) (Guard, error) {
		g := &atrionGuard{env: env, nodes: map[string]*atrion.Atrion{}, routes: map[string]atrionRoute{}}
		var shared *clusterProvider
		if env.SharedState {
			shared = &clusterProvider{InMemoryProvider: atrion.NewInMemoryProvider(0)}
		}
		for _, node := range env.Nodes {
			o := append([]atrion.Option{atrion.WithClock(env.Clock)}, opts...)
			if sat {
				o = append(o, atrion.WithSaturation(func() float64 { return env.lastCPU(node) }))
			}
			if shared != nil {
				o = append(o, atrion.WithProvider(shared), atrion.WithNodeID(node), atrion.WithResync(clusterResync))
			}
			a, err := atrion.New(o...)
			if err != nil {
				g.Close()
				return nil, fmt.Errorf("node %s: %w", node, err)
			}
			g.nodes[node] = a
			g.order = append(g.order, a)
			if shared != nil {
				time.Sleep(nodeStagger) // in the run's bubble
			}
		}
		return g, nil
	}
}

// clusterProvider is the nodes' shared state: one atrion.InMemoryProvider
// keeps the last vector per route, and every vector a node publishes is
// pushed to the nodes (itself included, which ignores its own), as the
// Redis provider's pub/sub does; bans of client keys travel the same way.
type clusterProvider struct {
	*atrion.InMemoryProvider
	mu      sync.Mutex
	subs    []func(atrion.PhysicsVector)
	banSubs []func([]atrion.BanRecord)
	bans    map[string]atrion.BanRecord
}

// Subscribe registers fn for every vector published from now on.
func (p *clusterProvider) Subscribe(_ context.Context, fn func(atrion.PhysicsVector)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.subs = append(p.subs, fn)
	return nil
}

// Set stores v and pushes it to the subscribers.
func (p *clusterProvider) Set(ctx context.Context, v atrion.PhysicsVector) error {
	return p.SetBatch(ctx, []atrion.PhysicsVector{v})
}

// SetBatch stores vs and pushes them to the subscribers, in order.
func (p *clusterProvider) SetBatch(ctx context.Context, vs []atrion.PhysicsVector) error {
	err := p.InMemoryProvider.SetBatch(ctx, vs)
	p.mu.Lock()
	subs := p.subs
	p.mu.Unlock()
	for _, v := range vs {
		for _, fn := range subs {
			fn(v)
		}
	}
	return err
}

// PublishBans pushes a node's bans to the nodes (itself included, which
// skips its own) and keeps them for LoadBans, as the Redis provider does.
func (p *clusterProvider) PublishBans(_ context.Context, bans []atrion.BanRecord) error {
	p.mu.Lock()
	if p.bans == nil {
		p.bans = map[string]atrion.BanRecord{}
	}
	for _, b := range bans {
		p.bans[b.Key] = b
	}
	subs := p.banSubs
	p.mu.Unlock()
	for _, fn := range subs {
		fn(bans)
	}
	return nil
}

// SubscribeBans registers fn for every batch of bans published from now on.
func (p *clusterProvider) SubscribeBans(_ context.Context, fn func([]atrion.BanRecord)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.banSubs = append(p.banSubs, fn)
	return nil
}

// LoadBans returns every ban published so far; the engines skip the
// expired ones.
func (p *clusterProvider) LoadBans(context.Context) ([]atrion.BanRecord, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]atrion.BanRecord, 0, len(p.bans))
	for _, b := range p.bans {
		out = append(out, b)
	}
	slices.SortFunc(out, func(x, y atrion.BanRecord) int { return strings.Compare(x.Key, y.Key) }) // the same run every time
	return out, nil
}

type atrionGuard struct {
	env    Env
	nodes  map[string]*atrion.Atrion
	order  []*atrion.Atrion // nodes in order, for Close and Transitions
	routes map[string]atrionRoute
}

// atrionRoute is a route's engine, the ID that engine knows it by and the
// client key its calls carry.
type atrionRoute struct {
	a           *atrion.Atrion
	key, client string
}

func (g *atrionGuard) route(id string) atrionRoute {
	r, ok := g.routes[id]
	if !ok {
		info := g.env.Route(id)
		r = atrionRoute{a: g.nodes[info.Node], key: info.Key, client: info.Client}
		g.routes[id] = r
	}
	return r
}

// atrionPermit is an admitted call's ticket; calls with a client key
// admitted through AdmitKey also judge their key.
type atrionPermit struct{ t atrion.KeyTicket }

// Done reports the outcome the way the adapters do: a caller that gave up
// (its deadline, or it went away) is Canceled, which the engine counts as
// a slow sample when the caller waited past the route's latency baseline
// and ignores when it left sooner.
func (p *atrionPermit) Done(o Outcome) {
	switch o {
	case Success:
		p.t.Done(atrion.Success)
	case Failure:
		p.t.Done(atrion.Failure)
	default:
		p.t.Done(atrion.Canceled)
	}
}

func (g *atrionGuard) Admit(route string, p atrion.Priority) (Permit, bool) {
	r := g.route(route)
	t, d := r.a.AdmitKey(r.key, r.client, p) // plain Admit without a client key
	if !d.Allowed {
		return nil, false
	}
	return &atrionPermit{t}, true
}

// AdmitWithin admits a call whose caller gives up in left, as the adapters
// do with a call's deadline (AdmitKeyWithin).
func (g *atrionGuard) AdmitWithin(route string, p atrion.Priority, left time.Duration) (Permit, bool) {
	r := g.route(route)
	t, d := r.a.AdmitKeyWithin(r.key, r.client, p, left)
	if !d.Allowed {
		return nil, false
	}
	return &atrionPermit{t}, true
}

// Banned reports whether the client key route's calls carry is banned on
// the route's node.
func (g *atrionGuard) Banned(route string) bool {
	r := g.route(route)
	if r.client == "" {
		return false
	}
	banned, _ := r.a.Banned(r.client)
	return banned
}

var modeStates = [...]State{
	atrion.ModeBootstrap:   StateWarmup,
	atrion.ModeOperational: StateClosed,
	atrion.ModeRecovering:  StateHalfOpen,
	atrion.ModeCircuitOpen: StateOpen,
}

func (g *atrionGuard) Probe(route string) Probe {
	r := g.route(route)
	s, ok := r.a.Snapshot(r.key)
	if !ok {
		return noProbe
	}
	return Probe{State: modeStates[s.Mode], R: s.Resistance, Break: s.BreakPoint}
}

// Transitions counts every mode change except leaving BOOTSTRAP, over
// every node.
func (g *atrionGuard) Transitions() int {
	n := 0
	for _, a := range g.order {
		for _, s := range a.Snapshots() {
			for from, row := range s.TransitionsByMode {
				if atrion.Mode(from) == atrion.ModeBootstrap {
					continue
				}
				for _, v := range row {
					n += int(v)
				}
			}
		}
	}
	return n
}

func (g *atrionGuard) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, a := range g.order {
		_ = a.Close(ctx)
	}
}
