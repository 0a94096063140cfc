package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/phalatest"
)

// The phala-replicate binary is built once per test process, on first use
// (so that unit tests and fuzz workers, which never run it, do not pay for
// a build), into a directory TestMain removes. The tests run it as a
// subprocess, as users and scripts do.
var (
	binDir   string
	binOnce  sync.Once
	binPath  string
	binError error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "phala-replicate-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// binary returns the path of the built binary.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		path := filepath.Join(binDir, "phala-replicate")
		out, err := exec.Command("go", "build", "-o", path, ".").CombinedOutput()
		if err != nil {
			binError = fmt.Errorf("building phala-replicate: %v\n%s", err, out)
			return
		}
		binPath = path
	})
	require.NoError(t, binError)
	return binPath
}

// result is what one run of the binary produced.
type result struct {
	stdout, stderr string
	code           int
}

// runBin runs the binary with exactly env as its environment (nothing is
// inherited, so a developer's PHALA_CLOUD_API_KEY or PRIVATE_KEY cannot
// leak into a test).
func runBin(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	return runPath(t, binary(t), env, args...)
}

// runPath is runBin for the binary at path.
func runPath(t *testing.T, path string, env map[string]string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = []string{"TMPDIR=" + os.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		require.True(t, ok, "running the binary: %v", err)
		code = ee.ExitCode()
	}
	return result{stdout.String(), stderr.String(), code}
}

// envFor is the environment pointing the binary at the sandbox.
func envFor(sb *sandbox, extra map[string]string) map[string]string {
	m := map[string]string{
		envAPIPrefix: sb.srv.URL(),
		envAPIKey:    sb.srv.APIKey(),
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// calls lists the requests the emulator received as "METHOD path".
func calls(srv *phalatest.Server) []string {
	var out []string
	for _, r := range srv.Requests() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

// lastRequest returns the last request with that method and path.
func lastRequest(t *testing.T, srv *phalatest.Server, method, path string) phalatest.Request {
	t.Helper()
	reqs := srv.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Method == method && reqs[i].Path == path {
			return reqs[i]
		}
	}
	require.Failf(t, "request not found", "%s %s in %v", method, path, calls(srv))
	return phalatest.Request{}
}

func bodyOf(t *testing.T, r phalatest.Request) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), string(r.Body))
	return m
}

// oneJSON decodes s, which must hold exactly one JSON document.
func oneJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	var m map[string]any
	require.NoError(t, dec.Decode(&m), "stdout: %q", s)
	var extra any
	require.Error(t, dec.Decode(&extra), "more than one JSON document: %q", s)
	return m
}

func replicasPath(vm string) string { return "/cvms/" + vm + "/replicas" }
func commitPath(vm string) string   { return "/cvms/" + vm + "/commit-replica" }

func TestCLISimpleReplicate(t *testing.T) {
	sb := newTestSandbox(t)
	src := sb.cloudCVM.VMUUID
	nodeB := fmt.Sprint(sb.nodeB.ID)
	hash := sb.cloudCVM.ComposeHash
	tests := []struct {
		name      string
		args      []string
		wantCalls []string // before the POST
		wantBody  map[string]any
		team, kms string // the source's, when the workflow read it; else "-"
	}{
		{"by uuid, platform schedules", []string{src}, nil, map[string]any{}, "-", "-"},
		{"uuid without dashes", []string{strings.ReplaceAll(src, "-", "")}, nil, map[string]any{}, "-", "-"},
		{"node id", []string{src, "--node-id", nodeB}, nil, map[string]any{"node_id": float64(sb.nodeB.ID)}, "-", "-"},
		{"teepod-id alias, flags first", []string{"--teepod-id", nodeB, src}, nil, map[string]any{"node_id": float64(sb.nodeB.ID)}, "-", "-"},
		{"node name", []string{src, "--node-id", "NODE-B"}, []string{"GET /teepods/available"}, map[string]any{"node_id": float64(sb.nodeB.ID)}, "-", "-"},
		{"compose hash", []string{"--compose-hash", hash, src}, nil, map[string]any{"compose_hash": hash}, "-", "-"},
		{"by name: the source read gives team and KMS", []string{sb.cloudCVM.Name}, []string{"GET /cvms/" + sb.cloudCVM.Name}, map[string]any{}, "Default Workspace (default)", "phala"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb.srv.ResetRequests()
			res := runBin(t, envFor(sb, nil), tt.args...)
			require.Equal(t, exitOK, res.code, res.stderr)
			assert.Empty(t, res.stderr)

			reps := sb.srv.Replicas()
			rep := reps[len(reps)-1]
			want := append(append([]string{}, tt.wantCalls...), "POST "+replicasPath(src))
			assert.Equal(t, want, calls(sb.srv), "nothing is read after the POST")
			assert.Equal(t, tt.wantBody, bodyOf(t, lastRequest(t, sb.srv, "POST", replicasPath(src))))
			post := lastRequest(t, sb.srv, "POST", replicasPath(src))
			assert.Equal(t, sb.srv.APIKey(), post.Header.Get("X-API-Key"))
			assert.Equal(t, "2026-01-21", post.Header.Get("X-Phala-Version"))
			assert.True(t, strings.HasPrefix(post.Header.Get("User-Agent"), "phala-replicate/"))

			for _, line := range []string{
				"Source CVM ID:   " + tt.args[slicesIndexNotFlag(tt.args)],
				"Team:            " + tt.team,
				"CVM UUID:        " + rep.VMUUID,
				"App ID:          " + sb.cloudApp.ID,
				"Status:          running",
				"KMS:             " + tt.kms,
				"vCPUs:           2",
				"Memory:          4096 MB",
				"Disk Size:       40 GB",
				"/default/apps/" + sb.cloudApp.ID + "/instances/" + strings.ReplaceAll(rep.VMUUID, "-", ""),
			} {
				assert.Contains(t, res.stdout, line+"\n")
			}
			if _, ok := tt.wantBody["node_id"]; ok {
				assert.Contains(t, res.stdout, fmt.Sprintf("Node:            node-b (ID: %d)\n", sb.nodeB.ID))
				assert.Equal(t, sb.nodeB.ID, rep.NodeID)
			}
			assert.True(t, rep.EnvInherited, "no env file: the replica inherits the source's env")
		})
	}
}

