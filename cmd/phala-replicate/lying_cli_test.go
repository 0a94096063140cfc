package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	phala "github.com/phalaforge/phala-go"
)

// liarOneError checks the shape every failure has, whatever the lie: in text
// mode nothing on stdout but what the case allows and one "✗" report on
// stderr; in --json mode one JSON document on stdout with success false and
// the exit code inside, and nothing on stderr. It returns the error object
// (--json) or the stderr text.
func liarOneError(t *testing.T, res result, jsonMode bool, wantCode int) (map[string]any, string) {
	t.Helper()
	assert.Equal(t, wantCode, res.code, "stdout: %s\nstderr: %s", res.stdout, res.stderr)
	assert.NotContains(t, res.stdout+res.stderr, liarAPIKey, "the API key is never printed")
	assert.NotContains(t, res.stderr, "panic")
	if !jsonMode {
		assert.Equal(t, 1, strings.Count(res.stderr, "✗ "), "one error report: %s", res.stderr)
		return nil, res.stderr
	}
	assert.Empty(t, res.stderr)
	doc := oneJSON(t, res.stdout)
	assert.Equal(t, false, doc["success"])
	e, ok := doc["error"].(map[string]any)
	require.True(t, ok, "error object: %s", res.stdout)
	assert.Equal(t, float64(wantCode), e["exit_code"])
	return e, ""
}

// Lies the SDK detects (an answer about another CVM, a device the node list
// cannot confirm) are API failures, exit code 3, as the help text says of
// "the API answered something that cannot be used": the old code classified
// them as generic failures (exit code 1).
func TestLyingAnswersAreAPIFailures(t *testing.T) {
	tests := []struct {
		name   string
		routes func(t *testing.T) []liarRoute
		args   []string
		want   string // in the message
	}{
		{"GET of an app id answers another app's CVM", func(t *testing.T) []liarRoute {
			return []liarRoute{{method: "GET", path: "/cvms/*", body: liarJSON(t, liarCVM(false, map[string]any{"app_id": strings.Repeat("ff", 20)}))}}
		}, []string{"app_" + liarApp}, "a CVM of app ffff"},
		{"GET by name answers a CVM without vm_uuid", func(t *testing.T) []liarRoute {
			return []liarRoute{{method: "GET", path: "/cvms/*", body: liarJSON(t, liarCVM(false, map[string]any{"vm_uuid": nil}))}}
		}, []string{"src-app"}, "vm_uuid"},
		{"the 465 check reads another CVM than the source", func(t *testing.T) []liarRoute {
			return []liarRoute{
				{method: "GET", path: "/cvms/*", body: liarJSON(t, liarCVM(true, map[string]any{"vm_uuid": "770e8400-e29b-41d4-a716-446655440077"}))},
				{method: "GET", path: "/teepods/available", body: liarJSON(t, liarNodes(nil))},
				{method: "POST", path: "/cvms/*", status: 465, body: liarJSON(t, liar465(nil))},
			}
		}, []string{liarUUID, "--node-id", "6"}, "another CVM"},
		{"the node list has no device_id for the target node", func(t *testing.T) []liarRoute {
			return []liarRoute{
				{method: "GET", path: "/cvms/*", body: liarJSON(t, liarCVM(true, nil))},
				{method: "GET", path: "/teepods/available", body: liarJSON(t, liarNodes(func(n []map[string]any) { delete(n[1], "device_id") }))},
				{method: "POST", path: "/cvms/*", status: 465, body: liarJSON(t, liar465(nil))},
			}
		}, []string{liarUUID, "--node-id", "node-b"}, "nothing was signed"},
	}
	for _, tt := range tests {
		for _, jsonMode := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s json=%t", tt.name, jsonMode), func(t *testing.T) {
				srv := newLiarServer(t, tt.routes(t)...)
				args := tt.args
				if jsonMode {
					args = append(append([]string{}, args...), "--json")
				}
				res := runBin(t, srv.env(), args...)
				e, text := liarOneError(t, res, jsonMode, exitAPI)
				if jsonMode {
					assert.Equal(t, "api", e["type"])
					assert.Contains(t, e["message"], tt.want)
				} else {
					assert.Contains(t, text, tt.want)
					assert.Empty(t, res.stdout)
				}
				assert.NotContains(t, res.stdout+res.stderr, liarToken, "a refused 465 hands out no commit token")
				assert.LessOrEqual(t, srv.posts(), 1, "nothing is resent")
			})
		}
	}
}

