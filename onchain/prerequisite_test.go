package onchain

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	testCompose = "4f8a2b1c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"
	testDevice  = "9c1e3d5b7a9f1e3d5b7a9f1e3d5b7a9f1e3d5b7a9f1e3d5b7a9f1e3d5b7a9f10"
	testApp     = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
)

// details465 is the detail.details[] of a 465 answer in the wire format of
// replication-wire.md §7, already folded into a field -> value map.
func details465(t *testing.T, body string) map[string]json.RawMessage {
	t.Helper()
	var env struct {
		Detail struct {
			Details []struct {
				Field string          `json:"field"`
				Value json.RawMessage `json:"value"`
			} `json:"details"`
		} `json:"detail"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &env))
	m := map[string]json.RawMessage{}
	for _, d := range env.Detail.Details {
		if d.Field != "" {
			m[d.Field] = d.Value
		}
	}
	return m
}

func TestPrerequisiteFromDetails(t *testing.T) {
	body := fmt.Sprintf(`{"detail": {"error_code": "ERR-01-005", "message": "Compose hash registration required on-chain",
	  "details": [
	    {"field": "compose_hash", "value": "%s"},
	    {"field": "app_id", "value": "%s"},
	    {"field": "device_id", "value": "0x%s"},
	    {"field": "kms_info", "value": {"chain_id": 8453, "dstack_kms_address": "0x2f83172A49584C017F2B256F0FB2Dca14126Ba9C",
	        "dstack_app_address": "0x%s", "deployer_address": null, "rpc_endpoint": "https://mainnet.base.org",
	        "encrypted_env_pubkey": null, "k256_pubkey": "0x0217610d74cbd39b6143842c6d8bc310d79da1d82cc9d17f8876376221eda0c38f",
	        "slug": "base-prod", "version": 2}},
	    {"field": "commit_token", "value": "tok_secret_123"},
	    {"field": "commit_url", "value": "https://cloud.phala.com/commit/x"},
	    {"field": "api_commit_url", "value": "https://cloud-api.phala.com/api/v1/cvms/x/commit-replica"},
	    {"field": "onchain_status", "value": {"compose_hash_allowed": false, "device_id_allowed": true, "is_allowed": false,
	        "allow_any_device": false, "app_contract_address": "0x%s"}}
	  ], "suggestions": [], "links": []}}`, testCompose, testApp, testDevice, testApp, testApp)

	p, err := PrerequisiteFromDetails(details465(t, body))
	require.NoError(t, err)

	assert.Equal(t, "tok_secret_123", p.CommitToken)
	assert.Equal(t, testCompose, p.ComposeHash, "kept as sent")
	assert.Equal(t, "0x"+testDevice, p.DeviceID, "kept as sent")
	assert.Equal(t, testApp, p.AppID)
	assert.Equal(t, "https://cloud.phala.com/commit/x", p.CommitURL)
	assert.Equal(t, "https://cloud-api.phala.com/api/v1/cvms/x/commit-replica", p.APICommitURL)
	require.NotNil(t, p.OnchainStatus)
	assert.Equal(t, OnchainStatus{ComposeHashAllowed: false, DeviceIDAllowed: true, IsAllowed: false}, *p.OnchainStatus)
	require.NotNil(t, p.KMSInfo)
	assert.Equal(t, uint64(8453), p.KMSInfo.ChainID)
	assert.Equal(t, "https://mainnet.base.org", p.KMSInfo.RPCEndpoint)
	assert.Equal(t, "0x0217610d74cbd39b6143842c6d8bc310d79da1d82cc9d17f8876376221eda0c38f", p.KMSInfo.K256Pubkey)
	assert.Empty(t, p.KMSInfo.DeployerAddress, "null is the zero value")
	assert.JSONEq(t, `"base-prod"`, string(p.KMSInfo.Extra["slug"]), "unknown keys are kept")
	assert.JSONEq(t, `2`, string(p.KMSInfo.Extra["version"]))

	h, err := p.ComposeHashBytes()
	require.NoError(t, err)
	assert.Equal(t, common.HexToHash(testCompose), h)
	d, err := p.DeviceIDBytes()
	require.NoError(t, err)
	assert.Equal(t, common.HexToHash(testDevice), d)
	a, err := p.AppAddress()
	require.NoError(t, err)
	assert.Equal(t, common.HexToAddress(testApp), a)
	kms, err := p.KMSInfo.KMSContract()
	require.NoError(t, err)
	assert.Equal(t, common.HexToAddress("0x2f83172A49584C017F2B256F0FB2Dca14126Ba9C"), kms)

	msg := p.Error()
	assert.Equal(t, "onchain: registration required on the DstackApp contract 0x"+testApp+": compose hash 0x"+testCompose+" not allowed", msg)
	assert.NotContains(t, msg, "tok_secret_123", "the commit token is never printed")
	assert.NotContains(t, msg, "\n")
}

func TestPrerequisiteFromDetailsLenient(t *testing.T) {
	tests := []struct {
		name    string
		details map[string]string // field -> raw JSON
		check   func(t *testing.T, p *ErrOnchainPrerequisite)
		wantErr string
	}{
		{
			name:    "empty map",
			details: nil,
			check: func(t *testing.T, p *ErrOnchainPrerequisite) {
				assert.Nil(t, p.KMSInfo)
				assert.Nil(t, p.OnchainStatus)
				_, err := p.DeviceIDBytes()
				assert.ErrorIs(t, err, ErrInvalidHex, "an absent device id is an error, never 0x")
				_, err = p.AppAddress()
				assert.ErrorIs(t, err, ErrInvalidHex)
			},
		},
		{
			name:    "nulls",
			details: map[string]string{"compose_hash": "null", "kms_info": "null", "onchain_status": "null", "device_id": "null"},
			check: func(t *testing.T, p *ErrOnchainPrerequisite) {
				assert.Empty(t, p.ComposeHash)
				assert.Nil(t, p.KMSInfo)
				assert.Nil(t, p.OnchainStatus)
			},
		},
		{
			name:    "numbers and booleans as text",
			details: map[string]string{"commit_token": "12345678901234567890", "commit_url": "true"},
			check: func(t *testing.T, p *ErrOnchainPrerequisite) {
				assert.Equal(t, "12345678901234567890", p.CommitToken, "no float rounding")
				assert.Equal(t, "true", p.CommitURL)
			},
		},
		{
			name: "truthy status and string chain id",
			details: map[string]string{
				"onchain_status": `{"compose_hash_allowed": 1, "device_id_allowed": null, "is_allowed": "yes"}`,
				"kms_info":       `{"chain_id": "1", "rpc_endpoint": 42}`,
			},
			check: func(t *testing.T, p *ErrOnchainPrerequisite) {
				assert.Equal(t, OnchainStatus{ComposeHashAllowed: true, DeviceIDAllowed: false, IsAllowed: true}, *p.OnchainStatus)
				assert.Equal(t, uint64(1), p.KMSInfo.ChainID)
				assert.Empty(t, p.KMSInfo.RPCEndpoint)
				assert.JSONEq(t, "42", string(p.KMSInfo.Extra["rpc_endpoint"]), "a mistyped known key is kept in Extra")
			},
		},
		{
			name:    "app address from kms_info",
			details: map[string]string{"kms_info": `{"dstack_app_address": "0x` + testApp + `"}`},
			check: func(t *testing.T, p *ErrOnchainPrerequisite) {
				a, err := p.AppAddress()
				require.NoError(t, err)
				assert.Equal(t, common.HexToAddress(testApp), a)
			},
		},
		{
			name: "app address disagreement",
			details: map[string]string{
				"app_id":   `"app_` + testApp + `"`,
				"kms_info": `{"dstack_app_address": "0x` + strings.Repeat("1", 40) + `"}`,
			},
			check: func(t *testing.T, p *ErrOnchainPrerequisite) {
				_, err := p.AppAddress()
				assert.ErrorContains(t, err, "disagree")
			},
		},
		{name: "compose hash object", details: map[string]string{"compose_hash": `{"a":1}`}, wantErr: "compose_hash: want a string, got a JSON object"},
		{name: "kms_info string", details: map[string]string{"kms_info": `"base"`}, wantErr: "kms_info"},
		{name: "onchain_status array", details: map[string]string{"onchain_status": `[true]`}, wantErr: "onchain_status"},
		{name: "invalid JSON", details: map[string]string{"app_id": `{`}, wantErr: "app_id: not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]json.RawMessage{}
			for k, v := range tt.details {
				m[k] = json.RawMessage(v)
			}
			p, err := PrerequisiteFromDetails(m)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrMalformedPrerequisite)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Nil(t, p)
				return
			}
			require.NoError(t, err)
			tt.check(t, p)
		})
	}
}

func TestErrOnchainPrerequisiteError(t *testing.T) {
	tests := []struct {
		name string
		p    ErrOnchainPrerequisite
		want string
	}{
		{
			name: "both missing",
			p: ErrOnchainPrerequisite{AppID: testApp, ComposeHash: "0x" + testCompose, DeviceID: testDevice,
				OnchainStatus: &OnchainStatus{}},
			want: "onchain: registration required on the DstackApp contract 0x" + testApp +
				": compose hash 0x" + testCompose + " not allowed, device 0x" + testDevice + " not allowed",
		},
		{
			name: "only device",
			p:    ErrOnchainPrerequisite{AppID: testApp, DeviceID: testDevice, OnchainStatus: &OnchainStatus{ComposeHashAllowed: true}},
			want: "onchain: registration required on the DstackApp contract 0x" + testApp + ": device 0x" + testDevice + " not allowed",
		},
		{
			name: "status unknown",
			p:    ErrOnchainPrerequisite{ComposeHash: testCompose},
			want: "onchain: registration required on the DstackApp contract: compose hash 0x" + testCompose +
				" not allowed (on-chain status not reported; check with Status)",
		},
		{
			name: "already allowed",
			p:    ErrOnchainPrerequisite{AppID: "app_" + testApp, OnchainStatus: &OnchainStatus{true, true, true}},
			want: "onchain: registration required on the DstackApp contract app_" + testApp +
				": the server reports the compose hash and device as allowed; commit with already-registered",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.p.Error())
		})
	}
}

func TestErrOnchainPrerequisiteErrorsAs(t *testing.T) {
	cause := errors.New("api: 465 ERR-01-005")
	pre := &ErrOnchainPrerequisite{ComposeHash: testCompose, Cause: cause}
	wrapped := fmt.Errorf("replicate: %w", pre)

	var got *ErrOnchainPrerequisite
	require.ErrorAs(t, wrapped, &got)
	assert.Same(t, pre, got)
	assert.ErrorIs(t, wrapped, cause, "Unwrap exposes the API error")
}

func TestKMSInfoRoundTrip(t *testing.T) {
	in := `{"chain_id":1,"dstack_kms_address":"0xabc","rpc_endpoint":"https://x","gateway_app_id":"g","weird":[1,2]}`
	var k KMSInfo
	require.NoError(t, json.Unmarshal([]byte(in), &k))
	out, err := json.Marshal(k)
	require.NoError(t, err)
	assert.JSONEq(t, in, string(out))

	var ptr *KMSInfo
	require.NoError(t, json.Unmarshal([]byte(`null`), &ptr))
	assert.Nil(t, ptr)
	assert.Error(t, json.Unmarshal([]byte(`[1]`), &k))

	_, err = ptr.KMSContract()
	assert.Error(t, err, "nil receiver is safe")
	legacy := KMSInfo{Extra: map[string]json.RawMessage{"kms_contract_address": json.RawMessage(`"0x` + testApp + `"`)}}
	addr, err := legacy.KMSContract()
	require.NoError(t, err)
	assert.Equal(t, common.HexToAddress(testApp), addr)
}

func TestOnchainStatusJSON(t *testing.T) {
	b, err := json.Marshal(OnchainStatus{ComposeHashAllowed: true, IsAllowed: false, DeviceIDAllowed: true})
	require.NoError(t, err)
	assert.JSONEq(t, `{"compose_hash_allowed":true,"device_id_allowed":true,"is_allowed":false}`, string(b))
}

func FuzzPrerequisiteFromDetails(f *testing.F) {
	f.Add([]byte(`{"compose_hash":"0x` + testCompose + `","device_id":"","app_id":"` + testApp + `"}`))
	f.Add([]byte(`{"kms_info":{"chain_id":"8453","k256_pubkey":null},"onchain_status":{"is_allowed":1}}`))
	f.Add([]byte(`{"kms_info":[],"onchain_status":"x","commit_token":1e400}`))
	f.Add([]byte(`{"app_id":"app_0x","compose_hash":{"x":null}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m map[string]json.RawMessage
		if json.Unmarshal(data, &m) != nil {
			return
		}
		p, err := PrerequisiteFromDetails(m)
		if err != nil {
			if !errors.Is(err, ErrMalformedPrerequisite) {
				t.Fatalf("error does not wrap ErrMalformedPrerequisite: %v", err)
			}
			return
		}
		msg := p.Error()
		if strings.Contains(msg, "\n") {
			t.Fatalf("multi-line Error(): %q", msg)
		}
		if p.CommitToken != "" && len(p.CommitToken) > 3 && strings.Contains(msg, p.CommitToken) &&
			!strings.Contains(p.ComposeHash+p.DeviceID+p.AppID, p.CommitToken) {
			t.Fatalf("commit token leaked into %q", msg)
		}
		if h, err := p.ComposeHashBytes(); err == nil {
			if h == (common.Hash{}) && strings.Trim(strings.TrimPrefix(strings.ToLower(p.ComposeHash), "0x"), "0") != "" {
				t.Fatalf("compose hash %q parsed to zero", p.ComposeHash)
			}
		}
		_, _ = p.DeviceIDBytes()
		_, _ = p.AppAddress()
		if p.KMSInfo != nil {
			if _, err := json.Marshal(p.KMSInfo); err != nil {
				t.Fatalf("KMSInfo does not marshal: %v", err)
			}
			_, _ = p.KMSInfo.KMSContract()
		}
	})
}

func TestErrOnchainPrerequisiteErrorIsOneLine(t *testing.T) {
	forged := "ab\nonchain: registered, all good"
	long := strings.Repeat("f", 500)
	p := ErrOnchainPrerequisite{AppID: testApp, ComposeHash: forged, DeviceID: long, OnchainStatus: &OnchainStatus{}}
	msg := p.Error()
	assert.NotContains(t, msg, "\n", "a value sent by the server cannot break the line")
	assert.Contains(t, msg, `"ab\nonchain: registered, all good"`, "it is quoted instead")
	assert.Contains(t, msg, "(500 bytes)", "a long value is shortened")
	assert.Less(t, len(msg), 300)
}

func TestErrOnchainPrerequisiteGoStringHidesToken(t *testing.T) {
	cause := errors.New(`api: 465 {"commit_token":"tok_secret_123"}`)
	p := &ErrOnchainPrerequisite{
		CommitToken: "tok_secret_123", ComposeHash: testCompose, AppID: testApp, DeviceID: testDevice,
		OnchainStatus: &OnchainStatus{ComposeHashAllowed: true},
		KMSInfo:       &KMSInfo{ChainID: 8453, RPCEndpoint: "https://base.example/v2/key_abc"},
		Cause:         cause,
	}
	for _, s := range []string{fmt.Sprintf("%#v", p), fmt.Sprintf("%v", p), fmt.Sprintf("%+v", p), fmt.Sprint(p)} {
		assert.NotContains(t, s, "tok_secret_123")
		assert.NotContains(t, s, "key_abc")
	}
	gs := fmt.Sprintf("%#v", p)
	assert.Contains(t, gs, `CommitToken:"[REDACTED]"`)
	assert.Contains(t, gs, testCompose)
	assert.Contains(t, gs, "ComposeHashAllowed:true")
	assert.Contains(t, gs, "ChainID:8453")
	assert.Equal(t, "(*onchain.ErrOnchainPrerequisite)(nil)", fmt.Sprintf("%#v", (*ErrOnchainPrerequisite)(nil)))
	assert.Contains(t, fmt.Sprintf("%#v", &ErrOnchainPrerequisite{}), `CommitToken:""`)
}
