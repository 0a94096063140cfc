package phala

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/phalaforge/phala-go/onchain"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Identifiers used across the workflow tests. srcUUID is a version 7 UUID: any
// version is accepted.
const (
	srcUUID   = "0f8e7d6c-5b4a-7392-8170-6f5e4d3c2b1a"
	srcUUID2  = "1a2b3c4d-5e6f-4a1b-8c2d-3e4f5a6b7c8d"
	newUUID   = "9c8b7a69-5847-4362-a150-f1e2d3c4b5a6"
	appHexID  = "7d2f0c4e9a1b3c5d7e9f0a1b2c3d4e5f6a7b8c9d"
	otherApp  = "1111111111111111111111111111111111111111"
	hashA     = "3a1f5c7e9b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d2f4a"
	hashB     = "b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6"
	deviceHex = "4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f"
	token     = "ct_6d1f0a9e8b7c"
)

// apiCall is one request the fake API received.
type apiCall struct {
	Method string
	Path   string // escaped, relative to the base URL
	Header http.Header
	Body   string
}

func (c apiCall) String() string { return c.Method + " " + c.Path }

// recorder records every request of a test server in order.
type recorder struct {
	mu    sync.Mutex
	calls []apiCall
}

// handle registers h on mux for pattern and records each request before h runs.
func (rc *recorder) handle(mux *http.ServeMux, pattern string, h func(w http.ResponseWriter, r *http.Request, body string)) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.calls = append(rc.calls, apiCall{Method: r.Method, Path: r.URL.EscapedPath(), Header: r.Header.Clone(), Body: string(b)})
		rc.mu.Unlock()
		h(w, r, string(b))
	})
}

// lines returns "METHOD path" of each request.
func (rc *recorder) lines() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make([]string, len(rc.calls))
	for i, c := range rc.calls {
		out[i] = c.String()
	}
	return out
}

func (rc *recorder) all() []apiCall {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]apiCall(nil), rc.calls...)
}

// setupRec is setup plus a recorder; at the end of the test it checks that every
// request carried the API key and version, and that bodies were JSON.
func setupRec(t *testing.T, opts ...Option) (*Client, *http.ServeMux, *recorder) {
	t.Helper()
	c, mux, _ := setup(t, opts...)
	rc := &recorder{}
	t.Cleanup(func() {
		for _, call := range rc.all() {
			assert.Equal(t, testKey, call.Header.Get("X-API-Key"), "%s: X-API-Key", call)
			assert.Equal(t, DefaultAPIVersion, call.Header.Get("X-Phala-Version"), "%s: X-Phala-Version", call)
			if call.Body != "" {
				assert.Equal(t, "application/json", call.Header.Get("Content-Type"), "%s: Content-Type", call)
				assert.True(t, json.Valid([]byte(call.Body)), "%s: body is JSON", call)
			}
		}
	})
	return c, mux, rc
}

// assertCall checks one recorded request: method and path, the X-Prepare-Only header
// (empty = absent), and the JSON body ("" = no body).
func assertCall(t *testing.T, call apiCall, line, prepareOnly, body string) {
	t.Helper()
	assert.Equal(t, line, call.String())
	assert.Equal(t, prepareOnly, call.Header.Get("X-Prepare-Only"), "%s: X-Prepare-Only", line)
	if body == "" {
		assert.Empty(t, call.Body, "%s: body", line)
		return
	}
	assert.JSONEq(t, body, call.Body, "%s: body", line)
}

// cvmObject is a CVM object as GET /cvms/{id} returns it (API 2026-01-21), with a
// Cloud KMS; mods adjust it.
func cvmObject(uuid, app, hash string, mods ...func(map[string]any)) map[string]any {
	obj := map[string]any{
		"id":          "cvm_" + strings.ReplaceAll(uuid, "-", "")[:12],
		"name":        "web-" + uuid[:4],
		"app_id":      app,
		"vm_uuid":     uuid,
		"instance_id": "inst" + app[4:],
		"resource": map[string]any{
			"instance_type": "tdx.small", "vcpu": 2, "memory_in_gb": 4, "disk_in_gb": 40,
			"gpus": 0, "compute_billing_price": "0.10", "billing_period": "hourly",
		},
		"node_info": map[string]any{"object_type": "node", "id": 3, "name": "prod-3", "region": "us-west",
			"device_id": deviceHex, "status": "online", "version": "0.5.3"},
		"os":           map[string]any{"name": "dstack-0.5.3", "version": "0.5.3", "is_dev": false, "os_image_hash": hashB},
		"kms_type":     "phala",
		"kms_info":     map[string]any{"encrypted_env_pubkey": nil},
		"status":       "running",
		"progress":     nil,
		"compose_hash": hash,
		"gateway":      map[string]any{"base_domain": "gw.example", "cname": nil},
		"services":     []any{},
		"endpoints":    []any{map[string]any{"app": "https://a.example", "instance": "https://i.example"}},
		"public_logs":  true,
		"listed":       false,
		"workspace":    map[string]any{"object_type": "workspace", "id": "ws_1", "name": "Team", "slug": "team", "avatar_url": nil},
		"creator":      nil,
	}
	for _, m := range mods {
		m(obj)
	}
	return obj
}

