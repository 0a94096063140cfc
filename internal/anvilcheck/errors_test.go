//go:build anvil

package anvilcheck

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

// registrar dials n over HTTP (batched reads) for signer k.
func registrar(t *testing.T, n *Node, k Key, opts ...onchain.Option) *onchain.Registrar {
	t.Helper()
	ec, rc, err := onchain.Dial(Ctx(t), onchain.ChainConfig{ID: ChainID, RPCURL: n.URL})
	require.NoError(t, err)
	t.Cleanup(ec.Close)
	r, err := onchain.NewRegistrar(ec, k.Signer(), append([]onchain.Option{onchain.WithRPCClient(rc), onchain.WithCheckedChainID(ChainID)}, opts...)...)
	require.NoError(t, err)
	return r
}

func pendingNonce(t *testing.T, n *Node, a common.Address) uint64 {
	t.Helper()
	nonce, err := n.Client.PendingNonceAt(Ctx(t), a)
	require.NoError(t, err)
	return nonce
}

// Point 4: a signer that is not owner() gets a NotOwnerError before any
// send; OwnerIsContract says when the owner is a contract (a multisig).
func TestNotOwnerOnAnvil(t *testing.T) {
	n := Start(t)
	owner := n.NewKey(t, Ether(10))
	stranger := n.NewKey(t, Ether(10))
	tests := []struct {
		name            string
		ownerIsContract bool
	}{
		{"owner is a key", false},
		{"owner is a contract", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := n.Deploy(t, owner, onchaintest.AppConfig{Legacy: true}) // v1: immediate transfer
			want := owner.Address
			if tt.ownerIsContract {
				safe := n.Deploy(t, owner, onchaintest.AppConfig{}) // any contract stands in for a Safe
				n.Transact(t, owner, app, onchain.NewDstackApp().PackTransferOwnership(safe))
				want = safe
			}
			before := pendingNonce(t, n, stranger.Address)
			reg, err := registrar(t, n, stranger).EnsureRegistered(Ctx(t), Prereq(app, device, compose))
			var noe *onchain.NotOwnerError
			require.ErrorAs(t, err, &noe)
			assert.Nil(t, reg)
			assert.Equal(t, onchain.NotOwnerError{App: app, Signer: stranger.Address, Owner: want, OwnerIsContract: tt.ownerIsContract}, *noe)
			assert.Equal(t, before, pendingNonce(t, n, stranger.Address), "nothing sent")
		})
	}
}

// Point 4: anvil's revert of a gas estimate (code 3, revert data) decodes
// into the contract's custom error.
func TestRevertDataShapeOnAnvil(t *testing.T) {
	n := Start(t)
	owner := n.NewKey(t, Ether(10))
	stranger := n.NewKey(t, Ether(10))
	app := n.Deploy(t, owner, onchaintest.AppConfig{})
	_, err := n.Client.EstimateGas(Ctx(t), ethereum.CallMsg{From: stranger.Address, To: &app, Data: onchain.NewDstackApp().PackAddDevice(device)})
	require.Error(t, err)
	data, ok := ethclient.RevertErrorData(err)
	require.True(t, ok, "anvil's revert carries its data: %v", err)
	re := onchain.DecodeRevert(data)
	assert.ErrorIs(t, re, onchain.ErrReverted)
	assert.Equal(t, &onchain.DstackAppOwnableUnauthorizedAccount{Account: stranger.Address}, re.Custom)
}

// Point 4: a transaction that reverts once mined is a RevertError with its
// hash and the decoded reason, replayed from the chain. The contract is
// swapped for one that always reverts between the send and the block
// (anvil --no-mining, anvil_setCode, evm_mine).
func TestMinedRevertOnAnvil(t *testing.T) {
	n := Start(t, "--no-mining")
	owner := n.NewKey(t, Ether(10))
	app := n.Deploy(t, owner, onchaintest.AppConfig{ComposeHash: compose})
	r := registrar(t, n, owner, onchain.WithProgress(func(e onchain.Event) {
		if e.Kind == onchain.EventSubmitted {
			n.SetCode(t, app, RevertingCode("forced by anvilcheck"))
			n.Mine(t)
		}
	}))
	reg, err := r.EnsureRegistered(Ctx(t), Prereq(app, device, compose))
	var re *onchain.RevertError
	require.ErrorAs(t, err, &re)
	require.NotNil(t, reg)
	assert.Equal(t, reg.DeviceTx, re.TxHash)
	assert.Equal(t, "addDevice", re.Method)
	assert.Equal(t, `"forced by anvilcheck"`, re.Reason)
	rc, rerr := n.Client.TransactionReceipt(Ctx(t), reg.DeviceTx)
	require.NoError(t, rerr)
	assert.Zero(t, rc.Status, "mined and failed")
}

// Point 4: an owner whose balance does not cover gas × max fee gets an
// InsufficientFundsError before any send.
func TestInsufficientFundsOnAnvil(t *testing.T) {
	n := Start(t)
	owner := n.NewKey(t, Ether(10))
	app := n.Deploy(t, owner, onchaintest.AppConfig{})
	n.SetBalance(t, owner.Address, big.NewInt(1000))
	before := pendingNonce(t, n, owner.Address)
	reg, err := registrar(t, n, owner).EnsureRegistered(Ctx(t), Prereq(app, device, compose))
	var ife *onchain.InsufficientFundsError
	require.ErrorAs(t, err, &ife)
	assert.Nil(t, reg)
	assert.Equal(t, big.NewInt(1000), ife.Balance)
	assert.Equal(t, []string{"addDevice", "addComposeHash"}, ife.Methods)
	assert.Positive(t, ife.Required.Cmp(ife.Balance))
	assert.Equal(t, before, pendingNonce(t, n, owner.Address), "nothing sent")
}

// Point 4: a transaction of the owner's key pending in anvil's pool, sent
// outside the Registrar, stops it before any send.
func TestPendingTransactionsOnAnvil(t *testing.T) {
	n := Start(t, "--no-mining")
	owner := n.NewKey(t, Ether(10))
	app := n.Deploy(t, owner, onchaintest.AppConfig{})
	latest, err := n.Client.NonceAt(Ctx(t), owner.Address, nil)
	require.NoError(t, err)
	n.SendFrom(t, owner, common.HexToAddress("0x1234"), nil, big.NewInt(1))

	reg, err := registrar(t, n, owner).EnsureRegistered(Ctx(t), Prereq(app, device, compose))
	var pte *onchain.PendingTransactionsError
	require.ErrorAs(t, err, &pte)
	assert.Nil(t, reg)
	assert.Equal(t, onchain.PendingTransactionsError{Account: owner.Address, Latest: latest, Pending: latest + 1}, *pte)
	assert.Equal(t, latest+1, pendingNonce(t, n, owner.Address), "nothing sent beside the outside transaction")

	// Once it is mined, the same call registers.
	n.Mine(t)
	r := registrar(t, n, owner, onchain.WithProgress(func(e onchain.Event) {
		if e.Kind == onchain.EventSubmitted && e.Method == "addComposeHash" {
			n.Mine(t)
		}
	}))
	reg, err = r.EnsureRegistered(Ctx(t), Prereq(app, device, compose))
	require.NoError(t, err)
	requireMined(t, n, reg.DeviceTx)
	requireMined(t, n, reg.ComposeHashTx)
}
