package onchain

import (
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

// RemoveDevices takes every listed device off in one send and one wait,
// skips devices the contract does not list, and leaves the others listed.
func TestRegistrarRemoveDevices(t *testing.T) {
	ctx := testCtx(t)
	chain := newChain(t, onchaintest.WithAutoCommit(10*time.Millisecond))
	devA, devB, devC, devUnlisted := common.HexToHash("0xa1"), common.HexToHash("0xb1"), common.HexToHash("0xc1"), common.HexToHash("0xe1")
	app := deployApp(t, chain, onchaintest.AppConfig{DeviceID: devA, ComposeHash: regCompose})
	d := NewDstackApp()
	transact(t, chain, 0, app, d.PackAddDevice(devB))
	transact(t, chain, 0, app, d.PackAddDevice(devC))

	var ev events
	r := newRegistrar(t, chain, chain.Transactor(0), WithProgress(ev.add))
	req := DeviceRemoval{App: app, ChainID: onchaintest.ChainID, DeviceIDs: []common.Hash{devA, devB, devUnlisted, devA}}
	reg, err := r.RemoveDevices(ctx, req)
	require.NoError(t, err)
	require.Len(t, reg.Txs, 2, "only the listed devices, each once")
	assert.Equal(t, []string{"submitted removeDevice", "submitted removeDevice"}, ev.kinds()[:2], "both sent before any wait")
	for _, tx := range reg.Txs {
		assert.Equal(t, "removeDevice", tx.Method)
	}

	st, err := ReadSetStatus(ctx, chain.Client, app, regCompose, []common.Hash{devA, devB, devC})
	require.NoError(t, err)
	assert.False(t, st.DevicesListed[devA])
	assert.False(t, st.DevicesListed[devB])
	assert.True(t, st.DevicesListed[devC], "a device not named stays listed")
	assert.True(t, st.ComposeHashAllowed, "the compose hash is untouched")

	again, err := r.RemoveDevices(ctx, req)
	require.NoError(t, err)
	assert.Empty(t, again.Txs, "nothing listed any more: nothing sent")

	// Not the owner: refused before sending.
	other := newRegistrar(t, chain, chain.Transactor(1))
	n := nonceOf(t, chain, chain.Accounts[1].Address)
	_, err = other.RemoveDevices(ctx, DeviceRemoval{App: app, ChainID: onchaintest.ChainID, DeviceIDs: []common.Hash{devC}})
	var notOwner *NotOwnerError
	require.ErrorAs(t, err, &notOwner)
	assert.Equal(t, n, nonceOf(t, chain, chain.Accounts[1].Address), "nothing sent")

	// The wrong chain: refused before reading anything.
	_, err = r.RemoveDevices(ctx, DeviceRemoval{App: app, ChainID: 1, DeviceIDs: []common.Hash{devC}})
	var wrong *WrongChainError
	require.ErrorAs(t, err, &wrong)
}

func TestSafeDeviceRemovalTransactions(t *testing.T) {
	app := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	devA, devB := common.HexToHash("0xa1"), common.HexToHash("0xb1")
	req := DeviceRemoval{App: app, ChainID: 8453, DeviceIDs: []common.Hash{devA, devB, devA}}
	tests := []struct {
		name string
		st   *SetStatus
		want []common.Hash
		err  error
	}{
		{"state unknown: every device once", nil, []common.Hash{devA, devB}, nil},
		{"only the listed ones", &SetStatus{DevicesListed: map[common.Hash]bool{devB: true}}, []common.Hash{devB}, nil},
		{"allowAnyDevice does not make a device listed", &SetStatus{AllowAnyDevice: true, DevicesListed: map[common.Hash]bool{}}, nil, ErrNothingToRemove},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := SafeDeviceRemovalTransactions(req, tt.st, 0)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "8453", b.ChainID)
			require.Len(t, b.Transactions, len(tt.want))
			for i, tx := range b.Transactions {
				assert.Equal(t, "removeDevice", tx.ContractMethod.Name)
				assert.Equal(t, tt.want[i].Hex(), tx.ContractInputsValues["deviceId"])
				assert.Equal(t, app.Hex(), tx.To)
			}
			assert.NotEmpty(t, b.Meta.Checksum)
		})
	}
	_, err := SafeDeviceRemovalTransactions(DeviceRemoval{App: app, DeviceIDs: []common.Hash{devA}}, nil, 0)
	assert.ErrorIs(t, err, ErrNoChainID)
}
