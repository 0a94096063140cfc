package phalatest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/phalatest"
)

func replicasPath(vmUUID string) string { return "/cvms/" + vmUUID + "/replicas" }

func TestReplicateCloudKMS(t *testing.T) {
	f := newFixture(t, phalatest.KMSCloud)
	before := f.srv.Now()
	r := post(t, f.srv, replicasPath(f.cvm.VMUUID), map[string]any{"node_id": f.node.ID})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	o := r.obj(t)

	reps := f.srv.Replicas()
	require.Len(t, reps, 1)
	rep := reps[0]

	// VMSchema, replication-wire.md §6.
	assert.Equal(t, float64(2), o["id"])
	assert.Equal(t, rep.Name, o["name"])
	assert.Equal(t, phalatest.StatusCreating, o["status"])
	assert.Equal(t, float64(f.node.ID), o["teepod_id"])
	assert.Equal(t, map[string]any{"id": float64(f.node.ID), "name": "prod-1", "region_identifier": "us-west"}, o["teepod"])
	assert.Equal(t, "prod-1", o["teepod_name"])
	assert.Equal(t, f.app.ID, o["app_id"])
	assert.Equal(t, rep.VMUUID, o["vm_uuid"])
	assert.Equal(t, rep.InstanceID, o["instance_id"])
	assert.Equal(t, float64(2), o["vcpu"])
	assert.Equal(t, float64(4096), o["memory"])
	assert.Equal(t, float64(40), o["disk_size"])
	assert.Equal(t, phalatest.DefaultImage, o["base_image"])
	assert.Equal(t, f.app.EnvPubkey, o["encrypted_env_pubkey"])
	assert.Equal(t, f.cvm.ID, o["source_cvm_id"])
	assert.Equal(t, before.UTC().Format(time.RFC3339), o["created_at"])
	assert.Contains(t, o["app_url"], "/default/apps/"+f.app.ID+"/instances/"+strings.ReplaceAll(rep.VMUUID, "-", ""))
	for _, k := range []string{"user_id", "manifest_version", "version", "runner", "docker_compose_file", "features"} {
		assert.Contains(t, o, k)
	}

	assert.Equal(t, f.cvm.VMUUID, rep.SourceVMUUID)
	assert.Equal(t, f.node.ID, rep.NodeID)
	assert.Equal(t, f.cvm.ComposeHash, rep.ComposeHash)
	assert.False(t, rep.Committed)
	// Without encrypted_env the replica inherits the source's env.
	assert.True(t, rep.EnvInherited)
	require.NoError(t, rep.EnvError)
	assert.Equal(t, map[string]string{"API_TOKEN": "source-secret", "MODE": "prod"}, rep.DecryptedEnv.Map())

	// The first hour is charged.
	assert.InDelta(t, phalatest.DefaultCredit-0.10, f.srv.Credit(""), 1e-9)

	// The replica is visible under its vm_uuid.
	g := get(t, f.srv, "/cvms/"+rep.VMUUID)
	require.Equal(t, http.StatusOK, g.Status)
	assert.Equal(t, phalatest.StatusCreating, g.obj(t)["status"])
}

func TestReplicateWithEncryptedEnv(t *testing.T) {
	f := newFixture(t, phalatest.KMSCloud)
	blob, err := envcrypt.Encrypt(f.app.EnvPubkey, []envVar{
		{Key: "API_TOKEN", Value: "replica-secret"}, {Key: "DEBUG", Value: "1"},
	})
	require.NoError(t, err)
	r := post(t, f.srv, replicasPath(f.cvm.VMUUID), map[string]any{"encrypted_env": blob})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	rep, ok := f.srv.Replica(r.obj(t)["vm_uuid"].(string))
	require.True(t, ok)
	assert.False(t, rep.EnvInherited)
	assert.Equal(t, blob, rep.EncryptedEnv)
	require.NoError(t, rep.EnvError)
	assert.Equal(t, map[string]string{"API_TOKEN": "replica-secret"}, rep.DecryptedEnv.Map())
	assert.Equal(t, []string{"DEBUG"}, rep.DecryptedEnv.Skipped, "names outside allowed_envs are dropped as in a CVM")
	assert.Empty(t, rep.BootError)
}

