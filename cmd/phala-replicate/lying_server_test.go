package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// A lying backend: a scripted HTTP server that answers each request with the
// first liarRoute matching its method and path, whatever a real API would say.
// The tests run the binary against it, as the hidden twin of the phala CLI
// would be run, and check what it prints, its exit code and what it sent.

// liarRoute is one scripted answer.
type liarRoute struct {
	method string // "" matches any
	path   string // path relative to /api/v1; a trailing "*" matches a prefix
	status int    // 0 = 200
	ctype  string // "" = application/json
	body   string
	header map[string]string // extra answer headers
}

// liarJSON encodes v for a liarRoute's body.
func liarJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// liarRequest is one request the lying server received.
type liarRequest struct {
	Method, Path string
	Body         string
}

type liarServer struct {
	srv    *httptest.Server
	routes []liarRoute
	mu     sync.Mutex
	seen   []liarRequest
}

func newLiarServer(t *testing.T, routes ...liarRoute) *liarServer {
	t.Helper()
	l := &liarServer{routes: routes}
	l.srv = httptest.NewServer(http.HandlerFunc(l.serve))
	t.Cleanup(l.srv.Close)
	return l
}

func (l *liarServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rel := strings.TrimPrefix(r.URL.Path, "/api/v1")
	l.mu.Lock()
	l.seen = append(l.seen, liarRequest{r.Method, rel, string(body)})
	l.mu.Unlock()
	for _, rt := range l.routes {
		if rt.method != "" && rt.method != r.Method {
			continue
		}
		if p, ok := strings.CutSuffix(rt.path, "*"); ok && !strings.HasPrefix(rel, p) || !ok && rel != rt.path {
			continue
		}
		ct := rt.ctype
		if ct == "" {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
		for k, v := range rt.header {
			w.Header().Set(k, v)
		}
		st := rt.status
		if st == 0 {
			st = http.StatusOK
		}
		w.WriteHeader(st)
		_, _ = io.WriteString(w, rt.body)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	_, _ = io.WriteString(w, `{"detail":"no such liarRoute"}`)
}

// requests lists what the server received as "METHOD path".
func (l *liarServer) requests() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.seen {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// posts counts the POST requests received.
func (l *liarServer) posts() int {
	n := 0
	for _, r := range l.requests() {
		if strings.HasPrefix(r, "POST ") {
			n++
		}
	}
	return n
}

func (l *liarServer) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen = nil
}

// liarAPIKey is the API key the binary is given against the lying server.
const liarAPIKey = "sk-lying-0123456789abcdef"

func (l *liarServer) env() map[string]string {
	return map[string]string{envAPIPrefix: l.srv.URL + "/api/v1", envAPIKey: liarAPIKey}
}

// Fixtures of the lying server's answers.
const (
	liarUUID  = "550e8400-e29b-41d4-a716-446655440000"
	liarApp   = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
	liarHash  = "1111111111111111111111111111111111111111111111111111111111111111"
	liarToken = "ct_SECRET_TOKEN_0123456789"
)

// liarCVM is a source CVM as GET /cvms/{id} answers it, with over applied
// (a nil value removes the key).
func liarCVM(onchain bool, over map[string]any) map[string]any {
	c := map[string]any{
		"id": "cvm_1", "name": "src-app", "app_id": liarApp, "vm_uuid": liarUUID, "status": "running",
		"resource": map[string]any{"vcpu": 2}, "gateway": map[string]any{}, "compose_hash": liarHash,
		"kms_type":  "phala",
		"kms_info":  map[string]any{"encrypted_env_pubkey": strings.Repeat("e3", 32)},
		"workspace": map[string]any{"object_type": "workspace", "id": "ws", "name": "Default Workspace", "slug": "default"},
	}
	if onchain {
		c["kms_type"] = "base"
		c["kms_info"] = map[string]any{"chain_id": 8453, "dstack_kms_address": "0x" + strings.Repeat("22", 20), "dstack_app_address": "0x" + liarApp}
	}
	return liarApply(c, over)
}

// liarVM is a created replica as POST /replicas or /commit-replica answers it.
func liarVM(over map[string]any) map[string]any {
	return liarApply(map[string]any{
		"id": 42, "name": "src-app-replica", "status": "creating", "teepod_id": 6,
		"teepod": map[string]any{"id": 6, "name": "node-b"}, "app_id": liarApp,
		"vm_uuid": "660e8400-e29b-41d4-a716-446655440001", "vcpu": 2, "memory": 4096, "disk_size": 40,
	}, over)
}

// liarNodes is GET /teepods/available with node-a (5) and node-b (6).
func liarNodes(over func(nodes []map[string]any)) map[string]any {
	nodes := []map[string]any{
		{"teepod_id": 5, "name": "node-a", "listed": true, "resource_score": 1, "remaining_vcpu": 8, "remaining_memory": 8,
			"remaining_cvm_slots": 3, "images": []any{}, "device_id": strings.Repeat("aa", 32)},
		{"teepod_id": 6, "name": "node-b", "listed": true, "resource_score": 1, "remaining_vcpu": 8, "remaining_memory": 8,
			"remaining_cvm_slots": 3, "images": []any{}, "device_id": strings.Repeat("bb", 32)},
	}
	if over != nil {
		over(nodes)
	}
	return map[string]any{"tier": "free", "capacity": map[string]any{}, "kms_list": []any{}, "nodes": nodes}
}

// liar465 is the structured HTTP 465 body of an on-chain prepare for node-b,
// with over applied to its details (a nil value removes the detail).
func liar465(over map[string]any) map[string]any {
	d := liarApply(map[string]any{
		"compose_hash": liarHash, "app_id": liarApp, "device_id": strings.Repeat("bb", 32),
		"kms_info":     map[string]any{"chain_id": 8453, "dstack_app_address": "0x" + liarApp},
		"commit_token": liarToken, "commit_url": "https://cloud.example/commit",
		"onchain_status": map[string]any{"compose_hash_allowed": false, "device_id_allowed": false, "is_allowed": false},
	}, over)
	var details []any
	for _, k := range []string{"compose_hash", "app_id", "device_id", "kms_info", "commit_token", "commit_url", "onchain_status"} {
		if v, ok := d[k]; ok {
			details = append(details, map[string]any{"field": k, "value": v})
		}
	}
	return map[string]any{"detail": map[string]any{"error_code": "ERR-01-005", "message": "Compose hash registration required on-chain", "details": details}}
}

func liarApply(m, over map[string]any) map[string]any {
	for k, v := range over {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	return m
}
