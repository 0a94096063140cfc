package onchain

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

var (
	regDevice  = common.HexToHash("0xd0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0")
	regCompose = common.HexToHash("0xc0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0")
)

// events records progress events.
type events struct {
	mu   sync.Mutex
	list []Event
}

func (e *events) add(ev Event) { e.mu.Lock(); e.list = append(e.list, ev); e.mu.Unlock() }
func (e *events) kinds() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.list {
		out = append(out, string(ev.Kind)+" "+ev.Method)
	}
	return out
}

func nonceOf(t *testing.T, chain *onchaintest.Chain, addr common.Address) uint64 {
	t.Helper()
	n, err := chain.Client.PendingNonceAt(context.Background(), addr)
	require.NoError(t, err)
	return n
}

func newRegistrar(t *testing.T, chain *onchaintest.Chain, signer *bind.TransactOpts, opts ...Option) *Registrar {
	t.Helper()
	r, err := NewRegistrar(chain.Client, signer, append([]Option{WithPollInterval(5 * time.Millisecond), WithReceiptTimeout(20 * time.Second)}, opts...)...)
	require.NoError(t, err)
	return r
}

func TestEnsureRegistered(t *testing.T) {
	tests := []struct {
		name        string
		cfg         onchaintest.AppConfig
		wantDevice  bool
		wantCompose bool
	}{
		{"only the device", onchaintest.AppConfig{ComposeHash: regCompose}, true, false},
		{"only the compose hash", onchaintest.AppConfig{DeviceID: regDevice}, false, true},
		{"only the compose hash, any device", onchaintest.AppConfig{AllowAnyDevice: true}, false, true},
		{"both", onchaintest.AppConfig{}, true, true},
		{"both on a v1 contract", onchaintest.AppConfig{Legacy: true}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chain := newChain(t, onchaintest.WithAutoCommit(5*time.Millisecond))
			ctx := testCtx(t)
			app := deployApp(t, chain, tt.cfg)
			owner := chain.Accounts[0].Address
			nonce := nonceOf(t, chain, owner)
			var ev events

			r := newRegistrar(t, chain, chain.Transactor(0), WithProgress(ev.add))
			reg, err := r.EnsureRegistered(ctx, prereqFor(t, app, regDevice, regCompose))
			require.NoError(t, err)

			st, err := Status(ctx, chain.Client, app, regDevice, regCompose, AtBlock(reg.Block))
			require.NoError(t, err)
			assert.True(t, st.IsAllowed, "allowed at the reported block")

			sent := 0
			var receipts []*types.Receipt
			for _, c := range []struct {
				want   bool
				hash   common.Hash
				method string
			}{{tt.wantDevice, reg.DeviceTx, "addDevice"}, {tt.wantCompose, reg.ComposeHashTx, "addComposeHash"}} {
				if !c.want {
					assert.Equal(t, common.Hash{}, c.hash, "%s not sent", c.method)
					continue
				}
				sent++
				rc, err := chain.Client.TransactionReceipt(ctx, c.hash)
				require.NoError(t, err, c.method)
				assert.Equal(t, types.ReceiptStatusSuccessful, rc.Status)
				receipts = append(receipts, rc)
				tx, _, err := chain.Client.TransactionByHash(ctx, c.hash)
				require.NoError(t, err)
				assert.Equal(t, nonce+uint64(sent-1), tx.Nonce(), "consecutive nonces")
				assert.Equal(t, app, *tx.To())
			}
			assert.Equal(t, nonce+uint64(sent), nonceOf(t, chain, owner), "exactly the missing writes were sent")

			switch {
			case tt.wantCompose:
				assert.Equal(t, reg.ComposeHashTx.Hex(), reg.CommitTransactionHash())
			default:
				assert.Equal(t, reg.DeviceTx.Hex(), reg.CommitTransactionHash(), "the device tx is not dropped")
			}

			if sent == 2 {
				// Sent back to back, one wait: both submissions come before
				// any mined event, and the blocks are the same or adjacent.
				assert.Equal(t, []string{"submitted addDevice", "submitted addComposeHash"}, ev.kinds()[:2])
				b0, b1 := receipts[0].BlockNumber.Uint64(), receipts[1].BlockNumber.Uint64()
				assert.LessOrEqual(t, b1-b0, uint64(1), "blocks %d and %d", b0, b1)
				assert.Equal(t, max(b0, b1), reg.Block)
			}
			kinds := ev.kinds()
			assert.Len(t, kinds, 3*sent)
			assert.True(t, strings.HasPrefix(kinds[len(kinds)-1], "confirmed "), "ends confirmed: %v", kinds)
		})
	}
}

