package phala

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCVMDecodesLeniently(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		json  string
		check func(t *testing.T, c *CVM)
	}{
		{"full object", mustJSONString(cvmObject(srcUUID, appHexID, hashA, onchainKMS(8453, "0x"+strings.Repeat("5", 40)))), func(t *testing.T, c *CVM) {
			assert.Equal(t, srcUUID, c.VMUUID)
			assert.Equal(t, KMSTypeBase, c.KMSType)
			assert.True(t, c.OnchainKMS())
			assert.Equal(t, uint64(8453), c.KMSInfo.ChainID)
			assert.Equal(t, 2, c.Resource.VCPU)
			assert.Equal(t, 4.0, c.Resource.MemoryInGB)
			assert.Equal(t, int64(3), c.NodeInfo.ID)
			assert.Equal(t, "team", c.Workspace.Slug)
			assert.Equal(t, "gw.example", c.Gateway.BaseDomain)
			assert.Len(t, c.Endpoints, 1)
			assert.True(t, c.PublicLogs)
			assert.Empty(t, c.Extra)
		}},
		{"minimal object without resource and gateway", `{"id":"x","name":"n","status":"running"}`, func(t *testing.T, c *CVM) {
			assert.Equal(t, "running", c.Status)
			assert.Nil(t, c.Resource)
			assert.Nil(t, c.Gateway)
			assert.False(t, c.OnchainKMS())
		}},
		{"unknown kms_type and fields are kept", `{"id":"x","name":"n","status":"running","kms_type":"tee-mesh","new_thing":[1,2]}`, func(t *testing.T, c *CVM) {
			assert.Equal(t, KMSType("tee-mesh"), c.KMSType)
			assert.JSONEq(t, `[1,2]`, string(c.Extra["new_thing"]))
		}},
		{"numbers as strings and the reverse", `{"id":42,"name":"n","status":"running","resource":{"vcpu":"4","memory_in_gb":"8.5","disk_in_gb":40.0},"node_info":{"id":"12"},"public_logs":"true"}`, func(t *testing.T, c *CVM) {
			assert.Equal(t, "42", c.ID)
			assert.Equal(t, 4, c.Resource.VCPU)
			assert.Equal(t, 8.5, c.Resource.MemoryInGB)
			assert.Equal(t, 40, c.Resource.DiskInGB)
			assert.Equal(t, int64(12), c.NodeInfo.ID)
			assert.True(t, c.PublicLogs)
		}},
		{"wrong-typed optional fields move to Extra", `{"id":"x","name":"n","status":"running","resource":"big","endpoints":{"a":1},"os":[1],"vm_uuid":"` + srcUUID + `","listed":"maybe"}`, func(t *testing.T, c *CVM) {
			assert.Equal(t, srcUUID, c.VMUUID)
			assert.Nil(t, c.Resource)
			assert.Nil(t, c.OS)
			assert.Nil(t, c.Endpoints)
			assert.False(t, c.Listed)
			assert.Contains(t, c.Extra, "resource")
			assert.Contains(t, c.Extra, "endpoints")
			assert.Contains(t, c.Extra, "os")
			assert.Contains(t, c.Extra, "listed")
		}},
		{"nulls everywhere", `{"id":null,"name":null,"status":"starting","kms_info":null,"resource":null,"workspace":null,"compose_hash":null}`, func(t *testing.T, c *CVM) {
			assert.Equal(t, "starting", c.Status)
			assert.Nil(t, c.KMSInfo)
			assert.Empty(t, c.Extra)
		}},
		{"top-level env key of older versions", `{"id":1,"name":"n","status":"running","encrypted_env_pubkey":"abcd","teepod_id":3}`, func(t *testing.T, c *CVM) {
			assert.Equal(t, "abcd", c.EncryptedEnvPubkey)
			assert.JSONEq(t, `3`, string(c.Extra["teepod_id"]))
		}},
		{"integer overflow is not silently truncated", `{"id":"x","name":"n","status":"running","node_info":{"id":1e30},"resource":{"vcpu":1.5}}`, func(t *testing.T, c *CVM) {
			assert.Equal(t, int64(0), c.NodeInfo.ID)
			assert.Equal(t, 0, c.Resource.VCPU)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var c CVM
			require.NoError(t, json.Unmarshal([]byte(tt.json), &c))
			tt.check(t, &c)
		})
	}

	for _, bad := range []string{`[]`, `"cvm"`, `12`} {
		var c CVM
		assert.Error(t, json.Unmarshal([]byte(bad), &c), bad)
	}
}

