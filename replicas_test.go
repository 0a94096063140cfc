package phala

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/onchain"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReplicateByVMUUIDIsOneRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		source string
		node   string
		body   string
	}{
		{"dashed, node id", srcUUID, "7", `{"node_id":7}`},
		{"upper case without dashes", strings.ToUpper(strings.ReplaceAll(srcUUID, "-", "")), "7", `{"node_id":7}`},
		{"leading zeros in node id", srcUUID, "007", `{"node_id":7}`},
		{"auto-schedule sends {}", " " + srcUUID + " ", "", `{}`},
		{"compose hash as given", srcUUID, "", `{"compose_hash":"0x` + hashA + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, rec := setupRec(t)
			rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, http.StatusOK, mustJSONString(vmObject(newUUID, appHexID, hashA)))
			})
			req := ReplicateRequest{Node: tt.node}
			if strings.Contains(tt.body, "compose_hash") {
				req.ComposeHash = "0X" + hashA
			}
			vm, err := c.Replicate(context.Background(), tt.source, req)
			require.NoError(t, err)

			calls := rec.all()
			require.Len(t, calls, 1, "a vm_uuid source needs no lookup: %v", rec.lines())
			assertCall(t, calls[0], "POST /cvms/"+srcUUID+"/replicas", "", tt.body)
			assert.Equal(t, newUUID, vm.VMUUID)
			assert.Equal(t, int64(4711), vm.ID)
			assert.Equal(t, int64(7), vm.TeepodID)
			require.NotNil(t, vm.Teepod)
			assert.Equal(t, "prod-7", vm.Teepod.Name)
			assert.Equal(t, 4096, vm.Memory)
			assert.Equal(t, "cvm_x", vm.SourceCVMID)
			assert.JSONEq(t, `{"added":"later"}`, string(vm.Extra["future_field"]), "unknown fields are kept")
		})
	}
}

func TestReplicateByNameAndNodeName(t *testing.T) {
	t.Parallel()
	c, mux, rec := setupRec(t)
	rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA)))
	})
	rec.handle(mux, "GET /teepods/available", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, http.StatusOK, `{"tier":"pro","capacity":{},"kms_list":[],"nodes":[
			{"teepod_id":3,"name":"prod-3","listed":true,"resource_score":1,"remaining_vcpu":8,"remaining_memory":1,"remaining_cvm_slots":4,"images":[]},
			{"teepod_id":9,"name":"EU-Frankfurt","listed":true,"resource_score":1,"remaining_vcpu":8,"remaining_memory":1,"remaining_cvm_slots":4,"images":[],"future_key":{"x":1}}]}`)
	})
	rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, http.StatusCreated, mustJSONString(vmObject(newUUID, appHexID, hashA)))
	})

	vm, err := c.Replicate(context.Background(), "my web app", ReplicateRequest{Node: "eu-frankfurt"})
	require.NoError(t, err)
	assert.Equal(t, newUUID, vm.VMUUID)

	calls := rec.all()
	require.Equal(t, []string{
		"GET /cvms/my%20web%20app",
		"GET /teepods/available",
		"POST /cvms/" + srcUUID + "/replicas",
	}, rec.lines())
	assertCall(t, calls[0], "GET /cvms/my%20web%20app", "", "")
	assertCall(t, calls[2], "POST /cvms/"+srcUUID+"/replicas", "", `{"node_id":9}`)
}

func TestReplicateNodeNameErrors(t *testing.T) {
	t.Parallel()
	nodes := `{"tier":"pro","capacity":{},"kms_list":[],"nodes":[
		{"teepod_id":3,"name":"prod-3"},{"teepod_id":4,"name":"PROD-3"},{"teepod_id":5,"name":"eu-1"}]}`
	tests := []struct {
		name     string
		node     string
		sentinel error
		check    func(t *testing.T, err error)
	}{
		{"unknown names candidates", "asia-1", ErrNodeNotFound, func(t *testing.T, err error) {
			var nf *NodeNotFoundError
			require.ErrorAs(t, err, &nf)
			assert.Equal(t, []NodeCandidate{{3, "prod-3"}, {4, "PROD-3"}, {5, "eu-1"}}, nf.Available)
			assert.Contains(t, err.Error(), "eu-1 (ID 5)")
		}},
		{"ambiguous names matches", "Prod-3", ErrAmbiguousNode, func(t *testing.T, err error) {
			var amb *AmbiguousNodeError
			require.ErrorAs(t, err, &amb)
			assert.Equal(t, []NodeCandidate{{3, "prod-3"}, {4, "PROD-3"}}, amb.Matches)
			assert.Contains(t, err.Error(), "use a node ID")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, rec := setupRec(t)
			rec.handle(mux, "GET /teepods/available", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, http.StatusOK, nodes)
			})
			rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
				t.Error("no replica may be requested after a node resolution error")
			})
			_, err := c.Replicate(context.Background(), srcUUID, ReplicateRequest{Node: tt.node})
			require.ErrorIs(t, err, tt.sentinel)
			tt.check(t, err)
			assert.Equal(t, []string{"GET /teepods/available"}, rec.lines())
		})
	}
}

func TestReplicateRejectsBadInputBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		source string
		req    ReplicateRequest
		arg    string
	}{
		{"empty source", "  ", ReplicateRequest{}, "source"},
		{"slash", "a/../b", ReplicateRequest{}, "source"},
		{"dot dot", "..", ReplicateRequest{}, "source"},
		{"query", "web?x=1", ReplicateRequest{}, "source"},
		{"fragment", "web#x", ReplicateRequest{}, "source"},
		{"percent", "web%2F", ReplicateRequest{}, "source"},
		{"backslash", `web\x`, ReplicateRequest{}, "source"},
		{"control char", "web\x00app", ReplicateRequest{}, "source"},
		{"newline", "web\napp", ReplicateRequest{}, "source"},
		{"too long", strings.Repeat("a", 300), ReplicateRequest{}, "source"},
		{"short compose hash", srcUUID, ReplicateRequest{ComposeHash: "abc"}, "ComposeHash"},
		{"non-hex compose hash", srcUUID, ReplicateRequest{ComposeHash: strings.Repeat("z", 64)}, "ComposeHash"},
		{"node id overflow", srcUUID, ReplicateRequest{Node: "99999999999999999999"}, "Node"},
		{"node name with slash", srcUUID, ReplicateRequest{Node: "eu/1"}, "Node"},
		{"env and encrypted env", srcUUID, ReplicateRequest{Env: []envcrypt.EnvVar{{Key: "A", Value: "1"}}, EncryptedEnv: strings.Repeat("ab", 80)}, "EncryptedEnv"},
		{"encrypted env not hex", srcUUID, ReplicateRequest{EncryptedEnv: "xyz"}, "EncryptedEnv"},
		{"encrypted env too short", srcUUID, ReplicateRequest{EncryptedEnv: "abcd"}, "EncryptedEnv"},
		{"encrypted env too long", srcUUID, ReplicateRequest{EncryptedEnv: strings.Repeat("ab", envcrypt.MaxBlobSize+1)}, "EncryptedEnv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, rec := setupRec(t)
			rec.handle(mux, "/", func(w http.ResponseWriter, r *http.Request, _ string) {
				t.Errorf("unexpected request %s %s", r.Method, r.URL)
			})
			_, err := c.Replicate(context.Background(), tt.source, tt.req)
			require.ErrorIs(t, err, ErrInvalidArgument)
			var ia *InvalidArgumentError
			require.ErrorAs(t, err, &ia)
			assert.Equal(t, tt.arg, ia.Arg)
			assert.Empty(t, rec.lines())
		})
	}

	t.Run("invalid env names are refused before any request", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t)
		rec.handle(mux, "/", func(w http.ResponseWriter, r *http.Request, _ string) {
			t.Errorf("unexpected request %s %s", r.Method, r.URL)
		})
		_, err := c.Replicate(context.Background(), srcUUID, ReplicateRequest{Env: []envcrypt.EnvVar{{Key: "1BAD", Value: "secret-value"}}})
		require.ErrorIs(t, err, envcrypt.ErrInvalidName)
		assert.NotContains(t, err.Error(), "secret-value")
		assert.Empty(t, rec.lines())
	})
}

func TestReplicateEnvOverride(t *testing.T) {
	t.Parallel()
	key := newEnvKey(t)
	withKey := func(o map[string]any) {
		o["kms_info"] = map[string]any{"encrypted_env_pubkey": key.pub}
		o["compose_file"] = map[string]any{"docker_compose_file": "services: {}", "allowed_envs": []string{"DB_PASSWORD", "API_TOKEN"}}
	}
	env := []envcrypt.EnvVar{{Key: "DB_PASSWORD", Value: "hunter2 & <friends>"}, {Key: "API_TOKEN", Value: "tok-9f8e"}}

	t.Run("encrypted client-side to the CVM's key", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t)
		rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA, withKey)))
		})
		rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, http.StatusOK, mustJSONString(vmObject(newUUID, appHexID, hashA)))
		})
		_, err := c.Replicate(context.Background(), srcUUID, ReplicateRequest{Node: "7", Env: env})
		require.NoError(t, err)
		require.Equal(t, []string{"GET /cvms/" + srcUUID, "POST /cvms/" + srcUUID + "/replicas"}, rec.lines())

		post := rec.all()[1]
		for _, v := range env {
			assert.NotContains(t, post.Body, v.Value, "plaintext must never be sent")
		}
		var body map[string]any
		require.NoError(t, json.Unmarshal([]byte(post.Body), &body))
		assert.Len(t, body, 2, "node_id and encrypted_env only: %s", post.Body)
		assert.EqualValues(t, 7, body["node_id"])
		blob, _ := body["encrypted_env"].(string)
		got, err := envcrypt.DecryptEnv(key.priv, blob, []string{"DB_PASSWORD", "API_TOKEN"})
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"DB_PASSWORD": "hunter2 & <friends>", "API_TOKEN": "tok-9f8e"}, got.Map())
		assert.Empty(t, got.Skipped)
	})

	t.Run("names outside allowed_envs are refused before the POST", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t)
		rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA, withKey)))
		})
		_, err := c.Replicate(context.Background(), srcUUID, ReplicateRequest{Env: append(env, envcrypt.EnvVar{Key: "NEW_VAR", Value: "x"})})
		var na *envcrypt.NotAllowedError
		require.ErrorAs(t, err, &na)
		assert.Equal(t, []string{"NEW_VAR"}, na.Names)
		assert.Equal(t, []string{"GET /cvms/" + srcUUID}, rec.lines())
	})

	t.Run("pre-encrypted blob is sent as lowercase hex", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t)
		rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, http.StatusOK, mustJSONString(vmObject(newUUID, appHexID, hashA)))
		})
		blob, err := envcrypt.Encrypt(key.pub, env)
		require.NoError(t, err)
		_, err = c.Replicate(context.Background(), srcUUID, ReplicateRequest{EncryptedEnv: "0x" + strings.ToUpper(blob)})
		require.NoError(t, err)
		require.Len(t, rec.all(), 1)
		assertCall(t, rec.all()[0], "POST /cvms/"+srcUUID+"/replicas", "", `{"encrypted_env":"`+blob+`"}`)
	})
}