// slicesIndexNotFlag returns the index of the positional argument in args
// of the simple tests (the first one not a flag or a flag's value).
func slicesIndexNotFlag(args []string) int {
	for i := 0; i < len(args); i++ {
		if strings.HasPrefix(args[i], "-") {
			i++
			continue
		}
		return i
	}
	return -1
}

func TestCLISimpleJSON(t *testing.T) {
	sb := newTestSandbox(t)
	src := sb.cloudCVM.VMUUID
	for _, flag := range []string{"--json", "-j"} {
		t.Run(flag, func(t *testing.T) {
			sb.srv.ResetRequests()
			res := runBin(t, envFor(sb, nil), src, flag, "--node-id", "node-a")
			require.Equal(t, exitOK, res.code, res.stderr)
			assert.Empty(t, res.stderr)
			doc := oneJSON(t, res.stdout)
			assert.True(t, strings.HasPrefix(res.stdout, "{\n  \"success\": true,"), "success comes first: %s", res.stdout)
			reps := sb.srv.Replicas()
			rep := reps[len(reps)-1]
			assert.Equal(t, rep.VMUUID, doc["vm_uuid"])
			assert.Equal(t, sb.cloudApp.ID, doc["app_id"])
			assert.Equal(t, float64(sb.nodeA.ID), doc["teepod_id"])
			assert.Equal(t, "node-a", doc["teepod_name"])
			assert.Equal(t, sb.cloudCVM.ID, doc["source_cvm_id"])
			assert.Equal(t, []string{"GET /teepods/available", "POST " + replicasPath(src)}, calls(sb.srv), "JSON mode needs no lookup")
		})
	}
}

func TestCLIEnvFile(t *testing.T) {
	sb := newTestSandbox(t)
	dir := t.TempDir()
	envPath := filepath.Join(dir, "prod.env")
	require.NoError(t, os.WriteFile(envPath, []byte("# comment\nexport GREETING=\"hi there\"\nLOG_LEVEL=debug # trailing\n"), 0o600))

	for _, flag := range []string{"-e", "--env-file"} {
		t.Run(flag, func(t *testing.T) {
			sb.srv.ResetRequests()
			res := runBin(t, envFor(sb, nil), sb.cloudCVM.VMUUID, flag, envPath, "--json")
			require.Equal(t, exitOK, res.code, res.stderr)
			doc := oneJSON(t, res.stdout)
			rep, ok := sb.srv.Replica(doc["vm_uuid"].(string))
			require.True(t, ok)
			require.NoError(t, rep.EnvError)
			assert.False(t, rep.EnvInherited)
			assert.Equal(t, map[string]string{"GREETING": "hi there", "LOG_LEVEL": "debug"}, rep.DecryptedEnv.Map())

			post := lastRequest(t, sb.srv, "POST", replicasPath(sb.cloudCVM.VMUUID))
			body := bodyOf(t, post)
			blob, _ := body["encrypted_env"].(string)
			_, err := hex.DecodeString(blob)
			assert.NoError(t, err, "encrypted_env is hex")
			for _, r := range sb.srv.Requests() {
				assert.NotContains(t, string(r.Body), "hi there", "the plaintext never leaves the process")
			}
		})
	}

	t.Run("names outside allowed_envs are refused before sending", func(t *testing.T) {
		sb.srv.ResetRequests()
		bad := filepath.Join(dir, "bad.env")
		require.NoError(t, os.WriteFile(bad, []byte("SECRET_TOKEN=x\n"), 0o600))
		res := runBin(t, envFor(sb, nil), sb.cloudCVM.VMUUID, "-e", bad)
		assert.Equal(t, exitUsage, res.code, res.stderr)
		assert.Contains(t, res.stderr, "SECRET_TOKEN")
		for _, c := range calls(sb.srv) {
			assert.NotContains(t, c, "POST", "nothing is replicated")
		}
	})
	t.Run("missing file", func(t *testing.T) {
		res := runBin(t, envFor(sb, nil), sb.cloudCVM.VMUUID, "-e", filepath.Join(dir, "nope.env"))
		assert.Equal(t, exitError, res.code)
		assert.Contains(t, res.stderr, "nope.env")
	})
	t.Run("syntax error names the line", func(t *testing.T) {
		bad := filepath.Join(dir, "syntax.env")
		require.NoError(t, os.WriteFile(bad, []byte("A=1\nB=\"unterminated\n"), 0o600))
		res := runBin(t, envFor(sb, nil), sb.cloudCVM.VMUUID, "-e", bad)
		assert.Equal(t, exitUsage, res.code)
		assert.Contains(t, res.stderr, "line 2")
	})
}

