package phalatest_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/phalatest"
)

func TestURLAndAPIKey(t *testing.T) {
	srv := newServer(t)
	assert.True(t, strings.HasPrefix(srv.URL(), "http://127.0.0.1:"))
	assert.True(t, strings.HasSuffix(srv.URL(), "/api/v1"))
	assert.NotEmpty(t, srv.APIKey())
	assert.Equal(t, srv.APIKey(), srv.DefaultWorkspace().APIKey)

	fixed := newServer(t, phalatest.WithAPIKey("phak_test"))
	assert.Equal(t, "phak_test", fixed.APIKey())
}

func TestAPIKeyCheck(t *testing.T) {
	f := newFixture(t, phalatest.KMSCloud)
	other := f.srv.AddWorkspace(phalatest.Workspace{Name: "Other Team"})
	tests := []struct {
		name   string
		key    string
		status int
	}{
		{"missing", "", http.StatusUnauthorized},
		{"wrong", "phak_wrong", http.StatusUnauthorized},
		{"default workspace", f.srv.APIKey(), http.StatusOK},
		{"other workspace sees no CVM", other.APIKey, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, f.srv, call{method: http.MethodGet, path: "/cvms/" + f.cvm.VMUUID, key: ptr(tt.key)})
			require.Equal(t, tt.status, r.Status, "%s", r.Raw)
			if tt.status == http.StatusUnauthorized {
				assert.Equal(t, phalatest.CodeUnauthorized, r.code(t))
				assert.NotContains(t, string(r.Raw), f.srv.APIKey())
			}
		})
	}
}

func TestVersionHeader(t *testing.T) {
	f := newFixture(t, phalatest.KMSCloud)
	tests := []struct {
		version string
		status  int
		// numericID: the 2025-10-28 shape has a numeric id and teepod_id.
		numericID bool
	}{
		{"", http.StatusOK, false},
		{phalatest.Version20260121, http.StatusOK, false},
		{phalatest.Version20251028, http.StatusOK, true},
		{"2024-01-01", http.StatusBadRequest, false},
		{"latest", http.StatusBadRequest, false},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			r := do(t, f.srv, call{method: http.MethodGet, path: "/cvms/" + f.cvm.VMUUID, header: map[string]string{"X-Phala-Version": tt.version}})
			require.Equal(t, tt.status, r.Status, "%s", r.Raw)
			if tt.status != http.StatusOK {
				assert.Equal(t, phalatest.CodeInvalidRequest, r.code(t))
				assert.Contains(t, r.detail(t)["message"], "2026-01-21")
				return
			}
			o := r.obj(t)
			if tt.numericID {
				assert.Equal(t, float64(1), o["id"])
				assert.Equal(t, float64(f.node.ID), o["teepod_id"])
				assert.Equal(t, f.app.EnvPubkey, o["encrypted_env_pubkey"])
				assert.NotContains(t, o, "kms_type")
				assert.NotContains(t, o, "workspace")
			} else {
				assert.Equal(t, f.cvm.ID, o["id"])
				assert.Equal(t, "phala", o["kms_type"])
				assert.Contains(t, o, "workspace")
			}
		})
	}
}