// multiApp serves an app id that names two live instances with different compose
// hashes (and a stopped third one with yet another hash).
func multiApp(t *testing.T, mux *http.ServeMux, rec *recorder) {
	rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
		assert.Equal(t, "app_"+appHexID, r.PathValue("id"))
		apiError(w, http.StatusConflict, "ERR-03-010", "Identifier matches multiple CVMs")
	})
	rec.handle(mux, "GET /apps/{app}/cvms", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, http.StatusOK, mustJSONString([]any{
			cvmObject(srcUUID, appHexID, hashA),
			cvmObject(srcUUID2, appHexID, "0x"+hashB, func(o map[string]any) { o["status"] = "starting" }),
			cvmObject(newUUID, appHexID, strings.Repeat("c", 64), func(o map[string]any) { o["status"] = "stopped" }),
		}))
	})
	rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, http.StatusOK, mustJSONString(vmObject(newUUID, appHexID, hashB)))
	})
}

func TestReplicateMultiInstanceApp(t *testing.T) {
	t.Parallel()
	t.Run("compose hash picks the instance", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t)
		multiApp(t, mux, rec)
		_, err := c.Replicate(context.Background(), "0x"+strings.ToUpper(appHexID), ReplicateRequest{ComposeHash: hashB})
		require.NoError(t, err)
		calls := rec.all()
		require.Equal(t, []string{"GET /cvms/app_" + appHexID, "GET /apps/" + appHexID + "/cvms", "POST /cvms/" + srcUUID2 + "/replicas"}, rec.lines())
		assertCall(t, calls[2], "POST /cvms/"+srcUUID2+"/replicas", "", `{"compose_hash":"`+hashB+`"}`)
	})
	t.Run("without compose hash the live hashes are listed", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t)
		multiApp(t, mux, rec)
		_, err := c.Replicate(context.Background(), "app_"+appHexID, ReplicateRequest{})
		require.ErrorIs(t, err, ErrMultipleLiveComposeHashes)
		var multi *MultipleComposeHashesError
		require.ErrorAs(t, err, &multi)
		assert.Equal(t, []string{hashA, "0x" + hashB}, multi.ComposeHashes, "the stopped instance's hash is not live")
		assert.Equal(t, "app_"+appHexID, multi.AppID)
		assert.ErrorIs(t, err, ErrMultipleCVMsMatch, "the API error stays reachable")
		assert.Equal(t, []string{"GET /cvms/app_" + appHexID, "GET /apps/" + appHexID + "/cvms"}, rec.lines(), "nothing was created")
	})
	t.Run("a compose hash no instance has", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t)
		multiApp(t, mux, rec)
		_, err := c.Replicate(context.Background(), appHexID, ReplicateRequest{ComposeHash: strings.Repeat("d", 64)})
		require.ErrorIs(t, err, ErrComposeHashNotFound)
		var nf *ComposeHashNotFoundError
		require.ErrorAs(t, err, &nf)
		assert.Equal(t, []string{hashA, "0x" + hashB}, nf.Live)
		assert.Len(t, rec.lines(), 2)
	})
}