func TestCLIUsageErrors(t *testing.T) {
	sb := newTestSandbox(t)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no cvm-id", nil, []string{"--node-id", "1"}, "missing <cvm-id>"},
		{"unknown flag", nil, []string{"x", "--bogus"}, "flag provided but not defined: -bogus"},
		{"commit without token", nil, []string{"x", "--commit", "--compose-hash", strings.Repeat("a", 64)}, "--token is required"},
		{"commit with env file", nil, []string{"x", "--commit", "--token", "t", "--compose-hash", strings.Repeat("a", 64), "-e", "f"}, "-e cannot be used with --commit"},
		{"bad private key", nil, []string{"x", "--private-key", "0x12"}, "--private-key must be 64 hex digits"},
		{"missing API key", map[string]string{envAPIKey: ""}, []string{sb.cloudCVM.VMUUID}, "missing API key"},
		{"bad compose hash", nil, []string{sb.cloudCVM.VMUUID, "--compose-hash", "0x1234"}, "compose hash"},
		{"bad source", nil, []string{"../etc/passwd"}, "invalid source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb.srv.ResetRequests()
			env := envFor(sb, tt.env)
			if v, ok := tt.env[envAPIKey]; ok && v == "" {
				delete(env, envAPIKey)
			}
			res := runBin(t, env, tt.args...)
			assert.Equal(t, exitUsage, res.code, res.stderr)
			assert.Empty(t, res.stdout)
			assert.Contains(t, res.stderr, tt.want)
			assert.Contains(t, res.stderr, "--help")
			assert.Empty(t, sb.srv.Requests(), "nothing is sent")

			res = runBin(t, env, append(tt.args, "--json")...)
			assert.Equal(t, exitUsage, res.code)
			assert.Empty(t, res.stderr)
			doc := oneJSON(t, res.stdout)
			assert.Equal(t, false, doc["success"])
			e := doc["error"].(map[string]any)
			assert.Equal(t, "usage", e["type"])
			assert.Contains(t, e["message"], tt.want)
			assert.Equal(t, float64(exitUsage), e["exit_code"])
		})
	}
}

func TestCLIAPIError(t *testing.T) {
	sb := newTestSandbox(t)
	full := sb.srv.AddNode(phalatest.Node{Name: "node-full", Slots: 1})
	sb.srv.AddCVM(phalatest.CVM{AppID: sb.cloudApp.ID, NodeID: full.ID})

	res := runBin(t, envFor(sb, nil), sb.cloudCVM.VMUUID, "--node-id", fmt.Sprint(full.ID))
	assert.Equal(t, exitAPI, res.code)
	assert.Empty(t, res.stdout)
	assert.True(t, strings.HasPrefix(res.stderr, "✗ Failed to create CVM replica\nError [ERR-02-005]: "), res.stderr)
	assert.Contains(t, res.stderr, "HTTP 409")
	assert.Contains(t, res.stderr, "Suggestions:\n  - Choose another node\n")

	res = runBin(t, envFor(sb, nil), sb.cloudCVM.VMUUID, "--node-id", fmt.Sprint(full.ID), "-j")
	assert.Equal(t, exitAPI, res.code)
	assert.Empty(t, res.stderr)
	doc := oneJSON(t, res.stdout)
	e := doc["error"].(map[string]any)
	assert.Equal(t, "api", e["type"])
	assert.Equal(t, "ERR-02-005", e["code"])
	assert.Equal(t, float64(409), e["status"])
	assert.NotEmpty(t, e["details"])

	t.Run("unknown node name lists the candidates", func(t *testing.T) {
		res := runBin(t, envFor(sb, nil), sb.cloudCVM.VMUUID, "--node-id", "node-z", "--json")
		assert.Equal(t, exitAPI, res.code)
		e := oneJSON(t, res.stdout)["error"].(map[string]any)
		assert.Equal(t, "ERR-01-001", e["code"])
		assert.Contains(t, e["message"], "node-a")
	})
	t.Run("wrong API key", func(t *testing.T) {
		res := runBin(t, envFor(sb, map[string]string{envAPIKey: "not-the-key"}), sb.cloudCVM.VMUUID)
		assert.Equal(t, exitAPI, res.code)
		assert.Contains(t, res.stderr, "HTTP 401")
		assert.NotContains(t, res.stderr, "not-the-key")
	})
}
