package phala

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testKey is the API key of test clients; tests assert it never shows up in errors
// or logs.
const testKey = "sk-test-4f1d9a7c2b6e"

// basePath is where setup mounts the API, so a request built with an absolute path
// instead of one relative to the base URL fails loudly.
const basePath = "/api/v1"

// fastRetry keeps retry tests in the millisecond range.
var fastRetry = RetryPolicy{MaxAttempts: 3, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, MaxRetryAfter: time.Minute}

// waits records the waits the retry loop computed. Used with withBackoffHook, the
// waits are recorded and then skipped, so Retry-After values of seconds cost nothing.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) hook(_ int, d time.Duration) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.d = append(w.d, d)
	return 0
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

func withBackoffHook(f func(int, time.Duration) time.Duration) Option {
	return func(c *config) error {
		c.backoffHook = f
		return nil
	}
}

// setup starts a test server with the API mounted under basePath and returns a client
// pointed at it, the mux to register handlers on (paths relative to the base URL), and
// the server. Requests outside basePath fail the test.
func setup(t *testing.T, opts ...Option) (*Client, *http.ServeMux, *httptest.Server) {
	t.Helper()
	mux := http.NewServeMux()
	root := http.NewServeMux()
	root.Handle(basePath+"/", http.StripPrefix(basePath, mux))
	root.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request outside the base path: %s %s", r.Method, r.URL)
		http.Error(w, "outside base path", http.StatusNotFound)
	})
	srv := httptest.NewServer(root)
	t.Cleanup(srv.Close)

	all := append([]Option{
		WithBaseURL(srv.URL + basePath),
		WithAPIKey(testKey),
		WithRetryPolicy(fastRetry),
	}, opts...)
	c, err := NewClient(all...)
	require.NoError(t, err)
	return c, mux, srv
}

// counter counts requests reaching a handler.
type counter struct{ n atomic.Int64 }

func (c *counter) inc() int64 { return c.n.Add(1) }
func (c *counter) get() int64 { return c.n.Load() }
func (c *counter) wrap(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { c.inc(); h(w, r) }
}

// writeJSON answers with a JSON body.
func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func testMethod(t *testing.T, r *http.Request, want string) {
	t.Helper()
	assert.Equal(t, want, r.Method, "method")
}

func testHeader(t *testing.T, r *http.Request, name, want string) {
	t.Helper()
	assert.Equal(t, want, r.Header.Get(name), "header %s", name)
}

func testJSONBody(t *testing.T, r *http.Request, want string) {
	t.Helper()
	got, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	assert.JSONEq(t, want, string(got))
}

// countingTransport counts round trips and delegates to the default transport.
type countingTransport struct {
	n    atomic.Int64
	next http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	next := c.next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(r)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