func TestReplicateRecoversFromMultipleLiveComposeHashes(t *testing.T) {
	t.Parallel()
	t.Run("vm_uuid source resends with its own compose hash", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t)
		var posts atomic.Int32
		rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, body string) {
			if posts.Add(1) == 1 {
				apiError(w, http.StatusConflict, "ERR-03-009", "App has multiple live instances, pass compose_hash")
				return
			}
			writeJSON(w, http.StatusOK, mustJSONString(vmObject(newUUID, appHexID, hashA)))
		})
		rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA)))
		})
		vm, err := c.Replicate(context.Background(), srcUUID, ReplicateRequest{Node: "7"})
		require.NoError(t, err)
		assert.Equal(t, newUUID, vm.VMUUID)
		calls := rec.all()
		require.Equal(t, []string{"POST /cvms/" + srcUUID + "/replicas", "GET /cvms/" + srcUUID, "POST /cvms/" + srcUUID + "/replicas"}, rec.lines())
		assertCall(t, calls[0], "POST /cvms/"+srcUUID+"/replicas", "", `{"node_id":7}`)
		assertCall(t, calls[2], "POST /cvms/"+srcUUID+"/replicas", "", `{"node_id":7,"compose_hash":"`+hashA+`"}`)
	})
	t.Run("a second ERR-03-009 is returned, not looped on", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t)
		rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
			apiError(w, http.StatusConflict, "ERR-03-009", "App has multiple live instances")
		})
		rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA)))
		})
		_, err := c.Replicate(context.Background(), srcUUID, ReplicateRequest{})
		require.ErrorIs(t, err, ErrMultipleLiveComposeHashes)
		assert.Len(t, rec.lines(), 3)
	})
	t.Run("app id source lists the live hashes", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t)
		rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA)))
		})
		rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
			apiError(w, http.StatusConflict, "ERR-03-009", "App has multiple live instances")
		})
		rec.handle(mux, "GET /apps/{app}/cvms", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, http.StatusOK, mustJSONString([]any{cvmObject(srcUUID, appHexID, hashA), cvmObject(srcUUID2, appHexID, hashB)}))
		})
		_, err := c.Replicate(context.Background(), "app_"+appHexID, ReplicateRequest{})
		var multi *MultipleComposeHashesError
		require.ErrorAs(t, err, &multi)
		assert.Equal(t, []string{hashA, hashB}, multi.ComposeHashes)
		assert.Equal(t, []string{"GET /cvms/app_" + appHexID, "POST /cvms/" + srcUUID + "/replicas", "GET /apps/" + appHexID + "/cvms"}, rec.lines())
	})
}

func TestReplicateAppInstance(t *testing.T) {
	t.Parallel()
	c, mux, rec := setupRec(t)
	rec.handle(mux, "POST /apps/{app}/cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, http.StatusOK, mustJSONString(vmObject(newUUID, appHexID, hashA)))
	})
	vm, err := c.ReplicateAppInstance(context.Background(), "app_"+appHexID, strings.ReplaceAll(srcUUID, "-", ""), ReplicateRequest{Node: "5"})
	require.NoError(t, err)
	assert.Equal(t, newUUID, vm.VMUUID)
	require.Len(t, rec.all(), 1)
	assertCall(t, rec.all()[0], "POST /apps/"+appHexID+"/cvms/"+srcUUID+"/replicas", "", `{"node_id":5}`)

	_, err = c.ReplicateAppInstance(context.Background(), "app_xyz", srcUUID, ReplicateRequest{})
	require.ErrorIs(t, err, ErrInvalidArgument)
	_, err = c.ReplicateAppInstance(context.Background(), appHexID, "not-a-uuid", ReplicateRequest{})
	require.ErrorIs(t, err, ErrInvalidArgument)
	assert.Len(t, rec.all(), 1)
}

func TestReplicateOutcomeUnknownIsNotResent(t *testing.T) {
	t.Parallel()
	c, mux, rec := setupRec(t)
	rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
		// The request arrived; the connection breaks before an answer.
		conn, _, err := w.(http.Hijacker).Hijack()
		require.NoError(t, err)
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	})
	_, err := c.Replicate(context.Background(), srcUUID, ReplicateRequest{})
	var unknown *OutcomeUnknownError
	require.ErrorAs(t, err, &unknown)
	assert.Contains(t, err.Error(), "ListReplicas")
	assert.Len(t, rec.lines(), 1, "a POST that may have reached the server is never resent")
}

func TestReplicatePassesAPIErrorsThrough(t *testing.T) {
	t.Parallel()
	c, mux, rec := setupRec(t)
	rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
		apiError(w, http.StatusConflict, "ERR-03-006", "Source OS image not on the target node")
	})
	_, err := c.Replicate(context.Background(), srcUUID, ReplicateRequest{Node: "3"})
	require.ErrorIs(t, err, ErrReplicaImageNotAvailable)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusConflict, apiErr.StatusCode)
	assert.Len(t, rec.lines(), 1)
}