// A 465 the SDK cannot use (a detail of the wrong JSON type, no token) is an
// error, not the prepare payload the user asked for: its commit_token detail
// is never printed. The old code listed every detail of the 465, the token
// included, in the text report and in the --json error's details.
func TestLyingMalformed465NeverPrintsTheToken(t *testing.T) {
	tests := []struct {
		name string
		over map[string]any
	}{
		{"kms_info is a string", map[string]any{"kms_info": "base"}},
		{"onchain_status is a string", map[string]any{"onchain_status": "yes"}},
		{"compose_hash is an object", map[string]any{"compose_hash": map[string]any{"h": liarHash}}},
	}
	for _, tt := range tests {
		for _, jsonMode := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s json=%t", tt.name, jsonMode), func(t *testing.T) {
				srv := newLiarServer(t,
					liarRoute{method: "GET", path: "/cvms/*", body: liarJSON(t, liarCVM(true, nil))},
					liarRoute{method: "GET", path: "/teepods/available", body: liarJSON(t, liarNodes(nil))},
					liarRoute{method: "POST", path: "/cvms/*", status: 465, body: liarJSON(t, liar465(tt.over))},
				)
				args := []string{liarUUID, "--node-id", "6"}
				if jsonMode {
					args = append(args, "-j")
				}
				res := runBin(t, srv.env(), args...)
				e, text := liarOneError(t, res, jsonMode, exitAPI)
				assert.NotContains(t, res.stdout+res.stderr, liarToken)
				if jsonMode {
					assert.Equal(t, float64(465), e["status"])
					assert.Contains(t, fmt.Sprint(e["details"]), "commit_token", "the detail is listed, its value hidden")
				} else {
					assert.Contains(t, text, "commit_token: [REDACTED]")
				}
				assert.Equal(t, 1, srv.posts())
			})
		}
	}
}

// A 2xx to a replicate or a commit that does not identify the new replica, or
// names the source itself or another app, is not a success: the command says
// the server acted (so the user does not run it again and pay for a second
// replica) and exits 3. The old code exited 0 and printed the lie as the
// replica. The server's answer is still shown.
func TestLyingCreatedAnswer(t *testing.T) {
	commitArgs := []string{liarUUID, "--commit", "--token", liarToken, "--compose-hash", "0x" + liarHash}
	tests := []struct {
		name   string
		source map[string]any // GET /cvms/{id}; nil: none is read
		answer map[string]any
		path   string
		args   []string
		want   string
	}{
		{"replicate: {}", nil, map[string]any{}, "/cvms/" + liarUUID + "/replicas", []string{liarUUID}, "names no vm_uuid"},
		{"replicate: vm_uuid is a number", nil, liarVM(map[string]any{"vm_uuid": 123}), "/cvms/" + liarUUID + "/replicas", []string{liarUUID}, "invalid vm_uuid"},
		{"replicate: the source's own vm_uuid", nil, liarVM(map[string]any{"vm_uuid": strings.ToUpper(liarUUID)}), "/cvms/" + liarUUID + "/replicas", []string{liarUUID}, "source CVM itself"},
		{"replicate by app id: another app", liarCVM(false, nil), liarVM(map[string]any{"app_id": strings.Repeat("ff", 20)}), "/cvms/" + liarUUID + "/replicas", []string{"app_" + liarApp}, "not the source's app"},
		{"replicate by name: another app", liarCVM(false, nil), liarVM(map[string]any{"app_id": "0x" + strings.Repeat("ff", 20)}), "/cvms/" + liarUUID + "/replicas", []string{"src-app"}, "not the source's app"},
		{"commit: no vm_uuid", nil, liarVM(map[string]any{"vm_uuid": nil}), "/cvms/" + liarUUID + "/commit-replica", commitArgs, "names no vm_uuid"},
		{"commit by name: another app", liarCVM(false, nil), liarVM(map[string]any{"app_id": strings.Repeat("ff", 20)}), "/cvms/" + liarUUID + "/commit-replica",
			append([]string{"src-app"}, commitArgs[1:]...), "not the source's app"},
		// PREPARED: a --prepared-file of app liarApp, written by the test.
		{"commit of a prepared file: another app", nil, liarVM(map[string]any{"app_id": "app_" + strings.Repeat("ff", 20)}), "/cvms/" + liarUUID + "/commit-replica",
			[]string{"--commit", "--prepared-file", "PREPARED"}, "not the source's app"},
	}
	for _, tt := range tests {
		for _, jsonMode := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s json=%t", tt.name, jsonMode), func(t *testing.T) {
				routes := []liarRoute{{method: "POST", path: tt.path, body: liarJSON(t, tt.answer)}}
				if tt.source != nil {
					routes = append(routes, liarRoute{method: "GET", path: "/cvms/*", body: liarJSON(t, tt.source)})
				}
				srv := newLiarServer(t, routes...)
				args := append([]string{}, tt.args...)
				for i, a := range args {
					if a == "PREPARED" {
						args[i] = filepath.Join(t.TempDir(), "prepared.json")
						require.NoError(t, os.WriteFile(args[i], []byte(liarJSON(t, &phala.PreparedReplica{SourceVMUUID: liarUUID,
							CommitToken: liarToken, ComposeHash: liarHash, AppID: "0x" + liarApp})), 0o600))
					}
				}
				if jsonMode {
					args = append(args, "--json", "--wait")
				}
				res := runBin(t, srv.env(), args...)
				e, text := liarOneError(t, res, jsonMode, exitAPI)
				msg := text
				if jsonMode {
					assert.Equal(t, "api", e["type"])
					msg = fmt.Sprint(e["message"])
				}
				assert.Contains(t, msg, tt.want)
				assert.Contains(t, msg, "do not run the command again")
				assert.NotContains(t, res.stdout+res.stderr, liarToken, "the commit token is not echoed")
				assert.Equal(t, 1, srv.posts(), "the POST is never resent")
				for _, r := range srv.requests() {
					assert.False(t, strings.HasPrefix(r, "GET /cvms/660e") || strings.HasPrefix(r, "GET /cvms/"+liarUUID) && tt.source == nil,
						"nothing is waited for on the lie's word: %v", srv.requests())
				}
			})
		}
	}
}

