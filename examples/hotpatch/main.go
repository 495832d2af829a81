// Command hotpatch serves with Atrion configured from a JSON file and
// reloads the file while it serves: on SIGHUP, or when the file changes
// (checked every second). A file that does not parse, or sets a bad value,
// is refused with the reason logged and changes nothing; a good one
// applies at each route's next tick, keeping what the routes learned. The
// file is the whole configuration: a setting or a route override deleted
// from it returns to its default at the reload.
//
//	go run . -config atrion.json
//	curl localhost:8080/search; curl localhost:8080/routes
//	# edit atrion.json, or: kill -HUP <pid>
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	atrion "github.com/atrion-go/atrion/core"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	path := flag.String("config", "atrion.json", "Atrion's configuration file (JSON)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *path, os.Stderr, nil); err != nil {
		log.Fatal(err)
	}
}

// run serves on addr until ctx ends, with the engine configured from the
// file at path and reloaded from it. It sends the bound address on ready.
func run(ctx context.Context, addr, path string, logw io.Writer, ready chan<- string) error {
	logger := log.New(logw, "hotpatch: ", log.LstdFlags)
	opts, err := atrion.LoadConfig(path)
	if err != nil {
		return err
	}
	a, err := atrion.New(opts...)
	if err != nil {
		return err
	}
	defer a.Close(context.Background())
	go watch(ctx, a, path, logger)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /search", func(w http.ResponseWriter, r *http.Request) {
		t, d := a.Admit("GET /search", atrion.PriorityNormal)
		if !d.Allowed {
			w.Header().Set("Retry-After", fmt.Sprint(int(d.RetryAfter.Seconds())+1))
			http.Error(w, d.Reason.String(), http.StatusServiceUnavailable)
			return
		}
		class := atrion.Failure // preset: a panic below counts as a failure
		defer func() { t.Done(class) }()
		fmt.Fprintln(w, "results")
		class = atrion.Success
	})
	mux.HandleFunc("GET /routes", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(a.Snapshots())
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if ready != nil {
		ready <- ln.Addr().String()
	}
	logger.Printf("serving on %s, configuration from %s", ln.Addr(), path)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// watch reloads the file on SIGHUP and when its size or modification time
// changes, until ctx ends.
func watch(ctx context.Context, a *atrion.Atrion, path string, logger *log.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last := stamp(path)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			reload(a, path, logger, "SIGHUP")
			last = stamp(path)
		case <-tick.C:
			if s := stamp(path); s != last {
				last = s
				reload(a, path, logger, "file changed")
			}
		}
	}
}

// reload applies the file, or logs why it cannot: the engine keeps its
// configuration then.
func reload(a *atrion.Atrion, path string, logger *log.Logger, why string) {
	opts, err := atrion.LoadConfig(path)
	if err == nil {
		err = a.Update(opts...)
	}
	if err != nil {
		logger.Printf("%s: configuration refused, keeping the current one: %v", why, err)
		return
	}
	logger.Printf("%s: configuration reloaded from %s", why, path)
}

type fileStamp struct {
	size int64
	mod  time.Time
}

func stamp(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{fi.Size(), fi.ModTime()}
}