func TestReplicate465WithoutRegistrar(t *testing.T) {
	t.Parallel()
	c, mux, rec := setupRec(t)
	rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, 465, prepareBody(appHexID, hashA, deviceHex, token, 8453, false, true))
	})
	rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA, onchainKMS(8453, "0x"+strings.Repeat("5", 40)))))
	})
	serveNodes(rec, mux, workspaceNodes...)
	_, err := c.Replicate(context.Background(), srcUUID, ReplicateRequest{Node: "7"})

	var pre *ErrOnchainPrerequisite
	require.ErrorAs(t, err, &pre)
	assert.Equal(t, token, pre.CommitToken)
	assert.Equal(t, hashA, pre.ComposeHash)
	assert.Equal(t, appHexID, pre.AppID)
	assert.Equal(t, deviceHex, pre.DeviceID)
	assert.Equal(t, "https://cloud.example/commit/"+token, pre.CommitURL)
	assert.Equal(t, "https://api.example/cvms/x/commit-replica", pre.APICommitURL)
	require.NotNil(t, pre.OnchainStatus)
	assert.Equal(t, onchain.OnchainStatus{ComposeHashAllowed: false, DeviceIDAllowed: true, IsAllowed: false}, *pre.OnchainStatus)
	require.NotNil(t, pre.KMSInfo)
	assert.Equal(t, uint64(8453), pre.KMSInfo.ChainID)
	assert.Equal(t, "0x"+appHexID, pre.KMSInfo.DstackAppAddress)
	assert.ErrorIs(t, err, ErrHashRegistrationRequired)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 465, apiErr.StatusCode)
	assert.NotContains(t, err.Error(), token, "the commit token is not printed")

	assert.Equal(t, []string{"POST /cvms/" + srcUUID + "/replicas", "GET /cvms/" + srcUUID, "GET /teepods/available"}, rec.lines(),
		"the payload is checked against the source CVM and the node's device before it is returned")
}

func TestReplicate465MismatchSignsNothing(t *testing.T) {
	t.Parallel()
	kms := "0x" + strings.Repeat("5", 40)
	tests := []struct {
		name     string
		payload  string
		cvm      map[string]any
		req      ReplicateRequest
		field    string
		expected string
	}{
		{"app id differs from the source", prepareBody(otherApp, hashA, deviceHex, token, 8453, false, false),
			cvmObject(srcUUID, appHexID, hashA, onchainKMS(8453, kms)), ReplicateRequest{}, "app_id", appHexID},
		{"compose hash differs from the source", prepareBody(appHexID, hashB, deviceHex, token, 8453, false, false),
			cvmObject(srcUUID, appHexID, hashA, onchainKMS(8453, kms)), ReplicateRequest{}, "compose_hash", hashA},
		{"compose hash differs from the request", prepareBody(appHexID, hashA, deviceHex, token, 8453, false, false),
			cvmObject(srcUUID, appHexID, hashA, onchainKMS(8453, kms)), ReplicateRequest{ComposeHash: hashB}, "compose_hash", hashB},
		{"chain differs from the source's KMS", prepareBody(appHexID, hashA, deviceHex, token, 1, false, false),
			cvmObject(srcUUID, appHexID, hashA, onchainKMS(8453, kms)), ReplicateRequest{}, "kms_info.chain_id", "8453"},
		{"source without app id", prepareBody(appHexID, hashA, deviceHex, token, 8453, false, false),
			cvmObject(srcUUID, appHexID, hashA, onchainKMS(8453, kms), func(o map[string]any) { o["app_id"] = nil }), ReplicateRequest{}, "app_id", ""},
		{"source without compose hash", prepareBody(appHexID, hashA, deviceHex, token, 8453, false, false),
			cvmObject(srcUUID, appHexID, hashA, onchainKMS(8453, kms), func(o map[string]any) { o["compose_hash"] = nil }), ReplicateRequest{}, "compose_hash", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, rec := setupRec(t)
			rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, 465, tt.payload)
			})
			rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, http.StatusOK, mustJSONString(tt.cvm))
			})
			rec.handle(mux, "POST /cvms/{uuid}/commit-replica", func(w http.ResponseWriter, r *http.Request, _ string) {
				t.Error("nothing may be committed after a mismatch")
			})
			reg := &fakeRegistrar{reg: &onchain.Registration{}}
			tt.req.Registrar = reg
			_, err := c.Replicate(context.Background(), srcUUID, tt.req)
			require.ErrorIs(t, err, ErrPayloadMismatch)
			var mm *PayloadMismatchError
			require.ErrorAs(t, err, &mm)
			assert.Equal(t, tt.field, mm.Field)
			assert.Equal(t, tt.expected, mm.Expected)
			require.NotNil(t, mm.Prerequisite)
			var pre *ErrOnchainPrerequisite
			assert.False(t, errors.As(err, &pre), "a rejected payload must not be usable as a prerequisite")
			assert.Zero(t, reg.count(), "nothing was signed")
			assert.Contains(t, err.Error(), "nothing was signed")
		})
	}
}

