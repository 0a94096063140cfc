package phala

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRetryMatrix(t *testing.T) {
	t.Parallel()
	httpDate := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(http.TimeFormat) }
	codeBody := `{"detail":{"error_code":"ERR-02-005","message":"no slots"}}`
	tests := []struct {
		name         string
		method       string
		status       int
		retryAfter   string
		body         string
		wantAttempts int64
		wantUnknown  bool // a POST whose answer does not tell whether it was acted on
	}{
		// GET: every transient status is retried up to MaxAttempts (3).
		{"GET 408", "GET", 408, "", "", 3, false},
		{"GET 429", "GET", 429, "", "", 3, false},
		{"GET 500", "GET", 500, "", "", 3, false},
		{"GET 502", "GET", 502, "", "", 3, false},
		{"GET 503", "GET", 503, "", "", 3, false},
		{"GET 504", "GET", 504, "", "", 3, false},
		{"GET 503 Retry-After seconds", "GET", 503, "0", "", 3, false},
		{"GET 400", "GET", 400, "", "", 1, false},
		{"GET 401", "GET", 401, "", "", 1, false},
		{"GET 404", "GET", 404, "", "", 1, false},
		{"GET 409 with code", "GET", 409, "", codeBody, 1, false},
		{"GET 422", "GET", 422, "", "", 1, false},
		{"GET 465", "GET", 465, "", "", 1, false},
		{"GET 501", "GET", 501, "", "", 1, false},
		{"GET 503 Retry-After beyond bound", "GET", 503, "3600", "", 1, false},
		// POST: never resent after an answer. 429 is a refusal (the caller decides
		// when to try again); 502, 503 and 504 may come from a gateway after the API
		// acted, so their outcome is unknown, Retry-After or not.
		{"POST 429 Retry-After", "POST", 429, "0", "", 1, false},
		{"POST 503 Retry-After", "POST", 503, "1", "", 1, true},
		{"POST 503 Retry-After date", "POST", 503, httpDate(2 * time.Second), "", 1, true},
		{"POST 503 Retry-After past date", "POST", 503, httpDate(-time.Hour), "", 1, true},
		{"POST 429 without Retry-After", "POST", 429, "", "", 1, false},
		{"POST 503 without Retry-After", "POST", 503, "", "", 1, true},
		{"POST 503 malformed Retry-After", "POST", 503, "soon", "", 1, true},
		{"POST 503 Retry-After beyond bound", "POST", 503, "3600", "", 1, true},
		{"POST 500", "POST", 500, "", "", 1, true}, // a 500 may come after the API wrote
		{"POST 502", "POST", 502, "", "", 1, true},
		{"POST 504", "POST", 504, "", "", 1, true},
		{"POST 504 with code", "POST", 504, "", codeBody, 1, true},
		{"POST 408", "POST", 408, "", "", 1, false},
		{"POST 409 with code", "POST", 409, "", codeBody, 1, false},
		{"POST 465", "POST", 465, "", `{"detail":{"error_code":"ERR-01-005","message":"register"}}`, 1, false},
		{"PATCH 503 without Retry-After", "PATCH", 503, "", "", 1, true},
		{"PUT 429 Retry-After", "PUT", 429, "0", "", 1, false},
		{"DELETE 500", "DELETE", 500, "", "", 1, true},
		{"POST 501 with code", "POST", 501, "", codeBody, 1, true},
		{"POST 499", "POST", 499, "", "", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var w waits
			c, mux, _ := setup(t, withBackoffHook(w.hook))
			var n counter
			mux.HandleFunc("/x", n.wrap(func(rw http.ResponseWriter, r *http.Request) {
				testMethod(t, r, tt.method)
				if tt.retryAfter != "" {
					rw.Header().Set("Retry-After", tt.retryAfter)
				}
				writeJSON(rw, tt.status, tt.body)
			}))
			var body any
			if tt.method != "GET" {
				body = map[string]int{"node_id": 1}
			}
			_, err := c.do(context.Background(), request{method: tt.method, path: "/x", body: body}, nil)
			assert.Equal(t, tt.wantAttempts, n.get(), "requests reaching the server")
			assert.Len(t, w.all(), int(tt.wantAttempts-1), "waits")
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.status, apiErr.StatusCode)
			if tt.retryAfter == "3600" {
				assert.Equal(t, time.Hour, apiErr.RetryAfter)
			}
			if tt.status == 429 && tt.retryAfter == "0" {
				assert.Zero(t, apiErr.RetryAfter)
			}
			var unknown *OutcomeUnknownError
			if !tt.wantUnknown {
				assert.False(t, errors.As(err, &unknown), "a refusal is not an unknown outcome: %v", err)
				return
			}
			require.ErrorAs(t, err, &unknown)
			assert.Equal(t, tt.status, unknown.StatusCode)
			assert.Equal(t, tt.method, unknown.Method)
			assert.Equal(t, "/x", unknown.Path)
			assert.Equal(t, 1, unknown.Attempts)
			assert.Contains(t, err.Error(), "outcome unknown")
			assert.Contains(t, err.Error(), fmt.Sprintf("HTTP %d", tt.status))
			assert.Contains(t, err.Error(), "GET /apps/{app_id}/cvms")
			if tt.body == codeBody {
				assert.ErrorIs(t, err, ErrInsufficientSlots, "the answer's code stays visible")
			}
		})
	}
}