func TestRoutingErrors(t *testing.T) {
	srv := newServer(t)
	tests := []struct {
		name   string
		method string
		path   string
		status int
		detail string
	}{
		{"unknown path", http.MethodGet, "/nope", http.StatusNotFound, "Not Found"},
		{"wrong method on replicas", http.MethodGet, "/cvms/x/replicas", http.StatusMethodNotAllowed, "Method Not Allowed"},
		{"wrong method on cvm", http.MethodPut, "/cvms/x", http.StatusMethodNotAllowed, "Method Not Allowed"},
		{"too deep", http.MethodGet, "/cvms/x/y/z", http.StatusNotFound, "Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, srv, call{method: tt.method, path: tt.path})
			require.Equal(t, tt.status, r.Status)
			assert.Equal(t, map[string]any{"detail": tt.detail}, r.JSON)
		})
	}

	// Unknown routes are 404 before the API key is looked at, as in FastAPI.
	r := do(t, srv, call{method: http.MethodGet, path: "/nope", key: ptr("")})
	assert.Equal(t, http.StatusNotFound, r.Status)

	// Outside the /api/v1 prefix nothing is served.
	resp, err := http.Get(strings.TrimSuffix(srv.URL(), "/api/v1") + "/cvms/x")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestGetCVMShape(t *testing.T) {
	f := newFixture(t, phalatest.KMSCloud)
	r := get(t, f.srv, "/cvms/"+f.cvm.VMUUID)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	o := r.obj(t)

	assert.Equal(t, f.cvm.ID, o["id"])
	assert.Equal(t, f.cvm.Name, o["name"])
	assert.Equal(t, f.app.ID, o["app_id"])
	assert.Len(t, f.app.ID, 40)
	assert.Equal(t, f.cvm.VMUUID, o["vm_uuid"])
	assert.Equal(t, f.cvm.InstanceID, o["instance_id"])
	assert.Equal(t, "running", o["status"])
	assert.Nil(t, o["progress"])
	assert.Equal(t, f.cvm.ComposeHash, o["compose_hash"])
	assert.Equal(t, f.app.ComposeHash, f.cvm.ComposeHash)

	assert.Equal(t, map[string]any{
		"instance_type": "tdx.medium", "vcpu": float64(2), "memory_in_gb": float64(4), "disk_in_gb": float64(40),
		"gpus": float64(0), "compute_billing_price": "0.1000", "billing_period": "hourly",
	}, o["resource"])

	ni := o["node_info"].(map[string]any)
	assert.Equal(t, "node", ni["object_type"])
	assert.Equal(t, float64(f.node.ID), ni["id"])
	assert.Equal(t, "prod-1", ni["name"])
	assert.Equal(t, f.node.DeviceID, ni["device_id"])
	assert.Len(t, f.node.DeviceID, 64)

	osObj := o["os"].(map[string]any)
	assert.Equal(t, phalatest.DefaultImage, osObj["name"])
	assert.Equal(t, "0.5.3", osObj["version"])
	assert.Equal(t, false, osObj["is_dev"])

	assert.Equal(t, "phala", o["kms_type"])
	ki := o["kms_info"].(map[string]any)
	assert.Equal(t, f.app.EnvPubkey, ki["encrypted_env_pubkey"])
	assert.Nil(t, ki["chain_id"])
	assert.Len(t, f.app.EnvPubkey, 64)

	gw, ok := o["gateway"].(map[string]any)
	require.True(t, ok, "gateway must be an object")
	assert.Contains(t, gw, "base_domain")

	ws := o["workspace"].(map[string]any)
	assert.Equal(t, "workspace", ws["object_type"])
	assert.Equal(t, f.srv.DefaultWorkspace().ID, ws["id"])
	assert.Equal(t, "Default Workspace", ws["name"])
	assert.Equal(t, "default", ws["slug"])

	cf := o["compose_file"].(map[string]any)
	assert.Equal(t, []any{"API_TOKEN", "MODE"}, cf["allowed_envs"])
	assert.Equal(t, "web", cf["name"])
}

func TestGetCVMKMSInfo(t *testing.T) {
	srv := newServer(t)
	srv.AddNode(phalatest.Node{})
	none := srv.AddApp(phalatest.App{})
	onchainApp := srv.AddApp(phalatest.App{
		KMS: phalatest.KMSBase, ID: "0x00000000000000000000000000000000000000AA", ChainID: 8453,
		KMSContract: "0x00000000000000000000000000000000000000bb",
	})
	c1 := srv.AddCVM(phalatest.CVM{AppID: none.ID})
	c2 := srv.AddCVM(phalatest.CVM{AppID: onchainApp.ID})

	o := get(t, srv, "/cvms/"+c1.VMUUID).obj(t)
	assert.Nil(t, o["kms_type"])
	assert.Nil(t, o["kms_info"])
	assert.Empty(t, none.EnvPubkey)

	o = get(t, srv, "/cvms/"+c2.VMUUID).obj(t)
	assert.Equal(t, "base", o["kms_type"])
	assert.Equal(t, "00000000000000000000000000000000000000aa", o["app_id"])
	assert.Equal(t, map[string]any{
		"chain_id": float64(8453), "dstack_kms_address": common.HexToAddress("bb").Hex(),
		"dstack_app_address": common.HexToAddress("aa").Hex(), "deployer_address": nil,
		"rpc_endpoint": nil, "encrypted_env_pubkey": nil,
	}, o["kms_info"])
}

