package phalatest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/phalatest"
)

type envVar = envcrypt.EnvVar

// fakeClock is a settable clock for WithClock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newServer(t *testing.T, opts ...phalatest.Option) *phalatest.Server {
	t.Helper()
	srv := phalatest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

// fixture is a server with one node, one app and one running CVM.
type fixture struct {
	srv  *phalatest.Server
	node phalatest.Node
	app  phalatest.App
	cvm  phalatest.CVM
}

func newFixture(t *testing.T, kms phalatest.KMSType, opts ...phalatest.Option) *fixture {
	t.Helper()
	srv := newServer(t, opts...)
	node := srv.AddNode(phalatest.Node{Name: "prod-1", Listed: true})
	app := srv.AddApp(phalatest.App{Name: "web", KMS: kms, Compose: phalatest.Compose{AllowedEnvs: []string{"API_TOKEN", "MODE"}}})
	c := phalatest.CVM{AppID: app.ID, NodeID: node.ID}
	if kms != phalatest.KMSNone {
		c.Env = []envVar{{Key: "API_TOKEN", Value: "source-secret"}, {Key: "MODE", Value: "prod"}}
	}
	cvm := srv.AddCVM(c)
	return &fixture{srv: srv, node: node, app: app, cvm: cvm}
}

// reply is a decoded HTTP answer.
type reply struct {
	Status int
	Header http.Header
	Raw    []byte
	JSON   any
}

// obj returns the body as a JSON object.
func (r reply) obj(t *testing.T) map[string]any {
	t.Helper()
	m, ok := r.JSON.(map[string]any)
	require.Truef(t, ok, "body is not a JSON object: %s", r.Raw)
	return m
}

// detail returns detail of a structured error envelope, checking its shape.
func (r reply) detail(t *testing.T) map[string]any {
	t.Helper()
	d, ok := r.obj(t)["detail"].(map[string]any)
	require.Truef(t, ok, "no structured detail: %s", r.Raw)
	require.IsType(t, "", d["error_code"])
	require.NotEmpty(t, d["message"])
	require.IsType(t, []any{}, d["details"])
	require.IsType(t, []any{}, d["suggestions"])
	require.IsType(t, []any{}, d["links"])
	return d
}

func (r reply) code(t *testing.T) string {
	t.Helper()
	return r.detail(t)["error_code"].(string)
}

// details returns detail.details as a field -> value map (later wins).
func (r reply) details(t *testing.T) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, it := range r.detail(t)["details"].([]any) {
		m := it.(map[string]any)
		out[m["field"].(string)] = m["value"]
	}
	return out
}

type call struct {
	method string
	path   string // relative to srv.URL()
	body   any    // JSON-encoded; []byte sent as is; nil = no body
	key    *string
	header map[string]string
}

func do(t *testing.T, srv *phalatest.Server, c call) reply {
	t.Helper()
	var rd io.Reader
	switch b := c.body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(c.method, srv.URL()+c.path, rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Phala-Version", phalatest.Version20260121)
	key := srv.APIKey()
	if c.key != nil {
		key = *c.key
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	for k, v := range c.header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := reply{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(raw) > 0 && resp.Header.Get("Content-Type") == "application/json" {
		require.NoErrorf(t, json.Unmarshal(raw, &r.JSON), "body: %s", raw)
	}
	return r
}

func get(t *testing.T, srv *phalatest.Server, path string) reply {
	t.Helper()
	return do(t, srv, call{method: http.MethodGet, path: path})
}

func post(t *testing.T, srv *phalatest.Server, path string, body any) reply {
	t.Helper()
	return do(t, srv, call{method: http.MethodPost, path: path, body: body})
}

func ptr[T any](v T) *T { return &v }

// keys returns the keys of a JSON object.
func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
