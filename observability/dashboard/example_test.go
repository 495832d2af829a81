package atrdash_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	atrion "github.com/atrion-go/atrion/core"
	atrdash "github.com/atrion-go/atrion/observability/dashboard"
)

// Mount the dashboard under /atrion/ next to the application. The Recorder
// gives it every transition exactly, as it happens.
func ExampleNew() {
	rec := atrdash.NewRecorder(0)
	a, err := atrion.New(atrion.WithObserver(rec))
	if err != nil {
		panic(err)
	}
	defer a.Close(context.Background())
	d := atrdash.New(a, atrdash.WithRecorder(rec))
	defer d.Close()

	mux := http.NewServeMux()
	mux.Handle("/atrion/", http.StripPrefix("/atrion", d))

	t, _ := a.Admit("GET /users/:id", atrion.PriorityNormal)
	t.Done(atrion.Success)

	srv := httptest.NewServer(mux)
	defer srv.Close()
	res, err := http.Get(srv.URL + "/atrion/api/state")
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	var st atrdash.State
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		panic(err)
	}
	for _, r := range st.Routes {
		fmt.Println(r.Route, r.Mode, r.Totals.Admitted)
	}
	// Output: GET /users/:id BOOTSTRAP 1
}

// Turn on the evict control. The operator types the token into the page;
// the page itself never holds it.
func ExampleWithControls() {
	a, err := atrion.New()
	if err != nil {
		panic(err)
	}
	defer a.Close(context.Background())
	d := atrdash.New(a, atrdash.WithControls("a-long-random-operator-token"))
	fmt.Println(d.ControlsEnabled())
	// Output: true
}

// Handler is the shortest form: read-only, transitions from snapshots.
func ExampleHandler() {
	a, err := atrion.New()
	if err != nil {
		panic(err)
	}
	defer a.Close(context.Background())
	http.Handle("/atrion/", http.StripPrefix("/atrion", atrdash.Handler(a)))
}
