package httpx

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"

	atrion "github.com/atrion-go/atrion/core"
)

func TestClassify(t *testing.T) {
	wrappedCancel := fmt.Errorf("read: %w", context.Canceled)
	for _, c := range []struct {
		code        int
		err, ctxErr error
		want        atrion.Class
	}{
		{200, nil, nil, atrion.Success},
		{404, nil, nil, atrion.Ignored},
		{500, nil, nil, atrion.Failure},
		{0, errors.New("connection refused"), nil, atrion.Failure},
		{500, nil, context.Canceled, atrion.Canceled}, // the route decides: slow sample or ignored
		{0, wrappedCancel, wrappedCancel, atrion.Canceled},
		{0, context.DeadlineExceeded, context.DeadlineExceeded, atrion.Failure}, // a slow dependency is its fault
		{200, nil, context.DeadlineExceeded, atrion.Success},
	} {
		if got := Classify(c.code, c.err, c.ctxErr); got != c.want {
			t.Errorf("Classify(%d, %v, %v) = %v, want %v", c.code, c.err, c.ctxErr, got, c.want)
		}
	}
}

func TestClassifyStatus(t *testing.T) {
	for code, want := range map[int]atrion.Class{
		200: atrion.Success, 204: atrion.Success, 302: atrion.Success, 400: atrion.Ignored, 404: atrion.Ignored,
		429: atrion.Ignored, 499: atrion.Ignored, 500: atrion.Failure, 503: atrion.Failure, 599: atrion.Failure,
		0: atrion.Success, -1: atrion.Success,
	} {
		if got := ClassifyStatus(code); got != want {
			t.Errorf("ClassifyStatus(%d) = %v, want %v", code, got, want)
		}
	}
}

type statusErr struct{ code int }

func (e *statusErr) Error() string { return "status " + strconv.Itoa(e.code) }

func TestErrorStatus(t *testing.T) {
	code := func(e *statusErr) int { return e.code }
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{&statusErr{404}, 404},
		{fmt.Errorf("wrapped: %w", &statusErr{502}), 502},
		{errors.New("plain"), 500},
		{&statusErr{0}, 500},     // not a status
		{&statusErr{-3}, 500},    // garbage
		{&statusErr{70000}, 500}, // garbage
	} {
		if got := ErrorStatus(c.err, code); got != c.want {
			t.Errorf("ErrorStatus(%v) = %d, want %d", c.err, got, c.want)
		}
	}
	e := &statusErr{418}
	if n := testing.AllocsPerRun(100, func() { _ = ErrorStatus(error(e), code) }); n != 0 {
		t.Fatalf("ErrorStatus allocates %v times", n)
	}
}
