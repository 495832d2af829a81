package main

// The dashboard's browser test drives headless Chromium with chromedp.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browsers are the names Chromium goes by: Debian's, Ubuntu's and
// Google's build.
var browsers = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// browser is a headless Chromium started by the test, with one page.
type browser struct {
	ctx context.Context // the page's
}

// startChromium starts headless Chromium with a fresh profile. It skips
// the test when no Chromium is installed, and fails it instead when CI is
// set.
func startChromium(t *testing.T) *browser {
	t.Helper()
	path := ""
	for _, name := range browsers {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		msg := fmt.Sprintf("no Chromium on PATH (tried %v); install one (apt-get install chromium) to run the dashboard's browser test", browsers)
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set: a missing browser fails)")
		}
		t.Skip(msg)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900), chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("hide-scrollbars", true))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel() // closes the browser
		cancelAlloc()
	})
	// the first call starts the browser, which lives as long as ctx: no
	// timeout on it (the test's own bounds it)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return &browser{ctx: ctx}
}

// do runs actions on the page, for at most limit.
func (b *browser) do(limit time.Duration, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.ctx, limit)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// navigate loads url in the page.
func (b *browser) navigate(url string) error { return b.do(30*time.Second, chromedp.Navigate(url)) }

// check evaluates expr, a JavaScript expression that yields a boolean, in
// the page.
func (b *browser) check(expr string) (bool, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
}

// waitPage polls cond (a JavaScript expression that yields a boolean)
// every 25 ms until it is true or limit passes, and returns how long it
// took.
func (b *browser) waitPage(ctx context.Context, cond string, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for time.Since(start) < limit {
		ok, err := b.check(cond)
		if err != nil {
			return 0, err
		}
		if ok {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
	return 0, fmt.Errorf("page: %s still false after %v", cond, limit)
}

// screenshot returns a PNG of the page's 1280×900 viewport.
func (b *browser) screenshot() ([]byte, error) {
	if err := b.do(30*time.Second, chromedp.EmulateViewport(1280, 900)); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.CaptureScreenshot())
}
