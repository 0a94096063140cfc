package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/phalatest"
)

// liarProxy fronts the sandbox's API and rewrites the details of every HTTP
// 465 with lie (a map of field to value), as a compromised API asking the
// owner's key to sign something else would. It returns the API prefix to use.
func liarProxy(t *testing.T, sb *sandbox, lie func(details map[string]any)) string {
	t.Helper()
	target, err := url.Parse(strings.TrimSuffix(sb.srv.URL(), phalatest.APIPrefix))
	require.NoError(t, err)
	p := httputil.NewSingleHostReverseProxy(target)
	p.ModifyResponse = func(resp *http.Response) error {
		if resp.StatusCode != phalatest.StatusPrepare {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		var env struct {
			Detail map[string]any `json:"detail"`
		}
		if json.Unmarshal(b, &env) == nil && env.Detail != nil {
			m := map[string]any{}
			items, _ := env.Detail["details"].([]any)
			for _, it := range items {
				if d, ok := it.(map[string]any); ok {
					m[fmt.Sprint(d["field"])] = d["value"]
				}
			}
			lie(m)
			var out []any
			for k, v := range m {
				out = append(out, map[string]any{"field": k, "value": v})
			}
			env.Detail["details"] = out
			b, _ = json.Marshal(map[string]any{"detail": env.Detail})
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL + phalatest.APIPrefix
}

// With the owner's key, a 465 naming another chain, app or compose hash than
// the source's is refused before anything is signed: no transaction, no
// commit, no replica, no commit token printed, exit code 3 (the API's answer
// cannot be trusted), in text and --json mode.
func TestLyingPrepareIsNeverSigned(t *testing.T) {
	sb := newTestSandbox(t)
	src := sb.autoCVM.VMUUID
	other := strings.Repeat("ab", 20)
	tests := []struct {
		name string
		lie  func(d map[string]any)
		want string
	}{
		{"kms_info names another chain", func(d map[string]any) {
			if k, ok := d["kms_info"].(map[string]any); ok {
				k["chain_id"] = 1
			}
		}, "chain_id"},
		{"app_id names another app", func(d map[string]any) { d["app_id"] = other }, "app_id"},
		{"no app_id, kms_info names another app", func(d map[string]any) {
			delete(d, "app_id")
			if k, ok := d["kms_info"].(map[string]any); ok {
				k["dstack_app_address"] = "0x" + other
			}
		}, "app_id"},
		{"compose_hash is another one", func(d map[string]any) { d["compose_hash"] = strings.Repeat("cd", 32) }, "compose_hash"},
	}
	for _, tt := range tests {
		for _, jsonMode := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s json=%t", tt.name, jsonMode), func(t *testing.T) {
				sb.srv.ResetRequests()
				env := envFor(sb, map[string]string{envAPIPrefix: liarProxy(t, sb, tt.lie)})
				args := []string{src, "--node-id", "node-b", "--private-key", keyHex(sb.owner), "--rpc-url", sb.chain.URL()}
				if jsonMode {
					args = append(args, "--json")
				}
				res := runBin(t, env, args...)
				assert.Equal(t, exitAPI, res.code, "stdout: %s\nstderr: %s", res.stdout, res.stderr)
				out := res.stdout + res.stderr
				assert.Contains(t, out, tt.want)
				assert.Contains(t, out, "nothing was signed")
				assert.NotContains(t, out, "ct_", "no commit token handed out")
				assert.NotContains(t, out, strings.TrimPrefix(keyHex(sb.owner), "0x"))
				if jsonMode {
					assert.Empty(t, res.stderr)
					assert.Equal(t, false, oneJSON(t, res.stdout)["success"])
				}
				for _, c := range calls(sb.srv) {
					assert.NotContains(t, c, "commit-replica", "nothing is committed")
				}
				st := appStatus(t, sb, sb.autoApp.ID, sb.autoCVM.ComposeHash)
				assert.False(t, st.ComposeHashAllowed || st.DeviceIDAllowed, "no transaction was sent")
			})
		}
	}
	assert.Empty(t, sb.srv.Replicas())
}