func TestRetrySucceedsAfterTransientErrors(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	var n counter
	mux.HandleFunc("GET /cvms/abc", n.wrap(func(w http.ResponseWriter, r *http.Request) {
		if n.get() < 3 {
			writeJSON(w, http.StatusBadGateway, `{"detail":"upstream"}`)
			return
		}
		writeJSON(w, http.StatusOK, `{"name":"web"}`)
	}))
	var out struct{ Name string }
	res, err := c.do(context.Background(), request{method: "GET", path: "/cvms/abc"}, &out)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, "web", out.Name)
	assert.EqualValues(t, 3, n.get())
}

// dialFailOnce fails the first round trip as a refused dial, before any
// connection exists, then delegates to the default transport.
type dialFailOnce struct{ n atomic.Int64 }

func (d *dialFailOnce) RoundTrip(r *http.Request) (*http.Response, error) {
	if d.n.Add(1) == 1 {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestRetryBodyResentIdentically(t *testing.T) {
	t.Parallel()
	rt := &dialFailOnce{}
	c, mux, _ := setup(t, WithHTTPClient(&http.Client{Transport: rt}))
	var n counter
	mux.HandleFunc("POST /cvms/abc/replicas", n.wrap(func(w http.ResponseWriter, r *http.Request) {
		testJSONBody(t, r, `{"node_id":7}`)
		writeJSON(w, http.StatusOK, `{"id":1}`)
	}))
	_, err := c.do(context.Background(), request{method: "POST", path: "/cvms/abc/replicas", body: map[string]int{"node_id": 7}}, nil)
	require.NoError(t, err)
	assert.EqualValues(t, 2, rt.n.Load(), "the POST that never connected was sent again")
	assert.EqualValues(t, 1, n.get())
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		retryAfter func() string
		min, max   time.Duration
	}{
		{"seconds", func() string { return "7" }, 7 * time.Second, 7 * time.Second},
		{"zero", func() string { return "0" }, 0, 0},
		{"HTTP date", func() string { return time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat) }, 28 * time.Second, 30 * time.Second},
		{"HTTP date in the past", func() string { return "Mon, 02 Jan 2006 15:04:05 GMT" }, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var w waits
			c, mux, _ := setup(t, withBackoffHook(w.hook), WithRetryPolicy(RetryPolicy{MaxAttempts: 2, MaxRetryAfter: time.Minute}))
			mux.HandleFunc("/x", func(rw http.ResponseWriter, r *http.Request) {
				rw.Header().Set("Retry-After", tt.retryAfter())
				writeJSON(rw, http.StatusServiceUnavailable, `{"detail":"maintenance"}`)
			})
			_, err := c.do(context.Background(), request{path: "/x"}, nil)
			require.Error(t, err)
			got := w.all()
			require.Len(t, got, 1)
			assert.GreaterOrEqual(t, got[0], tt.min)
			assert.LessOrEqual(t, got[0], tt.max)
		})
	}
}

func TestBackoffExponentialWithJitter(t *testing.T) {
	t.Parallel()
	var w waits
	p := RetryPolicy{MaxAttempts: 5, MinBackoff: 100 * time.Millisecond, MaxBackoff: 300 * time.Millisecond, MaxRetryAfter: time.Second}
	c, mux, _ := setup(t, withBackoffHook(w.hook), WithRetryPolicy(p))
	mux.HandleFunc("/x", func(rw http.ResponseWriter, r *http.Request) {
		writeJSON(rw, http.StatusInternalServerError, `{"detail":"boom"}`)
	})
	_, err := c.do(context.Background(), request{path: "/x"}, nil)
	require.Error(t, err)
	got := w.all()
	require.Len(t, got, 4)
	// Ceilings 100, 200, 300 (capped), 300 ms; jitter draws from [d/2, d].
	for i, ceiling := range []time.Duration{100, 200, 300, 300} {
		ceiling *= time.Millisecond
		assert.GreaterOrEqual(t, got[i], ceiling/2, "wait %d", i)
		assert.LessOrEqual(t, got[i], ceiling, "wait %d", i)
	}
}

