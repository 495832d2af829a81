package adaptertest

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

// ClientKeyHeader is the header from which CheckClientKeyOption's server
// must take each request's client key (through the adapter's
// WithClientKey).
const ClientKeyHeader = "X-Client"

// CheckClientKeyOption checks an adapter's WithClientKey against a real
// server at base that serves /users/{id} (200) and /status/{code} and takes
// client keys from ClientKeyHeader:
//   - a key banned with a.Ban gets 429 with a Retry-After and the reason
//     "banned", and its handler does not run, while other keys are served;
//   - a key whose requests on a route are all client errors (400) while
//     other keys' requests on it are served is banned on that evidence,
//     and then refused.
//
// clk is a's clock (Engine's): the check advances it a tick per round.
func CheckClientKeyOption(t *testing.T, a *atrion.Atrion, clk *atrion.ManualClock, h *Handlers, base string) {
	t.Helper()
	get := func(path, key string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(ClientKeyHeader, key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if err := a.Ban("banned-key", time.Minute); err != nil {
		t.Fatal(err)
	}
	hits := h.hits.Load()
	res := get("/users/1", "banned-key")
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var rej struct{ Error, Reason string }
	_ = json.Unmarshal(body, &rej)
	secs, err := strconv.Atoi(res.Header.Get("Retry-After"))
	if res.StatusCode != http.StatusTooManyRequests || err != nil || secs < 1 || rej.Reason != "banned" || rej.Error != "banned" {
		t.Fatalf("banned key: status %d, Retry-After %q, body %s; want 429, a Retry-After and reason banned",
			res.StatusCode, res.Header.Get("Retry-After"), body)
	}
	if h.hits.Load() != hits {
		t.Fatal("the handler ran for a banned key")
	}
	if res := get("/users/1", "good-key"); res.StatusCode != http.StatusOK {
		t.Fatalf("another key: status %d", res.StatusCode)
	} else {
		res.Body.Close()
	}

	// evidence, on one route: the stuffer's requests are all 400s, the
	// clients' 200s; five of each per tick
	banned := false
	for tick := 0; tick < 20 && !banned; tick++ {
		for range 5 {
			for _, k := range []string{"client-1", "client-2"} {
				if res := get("/status/200", k); res.StatusCode != http.StatusOK {
					t.Fatalf("%s: status %d", k, res.StatusCode)
				} else {
					res.Body.Close()
				}
			}
			res := get("/status/400", "stuffer")
			res.Body.Close()
			if banned = res.StatusCode == http.StatusTooManyRequests; banned {
				break
			}
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("stuffer: status %d", res.StatusCode)
			}
		}
		clk.Advance(a.Tick())
	}
	if !banned {
		t.Fatalf("a key sending only bad requests was not banned within 20 ticks: %+v", a.BanStats())
	}
	if bs := a.Bans(); len(bs) != 2 || bs[1].Key != "stuffer" && bs[0].Key != "stuffer" {
		t.Fatalf("bans %+v, want banned-key and stuffer", bs)
	}
	if s, _ := a.Snapshot(a.Routes()[0]); s.Mode == atrion.ModeCircuitOpen {
		t.Fatal("client errors opened a route's circuit")
	}
}