func TestEnsureRegisteredAlreadyRegistered(t *testing.T) {
	chain := newChain(t, onchaintest.WithAutoCommit(5*time.Millisecond))
	ctx := testCtx(t)
	for name, tc := range map[string]struct {
		cfg    onchaintest.AppConfig
		device common.Hash
	}{
		"listed device":            {onchaintest.AppConfig{ComposeHash: regCompose, DeviceID: regDevice}, regDevice},
		"any device, no device id": {onchaintest.AppConfig{ComposeHash: regCompose, AllowAnyDevice: true}, common.Hash{}},
	} {
		t.Run(name, func(t *testing.T) {
			app := deployApp(t, chain, tc.cfg)
			// A signer that is not the owner: nothing needs writing, so
			// ownership is not even checked.
			signer := chain.Transactor(1)
			nonce := nonceOf(t, chain, signer.From)
			var ev events
			reg, err := newRegistrar(t, chain, signer, WithProgress(ev.add)).EnsureRegistered(ctx, prereqFor(t, app, tc.device, regCompose))
			require.NoError(t, err)
			assert.Equal(t, AlreadyRegistered, reg.CommitTransactionHash())
			assert.Equal(t, common.Hash{}, reg.DeviceTx)
			assert.Equal(t, common.Hash{}, reg.ComposeHashTx)
			assert.NotZero(t, reg.Block)
			assert.Equal(t, nonce, nonceOf(t, chain, signer.From), "no transaction sent")
			assert.Empty(t, ev.kinds())
		})
	}
}