func TestResolveIdentifiers(t *testing.T) {
	f := newFixture(t, phalatest.KMSCloud)
	u := f.cvm.VMUUID
	ids := map[string]string{
		"vm_uuid":                u,
		"vm_uuid without dashes": strings.ReplaceAll(u, "-", ""),
		"vm_uuid upper case":     strings.ToUpper(u),
		"app_ id":                "app_" + f.app.ID,
		"bare app id":            f.app.ID,
		"0x app id":              "0x" + f.app.ID,
		"hashed id":              f.cvm.ID,
		"instance id":            f.cvm.InstanceID,
		"name":                   f.cvm.Name,
		"numeric id":             "1",
	}
	for name, id := range ids {
		t.Run(name, func(t *testing.T) {
			r := get(t, f.srv, "/cvms/"+id)
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Raw)
			assert.Equal(t, u, r.obj(t)["vm_uuid"])
		})
	}

	r := get(t, f.srv, "/cvms/00000000-0000-4000-8000-000000000000")
	require.Equal(t, http.StatusNotFound, r.Status)
	assert.Equal(t, phalatest.CodeCVMNotFound, r.code(t))
}

func TestMultipleCVMsOfAnApp(t *testing.T) {
	f := newFixture(t, phalatest.KMSCloud)
	second := f.srv.AddCVM(phalatest.CVM{AppID: f.app.ID})

	r := get(t, f.srv, "/cvms/app_"+f.app.ID)
	require.Equal(t, http.StatusConflict, r.Status)
	assert.Equal(t, phalatest.CodeMultipleCVMsMatch, r.code(t))
	assert.ElementsMatch(t, []any{f.cvm.VMUUID, second.VMUUID}, r.details(t)["vm_uuids"])

	for _, id := range []string{f.app.ID, "app_" + f.app.ID, "0x" + f.app.ID} {
		list := get(t, f.srv, "/apps/"+id+"/cvms")
		require.Equal(t, http.StatusOK, list.Status)
		arr, ok := list.JSON.([]any)
		require.True(t, ok, "a bare JSON array: %s", list.Raw)
		require.Len(t, arr, 2)
		assert.Equal(t, f.cvm.VMUUID, arr[0].(map[string]any)["vm_uuid"])
		assert.Equal(t, second.VMUUID, arr[1].(map[string]any)["vm_uuid"])
	}

	// Once one is stopped, the app id names the live one.
	f.srv.SetStatus(f.cvm.VMUUID, phalatest.StatusStopped)
	r = get(t, f.srv, "/cvms/app_"+f.app.ID)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, second.VMUUID, r.obj(t)["vm_uuid"])

	unknown := get(t, f.srv, "/apps/"+strings.Repeat("ab", 20)+"/cvms")
	require.Equal(t, http.StatusNotFound, unknown.Status)
	assert.Equal(t, phalatest.CodeCVMNotFound, unknown.code(t))
}

func TestSameNameIsAmbiguous(t *testing.T) {
	f := newFixture(t, phalatest.KMSCloud)
	other := f.srv.AddApp(phalatest.App{})
	f.srv.AddCVM(phalatest.CVM{AppID: other.ID, Name: f.cvm.Name})
	r := get(t, f.srv, "/cvms/"+f.cvm.Name)
	require.Equal(t, http.StatusConflict, r.Status)
	assert.Equal(t, phalatest.CodeMultipleCVMsSameName, r.code(t))
}

