package atrdash

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"github.com/atrion-go/atrion/core/atriontest"
)

// TestStreamsPerClient: a client address holds at most its share of
// streams; a newer stream from it closes its oldest, and another address
// is not affected.
func TestStreamsPerClient(t *testing.T) {
	a, _ := newEngine(t)
	srv := serve(t, New(a, WithInterval(50*time.Millisecond), WithClientLimits(2, 0)))
	first := openStream(t, srv.URL)
	first.next(t)
	second := openStream(t, srv.URL)
	second.next(t)
	third := openStream(t, srv.URL) // closes first
	third.next(t)
	if _, err := io.Copy(io.Discard, first.r); err != nil {
		t.Fatalf("the oldest stream did not end cleanly: %v", err)
	}
	second.next(t) // still served
	third.next(t)
	res, err := dialFrom("127.0.0.2").Get(srv.URL + "/api/state")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("another address: %v %v", res, err)
	}
	res.Body.Close()
}

// TestStateRateLimited: one client address gets a burst of /api/state,
// then 429 with Retry-After; another address is served meanwhile.
func TestStateRateLimited(t *testing.T) {
	a, _ := newEngine(t)
	srv := serve(t, New(a, WithClientLimits(0, 2)))
	codes := map[int]int{}
	var retry string
	for range 10 {
		res, err := http.Get(srv.URL + "/api/state")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		codes[res.StatusCode]++
		if res.StatusCode == http.StatusTooManyRequests {
			retry = res.Header.Get("Retry-After")
		}
	}
	if codes[http.StatusOK] != 4 || codes[http.StatusTooManyRequests] != 6 || retry != "1" {
		t.Errorf("10 requests at once: %v, Retry-After %q; want a burst of 4 then 429 with Retry-After 1", codes, retry)
	}
	res, err := dialFrom("127.0.0.2").Get(srv.URL + "/api/state")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("another address: %d", res.StatusCode)
	}
}

// TestReadToken: with a read token, the state needs it (header or
// cookie); the page does not.
func TestReadToken(t *testing.T) {
	a, _ := newEngine(t)
	const tok = "read-token-0123456789"
	srv := serve(t, New(a, WithReadToken(tok), WithInterval(50*time.Millisecond)))
	get := func(path string, set func(*http.Request)) int {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if set != nil {
			set(req)
		}
		if path == "/events" {
			req.Method = http.MethodHead
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	bearer := func(v string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+v) }
	}
	cookie := func(v string) func(*http.Request) {
		return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "atrdash_token", Value: v}) }
	}
	for _, tc := range []struct {
		path string
		set  func(*http.Request)
		want int
	}{
		{"/", nil, 200},
		{"/app.js", nil, 200},
		{"/api/state", nil, 401},
		{"/events", nil, 401},
		{"/api/state", bearer("wrong-token-0123456789"), 401},
		{"/api/state", bearer(tok), 200},
		{"/events", bearer(tok), 200},
		{"/api/state", cookie(tok), 200},
		{"/events", cookie(tok), 200},
		{"/events", cookie(tok + "x"), 401},
	} {
		if got := get(tc.path, tc.set); got != tc.want {
			t.Errorf("GET %s: %d, want %d", tc.path, got, tc.want)
		}
	}
	// too short a token leaves reading open
	srv2 := serve(t, New(a, WithReadToken("short")))
	res, err := http.Get(srv2.URL + "/api/state")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("short token: %d", res.StatusCode)
	}
}

// TestTopRoutes: the routes of highest R are carried in full, the others
// summed up; a route that rises into the top is sent with its history.
func TestTopRoutes(t *testing.T) {
	a, clk := newEngine(t)
	for i := range 20 {
		traffic(a, clk, fmt.Sprintf("GET /r%02d", i), 2, atrion.Success)
	}
	srv := serve(t, New(a, WithTopRoutes(5), WithInterval(50*time.Millisecond)))
	s := openStream(t, srv.URL)
	first := s.next(t)
	if len(first.Routes) != 5 || first.Others.Routes != 15 || first.Others.Modes["OPERATIONAL"] != 15 {
		t.Fatalf("first frame: %d routes, others %+v; want 5 and 15 OPERATIONAL", len(first.Routes), first.Others)
	}
	atriontest.Trip(t, a, clk, "GET /r19") // the last by ID
	for i := 0; ; i++ {
		st := s.next(t)
		var r19 *RouteState
		for k := range st.Routes {
			if st.Routes[k].Route == "GET /r19" {
				r19 = &st.Routes[k]
			}
		}
		if r19 != nil {
			if len(r19.History) == 0 {
				t.Errorf("the route rose into the top without its history")
			}
			break
		}
		if i == 40 {
			t.Fatalf("the open circuit never reached the top routes")
		}
	}
	res, err := http.Get(srv.URL + "/api/state")
	if err != nil {
		t.Fatal(err)
	}
	var st State
	json.NewDecoder(res.Body).Decode(&st)
	res.Body.Close()
	if len(st.Routes) != 5 || !strings.Contains(fmt.Sprint(st.Routes), "GET /r19") || st.Others.Routes != 15 {
		t.Errorf("/api/state: %d routes, others %+v", len(st.Routes), st.Others)
	}
}