func TestReplicateEnvForAnotherKeyFailsTheBoot(t *testing.T) {
	f := newFixture(t, phalatest.KMSCloud, phalatest.WithProvisioningDelays(time.Second, time.Second))
	other := f.srv.AddApp(phalatest.App{KMS: phalatest.KMSCloud})
	blob, err := envcrypt.Encrypt(other.EnvPubkey, []envVar{{Key: "API_TOKEN", Value: "very-secret-value"}})
	require.NoError(t, err)
	r := post(t, f.srv, replicasPath(f.cvm.VMUUID), map[string]any{"encrypted_env": blob})
	require.Equal(t, http.StatusOK, r.Status, "accepted: the server cannot read the env")
	u := r.obj(t)["vm_uuid"].(string)
	rep, _ := f.srv.Replica(u)
	require.ErrorIs(t, rep.EnvError, envcrypt.ErrDecrypt)
	assert.Nil(t, rep.DecryptedEnv)

	f.srv.Advance(2 * time.Second)
	o := get(t, f.srv, "/cvms/"+u).obj(t)
	assert.Equal(t, phalatest.StatusError, o["status"])
	assert.Contains(t, o["boot_error"], "decrypting the environment")
	assert.NotContains(t, string(get(t, f.srv, "/cvms/"+u).Raw), "very-secret-value")
}

func TestReplicateValidation(t *testing.T) {
	f := newFixture(t, phalatest.KMSCloud)
	tests := []struct {
		name string
		body any
		loc  []any
		typ  string
	}{
		{"node_id not an integer", map[string]any{"node_id": "abc"}, []any{"body", "node_id"}, "int_parsing"},
		{"node_id fractional", map[string]any{"node_id": 1.5}, []any{"body", "node_id"}, "int_from_float"},
		{"node_id object", map[string]any{"node_id": map[string]any{}}, []any{"body", "node_id"}, "int_type"},
		{"encrypted_env not hex", map[string]any{"encrypted_env": "zz"}, []any{"body", "encrypted_env"}, "value_error"},
		{"encrypted_env a number", map[string]any{"encrypted_env": 5}, []any{"body", "encrypted_env"}, "string_type"},
		{"compose_hash short", map[string]any{"compose_hash": "0x1234"}, []any{"body", "compose_hash"}, "value_error"},
		{"invalid JSON", []byte(`{"node_id":`), []any{"body", float64(11)}, "json_invalid"},
		{"not an object", []byte(`[1,2]`), []any{"body"}, "model_attributes_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, f.srv, replicasPath(f.cvm.VMUUID), tt.body)
			require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Raw)
			items, ok := r.obj(t)["detail"].([]any)
			require.True(t, ok, "FastAPI array detail: %s", r.Raw)
			require.Len(t, items, 1)
			it := items[0].(map[string]any)
			assert.Equal(t, tt.loc, it["loc"])
			assert.Equal(t, tt.typ, it["type"])
			assert.NotEmpty(t, it["msg"])
		})
	}
	assert.Empty(t, f.srv.Replicas())

	// Lax integers and empty bodies are accepted, as FastAPI does.
	for _, body := range []any{map[string]any{"node_id": "1"}, []byte(""), map[string]any{"node_id": nil, "unknown": true}} {
		r := post(t, f.srv, replicasPath(f.cvm.VMUUID), body)
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	}
}

