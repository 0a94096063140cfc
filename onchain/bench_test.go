package onchain

import (
	"encoding/json"
	"strings"
	"testing"
)

// BenchmarkPrerequisiteFromDetails decodes the details of a full 465 answer
// (every field the server sends) into an *ErrOnchainPrerequisite.
func BenchmarkPrerequisiteFromDetails(b *testing.B) {
	raw := []byte(`{
		"compose_hash": "0x` + testCompose + `",
		"app_id": "` + testApp + `",
		"device_id": "0x` + strings.Repeat("d", 64) + `",
		"commit_token": "tok_` + strings.Repeat("x", 40) + `",
		"commit_url": "https://cloud.phala.com/commit/abc",
		"api_commit_url": "https://cloud-api.phala.com/api/v1/cvms/0b2a/commit-replica",
		"onchain_status": {"compose_hash_allowed": false, "device_id_allowed": true, "is_allowed": false},
		"kms_info": {"chain_id": 8453, "dstack_kms_address": "0x` + strings.Repeat("5", 40) + `",
			"dstack_app_address": "0x` + testApp + `", "rpc_endpoint": "https://mainnet.base.org", "version": "v0.5.3"}
	}`)
	var details map[string]json.RawMessage
	if err := json.Unmarshal(raw, &details); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PrerequisiteFromDetails(details); err != nil {
			b.Fatal(err)
		}
	}
}