func TestExpBackoff(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	tests := []struct {
		p     RetryPolicy
		retry int
		want  time.Duration
	}{
		{RetryPolicy{MinBackoff: 250 * ms, MaxBackoff: 5 * time.Second}, 0, 250 * ms},
		{RetryPolicy{MinBackoff: 250 * ms, MaxBackoff: 5 * time.Second}, 1, 500 * ms},
		{RetryPolicy{MinBackoff: 250 * ms, MaxBackoff: 5 * time.Second}, 4, 4 * time.Second},
		{RetryPolicy{MinBackoff: 250 * ms, MaxBackoff: 5 * time.Second}, 5, 5 * time.Second},
		{RetryPolicy{MinBackoff: 250 * ms, MaxBackoff: 5 * time.Second}, 1000, 5 * time.Second},
		{RetryPolicy{MinBackoff: 250 * ms}, 3, 250 * ms},
		{RetryPolicy{}, 3, 0},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, expBackoff(tt.p, tt.retry), "%+v retry %d", tt.p, tt.retry)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 21, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		value  string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"120", 2 * time.Minute, true},
		{" 5 ", 5 * time.Second, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"99999999999999999999", 0, false},
		{"Wed, 21 Jan 2026 12:00:30 GMT", 30 * time.Second, true},
		{"Wednesday, 21-Jan-26 12:01:00 GMT", time.Minute, true},
		{"Wed Jan 21 12:00:10 2026", 10 * time.Second, true},
		{"Wed, 21 Jan 2026 11:00:00 GMT", 0, true},
		{"tomorrow", 0, false},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.value != "" {
			h.Set("Retry-After", tt.value)
		}
		got, ok := parseRetryAfter(h, now)
		assert.Equal(t, tt.wantOK, ok, "%q", tt.value)
		assert.Equal(t, tt.want, got, "%q", tt.value)
	}
}

// hijackAfterRead reads the whole request, counts it, then drops the connection
// without answering: the server has the request, the client gets no answer.
func hijackAfterRead(t *testing.T, n *counter) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		n.inc()
		conn, _, err := http.NewResponseController(w).Hijack()
		if !assert.NoError(t, err) {
			return
		}
		_ = conn.Close()
	}
}

func TestPOSTNotResentAfterServerReceivedIt(t *testing.T) {
	t.Parallel()
	var w waits
	c, mux, _ := setup(t, withBackoffHook(w.hook))
	var n counter
	mux.HandleFunc("POST /cvms/abc/replicas", hijackAfterRead(t, &n))

	_, err := c.do(context.Background(), request{method: "POST", path: "/cvms/abc/replicas", body: map[string]int{"node_id": 1}}, nil)
	require.Error(t, err)
	assert.EqualValues(t, 1, n.get(), "exactly one request reached the server")
	assert.Empty(t, w.all(), "no retry was scheduled")

	var unknown *OutcomeUnknownError
	require.ErrorAs(t, err, &unknown)
	assert.Equal(t, "POST", unknown.Method)
	assert.Equal(t, "/cvms/abc/replicas", unknown.Path)
	assert.Equal(t, 1, unknown.Attempts)
	assert.Contains(t, err.Error(), "outcome unknown")
	assert.Contains(t, err.Error(), "GET /apps/{app_id}/cvms")
	assert.NotContains(t, err.Error(), testKey)
}

func TestGETRetriedAfterConnectionDropped(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	var n counter
	mux.HandleFunc("GET /cvms/abc", hijackAfterRead(t, &n))
	_, err := c.do(context.Background(), request{path: "/cvms/abc"}, nil)
	require.Error(t, err)
	assert.EqualValues(t, 3, n.get())
	var unknown *OutcomeUnknownError
	assert.False(t, errors.As(err, &unknown), "a GET has no unknown outcome")
	assert.Contains(t, err.Error(), "giving up after 3 attempts")
}

func TestPOSTRetriedWhenConnectionRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there any more

	rt := &countingTransport{}
	c, err := NewClient(WithAPIKey(testKey), WithBaseURL("http://"+addr+basePath),
		WithHTTPClient(&http.Client{Transport: rt}), WithRetryPolicy(fastRetry))
	require.NoError(t, err)

	_, err = c.do(context.Background(), request{method: "POST", path: "/cvms/abc/replicas", body: struct{}{}}, nil)
	require.Error(t, err)
	assert.EqualValues(t, 3, rt.n.Load(), "a POST that never connected is retried")
	var unknown *OutcomeUnknownError
	assert.False(t, errors.As(err, &unknown), "nothing was sent, the outcome is known")
	assert.True(t, isConnectError(err), "%v", err)
	assert.Contains(t, err.Error(), "giving up after 3 attempts")
}

