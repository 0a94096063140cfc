package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A published dstack attestation (attest/testdata/tee-solver, see SOURCES.md there).
const (
	lyingVM        = "5f0e1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
	solverAppID    = "d35e277ab5ec51f71f5e395ab2e332ed8db5853a"
	solverCompose  = "12a20aed7d6c68601e9f6e108a93b4199ae7231684307ffc4833c9cd08d45de7"
	solverInstance = "4ee474f80e789d0a19c4177ded24e04419c9689f"
	solverAt       = "2025-09-03T00:00:00Z"
)

// lyingAPI serves GET /cvms/{id} and GET /cvms/{id}/attestation for one CVM whose
// attestation is the tee-solver one, edited by lie; raw, if set, replaces the
// attestation answer's body.
func lyingAPI(t *testing.T, instance string, lie func(att map[string]any), raw string) string {
	t.Helper()
	q, err := os.ReadFile("../../attest/testdata/tee-solver/quote.hex")
	require.NoError(t, err)
	var tcb map[string]any
	b, err := os.ReadFile("../../attest/testdata/tee-solver/tcb_info.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &tcb))
	att := map[string]any{"name": "solver", "is_online": true, "is_public": true,
		"app_certificates": []any{map[string]any{"position_in_chain": 0, "quote": strings.TrimSpace(string(q))}},
		"tcb_info":         tcb}
	if lie != nil {
		lie(att)
	}
	attBody, err := json.Marshal(att)
	require.NoError(t, err)
	if raw != "" {
		attBody = []byte(raw)
	}
	cvm, err := json.Marshal(map[string]any{"id": "cvm_1", "name": "solver", "vm_uuid": lyingVM, "app_id": solverAppID,
		"instance_id": instance, "compose_hash": solverCompose, "status": "running"})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/cvms/"+lyingVM, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(cvm)
	})
	mux.HandleFunc("GET /api/v1/cvms/"+lyingVM+"/attestation", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(attBody)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/api/v1"
}

// TestCLIVerifyServerLies: "phala-replicate verify" against an API that lies about the
// replica's attestation exits with the code help.go documents and never says verified.
func TestCLIVerifyServerLies(t *testing.T) {
	t.Parallel()
	events := func(a map[string]any) []any { return a["tcb_info"].(map[string]any)["event_log"].([]any) }
	quote := func(a map[string]any) map[string]any { return a["app_certificates"].([]any)[0].(map[string]any) }
	huge := `{"is_online":true,"name":"` + strings.Repeat("x", 9<<20) + `"}`
	tests := []struct {
		name     string
		instance string
		lie      func(map[string]any)
		raw      string
		args     []string
		wantCode int
		wantMsg  string
	}{
		{name: "genuine", instance: solverInstance, wantCode: exitOK, wantMsg: "matches the API's instance_id"},
		{name: "another instance's attestation", instance: strings.Repeat("ab", 20), wantCode: exitVerify,
			wantMsg: "instance-id check failed"},
		{name: "another app expected", instance: solverInstance, args: []string{"--app-id", strings.Repeat("cd", 20)},
			wantCode: exitVerify, wantMsg: "app-id check failed"},
		{name: "another compose hash expected", instance: solverInstance, args: []string{"--compose-hash", strings.Repeat("ef", 32)},
			wantCode: exitVerify, wantMsg: "compose-hash check failed"},
		{name: "event log that does not replay to RTMR3", instance: solverInstance, wantCode: exitVerify,
			lie: func(a map[string]any) {
				ev := events(a)
				a["tcb_info"].(map[string]any)["event_log"] = ev[:len(ev)-1]
			}, wantMsg: "rtmr3-replay check failed"},
		{name: "app_compose that is not the measured one", instance: solverInstance, wantCode: exitVerify,
			lie: func(a map[string]any) {
				tcb := a["tcb_info"].(map[string]any)
				tcb["app_compose"] = tcb["app_compose"].(string) + "\n"
			}, wantMsg: "app-compose check failed"},
		{name: "quote that says debug", instance: solverInstance, wantCode: exitVerify,
			lie: func(a map[string]any) {
				q := []byte(quote(a)["quote"].(string))
				q[2*(48+16+48+48+8)+1] = '1' // TD attributes byte 0, low nibble
				quote(a)["quote"] = string(q)
			}, wantMsg: "quote-signature check failed"},
		{name: "quote not hex", instance: solverInstance, wantCode: exitVerify,
			lie:     func(a map[string]any) { quote(a)["quote"] = "not a quote" },
			wantMsg: "quote-format check failed"},
		{name: "truncated quote", instance: solverInstance, wantCode: exitVerify,
			lie:     func(a map[string]any) { quote(a)["quote"] = quote(a)["quote"].(string)[:2000] },
			wantMsg: "quote-format check failed"},
		{name: "tcb_info of another shape", instance: solverInstance, wantCode: exitVerify,
			lie:     func(a map[string]any) { a["tcb_info"] = []any{"verified"} },
			wantMsg: "event-log check failed"},
		{name: "answer a JSON list", instance: solverInstance, raw: `[{"is_online":true}]`, wantCode: exitAPI,
			wantMsg: "not a JSON object"},
		{name: "answer larger than the response limit", instance: solverInstance, raw: huge, wantCode: exitAPI,
			wantMsg: "too large"},
		{name: "--pccs not an http(s) URL", instance: solverInstance, args: []string{"--pccs", "ftp://pccs.example"},
			wantCode: exitUsage, wantMsg: "--pccs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{envAPIPrefix: lyingAPI(t, tt.instance, tt.lie, tt.raw), envAPIKey: "phak_test_key_0123456789"}
			args := append([]string{"verify", lyingVM, "--at", solverAt}, tt.args...)
			res := runBin(t, env, args...)
			assert.Equal(t, tt.wantCode, res.code, "stdout %s\nstderr %s", res.stdout, res.stderr)
			if tt.wantCode == exitOK {
				assert.Contains(t, res.stdout, "Verified CVM "+lyingVM)
				assert.Contains(t, res.stdout, tt.wantMsg)
				return
			}
			assert.NotContains(t, res.stdout+res.stderr, "Verified CVM")
			assert.Contains(t, res.stderr, tt.wantMsg)

			res = runBin(t, env, append(args, "--json")...)
			assert.Equal(t, tt.wantCode, res.code)
			doc := oneJSON(t, res.stdout)
			assert.NotEqual(t, true, doc["success"])
			assert.NotContains(t, doc, "result")
			assert.Contains(t, doc["error"].(map[string]any)["message"], tt.wantMsg)
		})
	}
}

