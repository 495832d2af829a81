package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// frontSpec configures a front process.
type frontSpec struct {
	Contestant string        `json:"contestant"`
	Backend    string        `json:"backend"` // base URL
	Timeout    time.Duration `json:"timeout"` // of every backend call
}

// newFront returns the service under test: a gin engine whose route
// "/api/NAME" calls the backend's "/dep/NAME" and answers 200 when it
// served, 502 when it failed and 504 when it was slower than the
// timeout. The contestant's guard runs as middleware in front of every
// route. Only guards answer 503 or 429, so the generator can tell their
// shedding from a failure. The returned func releases the guard.
func newFront(spec frontSpec) (http.Handler, func(), error) {
	build, ok := guards[spec.Contestant]
	if !ok {
		return nil, nil, fmt.Errorf("unknown contestant %q", spec.Contestant)
	}
	guard, release, err := build()
	if err != nil {
		return nil, nil, err
	}
	gin.SetMode(gin.ReleaseMode)
	g := gin.New()
	g.Use(gin.Recovery())
	if guard != nil {
		g.Use(guard)
	}
	client := &http.Client{Timeout: spec.Timeout, Transport: newTransport()}
	for _, r := range Routes {
		url := spec.Backend + "/dep/" + r
		g.GET("/api/"+r, func(c *gin.Context) { c.Status(relay(c.Request.Context(), client, url)) })
	}
	return g, release, nil
}

// relay calls the backend and maps its answer to the front's status.
func relay(ctx context.Context, client *http.Client, url string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return http.StatusInternalServerError
	}
	res, err := client.Do(req)
	if err != nil {
		var te interface{ Timeout() bool }
		if errors.As(err, &te) && te.Timeout() {
			return http.StatusGatewayTimeout
		}
		return http.StatusBadGateway
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return http.StatusBadGateway
	}
	return http.StatusOK
}

// newTransport returns a transport for loopback traffic that keeps enough
// idle connections not to churn through ports; every process uses it, so
// no contestant pays more for connections than another.
func newTransport() *http.Transport {
	return &http.Transport{
		MaxIdleConns:        4096,
		MaxIdleConnsPerHost: 4096,
		IdleConnTimeout:     30 * time.Second,
	}
}

// control makes a control call: method on url with body, decoding the
// answer into out when it is not nil.
func control(ctx context.Context, c *http.Client, method, url string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	res, err := c.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s", method, url, res.Status)
	}
	if out == nil {
		_, err = io.Copy(io.Discard, res.Body)
		return err
	}
	return json.NewDecoder(res.Body).Decode(out)
}
