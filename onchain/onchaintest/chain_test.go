package onchaintest_test

import (
	"context"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain/internal/testcontracts"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

func TestNewChain(t *testing.T) {
	chain := onchaintest.NewChain(onchaintest.WithAccounts(2))
	defer chain.Close()
	ctx := context.Background()

	id, err := chain.Client.ChainID(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(onchaintest.ChainID), id.Int64())
	require.Len(t, chain.Accounts, 2)
	assert.NotEqual(t, chain.Accounts[0].Address, chain.Accounts[1].Address)
	bal, err := chain.Client.BalanceAt(ctx, chain.Accounts[1].Address, nil)
	require.NoError(t, err)
	assert.Equal(t, onchaintest.DefaultBalance, bal)

	again := onchaintest.NewChain(onchaintest.WithAccounts(1))
	defer again.Close()
	assert.Equal(t, chain.Accounts[0].Address, again.Accounts[0].Address, "accounts are deterministic")
	assert.Empty(t, chain.URL())
	assert.NoError(t, chain.Close())
	assert.NoError(t, chain.Close(), "Close is idempotent")
}

func TestWithFunds(t *testing.T) {
	poor := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	chain := onchaintest.NewChain(onchaintest.WithFunds(poor, big.NewInt(12345)))
	defer chain.Close()
	bal, err := chain.Client.BalanceAt(context.Background(), poor, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(12345), bal.Int64())
}

func TestDeployDstackApp(t *testing.T) {
	chain := onchaintest.NewChain()
	defer chain.Close()
	ctx := context.Background()
	owner := chain.Transactor(0)
	compose := common.HexToHash("0xc0")
	device := common.HexToHash("0xde")

	for _, legacy := range []bool{false, true} {
		app, err := chain.DeployDstackApp(ctx, owner, onchaintest.AppConfig{Legacy: legacy, DeviceID: device, ComposeHash: compose})
		require.NoError(t, err)
		code, err := chain.Client.CodeAt(ctx, app, nil)
		require.NoError(t, err)
		assert.NotEmpty(t, code)

		c := testcontracts.NewDstackApp()
		out, err := chain.Client.CallContract(ctx, ethereum.CallMsg{To: &app, Data: c.PackAllowedComposeHashes(compose)}, nil)
		require.NoError(t, err)
		ok, err := c.UnpackAllowedComposeHashes(out)
		require.NoError(t, err)
		assert.True(t, ok, "initial compose hash allowed")

		_, err = chain.Client.CallContract(ctx, ethereum.CallMsg{To: &app, Data: c.PackVersion()}, nil)
		if legacy {
			require.Error(t, err, "v1 has no version()")
			assert.Contains(t, err.Error(), "execution reverted")
			data, _ := ethclient.RevertErrorData(err)
			assert.Empty(t, data, "reverts with empty data, like a missing function")
		} else {
			require.NoError(t, err)
		}
	}
}

func TestDeployDstackKms(t *testing.T) {
	chain := onchaintest.NewChain()
	defer chain.Close()
	ctx := context.Background()
	key := append([]byte{0x02}, make([]byte, 32)...)
	kms, err := chain.DeployDstackKms(ctx, chain.Transactor(1), onchaintest.KMSInfo{K256Pubkey: key, Quote: []byte("q")})
	require.NoError(t, err)

	c := testcontracts.NewDstackKms()
	out, err := chain.Client.CallContract(ctx, ethereum.CallMsg{To: &kms, Data: c.PackKmsInfo()}, nil)
	require.NoError(t, err)
	info, err := c.UnpackKmsInfo(out)
	require.NoError(t, err)
	assert.Equal(t, key, info.K256Pubkey)
	assert.Equal(t, []byte("q"), info.Quote)
	assert.Empty(t, info.CaPubkey)
}

func TestAutoCommit(t *testing.T) {
	chain := onchaintest.NewChain(onchaintest.WithAutoCommit(5 * time.Millisecond))
	defer chain.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	_, tx, err := onchaintest.DeployDstackApp(ctx, chain.Client, chain.Transactor(0), onchaintest.AppConfig{})
	require.NoError(t, err)
	// No Commit from the test: the auto-committer mines it.
	require.Eventually(t, func() bool {
		r, err := chain.Client.TransactionReceipt(ctx, tx.Hash())
		return err == nil && r.Status == types.ReceiptStatusSuccessful
	}, 5*time.Second, 5*time.Millisecond)
}

func TestWithHTTP(t *testing.T) {
	chain := onchaintest.NewChain(onchaintest.WithHTTP())
	defer chain.Close()
	require.NotEmpty(t, chain.URL())

	c, err := ethclient.Dial(chain.URL())
	require.NoError(t, err)
	defer c.Close()
	id, err := c.ChainID(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int64(onchaintest.ChainID), id.Int64())

	resp, err := http.Get(chain.URL())
	require.NoError(t, err)
	resp.Body.Close()
}

func TestTransactorOutOfRange(t *testing.T) {
	chain := onchaintest.NewChain(onchaintest.WithAccounts(1))
	defer chain.Close()
	assert.PanicsWithValue(t, "onchaintest: Transactor(1): chain has 1 accounts", func() { chain.Transactor(1) })
}

func TestRPCClientAndPending(t *testing.T) {
	chain := onchaintest.NewChain()
	defer chain.Close()
	ctx := context.Background()

	var id string
	require.NoError(t, chain.RPCClient().CallContext(ctx, &id, "eth_chainId"))
	assert.Equal(t, "0x539", id) // 1337
	assert.Same(t, chain.RPCClient(), chain.RPCClient(), "one client per chain")

	assert.Equal(t, 0, chain.Pending())
	_, tx1, err := onchaintest.DeployDstackApp(ctx, chain.Client, chain.Transactor(0), onchaintest.AppConfig{})
	require.NoError(t, err)
	_, tx2, err := onchaintest.DeployDstackApp(ctx, chain.Client, chain.Transactor(1), onchaintest.AppConfig{})
	require.NoError(t, err)
	assert.Equal(t, 2, chain.Pending())
	receipts, err := chain.Mine(ctx, tx1, tx2)
	require.NoError(t, err)
	assert.Equal(t, receipts[0].BlockNumber, receipts[1].BlockNumber, "one Commit mines both")
	assert.Equal(t, 0, chain.Pending())
}
