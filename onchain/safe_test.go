package onchain

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files")

// safePrereq is a 465 payload for an app on Base whose compose hash and
// device are both missing.
func safePrereq(t *testing.T) *ErrOnchainPrerequisite {
	t.Helper()
	p, err := PrerequisiteFromDetails(map[string]json.RawMessage{
		"compose_hash":   json.RawMessage(`"` + testCompose + `"`),
		"app_id":         json.RawMessage(`"` + testApp + `"`),
		"device_id":      json.RawMessage(`"0x` + testDevice + `"`),
		"commit_token":   json.RawMessage(`"tok"`),
		"kms_info":       json.RawMessage(`{"chain_id": 8453}`),
		"onchain_status": json.RawMessage(`{"compose_hash_allowed": false, "device_id_allowed": false, "is_allowed": false}`),
	})
	require.NoError(t, err)
	return p
}

func TestSafeTransactionsGolden(t *testing.T) {
	safe := common.HexToAddress("0x5afe5afe5afe5afe5afe5afe5afe5afe5afe5afe")
	b, err := SafeTransactions(safePrereq(t), 0,
		WithCreatedAt(time.UnixMilli(1_790_000_000_000)), WithSafeAddress(safe))
	require.NoError(t, err)
	got, err := json.MarshalIndent(b, "", "  ")
	require.NoError(t, err)
	got = append(got, '\n')

	golden := filepath.Join("testdata", "safe_batch.golden.json")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(golden, got, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got))
}

// The file must import into the Transaction Builder: every value and input
// value is a string, the chain id is decimal, and the checksum verifies the
// way the importer verifies it.
func TestSafeTransactionsImportRules(t *testing.T) {
	b, err := SafeTransactions(safePrereq(t), 8453, WithCreatedAt(time.UnixMilli(1)))
	require.NoError(t, err)
	raw, err := json.Marshal(b)
	require.NoError(t, err)

	var file map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&file))
	assert.Equal(t, "1.0", file["version"])
	assert.Equal(t, "8453", file["chainId"])
	assert.Equal(t, json.Number("1"), file["createdAt"])
	txs := file["transactions"].([]any)
	require.Len(t, txs, 2)
	for _, tx := range txs {
		m := tx.(map[string]any)
		assert.IsType(t, "", m["value"])
		for _, v := range m["contractInputsValues"].(map[string]any) {
			assert.IsType(t, "", v)
		}
	}

	// Importer check: drop meta.checksum, null meta.name, recompute.
	meta := file["meta"].(map[string]any)
	sum := meta["checksum"].(string)
	delete(meta, "checksum")
	meta["name"] = nil
	assert.Equal(t, sum, hexutil.Encode(crypto.Keccak256([]byte(serializeTxBuilder(file)))))

	// The name does not enter the checksum; the transactions do.
	renamed, err := SafeTransactions(safePrereq(t), 8453, WithCreatedAt(time.UnixMilli(1)), WithBatchName("other", b.Meta.Description))
	require.NoError(t, err)
	assert.Equal(t, b.Meta.Checksum, renamed.Meta.Checksum)
	other, err := SafeTransactions(safePrereq(t), 8453, WithCreatedAt(time.UnixMilli(1)), WithStatus(OnchainStatus{DeviceIDAllowed: true}))
	require.NoError(t, err)
	assert.NotEqual(t, b.Meta.Checksum, other.Meta.Checksum)
}

// The serializer reproduces the safe-react-apps tx-builder checksum test
// vector (checksum.test.ts, whose file still carries checksum: "").
func TestTxBuilderChecksumVector(t *testing.T) {
	const vector = `{
	  "version": "1.0", "chainId": "4", "createdAt": 1646321521061,
	  "meta": {"name": null, "txBuilderVersion": "1.4.0", "checksum": "",
	    "createdFromSafeAddress": "0xDF8a1Ce35c9a6ACE153B4e0767942f1E2291a1Aa",
	    "createdFromOwnerAddress": "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6"},
	  "transactions": [
	    {"to": "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6", "value": "0",
	     "contractMethod": {"inputs": [{"internalType": "address", "name": "paramAddress", "type": "address"}], "name": "testAddress", "payable": false},
	     "contractInputsValues": {"paramAddress": "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6"}},
	    {"to": "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6", "value": "0",
	     "contractMethod": {"inputs": [{"internalType": "bool", "name": "paramBool", "type": "bool"}], "name": "testBool", "payable": false},
	     "contractInputsValues": {"paramAddress": "", "paramBool": "false"}},
	    {"to": "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6", "value": "2000000000000000000",
	     "data": "0x42f4579000000000000000000000000049d4450977e2c95362c13d3a31a09311e0ea26a6"}]}`
	dec := json.NewDecoder(bytes.NewReader([]byte(vector)))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v))
	got := hexutil.Encode(crypto.Keccak256([]byte(serializeTxBuilder(v))))
	assert.Equal(t, "0x4ecbfd364aa6759983915644e73f8bd411e85a2dc306f252a387c2728c4db64c", got)
}