// The --json document of a replica is the server's answer with "success":
// values the SDK could not type are printed as sent, and id, name and status
// are not invented when the server sent none (the phala CLI prints
// {"success": true, ...answer}). The old code printed "name": "" for a name
// sent as an object and "id": 0, "status": "" for absent keys.
func TestLyingJSONShowsTheServersAnswer(t *testing.T) {
	answer := liarVM(map[string]any{"id": nil, "status": nil, "name": map[string]any{"first": "x"}, "vcpu": "two", "future_key": []any{1}})
	srv := newLiarServer(t, liarRoute{method: "POST", path: "/cvms/" + liarUUID + "/replicas", body: liarJSON(t, answer)})
	res := runBin(t, srv.env(), liarUUID, "--json")
	require.Equal(t, exitOK, res.code, res.stderr)
	doc := oneJSON(t, res.stdout)
	assert.Equal(t, true, doc["success"])
	assert.Equal(t, map[string]any{"first": "x"}, doc["name"])
	assert.Equal(t, "two", doc["vcpu"])
	assert.Equal(t, []any{float64(1)}, doc["future_key"])
	assert.NotContains(t, doc, "id")
	assert.NotContains(t, doc, "status")
	assert.Equal(t, answer["vm_uuid"], doc["vm_uuid"])
	assert.True(t, strings.HasPrefix(res.stdout, "{\n  \"success\": true,"), res.stdout)
}

// An answer echoing the API key (in a name, a URL) never prints it, in text
// or --json output. The old code redacted errors only, not the replica.
func TestLyingAnswerEchoingTheAPIKey(t *testing.T) {
	answer := liarVM(map[string]any{"name": "replica of " + liarAPIKey, "app_url": "https://x.example/?key=" + liarAPIKey})
	srv := newLiarServer(t, liarRoute{method: "POST", path: "/cvms/" + liarUUID + "/replicas", body: liarJSON(t, answer)})
	for _, args := range [][]string{{liarUUID}, {liarUUID, "-j"}} {
		res := runBin(t, srv.env(), args...)
		require.Equal(t, exitOK, res.code, res.stderr)
		assert.NotContains(t, res.stdout, liarAPIKey)
		assert.Contains(t, res.stdout, "[REDACTED]")
		if len(args) > 1 {
			oneJSON(t, res.stdout)
		}
	}
}