// TestCLIVerifyBadPCCSBeforeReplicating: a --pccs that is not an http(s) URL is a usage
// error found before anything is created, not a verification that fails after the
// replica was made.
func TestCLIVerifyBadPCCSBeforeReplicating(t *testing.T) {
	sb := newTestSandbox(t)
	res := runBin(t, envFor(sb, nil), sb.cloudCVM.VMUUID, "--node-id", "node-a", "--wait", "--verify",
		"--pccs", "pccs.example:8081", "--poll-interval", "20ms")
	assert.Equal(t, exitUsage, res.code, res.stderr)
	assert.Contains(t, res.stderr, "--pccs must be an http(s) URL")
	for _, c := range calls(sb.srv) {
		assert.NotContains(t, c, "POST", "nothing may be created: %v", calls(sb.srv))
	}
}

// TestCLIReplicateVerifyRefusesAnotherAppsReplica: after replicating app A, an API
// that answers the new replica with a CVM (and a genuine attestation) of app B must
// not get --verify to say verified: the replica is expected to be of the source's app.
func TestCLIReplicateVerifyRefusesAnotherAppsReplica(t *testing.T) {
	sb := newTestSandbox(t)
	source := sb.cloudCVM
	// The published near/mpc attestation (attest/testdata, SOURCES.md), of another app.
	const otherApp, otherCompose = "2911e1f733466216dedb862d6d669e11256ee7a3",
		"2911e1f733466216dedb862d6d669e11256ee7a34ce4dbc66c4b807ba7a9c895"
	var quote []byte
	b, err := os.ReadFile("../../attest/testdata/dstack_quote.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &quote))
	var tcb map[string]any
	b, err = os.ReadFile("../../attest/testdata/dstack_tcb_info.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &tcb))
	otherAtt, err := json.Marshal(map[string]any{"is_online": true, "tcb_info": tcb,
		"app_certificates": []any{map[string]any{"position_in_chain": 0, "quote": hex.EncodeToString(quote)}}})
	require.NoError(t, err)

	target, err := url.Parse(sb.srv.URL())
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	proxy.ModifyResponse = func(resp *http.Response) error {
		p := resp.Request.URL.Path
		i := strings.Index(p, "/cvms/")
		if resp.Request.Method != http.MethodGet || i < 0 || strings.Contains(p, source.VMUUID) || strings.Contains(p, "/cvms/app_") {
			return nil
		}
		var body []byte
		if strings.HasSuffix(p, "/attestation") {
			body = otherAtt
		} else { // the replica, as a CVM of the other app
			var cvm map[string]any
			raw, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			if err := json.Unmarshal(raw, &cvm); err != nil {
				return err
			}
			cvm["app_id"], cvm["compose_hash"], cvm["instance_id"] = otherApp, otherCompose, ""
			if body, err = json.Marshal(cvm); err != nil {
				return err
			}
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)
	env := map[string]string{envAPIPrefix: front.URL + target.Path, envAPIKey: sb.srv.APIKey()}

	for _, src := range []string{source.VMUUID, "app_" + source.AppID} {
		res := runBin(t, env, src, "--node-id", "node-a", "--wait", "--verify", "--at", "2026-08-14T00:00:00Z",
			"--poll-interval", "20ms")
		assert.Equal(t, exitVerify, res.code, "source %s: stderr %s", src, res.stderr)
		assert.Contains(t, res.stderr, "app-id check failed: want "+source.AppID+", got "+otherApp)
		assert.NotContains(t, res.stderr, "Verified CVM")
	}
}