func TestCVMAllowedEnvs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		compose string
		want    []string
		ok      bool
	}{
		{"absent", ``, nil, false},
		{"null", `null`, nil, false},
		{"object", `{"allowed_envs":["A","B"]}`, []string{"A", "B"}, true},
		{"empty list allows nothing", `{"allowed_envs":[]}`, []string{}, true},
		{"string holding JSON", `"{\"allowed_envs\":[\"A\"]}"`, []string{"A"}, true},
		{"object without the key", `{"docker_compose_file":"x"}`, nil, false},
		{"malformed string", `"not json"`, nil, false},
		{"wrong type", `{"allowed_envs":"A"}`, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			obj := `{"id":"x","name":"n","status":"running"}`
			if tt.compose != "" {
				obj = `{"id":"x","name":"n","status":"running","compose_file":` + tt.compose + `}`
			}
			var c CVM
			require.NoError(t, json.Unmarshal([]byte(obj), &c))
			got, ok := c.AllowedEnvs()
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestVMDecodesLeniently(t *testing.T) {
	t.Parallel()
	var vm VM
	require.NoError(t, json.Unmarshal([]byte(`{"id":"17","name":"r","status":"creating","teepod_id":7,"teepod":{"id":7,"name":"n7","extra":true},
		"memory":2048.0,"features":["a"],"instance_id":null,"source_cvm_id":99,"kms":{"new":1}}`), &vm))
	assert.Equal(t, int64(17), vm.ID)
	assert.Equal(t, 2048, vm.Memory)
	assert.Equal(t, "n7", vm.Teepod.Name)
	assert.Equal(t, "99", vm.SourceCVMID)
	assert.Equal(t, []string{"a"}, vm.Features)
	assert.Contains(t, vm.Extra, "kms")
	assert.Error(t, json.Unmarshal([]byte(`[1]`), &vm))
}

func TestParseSource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		kind sourceKind
		id   string
	}{
		{srcUUID, sourceUUID, srcUUID},
		{strings.ToUpper(srcUUID), sourceUUID, srcUUID},
		{strings.ReplaceAll(srcUUID, "-", ""), sourceUUID, srcUUID},
		{"app_" + appHexID, sourceApp, "app_" + appHexID},
		{"0x" + appHexID, sourceApp, "app_" + appHexID},
		{"0X" + strings.ToUpper(appHexID), sourceApp, "app_" + appHexID},
		{appHexID, sourceApp, "app_" + appHexID},
		{"my-app", sourceName, "my-app"},
		{"1234", sourceName, "1234"},
		{"app_" + appHexID[:39], sourceName, "app_" + appHexID[:39]},
		{srcUUID[:35] + "x", sourceName, srcUUID[:35] + "x"},
	}
	for _, tt := range tests {
		got, err := parseSource(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.kind, got.kind, tt.in)
		assert.Equal(t, tt.id, got.id, tt.in)
	}
}

func FuzzParseSource(f *testing.F) {
	for _, s := range []string{srcUUID, "app_" + appHexID, "my app", "../x", "a\x00b", "%2e%2e", "ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		src, err := parseSource(s)
		if err != nil {
			return
		}
		seg := pathf("/cvms/%s", src.id)
		if strings.Count(seg, "/") != 2 || strings.ContainsAny(seg, "?#") || strings.Contains(src.id, "..") {
			t.Fatalf("source %q gave unsafe path %q", s, seg)
		}
	})
}

func FuzzCVMUnmarshal(f *testing.F) {
	f.Add([]byte(mustJSONString(cvmObject(srcUUID, appHexID, hashA))))
	f.Add([]byte(`{"resource":{"vcpu":"1e400"},"kms_info":{"chain_id":"-1"},"compose_file":"{\"allowed_envs\":1}"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c CVM
		if json.Unmarshal(data, &c) == nil {
			c.AllowedEnvs()
			c.OnchainKMS()
		}
		var vm VM
		_ = json.Unmarshal(data, &vm)
	})
}

func BenchmarkCVMUnmarshal(b *testing.B) {
	data := []byte(mustJSONString(cvmObject(srcUUID, appHexID, hashA, onchainKMS(8453, "0x"+strings.Repeat("5", 40)),
		func(o map[string]any) { o["compose_file"] = map[string]any{"allowed_envs": []string{"A", "B"}} })))
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var c CVM
		if err := json.Unmarshal(data, &c); err != nil {
			b.Fatal(err)
		}
	}
}