func TestReplicateCapacityErrors(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(srv *phalatest.Server, app phalatest.App) (nodeID int)
		noNode bool // send no node_id
		status int
		code   string
	}{
		{"unknown node", func(*phalatest.Server, phalatest.App) int { return 999 }, false, http.StatusNotFound, phalatest.CodeNodeNotFound},
		{"out of vCPU", func(srv *phalatest.Server, _ phalatest.App) int {
			return srv.AddNode(phalatest.Node{VCPU: 1}).ID
		}, false, http.StatusConflict, phalatest.CodeInsufficientVCPU},
		{"out of memory", func(srv *phalatest.Server, _ phalatest.App) int {
			return srv.AddNode(phalatest.Node{MemoryMB: 2048}).ID
		}, false, http.StatusConflict, phalatest.CodeInsufficientMemory},
		{"out of slots", func(srv *phalatest.Server, app phalatest.App) int {
			n := srv.AddNode(phalatest.Node{Slots: 1})
			srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: n.ID, Status: phalatest.StatusStopped}) // stopped: frees its slot
			other := srv.AddApp(phalatest.App{})
			srv.AddCVM(phalatest.CVM{AppID: other.ID, NodeID: n.ID})
			return n.ID
		}, false, http.StatusConflict, phalatest.CodeInsufficientSlots},
		{"image missing", func(srv *phalatest.Server, _ phalatest.App) int {
			return srv.AddNode(phalatest.Node{Images: []string{"dstack-0.3.6"}}).ID
		}, false, http.StatusUnprocessableEntity, phalatest.CodeReplicaImageNotAvailable},
		{"low credit", func(srv *phalatest.Server, _ phalatest.App) int {
			srv.SetCredit("", 0.05)
			return srv.AddNode(phalatest.Node{}).ID
		}, false, http.StatusPaymentRequired, phalatest.CodeInsufficientBalance},
		{"no node fits", func(srv *phalatest.Server, _ phalatest.App) int {
			srv.AddNode(phalatest.Node{VCPU: 1})
			return 0
		}, true, http.StatusConflict, phalatest.CodeResourceNotAvailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			home := srv.AddNode(phalatest.Node{VCPU: 2}) // full once the source runs
			app := srv.AddApp(phalatest.App{KMS: phalatest.KMSCloud})
			src := srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: home.ID})
			nodeID := tt.setup(srv, app)
			body := map[string]any{}
			if !tt.noNode {
				body["node_id"] = nodeID
			}
			r := post(t, srv, replicasPath(src.VMUUID), body)
			require.Equal(t, tt.status, r.Status, "%s", r.Raw)
			assert.Equal(t, tt.code, r.code(t))
			assert.Empty(t, srv.Replicas(), "nothing is created")
		})
	}
}

func TestReplicateFillsANode(t *testing.T) {
	srv := newServer(t)
	home := srv.AddNode(phalatest.Node{})
	target := srv.AddNode(phalatest.Node{Slots: 2})
	app := srv.AddApp(phalatest.App{KMS: phalatest.KMSCloud})
	src := srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: home.ID})
	for i := 0; i < 2; i++ {
		r := post(t, srv, replicasPath(src.VMUUID), map[string]any{"node_id": target.ID})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	}
	r := post(t, srv, replicasPath(src.VMUUID), map[string]any{"node_id": target.ID})
	require.Equal(t, http.StatusConflict, r.Status)
	assert.Equal(t, phalatest.CodeInsufficientSlots, r.code(t))
	assert.Len(t, srv.Replicas(), 2)
}

func TestReplicateMultipleLiveComposeHashes(t *testing.T) {
	f := newFixture(t, phalatest.KMSCloud)
	v2 := phalatest.Compose{DockerCompose: "services:\n  app:\n    image: nginx:1.28\n", AllowedEnvs: []string{"MODE"}}
	newer := f.srv.AddCVM(phalatest.CVM{AppID: f.app.ID, Compose: &v2})
	require.NotEqual(t, f.cvm.ComposeHash, newer.ComposeHash)

	r := post(t, f.srv, replicasPath(f.cvm.VMUUID), map[string]any{})
	require.Equal(t, http.StatusConflict, r.Status, "%s", r.Raw)
	assert.Equal(t, phalatest.CodeMultipleLiveComposeHashes, r.code(t))
	assert.ElementsMatch(t, []any{f.cvm.ComposeHash, newer.ComposeHash}, r.details(t)["compose_hash"])
	assert.Empty(t, f.srv.Replicas(), "ERR-03-009 creates nothing")

	// Choosing the revision, 0x-prefixed and upper case, replicates it
	// with its own allowed_envs.
	r = post(t, f.srv, replicasPath(f.cvm.VMUUID), map[string]any{"compose_hash": "0x" + strings.ToUpper(newer.ComposeHash)})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	rep, _ := f.srv.Replica(r.obj(t)["vm_uuid"].(string))
	assert.Equal(t, newer.ComposeHash, rep.ComposeHash)
	assert.Equal(t, map[string]string{"MODE": "prod"}, rep.DecryptedEnv.Map())
	assert.Equal(t, []string{"API_TOKEN"}, rep.DecryptedEnv.Skipped)

	r = post(t, f.srv, replicasPath(f.cvm.VMUUID), map[string]any{"compose_hash": strings.Repeat("0", 64)})
	require.Equal(t, http.StatusUnprocessableEntity, r.Status)
	assert.Equal(t, phalatest.CodeInvalidRequest, r.code(t))
}

