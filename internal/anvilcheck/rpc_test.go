//go:build anvil

package anvilcheck

import (
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

// Point 6: the batch the Registrar reads before sending, as anvil answers it.
func TestSendReadsBatchOnAnvil(t *testing.T) {
	n := Start(t)
	owner := n.NewKey(t, Ether(10))
	app := n.Deploy(t, owner, onchaintest.AppConfig{})
	var (
		chainID, balance, tip *hexutil.Big
		ownerOut              hexutil.Bytes
		latest, pending, gas  *hexutil.Uint64
		head                  *types.Header
	)
	from := owner.Address
	d := onchain.NewDstackApp()
	batch := []rpc.BatchElem{
		{Method: "eth_chainId", Result: &chainID},
		{Method: "eth_call", Args: []any{map[string]any{"to": app, "input": hexutil.Bytes(d.PackOwner())}, "latest"}, Result: &ownerOut},
		{Method: "eth_getBalance", Args: []any{from, "latest"}, Result: &balance},
		{Method: "eth_getTransactionCount", Args: []any{from, "latest"}, Result: &latest},
		{Method: "eth_getTransactionCount", Args: []any{from, "pending"}, Result: &pending},
		{Method: "eth_maxPriorityFeePerGas", Result: &tip},
		{Method: "eth_estimateGas", Args: []any{map[string]any{"from": from, "to": app, "input": hexutil.Bytes(d.PackAddDevice(device))}}, Result: &gas},
		{Method: "eth_getBlockByNumber", Args: []any{"latest", false}, Result: &head},
	}
	require.NoError(t, n.RPC.BatchCallContext(Ctx(t), batch))
	for _, e := range batch {
		require.NoError(t, e.Error, e.Method)
	}
	assert.Equal(t, ChainID, chainID.ToInt().Uint64())
	got, err := d.UnpackOwner(ownerOut)
	require.NoError(t, err)
	assert.Equal(t, from, got)
	assert.Positive(t, balance.ToInt().Sign())
	assert.Equal(t, uint64(*latest), uint64(*pending))
	assert.Positive(t, tip.ToInt().Sign())
	assert.Greater(t, uint64(*gas), uint64(21000))
	require.NotNil(t, head.BaseFee, "anvil is an EIP-1559 chain")
}

// Point 6: anvil's wording of the errors a Registrar can meet when it
// sends, and what the Registrar makes of them.
func TestSendErrorWordingOnAnvil(t *testing.T) {
	n := Start(t, "--no-mining")
	owner := n.NewKey(t, Ether(10))
	tx := n.SendFrom(t, owner, common.HexToAddress("0x1234"), nil, big.NewInt(1))

	err := n.Client.SendTransaction(Ctx(t), tx)
	var re rpc.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "transaction already imported", err.Error(), "anvil's words for a transaction it holds")
	n.Mine(t)
	err = n.Client.SendTransaction(Ctx(t), tx)
	require.Error(t, err)
	assert.Equal(t, "nonce too low", err.Error())

	_, _, err = n.Client.TransactionByHash(Ctx(t), common.Hash{1})
	assert.True(t, errors.Is(err, ethereum.NotFound), "an unknown transaction: %v", err)
	_, err = n.Client.TransactionReceipt(Ctx(t), common.Hash{1})
	assert.True(t, errors.Is(err, ethereum.NotFound), "no receipt: %v", err)
}

// Point 6: a transaction anvil already holds, broadcast again because the
// node answered "not found" for it (as one behind a load balancer may), is
// waited for: anvil's "transaction already imported" means the node has it.
func TestRebroadcastAlreadyImportedOnAnvil(t *testing.T) {
	n := Start(t, "--no-mining")
	owner := n.NewKey(t, Ether(10))
	app := n.Deploy(t, owner, onchaintest.AppConfig{ComposeHash: compose})
	p := NewProxy(t, n.URL)
	ec, err := onchainDialPlain(t, p.URL)
	require.NoError(t, err)
	r, err := onchain.NewRegistrar(ec, owner.Signer(), onchain.WithCheckedChainID(ChainID),
		onchain.WithPollInterval(10*time.Millisecond), onchain.WithReceiptTimeout(200*time.Millisecond))
	require.NoError(t, err)

	first, err := r.EnsureRegistered(Ctx(t), Prereq(app, device, compose))
	var rte *onchain.ReceiptTimeoutError
	require.ErrorAs(t, err, &rte)
	p.AnswerNull("eth_getTransactionByHash")
	p.Trips()

	again, err := r.EnsureRegistered(Ctx(t), Prereq(app, device, compose))
	require.ErrorAs(t, err, &rte, "still waiting for the transaction anvil holds")
	assert.Equal(t, first.DeviceTx, again.DeviceTx)
	_, sends := sendTrips(p.Trips())
	assert.Equal(t, 1, sends, "broadcast again once, unchanged")

	n.Mine(t)
	done, err := r.EnsureRegistered(Ctx(t), Prereq(app, device, compose))
	require.NoError(t, err)
	assert.Equal(t, onchain.AlreadyRegistered, done.CommitTransactionHash())
	requireMined(t, n, first.DeviceTx)
}

// Point 6: both contract generations tell themselves apart on anvil (a v1
// contract's version() reverts with empty data).
func TestContractVersionOnAnvil(t *testing.T) {
	n := Start(t)
	owner := n.NewKey(t, Ether(10))
	for _, tt := range []struct {
		legacy bool
		want   uint64
	}{{false, 2}, {true, 1}} {
		app := n.Deploy(t, owner, onchaintest.AppConfig{Legacy: tt.legacy})
		v, err := onchain.ContractVersion(Ctx(t), n.Client, app)
		require.NoError(t, err)
		assert.Equal(t, tt.want, v)
	}
}

// onchainDialPlain dials url through onchain.Dial and drops the JSON-RPC
// client, so the Registrar makes one call per read (its plain-backend path).
func onchainDialPlain(t *testing.T, url string) (*ethclient.Client, error) {
	t.Helper()
	ec, _, err := onchain.Dial(Ctx(t), onchain.ChainConfig{ID: ChainID, RPCURL: url})
	if err == nil {
		t.Cleanup(ec.Close)
	}
	return ec, err
}
