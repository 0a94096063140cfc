package onchain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/ethereum/go-ethereum/common"
)

// KMSInfo is the kms_info object that Phala Cloud attaches to a CVM and to the
// HTTP 465 prepare payload. Decoding is lenient: every field is optional, null
// is the zero value, chain_id may be a number or a decimal string, and any key
// that is unknown (or a known key whose value has an unexpected JSON type) is
// kept verbatim in Extra, so nothing the server sends is lost. MarshalJSON
// writes the known fields and Extra back out.
type KMSInfo struct {
	ChainID            uint64 `json:"chain_id,omitempty"`             // 0 = not given
	DstackKMSAddress   string `json:"dstack_kms_address,omitempty"`   // DstackKms contract
	DstackAppAddress   string `json:"dstack_app_address,omitempty"`   // DstackApp contract (= app id)
	DeployerAddress    string `json:"deployer_address,omitempty"`     // who deployed the app
	RPCEndpoint        string `json:"rpc_endpoint,omitempty"`         // RPC URL suggested by the server
	EncryptedEnvPubkey string `json:"encrypted_env_pubkey,omitempty"` // X25519 env key (Cloud KMS)
	K256Pubkey         string `json:"k256_pubkey,omitempty"`          // KMS root key, if exposed

	// Extra holds every other key, raw, e.g. kms_contract_address or slug
	// from older API versions.
	Extra map[string]json.RawMessage `json:"-"`
}

// kmsInfoStringFields maps JSON keys to the string fields of a KMSInfo.
func (k *KMSInfo) stringFields() map[string]*string {
	return map[string]*string{
		"dstack_kms_address":   &k.DstackKMSAddress,
		"dstack_app_address":   &k.DstackAppAddress,
		"deployer_address":     &k.DeployerAddress,
		"rpc_endpoint":         &k.RPCEndpoint,
		"encrypted_env_pubkey": &k.EncryptedEnvPubkey,
		"k256_pubkey":          &k.K256Pubkey,
	}
}

// UnmarshalJSON implements json.Unmarshaler. It fails only when data is not a
// JSON object (or null).
func (k *KMSInfo) UnmarshalJSON(data []byte) error {
	if isJSONNull(data) {
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("onchain: kms_info is not a JSON object: %w", err)
	}
	*k = KMSInfo{}
	fields := k.stringFields()
	for key, val := range raw {
		if key == "chain_id" {
			if id, ok := lenientUint(val); ok {
				k.ChainID = id
				continue
			}
		} else if dst, ok := fields[key]; ok {
			if s, ok := lenientString(val); ok {
				*dst = s
				continue
			}
		}
		if k.Extra == nil {
			k.Extra = make(map[string]json.RawMessage)
		}
		k.Extra[key] = append(json.RawMessage(nil), val...)
	}
	return nil
}

// MarshalJSON implements json.Marshaler: known fields that are set, plus Extra.
func (k KMSInfo) MarshalJSON() ([]byte, error) {
	out := make(map[string]json.RawMessage, len(k.Extra)+7)
	for key, v := range k.Extra {
		if json.Valid(v) {
			out[key] = v
		}
	}
	if k.ChainID != 0 {
		out["chain_id"] = json.RawMessage(strconv.FormatUint(k.ChainID, 10))
	}
	for key, p := range k.stringFields() {
		if *p == "" {
			continue
		}
		b, err := json.Marshal(*p)
		if err != nil {
			return nil, err
		}
		out[key] = b
	}
	return json.Marshal(out)
}

// KMSContract returns the DstackKms contract address: dstack_kms_address, or
// kms_contract_address (API version 2025-10-28) when the former is absent.
func (k *KMSInfo) KMSContract() (common.Address, error) {
	if k == nil {
		return common.Address{}, errors.New("onchain: no kms_info")
	}
	s := k.DstackKMSAddress
	if s == "" {
		if v, ok := k.Extra["kms_contract_address"]; ok {
			s, _ = lenientString(v)
		}
	}
	if s == "" {
		return common.Address{}, errors.New("onchain: kms_info has no dstack_kms_address")
	}
	b, err := parseFixedHex("dstack_kms_address", s, common.AddressLength)
	if err != nil {
		return common.Address{}, err
	}
	return common.BytesToAddress(b), nil
}

func isJSONNull(data []byte) bool {
	return string(bytes.TrimSpace(data)) == "null"
}

// lenientString accepts a JSON string or null.
func lenientString(v json.RawMessage) (string, bool) {
	if isJSONNull(v) {
		return "", true
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", false
	}
	return s, true
}

// lenientUint accepts a non-negative JSON integer, a decimal string, or null.
func lenientUint(v json.RawMessage) (uint64, bool) {
	if isJSONNull(v) {
		return 0, true
	}
	var n json.Number
	if err := json.Unmarshal(v, &n); err == nil {
		if id, err := strconv.ParseUint(n.String(), 10, 64); err == nil {
			return id, true
		}
		return 0, false
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return 0, false
	}
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false
	}
	return id, true
}
