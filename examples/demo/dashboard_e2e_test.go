package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

const recoRoute = "GET /api/recommendations"

// TestDashboardInChromium runs the demo's world with healthy traffic, opens
// the dashboard in headless Chromium, breaks the recommendations
// dependency and checks that the page shows the route's open circuit
// within two seconds of the engine opening it. It saves a screenshot in
// the test's artifact directory (go test -artifacts), and to
// $DASHBOARD_PNG when set:
//
//	DASHBOARD_PNG=$PWD/../../docs/img/dashboard.png go test -run Chromium .
func TestDashboardInChromium(t *testing.T) {
	b := startChromium(t)
	w := startTestWorld(t)

	waitEngine(t, w.a, 15*time.Second, func() bool {
		n := 0
		for _, s := range w.a.Snapshots() {
			if s.Route != atrion.OverflowRoute && s.Mode == atrion.ModeOperational {
				n++
			}
		}
		return n == len(kinds)
	})
	if err := b.navigate(w.dashURL + "/"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := b.waitPage(ctx, `document.querySelectorAll("article.route").length === 3 &&
		document.getElementById("status").textContent === "live" &&
		document.querySelector("article.route svg path.r") !== null &&
		document.title.startsWith("Atrion demo")`, 15*time.Second); err != nil {
		t.Fatalf("the page did not render: %v", err)
	}
	time.Sleep(3 * time.Second) // some healthy history on the charts
	checkCardLabels(t, b)

	w.faults.set(1, 0) // every recommendation call fails
	var opened time.Time
	waitEngine(t, w.a, 15*time.Second, func() bool {
		s, _ := w.a.Snapshot(recoRoute)
		opened = time.Now()
		return s.Mode == atrion.ModeCircuitOpen
	})
	shown := `(() => { const c = document.querySelector('article.route[data-route="` + recoRoute + `"]');
		return c !== null && c.dataset.mode === "CIRCUIT_OPEN" && c.querySelector(".mode").textContent === "CIRCUIT_OPEN"; })()`
	if _, err := b.waitPage(ctx, shown, 2*time.Second-time.Since(opened)); err != nil {
		t.Fatalf("CIRCUIT_OPEN not shown within 2 s of the trip: %v", err)
	}
	t.Logf("CIRCUIT_OPEN shown %v after the engine opened the circuit", time.Since(opened).Round(time.Millisecond))
	listed, err := b.check(`[...document.querySelectorAll("#transitions td")].some(td => td.textContent === "CIRCUIT_OPEN")`)
	if err != nil || !listed {
		t.Errorf("transition not listed (%v)", err)
	}
	if ok, err := b.check(`document.querySelector('article.route[data-route="` + recoRoute + `"] p.why').textContent.startsWith("failing: the circuit is open")`); err != nil || !ok {
		t.Errorf("the open circuit's card does not say why (%v)", err)
	}

	time.Sleep(time.Second) // let the chart show the climb
	saveScreenshot(t, b, "dashboard.png", "DASHBOARD_PNG")
}

// startTestWorld starts the demo's servers with a steady healthy load on
// the protected front only.
func startTestWorld(t *testing.T) *world {
	t.Helper()
	w, err := startWorld(config{addr: "127.0.0.1:0", addrSet: true, scale: 1, duration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	w.load.sides = w.sides[:1]
	w.load.workers = 32
	w.load.setRate(120)
	go func() {
		defer close(done)
		w.load.run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = w.close(context.Background())
	})
	return w
}

// waitEngine polls cond every 5 ms for up to limit.
func waitEngine(t *testing.T, a *atrion.Atrion, limit time.Duration, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	var modes []string
	for _, s := range a.Snapshots() {
		modes = append(modes, s.Route+"="+s.Mode.String())
	}
	t.Fatalf("engine condition not met within %v: %v", limit, modes)
}

// saveScreenshot keeps a screenshot of the page as name in the test's
// artifact directory (go test -artifacts), and at $env when set.
func saveScreenshot(t *testing.T, b *browser, name, env string) {
	t.Helper()
	png, err := b.screenshot()
	if err != nil || len(png) < 1000 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot: %d bytes, %v", len(png), err)
	}
	paths := []string{filepath.Join(t.ArtifactDir(), name)}
	if p := os.Getenv(env); p != "" {
		paths = append(paths, p)
	}
	for _, p := range paths {
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}
}

// checkCardLabels checks, on healthy cards, that each leads with what an
// operator acts on (served, shed, in flight and limit, then why), that
// the break in force is labelled apart from the AutoTuner's advisory one,
// and, through the page's own reason function, the line a card shows when
// R is above break with the circuit closed.
func checkCardLabels(t *testing.T, b *browser) {
	t.Helper()
	checks := map[string]string{
		"lead first": `[...document.querySelectorAll("article.route")].every(c => {
			const kids = [...c.children].map(k => k.className);
			const dts = [...c.querySelectorAll("dl.lead dt")].map(d => d.textContent);
			return kids[0] === "route-head" && kids[1] === "lead" && kids[2] === "why" &&
				dts.join("|") === "served /s|shed /s|in flight / limit|failed /s"; })`,
		"healthy reason": `[...document.querySelectorAll("article.route p.why")].every(p => p.textContent === "healthy")`,
		"served shown":   `[...document.querySelectorAll("article.route dl.lead dd")].some(d => Number(d.textContent) > 0)`,
		"break in force": `[...document.querySelectorAll("article.route .r-points")].every(p => /^break in force [0-9.]+ \((static|learned)\) · recovery [0-9.]+$/.test(p.textContent))`,
		"tuner apart": `[...document.querySelectorAll("article.route dl.metrics dd")].some(d =>
			/^learned break [0-9.]+ \/ recovery [0-9.]+ · (advisory, not in force|in force) · /.test(d.textContent))`,
		"latency alone": `reason({mode: "OPERATIONAL", r: 210.38, break: 100, pressure: [0.9, 0, 0], rates: {shed: 12}}) ===
			"R above break on latency alone: overload is met by the in-flight limit, which is shedding"`,
		"failures pending": `reason({mode: "OPERATIONAL", r: 150, break: 100, pressure: [0, 0.4, 0], rates: {shed: 0}}).startsWith("R above break: the circuit opens once failures are certain")`,
	}
	for name, expr := range checks {
		if ok, err := b.check(expr); err != nil || !ok {
			t.Errorf("card labels: %s: false (%v)", name, err)
		}
	}
}