// The replica's text output uses the phala CLI's 17-column labels, so that a
// script reading a value at a fixed column reads both commands alike.
func TestLyingTextMatchesTheOfficialColumns(t *testing.T) {
	srv := newLiarServer(t, liarRoute{method: "POST", path: "/cvms/" + liarUUID + "/replicas", body: liarJSON(t, liarVM(nil))})
	res := runBin(t, srv.env(), liarUUID)
	require.Equal(t, exitOK, res.code, res.stderr)
	for _, line := range []string{
		"Source CVM ID:   " + liarUUID,
		"CVM UUID:        660e8400-e29b-41d4-a716-446655440001",
		"App ID:          " + liarApp,
		"Name:            src-app-replica",
		"Status:          creating",
		"Node:            node-b (ID: 6)",
		"vCPUs:           2",
		"Memory:          4096 MB",
		"Disk Size:       40 GB",
	} {
		assert.Contains(t, res.stdout, line+"\n")
	}
}

func TestLyingKinds(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{fmt.Errorf("phala: GET answered another CVM: %w", phala.ErrUnexpectedBody), exitAPI},
		{&phala.DeviceUnverifiedError{}, exitAPI},
		{&replyError{problem: "names no vm_uuid"}, exitAPI},
		{fmt.Errorf("outer: %w", &phala.UnreadableCreatedError{}), exitAPI},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, exitCode(tt.err), "%v", tt.err)
	}
}

// The advice of an error is for the user of this command: the SDK's Go
// advice ("ListReplicas(ctx, …)", "run PrepareReplica again") is rewritten in
// the terms of the command and of the HTTP API, and a Retry-After is shown.
func TestLyingAdviceIsForTheCLI(t *testing.T) {
	commitArgs := []string{liarUUID, "--commit", "--token", liarToken, "--compose-hash", "0x" + liarHash}
	tests := []struct {
		name string
		rt   liarRoute
		args []string
		want string
	}{
		{"replicate answered 200 text/plain", liarRoute{method: "POST", path: "/cvms/*", ctype: "text/plain", body: "created"},
			[]string{liarUUID}, "read the source's app_id (GET /cvms/" + liarUUID + "), then list that app's instances"},
		{"replicate by app id answered 200 garbage", liarRoute{method: "POST", path: "/cvms/*", body: "{"},
			[]string{"app_" + liarApp}, "list the instances of app app_" + liarApp},
		{"commit answered 466", liarRoute{method: "POST", path: "/cvms/*", status: 466, body: `{"detail":{"error_code":"ERR-01-006","message":"expired"}}`},
			commitArgs, "prepare again (--prepare-only)"},
		{"commit answered 467", liarRoute{method: "POST", path: "/cvms/*", status: 467, body: `{"detail":{"error_code":"ERR-01-007","message":"no tx"}}`},
			commitArgs, "commit with --transaction-hash already-registered"},
		{"app id whose instances run two compose hashes", liarRoute{method: "GET", path: "/apps/" + liarApp + "/cvms",
			body: `[{"id":"a","name":"a","app_id":"` + liarApp + `","vm_uuid":"` + liarUUID + `","status":"running","compose_hash":"` + liarHash + `"},` +
				`{"id":"b","name":"b","app_id":"` + liarApp + `","vm_uuid":"660e8400-e29b-41d4-a716-446655440001","status":"running","compose_hash":"` + strings.Repeat("33", 32) + `"}]`},
			[]string{"app_" + liarApp}, "choose one with --compose-hash"},
		{"replicate answered 429 with Retry-After", liarRoute{method: "POST", path: "/cvms/*", status: 429, body: `{"detail":"slow down"}`, header: map[string]string{"Retry-After": "7"}},
			[]string{liarUUID}, "retry after 7s"},
	}
	for _, tt := range tests {
		for _, jsonMode := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s json=%t", tt.name, jsonMode), func(t *testing.T) {
				routes := []liarRoute{tt.rt}
				switch {
				case tt.rt.method == "GET":
					// GET /cvms/app_… names several CVMs: the command lists them.
					routes = append(routes, liarRoute{method: "GET", path: "/cvms/*", status: 409,
						body: `{"detail":{"error_code":"ERR-03-010","message":"multiple CVMs match"}}`})
				case strings.HasPrefix(tt.args[0], "app_"):
					routes = append(routes, liarRoute{method: "GET", path: "/cvms/*", body: liarJSON(t, liarCVM(false, nil))})
				}
				srv := newLiarServer(t, routes...)
				args := tt.args
				if jsonMode {
					args = append(append([]string{}, args...), "--json")
				}
				res := runBin(t, srv.env(), args...)
				e, text := liarOneError(t, res, jsonMode, exitAPI)
				if jsonMode {
					text = fmt.Sprint(e)
					if strings.Contains(tt.name, "Retry-After") {
						assert.Equal(t, "7s", e["retry_after"])
						return
					}
				}
				assert.Contains(t, text, tt.want)
				for _, sdk := range []string{"(ctx", "PrepareReplica", "AlreadyRegistered", "ReplicateRequest"} {
					assert.NotContains(t, text, sdk)
				}
				assert.LessOrEqual(t, srv.posts(), 1)
			})
		}
	}
}