func TestEnsureRegisteredRefusals(t *testing.T) {
	poorKey, err := crypto.GenerateKey()
	require.NoError(t, err)
	poor := crypto.PubkeyToAddress(poorKey.PublicKey)
	chain := newChain(t, onchaintest.WithAutoCommit(5*time.Millisecond), onchaintest.WithFunds(poor, big.NewInt(1_000_000)))
	ctx := testCtx(t)
	d := NewDstackApp()

	t.Run("not the owner", func(t *testing.T) {
		app := deployApp(t, chain, onchaintest.AppConfig{})
		signer := chain.Transactor(1)
		nonce := nonceOf(t, chain, signer.From)
		reg, err := newRegistrar(t, chain, signer).EnsureRegistered(ctx, prereqFor(t, app, regDevice, regCompose))
		assert.Nil(t, reg)
		var noe *NotOwnerError
		require.ErrorAs(t, err, &noe)
		assert.Equal(t, NotOwnerError{App: app, Signer: signer.From, Owner: chain.Accounts[0].Address}, *noe)
		assert.Equal(t, nonce, nonceOf(t, chain, signer.From), "no transaction sent")
	})

	t.Run("owner is a contract", func(t *testing.T) {
		app := deployApp(t, chain, onchaintest.AppConfig{Legacy: true})
		multisig := deployApp(t, chain, onchaintest.AppConfig{})      // any contract
		transact(t, chain, 0, app, d.PackTransferOwnership(multisig)) // immediate on v1
		_, err := newRegistrar(t, chain, chain.Transactor(0)).EnsureRegistered(ctx, prereqFor(t, app, regDevice, regCompose))
		var noe *NotOwnerError
		require.ErrorAs(t, err, &noe)
		assert.True(t, noe.OwnerIsContract)
		assert.Equal(t, multisig, noe.Owner)
		assert.Contains(t, err.Error(), "SafeTransactions")
	})

	t.Run("insufficient funds", func(t *testing.T) {
		app := deployApp(t, chain, onchaintest.AppConfig{Legacy: true})
		transact(t, chain, 0, app, d.PackTransferOwnership(poor))
		signer := bind.NewKeyedTransactor(poorKey, big.NewInt(onchaintest.ChainID))
		_, err := newRegistrar(t, chain, signer).EnsureRegistered(ctx, prereqFor(t, app, regDevice, regCompose))
		var ife *InsufficientFundsError
		require.ErrorAs(t, err, &ife)
		assert.Equal(t, poor, ife.Account)
		assert.Equal(t, int64(1_000_000), ife.Balance.Int64())
		assert.Equal(t, 1, ife.Required.Cmp(ife.Balance))
		assert.Equal(t, []string{"addDevice", "addComposeHash"}, ife.Methods)
		assert.Contains(t, err.Error(), "has 0.000000000001 ETH")
		assert.Zero(t, nonceOf(t, chain, poor), "no transaction sent")
	})

	t.Run("wrong chain", func(t *testing.T) {
		app := deployApp(t, chain, onchaintest.AppConfig{})
		p := prereqFor(t, app, regDevice, regCompose)
		p.KMSInfo.ChainID = 8453
		_, err := newRegistrar(t, chain, chain.Transactor(0)).EnsureRegistered(ctx, p)
		var wce *WrongChainError
		require.ErrorAs(t, err, &wce)
		assert.Equal(t, WrongChainError{Want: 8453, Got: onchaintest.ChainID}, *wce)
	})

	t.Run("unknown chain", func(t *testing.T) {
		app := deployApp(t, chain, onchaintest.AppConfig{})
		p := prereqFor(t, app, regDevice, regCompose)
		p.KMSInfo = nil
		_, err := newRegistrar(t, chain, chain.Transactor(0)).EnsureRegistered(ctx, p)
		assert.ErrorIs(t, err, ErrNoChainID)
	})

	t.Run("device needed but not given", func(t *testing.T) {
		app := deployApp(t, chain, onchaintest.AppConfig{})
		nonce := nonceOf(t, chain, chain.Accounts[0].Address)
		_, err := newRegistrar(t, chain, chain.Transactor(0)).EnsureRegistered(ctx, prereqFor(t, app, common.Hash{}, regCompose))
		assert.ErrorIs(t, err, ErrInvalidHex)
		assert.ErrorContains(t, err, "device_id")
		assert.Equal(t, nonce, nonceOf(t, chain, chain.Accounts[0].Address))
	})

	t.Run("bad compose hash", func(t *testing.T) {
		p := prereqFor(t, common.Address{1}, regDevice, regCompose)
		p.ComposeHash = "0x"
		_, err := newRegistrar(t, chain, chain.Transactor(0)).EnsureRegistered(ctx, p)
		assert.ErrorIs(t, err, ErrInvalidHex)
	})
}

// commitWhenPending mines one block as soon as n transactions are pending.
func commitWhenPending(t *testing.T, chain *onchaintest.Chain, n int) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if chain.Pending() >= n {
				chain.Commit()
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	t.Cleanup(func() { <-done })
}

// transferBeforeNonce is the simulated chain's client on which the owner
// (from elsewhere) gives app away and has it mined when the Registrar reads
// the mined nonce, i.e. after its ownership and gas checks.
type transferBeforeNonce struct {
	Backend
	t     *testing.T
	chain *onchaintest.Chain
	app   common.Address
	to    common.Address
	once  sync.Once
}

func (b *transferBeforeNonce) NonceAt(ctx context.Context, a common.Address, block *big.Int) (uint64, error) {
	b.once.Do(func() { transact(b.t, b.chain, 0, b.app, NewDstackApp().PackTransferOwnership(b.to)) })
	return b.Backend.NonceAt(ctx, a, block)
}