func TestJSQuote(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:          `"plain"`,
		"a\"b\\c":        `"a\"b\\c"`,
		"tab\tnl\n\x01":  `"tab\tnl\n\u0001"`,
		"<&> \u2028 é 💡": "\"<&> \u2028 é 💡\"", // JSON.stringify escapes none of these
	} {
		assert.Equal(t, want, jsQuote(in))
	}
}

// Decode every transaction's calldata back with the contract ABI.
func TestSafeTransactionsCalldataDecodes(t *testing.T) {
	b, err := SafeTransactions(safePrereq(t), 0)
	require.NoError(t, err)
	contractABI := NewDstackApp().GetABI()
	want := []struct {
		method, param string
		arg           common.Hash
	}{
		{"addDevice", "deviceId", common.HexToHash(testDevice)},
		{"addComposeHash", "composeHash", common.HexToHash(testCompose)},
	}
	require.Len(t, b.Transactions, len(want))
	for i, tx := range b.Transactions {
		data, err := hexutil.Decode(tx.Data)
		require.NoError(t, err)
		m, err := contractABI.MethodById(data)
		require.NoError(t, err)
		assert.Equal(t, want[i].method, m.Name)
		assert.Equal(t, want[i].method, tx.ContractMethod.Name)
		args, err := m.Inputs.Unpack(data[4:])
		require.NoError(t, err)
		assert.Equal(t, [32]byte(want[i].arg), args[0])
		assert.Equal(t, m.Inputs[0].Name, tx.ContractMethod.Inputs[0].Name)
		assert.Equal(t, want[i].arg.Hex(), tx.ContractInputsValues[want[i].param])
		assert.Equal(t, common.HexToAddress(testApp).Hex(), tx.To)
		assert.Equal(t, "0", tx.Value)
	}
}

func TestRegistrationCalls(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(p *ErrOnchainPrerequisite)
		opts    []Option
		want    []string
		wantErr error
	}{
		{"both", nil, nil, []string{"addDevice", "addComposeHash"}, nil},
		{"server says device ok", func(p *ErrOnchainPrerequisite) { p.OnchainStatus.DeviceIDAllowed = true }, nil, []string{"addComposeHash"}, nil},
		{"fresh status wins", nil, []Option{WithStatus(OnchainStatus{ComposeHashAllowed: true})}, []string{"addDevice"}, nil},
		{"status unknown", func(p *ErrOnchainPrerequisite) { p.OnchainStatus = nil }, nil, []string{"addDevice", "addComposeHash"}, nil},
		{"status unknown, no device", func(p *ErrOnchainPrerequisite) { p.OnchainStatus = nil; p.DeviceID = "" }, nil, []string{"addComposeHash"}, nil},
		{"nothing missing", nil, []Option{WithStatus(OnchainStatus{true, true, true})}, nil, ErrNothingToRegister},
		{"device missing but empty", func(p *ErrOnchainPrerequisite) { p.DeviceID = "" }, nil, nil, ErrInvalidHex},
		{"bad compose hash", func(p *ErrOnchainPrerequisite) { p.ComposeHash = "0x1234" }, nil, nil, ErrInvalidHex},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := safePrereq(t)
			if tt.mutate != nil {
				tt.mutate(p)
			}
			calls, err := RegistrationCalls(p, tt.opts...)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			var got []string
			for _, c := range calls {
				got = append(got, c.Method)
				assert.Equal(t, common.HexToAddress(testApp), c.To)
			}
			assert.Equal(t, tt.want, got)
		})
	}
	c := Call{To: common.HexToAddress(testApp), Method: "addComposeHash", Arg: common.HexToHash("0x01"), Data: []byte{0xdf, 0xc7, 0x72, 0x23}}
	raw, err := json.Marshal(c)
	require.NoError(t, err)
	assert.JSONEq(t, `{"to":"`+common.HexToAddress(testApp).Hex()+`","value":"0","method":"addComposeHash",
		"arg":"0x0000000000000000000000000000000000000000000000000000000000000001","data":"0xdfc77223"}`, string(raw))
}

func TestSafeTransactionsNoChain(t *testing.T) {
	p := safePrereq(t)
	p.KMSInfo = nil
	_, err := SafeTransactions(p, 0)
	assert.ErrorIs(t, err, ErrNoChainID)
	b, err := SafeTransactions(p, 1)
	require.NoError(t, err)
	assert.Equal(t, "1", b.ChainID)
}