func TestPOSTTimeoutAfterSendIsOutcomeUnknown(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	c, mux, _ := setup(t, WithTimeout(50*time.Millisecond))
	t.Cleanup(func() { close(release) })
	var n counter
	mux.HandleFunc("POST /cvms/abc/replicas", n.wrap(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	_, err := c.do(context.Background(), request{method: "POST", path: "/cvms/abc/replicas", body: struct{}{}}, nil)
	var unknown *OutcomeUnknownError
	require.ErrorAs(t, err, &unknown)
	assert.EqualValues(t, 1, n.get())
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout())
}

func TestGETTimeoutIsRetried(t *testing.T) {
	t.Parallel()
	// The per-attempt timeout bounds the healthy retry as well as the hanging
	// first attempt. At 50 ms a loaded -race run sometimes delayed the retry past
	// it, so the retry timed out too and a third attempt was made (the failing
	// runs took three timeouts). A healthy attempt must not depend on being
	// scheduled within a few milliseconds: one second is far above any such
	// delay, and the test costs one timeout.
	c, mux, _ := setup(t, WithTimeout(time.Second))
	var n counter
	mux.HandleFunc("GET /cvms/abc", n.wrap(func(w http.ResponseWriter, r *http.Request) {
		if n.get() == 1 {
			<-r.Context().Done() // the first attempt times out
			return
		}
		writeJSON(w, http.StatusOK, `{}`)
	}))
	_, err := c.do(context.Background(), request{path: "/cvms/abc"}, nil)
	require.NoError(t, err)
	assert.EqualValues(t, 2, n.get())
}

func TestContextCancelDuringBackoffReturnsPromptly(t *testing.T) {
	t.Parallel()
	// No backoff hook: the client really waits the 30 s Retry-After.
	c, mux, _ := setup(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 3, MaxRetryAfter: time.Minute}))
	var n counter
	mux.HandleFunc("/x", n.wrap(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		writeJSON(w, http.StatusServiceUnavailable, `{"detail":"later"}`)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.do(ctx, request{path: "/x"}, nil)
	assert.Less(t, time.Since(start), 5*time.Second)
	require.ErrorIs(t, err, context.Canceled)
	assert.EqualValues(t, 1, n.get())
	var unknown *OutcomeUnknownError
	assert.False(t, errors.As(err, &unknown))
}

func TestContextCancelWhilePOSTInFlightIsOutcomeUnknown(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	received := make(chan struct{})
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	mux.HandleFunc("POST /x", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		close(received)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-received; cancel() }()
	_, err := c.do(ctx, request{method: "POST", path: "/x", body: struct{}{}}, nil)
	var unknown *OutcomeUnknownError
	require.ErrorAs(t, err, &unknown)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestCancelledContextSendsNothing(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t)
	var n counter
	mux.HandleFunc("/x", n.wrap(func(w http.ResponseWriter, r *http.Request) {}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.do(ctx, request{method: "POST", path: "/x", body: struct{}{}}, nil)
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, n.get())
}

func TestRetriesDisabled(t *testing.T) {
	t.Parallel()
	c, mux, _ := setup(t, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	var n counter
	mux.HandleFunc("/x", n.wrap(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusServiceUnavailable, `{}`)
	}))
	_, err := c.do(context.Background(), request{path: "/x"}, nil)
	require.Error(t, err)
	assert.EqualValues(t, 1, n.get())
}

func TestRetryPolicyValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p  RetryPolicy
		ok bool
	}{
		{DefaultRetryPolicy(), true},
		{RetryPolicy{}, true},
		{RetryPolicy{MaxAttempts: 1}, true},
		{RetryPolicy{MaxAttempts: -1}, false},
		{RetryPolicy{MaxAttempts: 101}, false},
		{RetryPolicy{MinBackoff: -1}, false},
		{RetryPolicy{MaxRetryAfter: -time.Second}, false},
		{RetryPolicy{MinBackoff: time.Second, MaxBackoff: time.Millisecond}, false},
	}
	for _, tt := range tests {
		_, err := NewClient(WithAPIKey(testKey), WithRetryPolicy(tt.p))
		if tt.ok {
			assert.NoError(t, err, "%+v", tt.p)
		} else {
			assert.ErrorIs(t, err, ErrInvalidOption, "%+v", tt.p)
		}
	}
}

func TestIdempotentMethods(t *testing.T) {
	t.Parallel()
	for m, want := range map[string]bool{"GET": true, "HEAD": true, "OPTIONS": true, "POST": false, "PUT": false, "PATCH": false, "DELETE": false} {
		assert.Equal(t, want, idempotent(m), m)
	}
	for _, code := range []int{408, 429, 500, 502, 503, 504} {
		assert.True(t, retryableStatus(code), strconv.Itoa(code))
	}
	for _, code := range []int{200, 400, 401, 403, 404, 409, 422, 465, 466, 501, 505} {
		assert.False(t, retryableStatus(code), strconv.Itoa(code))
	}
}