func TestReplicateAutoRegistered(t *testing.T) {
	t.Parallel()
	kms := "0x" + strings.Repeat("5", 40)
	txHash := "0x" + strings.Repeat("ab", 32)

	t.Run("registers then commits with the transaction hash", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t)
		rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, 465, prepareBody(appHexID, hashA, deviceHex, token, 8453, false, false))
		})
		rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA, onchainKMS(8453, kms))))
		})
		serveNodes(rec, mux, workspaceNodes...)
		rec.handle(mux, "POST /cvms/{uuid}/commit-replica", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, http.StatusOK, mustJSONString(vmObject(newUUID, appHexID, hashA)))
		})
		reg := &fakeRegistrar{reg: &onchain.Registration{ComposeHashTx: common32(txHash), DeviceTx: common32("0x" + strings.Repeat("cd", 32))}}
		vm, err := c.Replicate(context.Background(), srcUUID, ReplicateRequest{Node: "7", Registrar: reg})
		require.NoError(t, err)
		assert.Equal(t, newUUID, vm.VMUUID)

		require.Equal(t, 1, reg.count())
		assert.Equal(t, token, reg.calls[0].CommitToken)
		assert.Equal(t, deviceHex, reg.calls[0].DeviceID)
		calls := rec.all()
		require.Equal(t, []string{"POST /cvms/" + srcUUID + "/replicas", "GET /cvms/" + srcUUID, "GET /teepods/available", "POST /cvms/" + srcUUID + "/commit-replica"}, rec.lines())
		assertCall(t, calls[0], "POST /cvms/"+srcUUID+"/replicas", "", `{"node_id":7}`)
		assertCall(t, calls[3], "POST /cvms/"+srcUUID+"/commit-replica", "",
			`{"token":"`+token+`","compose_hash":"`+hashA+`","transaction_hash":"`+txHash+`"}`)
	})

	t.Run("a commit answer naming another app is not the replica", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t)
		rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, 465, prepareBody(appHexID, hashA, deviceHex, token, 8453, false, false))
		})
		rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA, onchainKMS(8453, kms))))
		})
		serveNodes(rec, mux, workspaceNodes...)
		rec.handle(mux, "POST /cvms/{uuid}/commit-replica", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, http.StatusOK, mustJSONString(vmObject(newUUID, otherApp, hashA)))
		})
		reg := &fakeRegistrar{reg: &onchain.Registration{ComposeHashTx: common32(txHash)}}
		vm, err := c.Replicate(context.Background(), srcUUID, ReplicateRequest{Registrar: reg})
		assert.Nil(t, vm)
		var ae *AutoRegistrationError
		require.ErrorAs(t, err, &ae)
		assert.True(t, ae.Committing)
		var u *UnreadableCreatedError
		require.ErrorAs(t, err, &u)
		require.NotNil(t, u.VM, "the answer, to show")
		assert.Equal(t, newUUID, u.VM.VMUUID)
		assert.Contains(t, err.Error(), "not the source's app")
		assert.Equal(t, 1, strings.Count(strings.Join(rec.lines(), "\n"), "commit-replica"), "the commit is not resent")
	})

	t.Run("registration failure keeps the token", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t)
		rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, 465, prepareBody(appHexID, hashA, deviceHex, token, 8453, false, false))
		})
		rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA, onchainKMS(8453, kms))))
		})
		serveNodes(rec, mux, workspaceNodes...)
		notOwner := &onchain.NotOwnerError{}
		reg := &fakeRegistrar{err: notOwner}
		_, err := c.Replicate(context.Background(), srcUUID, ReplicateRequest{Registrar: reg})
		var ae *AutoRegistrationError
		require.ErrorAs(t, err, &ae)
		assert.False(t, ae.Committing)
		assert.Equal(t, token, ae.Prerequisite.CommitToken)
		assert.ErrorIs(t, err, notOwner)
		assert.Len(t, rec.lines(), 3, "no commit after a failed registration")
	})

	t.Run("commit is resent while the server's node lags", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t, WithCommitRetry(3, time.Millisecond))
		rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, 465, prepareBody(appHexID, hashA, deviceHex, token, 8453, false, true))
		})
		rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA, onchainKMS(8453, kms))))
		})
		serveNodes(rec, mux, workspaceNodes...)
		var commits atomic.Int32
		rec.handle(mux, "POST /cvms/{uuid}/commit-replica", func(w http.ResponseWriter, r *http.Request, _ string) {
			switch commits.Add(1) {
			case 1:
				apiError(w, 467, "ERR-01-007", "Transaction not found")
			case 2:
				apiError(w, 468, "ERR-01-008", "Compose hash not allowed")
			default:
				writeJSON(w, http.StatusOK, mustJSONString(vmObject(newUUID, appHexID, hashA)))
			}
		})
		reg := &fakeRegistrar{reg: &onchain.Registration{ComposeHashTx: common32(txHash)}}
		_, err := c.Replicate(context.Background(), srcUUID, ReplicateRequest{Registrar: reg})
		require.NoError(t, err)
		assert.Equal(t, int32(3), commits.Load())
		assert.Equal(t, 1, reg.count(), "registration is not repeated")
	})

	t.Run("already registered commits once with the sentinel", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t, WithCommitRetry(3, time.Millisecond))
		rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, 465, prepareBody(appHexID, hashA, deviceHex, token, 8453, true, true))
		})
		rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA, onchainKMS(8453, kms))))
		})
		serveNodes(rec, mux, workspaceNodes...)
		rec.handle(mux, "POST /cvms/{uuid}/commit-replica", func(w http.ResponseWriter, r *http.Request, _ string) {
			apiError(w, 468, "ERR-01-008", "Compose hash not allowed")
		})
		reg := &fakeRegistrar{reg: &onchain.Registration{}}
		_, err := c.Replicate(context.Background(), srcUUID, ReplicateRequest{Registrar: reg})
		var ae *AutoRegistrationError
		require.ErrorAs(t, err, &ae)
		assert.True(t, ae.Committing)
		assert.ErrorIs(t, err, ErrHashNotAllowed)
		calls := rec.all()
		require.Len(t, calls, 4, "no retry when nothing was just mined")
		assert.JSONEq(t, `{"token":"`+token+`","compose_hash":"`+hashA+`","transaction_hash":"already-registered"}`, calls[3].Body)
	})
}