func TestEnsureRegisteredMinedRevert(t *testing.T) {
	chain := newChain(t, onchaintest.WithAutoCommit(5*time.Millisecond))
	ctx := testCtx(t)
	app := deployApp(t, chain, onchaintest.AppConfig{Legacy: true, DeviceID: regDevice})
	owner := chain.Transactor(0)

	// The owner gives the contract away after the registrar checked
	// ownership: its addComposeHash passed every check, then is mined
	// after the transfer and reverts.
	backend := &transferBeforeNonce{Backend: chain.Client, t: t, chain: chain, app: app, to: chain.Accounts[1].Address}
	r, err := NewRegistrar(backend, owner, WithPollInterval(5*time.Millisecond), WithReceiptTimeout(20*time.Second))
	require.NoError(t, err)

	reg, err := r.EnsureRegistered(ctx, prereqFor(t, app, regDevice, regCompose))
	require.Error(t, err)
	require.NotNil(t, reg, "the sent transaction is reported")
	assert.NotEqual(t, common.Hash{}, reg.ComposeHashTx)

	var re *RevertError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "addComposeHash", re.Method)
	assert.Equal(t, reg.ComposeHashTx, re.TxHash)
	assert.Equal(t, &DstackAppOwnableUnauthorizedAccount{Account: owner.From}, re.Custom)
	assert.ErrorIs(t, err, ErrReverted)
	assert.Equal(t, "onchain: addComposeHash reverted in transaction "+reg.ComposeHashTx.Hex()+
		": OwnableUnauthorizedAccount("+owner.From.Hex()+")", re.Error())
}

func TestEnsureRegisteredReceiptTimeout(t *testing.T) {
	chain := newChain(t) // nothing is mined
	ctx := testCtx(t)
	app := deployApp(t, chain, onchaintest.AppConfig{})

	start := time.Now()
	reg, err := newRegistrar(t, chain, chain.Transactor(0), WithReceiptTimeout(150*time.Millisecond)).
		EnsureRegistered(ctx, prereqFor(t, app, regDevice, regCompose))
	assert.Less(t, time.Since(start), 5*time.Second)
	var rte *ReceiptTimeoutError
	require.ErrorAs(t, err, &rte)
	require.NotNil(t, reg)
	assert.Equal(t, []common.Hash{reg.DeviceTx, reg.ComposeHashTx}, rte.TxHashes)
	assert.Equal(t, 150*time.Millisecond, rte.Timeout)

	// The hashes are the real transactions: mining them now registers.
	chain.Commit()
	st, err := Status(ctx, chain.Client, app, regDevice, regCompose)
	require.NoError(t, err)
	assert.True(t, st.IsAllowed)
}

func TestEnsureRegisteredContextCanceledWhileWaiting(t *testing.T) {
	chain := newChain(t) // nothing is mined
	app := deployApp(t, chain, onchaintest.AppConfig{})
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	submitted := 0
	progress := func(e Event) {
		if e.Kind == EventSubmitted {
			submitted++
			if submitted == 2 {
				cancel()
			}
		}
	}
	reg, err := newRegistrar(t, chain, chain.Transactor(0), WithProgress(progress)).
		EnsureRegistered(ctx, prereqFor(t, app, regDevice, regCompose))
	assert.ErrorIs(t, err, context.Canceled)
	require.NotNil(t, reg)
	assert.NotEqual(t, common.Hash{}, reg.DeviceTx)
	assert.NotEqual(t, common.Hash{}, reg.ComposeHashTx)
}

func TestEnsureRegisteredConfirmations(t *testing.T) {
	chain := newChain(t)
	mineEvery(t, chain, 5*time.Millisecond)
	ctx := testCtx(t)
	app := deployApp(t, chain, onchaintest.AppConfig{})
	var ev events
	reg, err := newRegistrar(t, chain, chain.Transactor(0), WithConfirmations(3), WithProgress(ev.add)).
		EnsureRegistered(ctx, prereqFor(t, app, regDevice, regCompose))
	require.NoError(t, err)
	head, err := chain.Client.BlockNumber(ctx)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, head, reg.Block+2, "3 confirmations: the receipt block and 2 more")
	kinds := ev.kinds()
	require.Len(t, kinds, 6)
	assert.Equal(t, []string{"confirmed addDevice", "confirmed addComposeHash"}, kinds[4:])
}