func TestWorkspaces(t *testing.T) {
	srv := newServer(t)
	srv.AddNode(phalatest.Node{})
	team := srv.AddWorkspace(phalatest.Workspace{Name: "Blue Team", Credit: 5})
	assert.Equal(t, "blue-team", team.Slug)
	app := srv.AddApp(phalatest.App{Workspace: team.ID, KMS: phalatest.KMSCloud})
	c := srv.AddCVM(phalatest.CVM{AppID: app.ID})

	r := get(t, srv, "/cvms/"+c.VMUUID)
	require.Equal(t, http.StatusForbidden, r.Status)
	assert.Equal(t, phalatest.CodeCVMNotInWorkspace, r.code(t))

	r = do(t, srv, call{method: http.MethodGet, path: "/cvms/" + c.VMUUID, key: &team.APIKey})
	require.Equal(t, http.StatusOK, r.Status)
	ws := r.obj(t)["workspace"].(map[string]any)
	assert.Equal(t, "Blue Team", ws["name"])
	assert.Equal(t, "blue-team", ws["slug"])

	r = post(t, srv, "/cvms/"+c.VMUUID+"/replicas", map[string]any{})
	require.Equal(t, http.StatusForbidden, r.Status)
	assert.Equal(t, phalatest.CodeSourceNotInWorkspace, r.code(t))
	assert.Empty(t, srv.Replicas())

	srv.SetCredit(team.ID, 42)
	assert.InDelta(t, 42, srv.Credit(team.ID), 1e-9)
	assert.InDelta(t, phalatest.DefaultCredit, srv.Credit(""), 1e-9)
}

func TestAvailableNodes(t *testing.T) {
	srv := newServer(t)
	n1 := srv.AddNode(phalatest.Node{Name: "alpha", VCPU: 8, MemoryMB: 16384, Slots: 4, Images: []string{"dstack-0.5.3", "dstack-dev-0.5.4"}, Listed: true, OnchainKMS: true})
	n2 := srv.AddNode(phalatest.Node{ID: 7, Name: "beta", Region: "eu-central", DeviceID: "0x" + strings.Repeat("AB", 32)})
	app := srv.AddApp(phalatest.App{KMS: phalatest.KMSEthereum, ID: strings.Repeat("12", 20), ChainID: 1, KMSContract: "0x" + strings.Repeat("34", 20)})
	srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: n1.ID, VCPU: 3, MemoryMB: 1000})
	srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: n1.ID, Status: phalatest.StatusStopped}) // not counted

	r := get(t, srv, "/teepods/available")
	require.Equal(t, http.StatusOK, r.Status)
	o := r.obj(t)
	assert.IsType(t, "", o["tier"])
	assert.IsType(t, map[string]any{}, o["capacity"])
	nodes := o["nodes"].([]any)
	require.Len(t, nodes, 2)

	a := nodes[0].(map[string]any)
	assert.Equal(t, float64(n1.ID), a["teepod_id"])
	assert.Equal(t, "alpha", a["name"])
	assert.Equal(t, true, a["listed"])
	assert.Equal(t, float64(5), a["remaining_vcpu"])
	assert.Equal(t, float64(16384-1000), a["remaining_memory"])
	assert.Equal(t, float64(3), a["remaining_cvm_slots"])
	assert.Equal(t, true, a["support_onchain_kms"])
	assert.Equal(t, n1.DeviceID, a["device_id"])
	images := a["images"].([]any)
	require.Len(t, images, 2)
	assert.Equal(t, map[string]any{"name": "dstack-dev-0.5.4", "is_dev": true, "version": []any{float64(0), float64(5), float64(4)},
		"os_image_hash": images[1].(map[string]any)["os_image_hash"]}, images[1])
	assert.IsType(t, float64(0), a["resource_score"])

	b := nodes[1].(map[string]any)
	assert.Equal(t, float64(7), b["teepod_id"])
	assert.Equal(t, strings.Repeat("ab", 32), b["device_id"])
	assert.Equal(t, strings.Repeat("ab", 32), n2.DeviceID)
	assert.Equal(t, "eu-central", b["region_identifier"])
	assert.Equal(t, float64(phalatest.DefaultNodeVCPU), b["remaining_vcpu"])

	kms := o["kms_list"].([]any)
	require.Len(t, kms, 2)
	assert.Equal(t, "phala", kms[0].(map[string]any)["slug"])
	eth := kms[1].(map[string]any)
	assert.Equal(t, "ethereum", eth["slug"])
	assert.Equal(t, float64(1), eth["chain_id"])
	for _, k := range []string{"id", "url", "version", "kms_contract_address", "gateway_app_id"} {
		assert.Contains(t, eth, k)
	}
}

