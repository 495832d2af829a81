package modproxy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrion-go/atrion/tools/modproxy"
	"golang.org/x/mod/modfile"
)

// version is what the consumer asks for: the version every module
// requires its siblings at, and the one the release tags.
const version = "v0.1.0"

const prefix = "github.com/atrion-go/atrion/"

// consumed are the modules the consumer gets, one go get each.
var consumed = []string{
	"adapters/gin", "adapters/grpc", "providers/redis", "observability/prometheus",
	"adapters/echov5", "adapters/fiberv3",
}

// consumerMain uses every module it gets: a gin service guarded by atrgin,
// gRPC interceptors, a Redis provider, a Prometheus collector, echo v5 and
// fiber v3 middleware. It serves one request through gin in memory and
// prints what the engine saw.
const consumerMain = `package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"

	atrecho "github.com/atrion-go/atrion/adapters/echov5"
	atrfiber "github.com/atrion-go/atrion/adapters/fiberv3"
	atrgin "github.com/atrion-go/atrion/adapters/gin"
	atrgrpc "github.com/atrion-go/atrion/adapters/grpc"
	atrion "github.com/atrion-go/atrion/core"
	atrprom "github.com/atrion-go/atrion/observability/prometheus"
	atrredis "github.com/atrion-go/atrion/providers/redis"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
)

func main() {
	p, err := atrredis.New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	a, err := atrion.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer a.Close(context.Background())
	_ = p // a service would pass atrion.WithProvider(p); no Redis runs here

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(atrgin.Middleware(a))
	r.GET("/users/:id", func(c *gin.Context) { c.String(http.StatusOK, "user") })
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/users/7", nil))

	_ = grpc.NewServer(grpc.ChainUnaryInterceptor(atrgrpc.UnaryServerInterceptor(a)))
	_ = atrecho.Middleware(a)
	_ = atrfiber.New(a)
	reg := prometheus.NewRegistry()
	reg.MustRegister(atrprom.NewCollector(a))
	mfs, err := reg.Gather()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s, _ := a.Snapshot("GET /users/:id")
	fmt.Printf("status %d, route %q admitted %d, %d metric families\n", w.Code, s.Route, s.Totals.Admitted, len(mfs))
}
`