func TestEnsureRegisteredLogsNoSecrets(t *testing.T) {
	chain := newChain(t, onchaintest.WithAutoCommit(5*time.Millisecond))
	ctx := testCtx(t)
	app := deployApp(t, chain, onchaintest.AppConfig{})
	hexKey := "0x" + common.Bytes2Hex(crypto.FromECDSA(chain.Accounts[0].Key))
	signer, err := SignerFromHex(hexKey, onchaintest.ChainID)
	require.NoError(t, err)
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, err = newRegistrar(t, chain, signer, WithLogger(logger)).EnsureRegistered(ctx, prereqFor(t, app, regDevice, regCompose))
	require.NoError(t, err)
	assert.Contains(t, buf.String(), "onchain: registered")
	assert.NotContains(t, buf.String(), hexKey[2:])
}

func TestNewRegistrarValidation(t *testing.T) {
	chain := newChain(t)
	signer := chain.Transactor(0)
	tests := []struct {
		name    string
		backend Backend
		signer  *bind.TransactOpts
		opts    []Option
		wantErr string
	}{
		{"nil backend", nil, signer, nil, "nil backend"},
		{"nil signer", chain.Client, nil, nil, "Signer function"},
		{"no from", chain.Client, &bind.TransactOpts{Signer: signer.Signer}, nil, "no From"},
		{"zero confirmations", chain.Client, signer, []Option{WithConfirmations(0)}, "at least 1"},
		{"zero timeout", chain.Client, signer, []Option{WithReceiptTimeout(0)}, "not positive"},
		{"negative poll", chain.Client, signer, []Option{WithPollInterval(-time.Second)}, "not positive"},
		{"zero chain id", chain.Client, signer, []Option{WithChainID(0)}, "must not be 0"},
		{"nil logger", chain.Client, signer, []Option{WithLogger(nil)}, "nil logger"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRegistrar(tt.backend, tt.signer, tt.opts...)
			assert.Nil(t, r)
			assert.ErrorContains(t, err, tt.wantErr)
		})
	}
	_, err := (&Registrar{}).EnsureRegistered(context.Background(), nil)
	assert.Error(t, err)
}

func TestSignerFromHex(t *testing.T) {
	const key = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
	want := common.HexToAddress("0x2c7536E3605D9C16a7a3D7b1898e529396a65c23")
	for _, in := range []string{key, "0x" + key, "0X" + strings.ToUpper(key), " 0x" + key + "\n"} {
		s, err := SignerFromHex(in, 1)
		require.NoError(t, err)
		assert.Equal(t, want, s.From)
	}
	bad := []struct{ in, wantErr string }{
		{"", "got 0 characters"},
		{key[2:], "got 62 characters"},
		{key + "00", "got 66 characters"},
		{"0x" + strings.Repeat("z", 64), "not hexadecimal"},
		{strings.Repeat("0", 64), "not a valid secp256k1 scalar"},
		{strings.Repeat("f", 64), "not a valid secp256k1 scalar"},
	}
	for _, tt := range bad {
		_, err := SignerFromHex(tt.in, 1)
		require.ErrorIs(t, err, ErrInvalidPrivateKey)
		assert.ErrorContains(t, err, tt.wantErr)
		if len(tt.in) > 8 {
			assert.NotContains(t, err.Error(), tt.in[len(tt.in)-8:], "no part of the key in the error")
		}
	}
	_, err := SignerFromHex(key, 0)
	assert.Error(t, err)
	assert.NotContains(t, err.Error(), key)
}

func TestCommitTransactionHash(t *testing.T) {
	dev, cmp := common.HexToHash("0x01"), common.HexToHash("0x02")
	assert.Equal(t, cmp.Hex(), (&Registration{DeviceTx: dev, ComposeHashTx: cmp}).CommitTransactionHash())
	assert.Equal(t, dev.Hex(), (&Registration{DeviceTx: dev}).CommitTransactionHash())
	assert.Equal(t, AlreadyRegistered, (&Registration{}).CommitTransactionHash())
	assert.Equal(t, AlreadyRegistered, (*Registration)(nil).CommitTransactionHash())
}