func TestReplicateAppScopedEndpoint(t *testing.T) {
	f := newFixture(t, phalatest.KMSCloud)
	n2 := f.srv.AddNode(phalatest.Node{Name: "prod-2"})
	// The legacy client sends teepod_id and strips app_.
	r := post(t, f.srv, "/apps/"+f.app.ID+"/cvms/"+f.cvm.VMUUID+"/replicas", map[string]any{"teepod_id": n2.ID})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	assert.Equal(t, float64(n2.ID), r.obj(t)["teepod_id"])

	other := f.srv.AddApp(phalatest.App{})
	r = post(t, f.srv, "/apps/"+other.ID+"/cvms/"+f.cvm.VMUUID+"/replicas", map[string]any{})
	require.Equal(t, http.StatusNotFound, r.Status)
	assert.Equal(t, phalatest.CodeCVMNotFound, r.code(t))
	assert.Len(t, f.srv.Replicas(), 1)
}

func TestReplicateUnknownSource(t *testing.T) {
	f := newFixture(t, phalatest.KMSCloud)
	r := post(t, f.srv, replicasPath("00000000-0000-4000-8000-000000000000"), map[string]any{})
	require.Equal(t, http.StatusNotFound, r.Status)
	assert.Equal(t, phalatest.CodeCVMNotFound, r.code(t))
}

func TestReplicateNoKMS(t *testing.T) {
	f := newFixture(t, phalatest.KMSNone)
	r := post(t, f.srv, replicasPath(f.cvm.VMUUID), map[string]any{})
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	o := r.obj(t)
	assert.Nil(t, o["encrypted_env_pubkey"])
	rep, _ := f.srv.Replica(o["vm_uuid"].(string))
	require.NoError(t, rep.EnvError)
	assert.Empty(t, rep.DecryptedEnv.Vars, "without KMS a CVM gets no env")
}

func TestPrepareOnlyCloudKMS(t *testing.T) {
	t.Run("default creates the replica", func(t *testing.T) {
		f := newFixture(t, phalatest.KMSCloud)
		r := do(t, f.srv, call{method: http.MethodPost, path: replicasPath(f.cvm.VMUUID), body: map[string]any{}, header: map[string]string{"X-Prepare-Only": "true"}})
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
		assert.Len(t, f.srv.Replicas(), 1)
	})
	t.Run("WithPrepareOnlyCommitToken answers 465", func(t *testing.T) {
		f := newFixture(t, phalatest.KMSCloud, phalatest.WithPrepareOnlyCommitToken())
		r := do(t, f.srv, call{method: http.MethodPost, path: replicasPath(f.cvm.VMUUID), body: map[string]any{"node_id": f.node.ID}, header: map[string]string{"X-Prepare-Only": "true"}})
		require.Equal(t, phalatest.StatusPrepare, r.Status, "%s", r.Raw)
		assert.Equal(t, phalatest.CodeHashRegistrationRequired, r.code(t))
		d := r.details(t)
		assert.NotContains(t, d, "onchain_status")
		ki := d["kms_info"].(map[string]any)
		assert.ElementsMatch(t, []string{"id", "slug", "url", "version", "chain_id", "kms_contract_address", "gateway_app_id"}, keys(ki), "a KMS entry")
		assert.Equal(t, "phala", ki["slug"])
		assert.Nil(t, ki["chain_id"])
		assert.Empty(t, f.srv.Replicas())

		c := post(t, f.srv, "/cvms/"+f.cvm.VMUUID+"/commit-replica", map[string]any{
			"token": d["commit_token"], "compose_hash": d["compose_hash"], "transaction_hash": "already-registered",
		})
		require.Equal(t, http.StatusOK, c.Status, "%s", c.Raw)
		reps := f.srv.Replicas()
		require.Len(t, reps, 1)
		assert.True(t, reps[0].Committed)
		assert.True(t, reps[0].EnvInherited)
	})
}

