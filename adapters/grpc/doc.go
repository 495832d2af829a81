// Package atrgrpc guards gRPC calls with Atrion: server interceptors shed
// load on a service's own methods, client interceptors shed calls to a
// dependency that is failing, so that a caller fails fast instead of
// queueing on a dead backend.
//
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(atrgrpc.UnaryServerInterceptor(a)),
//		grpc.ChainStreamInterceptor(atrgrpc.StreamServerInterceptor(a)),
//	)
//	conn, err := grpc.NewClient(target,
//		grpc.WithChainUnaryInterceptor(atrgrpc.UnaryClientInterceptor(a)),
//		grpc.WithChainStreamInterceptor(atrgrpc.StreamClientInterceptor(a)),
//	)
//
// # Routes and outcomes
//
// A call's route ID is its full method name ("/pkg.Service/Method"); see
// WithRouteID to group methods. Methods the server did not register, which
// only an unknown-service handler (grpc.UnknownServiceHandler: a proxy, a
// gateway) serves, share one route, atrion.UnmatchedRoute, so that
// clients cannot mint routes with method names; Unimplemented is ignored
// on it rather than a failure. Reserve(a, srv) after registering the
// services gives each registered method a reserved slot in the engine, so
// that junk route IDs can never push one into the overflow route. The
// health service (/grpc.health.v1.Health/*) and server reflection
// (/grpc.reflection.*) pass through unguarded unless
// WithOperationalMethods: a health check is not the service's work, and
// must not be shed by it. A finished call is classified from its
// status (Classify): Unknown, DeadlineExceeded, Unimplemented, Internal,
// Unavailable and DataLoss are failures of the service; OK is a success;
// Canceled is a caller that gave up, recorded as a slow sample when it
// waited past the route's latency baseline and ignored when it left sooner;
// every other code (the codes that blame the caller: InvalidArgument,
// NotFound, PermissionDenied, ...) is ignored. Before the classifier runs,
// the call's context decides: a call whose caller went away or whose
// deadline passed (on a server, the client's deadline, which grpc-timeout
// carries) is its caller's outcome, Canceled, whatever the handler
// returned: a caller's short deadline is not the route's failure. It is a
// slow sample if the call waited past the route's latency baseline, so a
// route that hangs past every caller's deadline is still seen as slow.
// A DeadlineExceeded returned before the call's deadline (or on a call
// without one) is the handler's own downstream call timing out (on a
// client, the server's): a failure, as the classifier says. (A
// deadline that an interceptor chained before Atrion's sets is read as
// the caller's too.) A handler that panics is a failure; the interceptor
// records it and lets the panic continue to the recovery interceptor or
// the server.
//
// # Streams
//
// A stream is admitted once, when it starts, and its outcome is its final
// status (the handler's returned error on the server; on the client the
// error that ends the stream, or its context ending first).
//
// A stream's latency is its time to first response: from the last input
// before that response (or the stream's start) to the response. On the
// server the inputs are the client's messages as RecvMsg returns them
// (io.EOF, the end of them, too) and the response is the handler's first
// SendMsg or SendHeader. On the client the inputs are its own SendMsg and
// CloseSend, and the response is the first header or message the
// application receives (Header or RecvMsg returning: an interceptor sees
// no earlier, so a client that reads late reads as slow). So a
// server-streaming call reads as the time to its first message, a
// client-streaming call as the time from the client's last message to the
// answer, a bidirectional stream as the time its first answer took; how
// long the client takes to send and how long the stream stays open after
// its first response are never counted, so a stream open for an hour reads
// no slower than one that closes at once. A stream that ends without a
// response is timed from its last input to its end. A server that pushes
// events to subscribers (a watch) should send its headers (SendHeader)
// once the subscription is set up, so that waiting for the first event
// does not read as a slow response.
//
// # Client keys
//
// WithClientKey names each call's client on the server (a tenant, an API
// key's ID, a peer's address or certificate subject) for the engine's
// cluster-wide bans (atrion.AdmitKey): a banned key is refused before its
// handler runs with codes.ResourceExhausted, a RetryInfo detail and a
// pushback of the ban's time left; every other call is admitted as
// without a key, and the key is judged on its calls. A call that ends
// with InvalidArgument, Unauthenticated, PermissionDenied or
// ResourceExhausted (or Unimplemented from the unknown-service handler)
// is its client's fault: it counts against the key, and, as before, is
// ignored by the route. Client interceptors take no key.
//
// # Rejection
//
// A rejected call ends with a *RejectedError: codes.Unavailable
// (WithRejectionCode: ResourceExhausted or another code), a message naming
// the reason and the route's mode, and a google.rpc.RetryInfo detail
// carrying the retry hint, jittered over [RetryAfter, 1.5 × RetryAfter)
// so that rejected clients do not return in one wave. The server
// interceptors also set the trailer grpc-retry-pushback-ms to that hint in
// milliseconds (at least 1): the core's hint ranges from one tick to five
// minutes and gRPC carries milliseconds, so it is not rounded to seconds
// as HTTP's Retry-After is. A grpc-go client whose service config has a
// retry policy with the rejection code among its retryable codes waits
// that long before its next attempt instead of its own backoff (a
// rejection is sent before the handler runs, as a trailers-only response,
// which grpc-go requires to retry). It gives up when its deadline passes.
//
// The client interceptors reject locally with the same status and no
// trailer, without touching the network; errors.Is(err, ErrRejected) tells
// such a rejection apart.
//
// A server's own rejection is not a failure of the dependency. A call that
// ends with Unavailable or ResourceExhausted carrying a pushback (the
// grpc-retry-pushback-ms trailer, or a google.rpc.RetryInfo detail, as
// this package's server interceptors send both) is the server shedding
// load: the client interceptors record it as ignored, so that a server's
// shedding never opens its clients' circuits, and pass the error on with
// its pushback for the caller (or grpc-go's retry policy) to honour. They
// do not hold the route's other calls: a server that sheds a share of its
// calls (its in-flight limit, its recovery ramp) must still see the rest.
// A unary call's trailer is read only when its caller asked for it with
// grpc.Trailer (asking for it on every call would cost allocations); its
// RetryInfo detail is always read. A stream's trailer is read when it
// ends. A plain Unavailable, without a pushback, is a failure as before.
//
// # Load reports (ORCA)
//
// A LoadReporter publishes the engine's load to clients as ORCA load
// reports: utilisation is requests in flight ÷ in-flight limit on the
// busiest route, beside requests and errors (failures and rejections) per
// second, read once per tick and smoothed over a second. Chain its
// interceptor to attach the report to every call (per-call reports), and
// Register it for the out-of-band service:
//
//	rep := atrgrpc.NewLoadReporter(a)
//	defer rep.Close()
//	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(rep.UnaryServerInterceptor(), atrgrpc.UnaryServerInterceptor(a)))
//	rep.Register(srv)
//
// A client balancing with grpc-go's weighted_round_robin (import
// google.golang.org/grpc/balancer/weightedroundrobin; service config
// {"loadBalancingConfig":[{"weighted_round_robin":{}}]}) then sends each
// replica calls in proportion to its requests per second ÷ (utilisation +
// error share), so a replica that is full or sheds gets fewer. Measured
// on loopback (TestLoadReportsRaiseGoodput): three servers, two
// with 8 workers at 5 ms a call, one with 2 workers at 15 ms (133 calls/s,
// against the 200/s a third of the load brings it), 600 calls/s offered
// open loop with a 250 ms deadline, 4 s measured after 2 s of warm-up,
// weighted_round_robin with no blackout and weights recomputed every
// 100 ms; share of the calls each server received, and goodput (calls
// answered OK per second):
//
//	policy                                   fast 1   fast 2   overloaded   goodput
//	round_robin                              33.3 %   33.3 %   33.3 %       506/s
//	weighted_round_robin, no reports         33.3 %   33.3 %   33.3 %       525/s
//	weighted_round_robin, Atrion's reports   44.0 %   49.7 %    6.3 %       588/s
//
// Over three runs on a two-core machine shared with other work, the
// overloaded server's share with the reports was 6 to 11 % (33 % without),
// and goodput 15 to 137 calls/s above round robin's (455 to 528/s):
// the gain varies with how fast the weights settle, and part of the calls
// still fail while they do.
//
// grpc-go's out-of-band service sends a report every 30 s at most (its
// floor outside its own tests), so a client on out-of-band reports
// (enableOobLoadReport) follows the load that slowly; per-call reports
// follow it as fast as the client calls.
//
// # Cost
//
// The unary interceptors add no allocations by default, a decision hook
// and a client key included; the metadata priority option copies the metadata value it
// reads (one small allocation), and WithDecisionInContext allocates the
// context it gives the call. A stream allocates its wrapper. A
// LoadReporter's interceptors add nothing of their own but the trailer,
// which grpc-go copies into the call's (a few small allocations).
package atrgrpc