func TestErrorMessages(t *testing.T) {
	a := common.HexToAddress("0x00000000000000000000000000000000000000a1")
	tests := []struct {
		err  error
		want string
	}{
		{&WrongChainError{Want: 8453, Got: 1}, "onchain: the RPC endpoint is on chain 1, but the app's KMS is on chain 8453"},
		{&WrongChainError{Want: 8453, Configured: 1}, "onchain: the Registrar was configured WithChainID(1), but the prerequisite's kms_info names chain 8453; nothing was signed"},
		{&PendingTransactionsError{Account: a, Latest: 4, Pending: 6},
			"onchain: account " + a.Hex() + " has 2 pending transaction(s) this Registrar did not send (nonces 4 to 5); nothing was sent: wait until they are mined, then retry"},
		{&NonceReusedError{Account: a, Nonce: 3, TxHash: common.Hash{1}},
			"onchain: the signer's fixed nonce 3 of " + a.Hex() + " was already used by this Registrar for transaction 0x0100000000000000000000000000000000000000000000000000000000000000; nothing was sent: set a new nonce or leave it nil"},
		{&InsufficientFundsError{Account: a, Balance: big.NewInt(1e15), Required: big.NewInt(25e14), Methods: []string{"addDevice", "addComposeHash"}},
			"onchain: account " + a.Hex() + " has 0.001 ETH but addDevice + addComposeHash needs up to 0.0025 ETH (estimated gas × max fee)"},
		{&ReceiptTimeoutError{TxHashes: []common.Hash{{1}}, Timeout: time.Minute},
			"onchain: transactions 0x0100000000000000000000000000000000000000000000000000000000000000 not mined and confirmed within 1m0s; they may still be mined, check them before retrying"},
		{&StateNotConfirmedError{Status: AppStatus{Block: 7, ComposeHashAllowed: true}},
			"onchain: after registration, block 7 still shows compose_hash_allowed=true device_id_allowed=false"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.err.Error())
	}
	assert.Equal(t, "12.5", formatEther(new(big.Int).Mul(big.NewInt(125), big.NewInt(1e17))))
	assert.Equal(t, "0", formatEther(big.NewInt(0)))
	assert.True(t, errors.Is(DecodeRevert(nil), ErrReverted))
}

// pendingReceipts is the simulated chain's client answering the first n
// receipt queries the way some nodes do while a transaction is pending: a
// receipt that names no block, or no receipt and no error.
type pendingReceipts struct {
	Backend
	mu     sync.Mutex
	left   int
	asNil  bool
	served int
}

func (b *pendingReceipts) TransactionReceipt(ctx context.Context, h common.Hash) (*types.Receipt, error) {
	b.mu.Lock()
	fake := b.left > 0
	if fake {
		b.left--
		b.served++
	}
	b.mu.Unlock()
	switch {
	case fake && b.asNil:
		return nil, nil
	case fake:
		return &types.Receipt{TxHash: h, Status: types.ReceiptStatusSuccessful}, nil
	}
	return b.Backend.TransactionReceipt(ctx, h)
}

func TestEnsureRegisteredReceiptWithoutBlock(t *testing.T) {
	for name, asNil := range map[string]bool{"receipt without a block": false, "nil receipt without error": true} {
		t.Run(name, func(t *testing.T) {
			chain := newChain(t, onchaintest.WithAutoCommit(5*time.Millisecond))
			ctx := testCtx(t)
			app := deployApp(t, chain, onchaintest.AppConfig{})
			backend := &pendingReceipts{Backend: chain.Client, left: 4, asNil: asNil}
			var ev events
			r, err := NewRegistrar(backend, chain.Transactor(0), WithPollInterval(5*time.Millisecond), WithReceiptTimeout(20*time.Second), WithProgress(ev.add))
			require.NoError(t, err)

			reg, err := r.EnsureRegistered(ctx, prereqFor(t, app, regDevice, regCompose))
			require.NoError(t, err, "a block-less receipt means pending, not a crash or a failure")
			assert.Equal(t, 4, backend.served)
			rc, err := chain.Client.TransactionReceipt(ctx, reg.ComposeHashTx)
			require.NoError(t, err)
			assert.GreaterOrEqual(t, reg.Block, rc.BlockNumber.Uint64())
			for _, e := range ev.list {
				if e.Kind != EventSubmitted {
					assert.NotZero(t, e.Block, "%s %s names its block", e.Kind, e.Method)
				}
			}
		})
	}
}