func common32(s string) (h [32]byte) {
	b, err := onchain.ParseHash32(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestPrepareReplicaThenCommit(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c, mux, rec := setupRec(t, WithClock(func() time.Time { return now }))
	rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, 465, prepareBody(appHexID, hashA, deviceHex, token, 8453, false, true))
	})
	rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA, onchainKMS(8453, "0x"+strings.Repeat("5", 40)))))
	})
	rec.handle(mux, "POST /cvms/{uuid}/commit-replica", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, http.StatusOK, mustJSONString(vmObject(newUUID, appHexID, hashA)))
	})
	serveNodes(rec, mux, workspaceNodes...)

	p, err := c.PrepareReplica(context.Background(), srcUUID, ReplicateRequest{Node: "7"})
	require.NoError(t, err)
	assert.Equal(t, srcUUID, p.SourceVMUUID)
	assert.Equal(t, token, p.CommitToken)
	assert.Equal(t, hashA, p.ComposeHash)
	assert.Equal(t, appHexID, p.AppID)
	assert.Equal(t, deviceHex, p.DeviceID)
	assert.Equal(t, &onchain.OnchainStatus{DeviceIDAllowed: true}, p.OnchainStatus)
	assert.Equal(t, uint64(8453), p.KMSInfo.ChainID)
	assert.Equal(t, "https://cloud.example/commit/"+token, p.CommitURL)
	assert.Equal(t, now, p.PreparedAt)
	assert.Equal(t, now.Add(14*24*time.Hour), p.ExpiresAt)
	assert.NotContains(t, p.String(), token)

	// Another process resumes from the JSON form days later.
	data, err := json.Marshal(p)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"commit_token":"`+token+`"`)
	assert.Contains(t, string(data), `"source_vm_uuid":"`+srcUUID+`"`)
	var resumed PreparedReplica
	require.NoError(t, json.Unmarshal(data, &resumed))
	assert.Equal(t, *p, resumed)
	pre := resumed.Prerequisite()
	composeHash, err := pre.ComposeHashBytes()
	require.NoError(t, err)
	assert.Equal(t, common32(hashA), [32]byte(composeHash))

	later := now.Add(3 * 24 * time.Hour)
	c2, err := NewClient(WithBaseURL(c.BaseURL()), WithAPIKey(testKey), WithClock(func() time.Time { return later }))
	require.NoError(t, err)
	vm, err := c2.CommitPrepared(context.Background(), &resumed, "0x"+strings.Repeat("AB", 32))
	require.NoError(t, err)
	assert.Equal(t, newUUID, vm.VMUUID)

	calls := rec.all()
	require.Equal(t, []string{"POST /cvms/" + srcUUID + "/replicas", "GET /cvms/" + srcUUID, "GET /teepods/available", "POST /cvms/" + srcUUID + "/commit-replica"}, rec.lines())
	assertCall(t, calls[0], "POST /cvms/"+srcUUID+"/replicas", "true", `{"node_id":7}`)
	assertCall(t, calls[3], "POST /cvms/"+srcUUID+"/commit-replica", "",
		`{"token":"`+token+`","compose_hash":"`+hashA+`","transaction_hash":"0x`+strings.Repeat("ab", 32)+`"}`)

	t.Run("after expiry nothing is sent", func(t *testing.T) {
		c3, err := NewClient(WithBaseURL(c.BaseURL()), WithAPIKey(testKey), WithClock(func() time.Time { return p.ExpiresAt }))
		require.NoError(t, err)
		_, err = c3.CommitPrepared(context.Background(), &resumed, AlreadyRegistered)
		var exp *CommitTokenExpiredError
		require.ErrorAs(t, err, &exp)
		assert.ErrorIs(t, err, ErrHashInvalidOrExpired)
		assert.Contains(t, err.Error(), "PrepareReplica")
		assert.Len(t, rec.lines(), 4)
	})
}

func TestPrepareReplicaAnswered2xx(t *testing.T) {
	t.Parallel()
	c, mux, rec := setupRec(t)
	rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, http.StatusOK, mustJSONString(vmObject(newUUID, appHexID, hashA)))
	})
	p, err := c.PrepareReplica(context.Background(), srcUUID, ReplicateRequest{})
	assert.Nil(t, p)
	require.ErrorIs(t, err, ErrReplicaCreated)
	var created *ReplicaCreatedError
	require.ErrorAs(t, err, &created)
	assert.Equal(t, newUUID, created.VM.VMUUID)
	require.Len(t, rec.all(), 1)
	assertCall(t, rec.all()[0], "POST /cvms/"+srcUUID+"/replicas", "true", `{}`)

	_, err = c.PrepareReplica(context.Background(), srcUUID, ReplicateRequest{Registrar: &fakeRegistrar{}})
	require.ErrorIs(t, err, ErrInvalidArgument)
	assert.Len(t, rec.all(), 1)
}

func TestReplicateRequestHidesEnvValues(t *testing.T) {
	t.Parallel()
	req := ReplicateRequest{Node: "7", Env: []envcrypt.EnvVar{{Key: "DB_PASSWORD", Value: "s3cr3t-v4lue"}}}
	assert.NotContains(t, req.String(), "s3cr3t-v4lue")
	assert.Contains(t, req.String(), "DB_PASSWORD")
	var b strings.Builder
	l := newTextLogger(&b)
	l.Info("replicating", "req", req)
	assert.NotContains(t, b.String(), "s3cr3t-v4lue")
	assert.Contains(t, b.String(), "DB_PASSWORD")
}

func TestWorkflowsLogAndPrintNoSecrets(t *testing.T) {
	t.Parallel()
	key := newEnvKey(t)
	var logs strings.Builder
	c, mux, rec := setupRec(t, WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHexID, hashA, func(o map[string]any) {
			o["kms_info"] = map[string]any{"encrypted_env_pubkey": key.pub}
		})))
	})
	rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, 465, prepareBody(appHexID, hashA, deviceHex, token, 8453, false, false))
	})
	serveNodes(rec, mux, workspaceNodes...)
	const secret = "pl41ntext-s3cret"
	p, err := c.PrepareReplica(context.Background(), srcUUID, ReplicateRequest{Env: []envcrypt.EnvVar{{Key: "DB_PASSWORD", Value: secret}}})
	require.NoError(t, err)
	require.NotEmpty(t, logs.String(), "debug lines were written")
	slog.New(slog.NewTextHandler(&logs, nil)).Info("prepared", "replica", p, "commit", CommitRequest{Token: p.CommitToken, ComposeHash: hashA})

	for _, s := range []string{logs.String(), fmt.Sprint(p), fmt.Sprintf("%+v %#v", p, *p),
		fmt.Sprintf("%v %#v", CommitRequest{Token: token}, CommitRequest{Token: token})} {
		assert.NotContains(t, s, secret)
		assert.NotContains(t, s, token)
		assert.NotContains(t, s, testKey)
	}
}

func TestReplicateAppInstanceChecksTheApp(t *testing.T) {
	t.Parallel()
	c, mux, rec := setupRec(t)
	rec.handle(mux, "POST /apps/{app}/cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeJSON(w, 465, prepareBody(otherApp, hashA, deviceHex, token, 8453, false, false))
	})
	reg := &fakeRegistrar{reg: &onchain.Registration{}}
	_, err := c.ReplicateAppInstance(context.Background(), appHexID, srcUUID, ReplicateRequest{ComposeHash: hashA, Registrar: reg})
	var mm *PayloadMismatchError
	require.ErrorAs(t, err, &mm)
	assert.Equal(t, "app_id", mm.Field)
	assert.Equal(t, "app id argument", mm.From)
	assert.Zero(t, reg.count())
	assert.Equal(t, []string{"POST /apps/" + appHexID + "/cvms/" + srcUUID + "/replicas"}, rec.lines(),
		"app id and compose hash were known: no lookup was needed to reject the payload")

	t.Run("vm_uuid of another app", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t)
		rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, otherApp, hashA, func(o map[string]any) {
				o["kms_info"] = map[string]any{"encrypted_env_pubkey": newEnvKey(t).pub}
			})))
		})
		_, err := c.ReplicateAppInstance(context.Background(), appHexID, srcUUID, ReplicateRequest{Env: []envcrypt.EnvVar{{Key: "A", Value: "1"}}})
		require.ErrorIs(t, err, ErrInvalidArgument)
		assert.Contains(t, err.Error(), otherApp)
		assert.Equal(t, []string{"GET /cvms/" + srcUUID}, rec.lines())
	})
}
