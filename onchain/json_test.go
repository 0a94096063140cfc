package onchain

import (
	"encoding/json"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Results marshal with snake_case keys, and a transaction that was not needed is
// left out rather than written as a zero hash.
func TestResultsMarshalSnakeCase(t *testing.T) {
	tx := common.HexToHash("0x" + "ab")
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"registration, both sent", Registration{DeviceTx: tx, ComposeHashTx: tx, Block: 7},
			`{"device_tx":"` + tx.Hex() + `","compose_hash_tx":"` + tx.Hex() + `","block":7}`},
		{"registration, nothing needed", Registration{Block: 9}, `{"block":9}`},
		{"event", Event{Kind: EventMined, Method: "addDevice", TxHash: tx, Nonce: 3, Block: 4},
			`{"kind":"mined","method":"addDevice","tx_hash":"` + tx.Hex() + `","nonce":3,"block":4}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.v)
			require.NoError(t, err)
			assert.JSONEq(t, tt.want, string(got))
		})
	}
	var back Registration
	require.NoError(t, json.Unmarshal([]byte(`{"compose_hash_tx":"`+tx.Hex()+`","block":5}`), &back))
	assert.Equal(t, Registration{ComposeHashTx: tx, Block: 5}, back)
	assert.Equal(t, tx.Hex(), back.CommitTransactionHash())
}