// laggingView is the simulated chain's client serving contract reads at a
// block one behind the one asked for, once lag is set: a node whose state
// trails its receipts.
type laggingView struct {
	Backend
	lag atomic.Bool
}

func (b *laggingView) CallContract(ctx context.Context, msg ethereum.CallMsg, block *big.Int) ([]byte, error) {
	if b.lag.Load() && block != nil && block.Sign() > 0 {
		block = new(big.Int).Sub(block, big.NewInt(1))
	}
	return b.Backend.CallContract(ctx, msg, block)
}

func TestEnsureRegisteredRereadsStateAtReceiptBlock(t *testing.T) {
	chain := newChain(t) // manual mining: both writes land in one block
	ctx := testCtx(t)
	app := deployApp(t, chain, onchaintest.AppConfig{})
	backend := &laggingView{Backend: chain.Client}
	progress := func(e Event) {
		if e.Kind == EventSubmitted {
			backend.lag.Store(true)
		}
	}
	commitWhenPending(t, chain, 2)
	r, err := NewRegistrar(backend, chain.Transactor(0), WithPollInterval(5*time.Millisecond), WithReceiptTimeout(20*time.Second), WithProgress(progress))
	require.NoError(t, err)

	reg, err := r.EnsureRegistered(ctx, prereqFor(t, app, regDevice, regCompose))
	var snc *StateNotConfirmedError
	require.ErrorAs(t, err, &snc, "success is not reported while the contract reads as unregistered")
	require.NotNil(t, reg)
	assert.NotEqual(t, common.Hash{}, reg.DeviceTx)
	assert.NotEqual(t, common.Hash{}, reg.ComposeHashTx)
	assert.Equal(t, reg.Block, snc.Status.Block, "read at the receipts' block")
	assert.False(t, snc.Status.IsAllowed)

	// The chain itself does show the registration at that block.
	st, err := Status(ctx, chain.Client, app, regDevice, regCompose, AtBlock(reg.Block))
	require.NoError(t, err)
	assert.True(t, st.IsAllowed)
}

// missingBlock is the simulated chain's client failing contract reads at a
// given block the first n times, as a node behind a load balancer does when it
// has not imported the block its neighbour served the receipt from.
type missingBlock struct {
	Backend
	mu     sync.Mutex
	armed  bool
	left   int
	failed int
}

func (b *missingBlock) CallContract(ctx context.Context, msg ethereum.CallMsg, block *big.Int) ([]byte, error) {
	b.mu.Lock()
	fail := b.armed && block != nil && b.left > 0
	if fail {
		b.left--
		b.failed++
	}
	b.mu.Unlock()
	if fail {
		return nil, errors.New("header not found")
	}
	return b.Backend.CallContract(ctx, msg, block)
}