// TestConsumerInstallsWithGoGet proves the modules installable by users:
// from a file proxy of this tree at v0.1.0, a scratch module outside the
// workspace gets gin, grpc, redis, prometheus, echo v5 and fiber v3 with
// go get, builds and runs a main that uses them, and its go.sum holds the
// very hashes of the zips (go mod verify agrees). Our modules come only
// from the file proxy; third-party ones from the local module cache, used
// as a second file proxy, and from go env GOPROXY for the versions the
// cache lacks (see consumerProxy): with a warm cache nothing leaves the
// machine, and with an empty one (CI runs it so) the test proves what a
// newcomer's go get does. The checksum database is off, since our v0.1.0
// is in no checksum database; our zips are checked against the hashes
// computed here instead.
func TestConsumerInstallsWithGoGet(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go not on PATH")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	proxy := filepath.Join(tmp, "proxy")
	sums, err := modproxy.Build(root, version, proxy)
	if err != nil {
		t.Fatal(err)
	}
	var goenv struct{ GOMODCACHE, GOPROXY string }
	if err := json.Unmarshal([]byte(run(t, gobin, root, nil, "env", "-json", "GOMODCACHE", "GOPROXY")), &goenv); err != nil {
		t.Fatalf("go env -json: %v", err)
	}
	env := []string{
		"GOWORK=off",
		"GOFLAGS=-mod=mod -modcacherw",
		"GOPROXY=" + consumerProxy(proxy, goenv.GOMODCACHE, goenv.GOPROXY),
		"GOSUMDB=off",
		"GOMODCACHE=" + filepath.Join(tmp, "modcache"), // fresh: every module comes from a proxy
		"GOTOOLCHAIN=local",
	}
	app := filepath.Join(tmp, "consumer")
	if err := os.MkdirAll(app, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(app, "go.mod"), "module example.com/consumer\n\ngo 1.26\n")
	write(t, filepath.Join(app, "main.go"), consumerMain)
	for _, m := range consumed {
		run(t, gobin, app, env, "get", prefix+m+"@"+version)
	}
	run(t, gobin, app, env, "mod", "tidy")
	bin := filepath.Join(tmp, "consumer-bin")
	run(t, gobin, app, env, "build", "-trimpath", "-o", bin, ".")
	out := run(t, bin, app, nil)
	if want := `status 200, route "GET /users/:id" admitted 1`; !strings.Contains(out, want) {
		t.Fatalf("the consumer printed %q, want %q", out, want)
	}

	// go.sum records each of our modules at v0.1.0 with the hash of the zip
	// the proxy served, and go mod verify finds the module cache intact
	gosum := readSum(t, filepath.Join(app, "go.sum"))
	for path, h := range sums {
		got, used := gosum[path+" "+version]
		if !used {
			continue // not in the consumer's build (benchmarks, examples, ...)
		}
		if got != h {
			t.Errorf("go.sum: %s %s %s, the proxy's zip hashes to %s", path, version, got, h)
		}
	}
	for _, m := range append([]string{"core", "adapters/internal", "observability/internal"}, consumed...) {
		if _, ok := gosum[prefix+m+" "+version]; !ok {
			t.Errorf("go.sum has no line for %s%s %s", prefix, m, version)
		}
	}
	if out := run(t, gobin, app, env, "mod", "verify"); !strings.Contains(out, "all modules verified") {
		t.Errorf("go mod verify: %s", out)
	}
	data, err := os.ReadFile(filepath.Join(app, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range mf.Require {
		if strings.HasPrefix(r.Mod.Path, prefix) && r.Mod.Version != version {
			t.Errorf("the consumer's go.mod requires %s", r.Mod)
		}
	}
	if len(mf.Replace) > 0 {
		t.Errorf("the consumer's go.mod needs replace lines:\n%s", data)
	}
}

// consumerProxy is the consumer's GOPROXY: this tree's modules from the
// file proxy at ours, then third-party modules from the local module cache
// (a file proxy too), then, for the versions the cache lacks, the proxies
// the developer's go env names. The consumer's minimal version selection
// runs over our modules' own go.mod files, not the workspace's, so it can
// select versions a workspace build never downloaded (an older x/net, say):
// on a fresh machine the cache holds none of them. The fallback is taken
// only when the cache lacks a file (the go command moves to the next proxy
// on "not found" alone), so a warm cache keeps the test off the network,
// and GOPROXY=off keeps it off whatever the cache holds.
func consumerProxy(ours, modcache, goproxy string) string {
	list := "file://" + ours + ",file://" + filepath.Join(modcache, "cache", "download")
	if goproxy == "" || goproxy == "off" {
		return list
	}
	return list + "," + goproxy
}

// run runs name with args in dir (with env added to the environment) and
// returns its combined output; it fails the test on an error. A command
// may run until 30 s before the test's deadline (go test -timeout), so the
// failure is reported rather than the binary panicking, or 10 minutes
// without one: with an empty build cache on 2 cores, the consumer's build
// (gin, gRPC, fiber, echo, Prometheus, go-redis from source) takes minutes.
func run(t *testing.T, name, dir string, env []string, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	if d, ok := t.Deadline(); ok {
		deadline = d.Add(-30 * time.Second)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

func write(t *testing.T, name, data string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readSum reads a go.sum's zip hashes: "path version" → "h1:...".
func readSum(t *testing.T, name string) map[string]string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) == 3 && !strings.HasSuffix(fs[1], "/go.mod") {
			sums[fs[0]+" "+fs[1]] = fs[2]
		}
	}
	return sums
}
