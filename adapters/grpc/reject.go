package atrgrpc

import (
	"context"
	"strconv"
	"time"

	atrion "github.com/atrion-go/atrion/core"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// PushbackTrailer is the trailer in which the server interceptors tell a
// rejected client how long to wait, in milliseconds; grpc-go's retry
// policy honours it (gRFC A6).
const PushbackTrailer = "grpc-retry-pushback-ms"

// admit decides a call on its route. When the call is rejected, err is
// the status error it ends with and retry the hint err carries; who says
// which side decided. md reads a metadata value for the priority option.
func (c *config) admit(a *atrion.Atrion, ctx context.Context, fullMethod, who string, md func(context.Context, string) []string) (t atrion.Ticket, retry time.Duration, err error) {
	t, d := a.Admit(c.route(fullMethod), c.callPriority(ctx, fullMethod, md))
	if !d.Allowed {
		retry, err = c.rejection(who, d)
	}
	return t, retry, err
}

// rejection returns the jittered retry hint for a rejected call and the
// status error, carrying it, that the call ends with. who says where the
// rejection happened.
func (c *config) rejection(who string, d atrion.Decision) (retry time.Duration, err error) {
	retry = atrion.JitterRetryAfter(d.RetryAfter)
	b := make([]byte, 0, 96)
	b = append(b, "atrion: "...)
	b = append(b, who...)
	b = append(b, " rejected the call ("...)
	b = append(b, d.Reason.String()...)
	b = append(b, ", "...)
	b = append(b, d.Mode.String()...)
	b = append(b, "); retry after "...)
	b = strconv.AppendInt(b, retry.Milliseconds(), 10)
	b = append(b, "ms"...)
	st := status.New(c.rejectCode, string(b))
	if withInfo, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(retry)}); err == nil {
		st = withInfo
	}
	return retry, st.Err()
}

// pushback is the trailer carrying retry in whole milliseconds, at least 1
// (0 would ask for an immediate retry).
func pushback(retry time.Duration) metadata.MD {
	return metadata.MD{PushbackTrailer: []string{strconv.FormatInt(max(retry.Milliseconds(), 1), 10)}}
}