// Both the single and the set registration re-read the contract at the
// receipts' block, retrying while the node lacks it.
func TestEnsureRegisteredRereadWaitsForALaggingNode(t *testing.T) {
	tests := []struct {
		name     string
		set      bool // EnsureRegisteredSet rather than EnsureRegistered
		failures int
		wantErr  bool
	}{
		{"node catches up", false, 3, false},
		{"node never catches up", false, 1 << 30, true},
		{"set, node catches up", true, 3, false},
		{"set, node never catches up", true, 1 << 30, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chain := newChain(t, onchaintest.WithAutoCommit(5*time.Millisecond))
			ctx := testCtx(t)
			app := deployApp(t, chain, onchaintest.AppConfig{})
			backend := &missingBlock{Backend: chain.Client, left: tt.failures}
			progress := func(e Event) {
				if e.Kind == EventMined {
					backend.mu.Lock()
					backend.armed = true
					backend.mu.Unlock()
				}
			}
			r, err := NewRegistrar(backend, chain.Transactor(0), WithPollInterval(5*time.Millisecond),
				WithReceiptTimeout(300*time.Millisecond), WithProgress(progress), WithChainID(onchaintest.ChainID))
			require.NoError(t, err)

			if tt.set {
				reg, err2 := r.EnsureRegisteredSet(ctx, SetPrerequisite{App: app, ChainID: onchaintest.ChainID, ComposeHash: regCompose, DeviceIDs: []common.Hash{regDevice}})
				require.NotNil(t, reg)
				assert.Len(t, reg.Txs, 2, "the transactions were sent either way")
				err = err2
			} else {
				reg, err2 := r.EnsureRegistered(ctx, prereqFor(t, app, regDevice, regCompose))
				require.NotNil(t, reg)
				assert.NotEqual(t, common.Hash{}, reg.ComposeHashTx, "the transactions were sent either way")
				err = err2
			}
			if tt.wantErr {
				require.ErrorContains(t, err, "re-reading the contract after registration")
				require.ErrorContains(t, err, "header not found")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.failures, backend.failed, "every failed read was retried")
		})
	}
}

// The balance check uses the estimated cost of the missing writes, not a
// fixed amount such as the CLI's 0.001 ETH: an owner holding less than that
// but enough for the estimate registers.
func TestEnsureRegisteredCostIsEstimated(t *testing.T) {
	ownerKey, err := crypto.GenerateKey()
	require.NoError(t, err)
	owner := crypto.PubkeyToAddress(ownerKey.PublicKey)
	chain := newChain(t, onchaintest.WithAutoCommit(5*time.Millisecond))
	ctx := testCtx(t)
	app := deployApp(t, chain, onchaintest.AppConfig{Legacy: true})
	transact(t, chain, 0, app, NewDstackApp().PackTransferOwnership(owner))
	r := newRegistrar(t, chain, bind.NewKeyedTransactor(ownerKey, big.NewInt(onchaintest.ChainID)))
	prereq := prereqFor(t, app, regDevice, regCompose)

	_, err = r.EnsureRegistered(ctx, prereq)
	var ife *InsufficientFundsError
	require.ErrorAs(t, err, &ife)
	assert.Zero(t, ife.Balance.Sign())
	require.Positive(t, ife.Required.Sign())
	milliEther := big.NewInt(1e15)
	assert.Negative(t, ife.Required.Cmp(milliEther), "required %s wei comes from the estimate", ife.Required)
	t.Logf("addDevice + addComposeHash need up to %s wei", ife.Required)

	// Fund the owner with 1.5 × the estimate (still under 0.001 ETH).
	funds := new(big.Int).Add(ife.Required, new(big.Int).Div(ife.Required, big.NewInt(2)))
	require.Negative(t, funds.Cmp(milliEther))
	pay := chain.Transactor(1)
	gasPrice, err := chain.Client.SuggestGasPrice(ctx)
	require.NoError(t, err)
	tx, err := pay.Signer(pay.From, types.NewTx(&types.LegacyTx{
		Nonce: nonceOf(t, chain, pay.From), To: &owner, Value: funds, Gas: 21000, GasPrice: new(big.Int).Mul(gasPrice, big.NewInt(2)),
	}))
	require.NoError(t, err)
	require.NoError(t, chain.Client.SendTransaction(ctx, tx))
	_, err = chain.Mine(ctx, tx)
	require.NoError(t, err)

	reg, err := r.EnsureRegistered(ctx, prereq)
	require.NoError(t, err)
	assert.NotEqual(t, common.Hash{}, reg.DeviceTx)
	assert.NotEqual(t, common.Hash{}, reg.ComposeHashTx)
}