// --count: each 2xx is checked like a single replicate's; a lie is reported on
// its replica (the server acted: it counts as created, is not waited for and
// is not re-sent) and the command exits 3. The old code reported success.
func TestLyingScaleAnswers(t *testing.T) {
	srv := newLiarServer(t, liarRoute{method: "POST", path: "/cvms/" + liarUUID + "/replicas", body: liarJSON(t, map[string]any{"name": "r"})})
	for _, jsonMode := range []bool{false, true} {
		t.Run(fmt.Sprintf("json=%t", jsonMode), func(t *testing.T) {
			srv.reset()
			args := []string{liarUUID, "--count", "2", "--wait"}
			if jsonMode {
				args = append(args, "-j")
			}
			res := runBin(t, srv.env(), args...)
			assert.Equal(t, exitAPI, res.code, "stdout: %s\nstderr: %s", res.stdout, res.stderr)
			assert.Equal(t, []string{"POST /cvms/" + liarUUID + "/replicas", "POST /cvms/" + liarUUID + "/replicas"}, srv.requests(),
				"each replica is asked for once, nothing is waited for")
			if !jsonMode {
				assert.Equal(t, 2, strings.Count(res.stdout, "not usable: the API answered success"), res.stdout)
				return
			}
			doc := oneJSON(t, res.stdout)
			assert.Equal(t, false, doc["success"])
			reps, ok := doc["replicas"].([]any)
			require.True(t, ok, res.stdout)
			require.Len(t, reps, 2)
			for _, r := range reps {
				m := r.(map[string]any)
				assert.Equal(t, false, m["success"])
				assert.Equal(t, "r", m["name"])
				e, ok := m["error"].(map[string]any)
				require.True(t, ok, "the replica says why: %v", m)
				assert.Equal(t, "api", e["type"])
				assert.Contains(t, e["message"], "names no vm_uuid")
			}
		})
	}
}

// An env file for an app on a chain the command has no endpoint for: the
// error says which flags give a trust root, not which SDK options.
func TestLyingNoKMSTrustRootAdvice(t *testing.T) {
	src := liarCVM(true, map[string]any{"kms_info": map[string]any{"chain_id": 11155111, "dstack_kms_address": "0x" + strings.Repeat("22", 20)}})
	srv := newLiarServer(t,
		liarRoute{method: "GET", path: "/cvms/*", body: liarJSON(t, src)},
		liarRoute{method: "GET", path: "/kms/*", body: `{"public_key":"` + strings.Repeat("e3", 32) + `","signature":""}`},
	)
	envFile := t.TempDir() + "/app.env"
	require.NoError(t, os.WriteFile(envFile, []byte("FOO=secret-value-1\n"), 0o600))
	res := runBin(t, srv.env(), "src-app", "-e", envFile)
	assert.Equal(t, exitUsage, res.code, res.stderr)
	assert.Contains(t, res.stderr, "pass --rpc-url with an endpoint of chain 11155111")
	assert.Contains(t, res.stderr, "--kms-root")
	assert.NotContains(t, res.stderr, "WithTrustedKMSRootKeys")
	assert.NotContains(t, res.stdout+res.stderr, "secret-value-1")
	assert.Zero(t, srv.posts())
}