// onchainKMS makes a CVM object use the on-chain KMS of chain chainID.
func onchainKMS(chainID int, kmsAddr string) func(map[string]any) {
	return func(o map[string]any) {
		o["kms_type"] = "base"
		o["kms_info"] = map[string]any{
			"chain_id": chainID, "dstack_kms_address": kmsAddr, "dstack_app_address": "0x" + o["app_id"].(string),
			"rpc_endpoint": "https://rpc.example", "encrypted_env_pubkey": nil,
		}
	}
}

// vmObject is a VM object as the replicate and commit calls return it.
func vmObject(uuid, app, hash string) map[string]any {
	return map[string]any{
		"id": 4711, "name": "web-replica", "status": "creating", "teepod_id": 7,
		"teepod":  map[string]any{"id": 7, "name": "prod-7", "region_identifier": "us-west"},
		"user_id": nil, "app_id": app, "vm_uuid": uuid, "instance_id": nil, "app_url": nil,
		"vcpu": 2, "memory": 4096, "disk_size": 40, "created_at": "2026-02-01T10:00:00Z",
		"encrypted_env_pubkey": nil, "compose_hash": hash, "source_cvm_id": "cvm_x",
		"future_field": map[string]any{"added": "later"},
	}
}

// apiError writes a structured error envelope.
func apiError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, mustJSONString(map[string]any{"detail": map[string]any{"error_code": code, "message": msg}}))
}

// prepareBody is an HTTP 465 body carrying the prepare payload.
func prepareBody(app, hash, device, tok string, chainID int, composeAllowed, deviceAllowed bool) string {
	kms := map[string]any{"chain_id": chainID, "dstack_kms_address": "0x" + strings.Repeat("5", 40), "dstack_app_address": "0x" + app}
	details := []any{
		map[string]any{"field": "compose_hash", "value": hash},
		map[string]any{"field": "app_id", "value": app},
		map[string]any{"field": "device_id", "value": device},
		map[string]any{"field": "kms_info", "value": kms},
		map[string]any{"field": "commit_token", "value": tok},
		map[string]any{"field": "commit_url", "value": "https://cloud.example/commit/" + tok},
		map[string]any{"field": "api_commit_url", "value": "https://api.example/cvms/x/commit-replica"},
		map[string]any{"field": "onchain_status", "value": map[string]any{
			"compose_hash_allowed": composeAllowed, "device_id_allowed": deviceAllowed, "is_allowed": composeAllowed && deviceAllowed}},
	}
	return mustJSONString(map[string]any{"detail": map[string]any{
		"error_code": "ERR-01-005", "message": "Compose hash registration required on-chain",
		"details": details, "suggestions": []any{"register the compose hash"},
	}})
}

func mustJSONString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// fakeRegistrar records EnsureRegistered calls and answers with reg/err.
type fakeRegistrar struct {
	mu    sync.Mutex
	calls []*onchain.ErrOnchainPrerequisite
	reg   *onchain.Registration
	err   error
}

func (f *fakeRegistrar) EnsureRegistered(_ context.Context, p *onchain.ErrOnchainPrerequisite) (*onchain.Registration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, p)
	return f.reg, f.err
}

func (f *fakeRegistrar) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// envKey is a CVM's X25519 env key pair for the tests.
type envKey struct {
	priv []byte
	pub  string // hex
}

func newEnvKey(t *testing.T) envKey {
	t.Helper()
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	require.NoError(t, err)
	return envKey{priv: k.Bytes(), pub: hex.EncodeToString(k.PublicKey().Bytes())}
}

func newTextLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