func TestSeedingPanics(t *testing.T) {
	srv := newServer(t)
	srv.AddNode(phalatest.Node{ID: 1})
	app := srv.AddApp(phalatest.App{KMS: phalatest.KMSNone})
	tests := map[string]func(){
		"duplicate node":            func() { srv.AddNode(phalatest.Node{ID: 1}) },
		"bad device id":             func() { srv.AddNode(phalatest.Node{DeviceID: "xyz"}) },
		"onchain app without id":    func() { srv.AddApp(phalatest.App{KMS: phalatest.KMSBase, ChainID: 1}) },
		"onchain app without chain": func() { srv.AddApp(phalatest.App{KMS: phalatest.KMSBase, ID: strings.Repeat("1", 40)}) },
		"bad app id":                func() { srv.AddApp(phalatest.App{ID: "app_123"}) },
		"duplicate app":             func() { srv.AddApp(phalatest.App{ID: app.ID}) },
		"unknown workspace":         func() { srv.AddApp(phalatest.App{Workspace: "nope"}) },
		"cvm of unknown app":        func() { srv.AddCVM(phalatest.CVM{AppID: strings.Repeat("9", 40)}) },
		"cvm on unknown node":       func() { srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: 99}) },
		"env without kms":           func() { srv.AddCVM(phalatest.CVM{AppID: app.ID, Env: []envVar{{Key: "A", Value: "b"}}}) },
		"bad uuid":                  func() { srv.AddCVM(phalatest.CVM{AppID: app.ID, VMUUID: "not-a-uuid"}) },
		"nil clock":                 func() { phalatest.NewServer(phalatest.WithClock(nil)) },
		"empty api key":             func() { phalatest.NewServer(phalatest.WithAPIKey("")) },
		"nil chain":                 func() { phalatest.NewServer(phalatest.WithChain(nil, 1)) },
		"negative delays":           func() { phalatest.NewServer(phalatest.WithProvisioningDelays(-1, 0)) },
		"set status of unknown":     func() { srv.SetStatus("00000000-0000-4000-8000-000000000000", "running") },
		"advance backwards":         func() { srv.Advance(-1) },
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			defer func() {
				r := recover()
				require.NotNil(t, r, "expected a panic")
				assert.True(t, strings.HasPrefix(r.(string), "phalatest: "), "panic %q", r)
			}()
			fn()
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the server's concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLoggingHasNoSecrets(t *testing.T) {
	var buf syncBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFixture(t, phalatest.KMSCloud, phalatest.WithLogger(logger), phalatest.WithPrepareOnlyCommitToken())
	blob, err := envcrypt.Encrypt(f.app.EnvPubkey, []envVar{{Key: "API_TOKEN", Value: "log-me-not"}})
	require.NoError(t, err)
	r := do(t, f.srv, call{method: http.MethodPost, path: replicasPath(f.cvm.VMUUID), body: map[string]any{"encrypted_env": blob},
		header: map[string]string{"X-Prepare-Only": "true"}})
	require.Equal(t, phalatest.StatusPrepare, r.Status)
	d := r.details(t)
	token := d["commit_token"].(string)
	c := post(t, f.srv, "/cvms/"+f.cvm.VMUUID+"/commit-replica", map[string]any{"token": token, "compose_hash": d["compose_hash"]})
	require.Equal(t, http.StatusOK, c.Status)
	do(t, f.srv, call{method: http.MethodGet, path: "/teepods/available", key: ptr("phak_wrong_key")})

	logs := buf.String()
	assert.Contains(t, logs, `"status":465`)
	assert.Contains(t, logs, `"error_code":"ERR-01-005"`)
	assert.Contains(t, logs, `"status":401`)
	assert.Contains(t, logs, "replica created")
	for _, secret := range []string{f.srv.APIKey(), "phak_wrong_key", token, "log-me-not", blob[:64]} {
		assert.NotContains(t, logs, secret)
	}
}
