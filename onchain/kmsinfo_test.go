package onchain

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A 465's kms_info comes in two shapes: the CVM object's kms_info
// (dstack_kms_address, dstack_app_address, ...) and the KMS entry that the
// official SDK types for a 465 and that /teepods/available lists (id, slug,
// url, version, chain_id, kms_contract_address, gateway_app_id). Both give
// the chain and the DstackKms contract.
func TestPrerequisiteReadsBothKMSInfoShapes(t *testing.T) {
	const kms = "0x2f83172A49584C017F2B256F0FB2Dca14126Ba9C"
	tests := []struct {
		name      string
		kmsInfo   string
		chainID   uint64
		wantKMS   common.Address
		wantNoKMS bool
	}{
		{
			name: "CVM shape",
			kmsInfo: fmt.Sprintf(`{"chain_id": 8453, "dstack_kms_address": %q, "dstack_app_address": "0x%s",
				"deployer_address": null, "rpc_endpoint": null, "encrypted_env_pubkey": null}`, kms, testApp),
			chainID: 8453, wantKMS: common.HexToAddress(kms),
		},
		{
			name: "KMS entry shape",
			kmsInfo: fmt.Sprintf(`{"id": "kms-base-prod", "slug": "base-prod", "url": "https://kms.example/base",
				"version": "v0.5.3", "chain_id": 8453, "kms_contract_address": %q, "gateway_app_id": null}`, kms),
			chainID: 8453, wantKMS: common.HexToAddress(kms),
		},
		{
			name:    "KMS entry shape, chain id as a string",
			kmsInfo: fmt.Sprintf(`{"id": "kms-base", "slug": "base", "chain_id": "8453", "kms_contract_address": %q}`, kms),
			chainID: 8453, wantKMS: common.HexToAddress(kms),
		},
		{
			name:      "KMS entry shape of a Cloud KMS",
			kmsInfo:   `{"id": "kms-phala", "slug": "phala", "url": "https://kms.example/phala", "version": "v0.5.3", "chain_id": null, "kms_contract_address": null, "gateway_app_id": null}`,
			wantNoKMS: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := fmt.Sprintf(`{"detail": {"error_code": "ERR-01-005", "details": [
			    {"field": "compose_hash", "value": "%s"},
			    {"field": "app_id", "value": "%s"},
			    {"field": "device_id", "value": "%s"},
			    {"field": "kms_info", "value": %s},
			    {"field": "commit_token", "value": "ct_x"}]}}`, testCompose, testApp, testDevice, tt.kmsInfo)
			p, err := PrerequisiteFromDetails(details465(t, body))
			require.NoError(t, err)
			require.NotNil(t, p.KMSInfo)
			assert.Equal(t, tt.chainID, p.KMSInfo.ChainID)
			got, err := p.KMSInfo.KMSContract()
			if tt.wantNoKMS {
				assert.Error(t, err)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tt.wantKMS, got)
			}
			addr, err := p.AppAddress()
			require.NoError(t, err)
			assert.Equal(t, common.HexToAddress(testApp), addr)

			// Nothing is lost: the payload marshals back with every key.
			var in, out map[string]any
			require.NoError(t, json.Unmarshal([]byte(tt.kmsInfo), &in))
			b, err := json.Marshal(p.KMSInfo)
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(b, &out))
			for k, v := range in {
				if v != nil {
					assert.Contains(t, out, k)
				}
			}
		})
	}
}