func TestPubkey(t *testing.T) {
	srv := newServer(t)
	cloud := srv.AddApp(phalatest.App{KMS: phalatest.KMSCloud})
	trusted := [][]byte{srv.KMSRootPublicKey()}
	require.Len(t, trusted[0], 33)

	r := get(t, srv, "/kms/phala/pubkey/"+cloud.ID)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	o := r.obj(t)
	// Exactly the keys of the official SDK's strict schema: any other key
	// makes its call fail.
	assert.ElementsMatch(t, []string{"public_key", "signature"}, keys(o), "only public_key and signature, like Phala Cloud: %s", r.Raw)
	assert.Equal(t, cloud.EnvPubkey, o["public_key"])
	resp := envcrypt.PublicKeyResponse{PublicKey: o["public_key"].(string), Signature: o["signature"].(string)}
	signer, err := envcrypt.VerifyPublicKey(resp, cloud.ID, trusted, time.Now())
	require.NoError(t, err)
	assert.Equal(t, trusted[0], signer)

	// 0x app ids are accepted; another KMS derives another key.
	r0x := get(t, srv, "/kms/phala/pubkey/0x"+cloud.ID)
	assert.Equal(t, cloud.EnvPubkey, r0x.obj(t)["public_key"])
	rBase := get(t, srv, "/kms/base/pubkey/"+cloud.ID)
	require.Equal(t, http.StatusOK, rBase.Status)
	assert.ElementsMatch(t, []string{"public_key", "signature"}, keys(rBase.obj(t)))
	assert.NotEqual(t, cloud.EnvPubkey, rBase.obj(t)["public_key"])

	// Signed for another app, the signature does not verify.
	other := strings.Repeat("0", 40)
	_, err = envcrypt.VerifyPublicKey(resp, other, trusted, time.Now())
	require.Error(t, err)

	bad := get(t, srv, "/kms/nope/pubkey/"+cloud.ID)
	require.Equal(t, http.StatusNotFound, bad.Status)
	assert.Equal(t, phalatest.CodeKMSNotFound, bad.code(t))
	bad = get(t, srv, "/kms/phala/pubkey/xyz")
	require.Equal(t, http.StatusUnprocessableEntity, bad.Status)
	assert.Equal(t, phalatest.CodeInvalidRequest, bad.code(t))
}

func TestPubkeyTimestamped(t *testing.T) {
	clock := newFakeClock()
	srv := newServer(t, phalatest.WithTimestampedSignatures(), phalatest.WithClock(clock.Now))
	app := srv.AddApp(phalatest.App{KMS: phalatest.KMSCloud})
	var resp envcrypt.PublicKeyResponse
	r := get(t, srv, "/kms/phala/pubkey/"+app.ID)
	// Two keys more than the official SDK's strict schema accepts.
	assert.ElementsMatch(t, []string{"public_key", "signature", "timestamp", "signature_v1"}, keys(r.obj(t)))
	require.NoError(t, resp.UnmarshalJSON(r.Raw))
	require.NotNil(t, resp.Timestamp)
	assert.Equal(t, uint64(clock.Now().Unix()), *resp.Timestamp)
	assert.NotEmpty(t, resp.SignatureV1)
	signer, err := envcrypt.VerifyPublicKey(resp, app.ID, [][]byte{srv.KMSRootPublicKey()}, clock.Now())
	require.NoError(t, err)
	assert.Equal(t, srv.KMSRootPublicKey(), signer)
}
