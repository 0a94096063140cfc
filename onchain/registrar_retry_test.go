package onchain

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

// A chain id given with WithChainID is checked against the one the 465
// names, never put in its place.
func TestEnsureRegisteredChainIDOptionAndPayload(t *testing.T) {
	chain := newChain(t, onchaintest.WithAutoCommit(5*time.Millisecond))
	ctx := testCtx(t)
	tests := []struct {
		name    string
		payload uint64 // kms_info.chain_id; 0: no kms_info
		option  uint64 // WithChainID; 0: not given
		want    *WrongChainError
	}{
		{"payload names another chain than the option and backend", 8453, onchaintest.ChainID, &WrongChainError{Want: 8453, Configured: onchaintest.ChainID}},
		{"option names another chain than the payload and backend", onchaintest.ChainID, 8453, &WrongChainError{Want: onchaintest.ChainID, Configured: 8453}},
		{"option and payload agree with the backend", onchaintest.ChainID, onchaintest.ChainID, nil},
		{"option alone", 0, onchaintest.ChainID, nil},
		{"option alone, backend elsewhere", 0, 8453, &WrongChainError{Want: 8453, Got: onchaintest.ChainID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := deployApp(t, chain, onchaintest.AppConfig{})
			p := prereqFor(t, app, regDevice, regCompose)
			p.KMSInfo.ChainID = tt.payload
			if tt.payload == 0 {
				p.KMSInfo = nil
			}
			owner := chain.Accounts[0].Address
			nonce := nonceOf(t, chain, owner)
			reg, err := newRegistrar(t, chain, chain.Transactor(0), WithChainID(tt.option)).EnsureRegistered(ctx, p)
			if tt.want == nil {
				require.NoError(t, err)
				assert.NotEqual(t, common.Hash{}, reg.ComposeHashTx)
				return
			}
			assert.Nil(t, reg)
			var wce *WrongChainError
			require.ErrorAs(t, err, &wce)
			assert.Equal(t, *tt.want, *wce)
			assert.Equal(t, nonce, nonceOf(t, chain, owner), "nothing signed or sent")
		})
	}
}

// minedOnReceiptPoll is the simulated chain's client that mines a block
// the first time a receipt is asked for once armed.
type minedOnReceiptPoll struct {
	Backend
	chain *onchaintest.Chain
	armed atomic.Bool
}

func (b *minedOnReceiptPoll) TransactionReceipt(ctx context.Context, h common.Hash) (*types.Receipt, error) {
	if b.armed.CompareAndSwap(true, false) {
		if _, err := b.chain.Mine(ctx); err != nil {
			return nil, err
		}
	}
	return b.Backend.TransactionReceipt(ctx, h)
}

func TestEnsureRegisteredRetryAfterReceiptTimeoutSendsNothing(t *testing.T) {
	chain := newChain(t) // nothing is mined unless the test says so
	ctx := testCtx(t)
	app := deployApp(t, chain, onchaintest.AppConfig{})
	owner := chain.Accounts[0].Address
	nonce := nonceOf(t, chain, owner)
	backend := &minedOnReceiptPoll{Backend: chain.Client, chain: chain}
	var ev events
	r, err := NewRegistrar(backend, chain.Transactor(0), WithPollInterval(5*time.Millisecond),
		WithReceiptTimeout(100*time.Millisecond), WithProgress(ev.add))
	require.NoError(t, err)
	prereq := prereqFor(t, app, regDevice, regCompose)

	first, err := r.EnsureRegistered(ctx, prereq)
	var rte *ReceiptTimeoutError
	require.ErrorAs(t, err, &rte)
	require.NotNil(t, first)
	require.Equal(t, 2, chain.Pending())

	// The retry waits for the same transactions: nothing new in the pool.
	again, err := r.EnsureRegistered(ctx, prereq)
	require.ErrorAs(t, err, &rte)
	assert.Equal(t, first, again, "the same transactions")
	assert.Equal(t, []common.Hash{first.DeviceTx, first.ComposeHashTx}, rte.TxHashes)
	assert.Equal(t, 2, chain.Pending(), "the pool holds exactly the original transactions")
	assert.Equal(t, nonce+2, nonceOf(t, chain, owner))

	// Mined while the next retry waits: it succeeds with the original hashes.
	backend.armed.Store(true)
	done, err := r.EnsureRegistered(ctx, prereq)
	require.NoError(t, err)
	assert.Equal(t, first.DeviceTx, done.DeviceTx)
	assert.Equal(t, first.ComposeHashTx, done.ComposeHashTx)
	assert.Equal(t, nonce+2, nonceOf(t, chain, owner), "two transactions in all")
	assert.Equal(t, 2, countKind(ev.list, EventSubmitted), "submitted once each")
	st, err := Status(ctx, chain.Client, app, regDevice, regCompose, AtBlock(done.Block))
	require.NoError(t, err)
	assert.True(t, st.IsAllowed)

	// Registered: a later call finds nothing to do.
	later, err := r.EnsureRegistered(ctx, prereq)
	require.NoError(t, err)
	assert.Equal(t, AlreadyRegistered, later.CommitTransactionHash())
}

func countKind(list []Event, k EventKind) int {
	n := 0
	for _, e := range list {
		if e.Kind == k {
			n++
		}
	}
	return n
}

// hiddenTx is the simulated chain's client answering "not found" for
// transactions in hide, as a node that dropped them from its pool does.
type hiddenTx struct {
	Backend
	hide map[common.Hash]bool
	sent atomic.Int64
}

func (b *hiddenTx) TransactionReceipt(ctx context.Context, h common.Hash) (*types.Receipt, error) {
	if b.hide[h] {
		return nil, ethereum.NotFound
	}
	return b.Backend.TransactionReceipt(ctx, h)
}

func (b *hiddenTx) TransactionByHash(ctx context.Context, h common.Hash) (*types.Transaction, bool, error) {
	if b.hide[h] {
		return nil, false, ethereum.NotFound
	}
	return b.Backend.TransactionByHash(ctx, h)
}

func (b *hiddenTx) SendTransaction(ctx context.Context, tx *types.Transaction) error {
	b.sent.Add(1)
	return b.Backend.SendTransaction(ctx, tx)
}

// A transaction the node no longer knows is broadcast again unchanged (the
// same hash), never replaced by a new one.
func TestEnsureRegisteredRetryRebroadcastsADroppedTransaction(t *testing.T) {
	chain := newChain(t)
	ctx := testCtx(t)
	app := deployApp(t, chain, onchaintest.AppConfig{DeviceID: regDevice})
	owner := chain.Accounts[0].Address
	nonce := nonceOf(t, chain, owner)
	backend := &hiddenTx{Backend: chain.Client, hide: map[common.Hash]bool{}}
	r, err := NewRegistrar(backend, chain.Transactor(0), WithPollInterval(5*time.Millisecond), WithReceiptTimeout(100*time.Millisecond))
	require.NoError(t, err)
	prereq := prereqFor(t, app, regDevice, regCompose)

	first, err := r.EnsureRegistered(ctx, prereq)
	var rte *ReceiptTimeoutError
	require.ErrorAs(t, err, &rte)
	backend.hide[first.ComposeHashTx] = true
	backend.sent.Store(0)

	again, err := r.EnsureRegistered(ctx, prereq)
	require.ErrorAs(t, err, &rte)
	assert.Equal(t, first.ComposeHashTx, again.ComposeHashTx)
	assert.Equal(t, int64(1), backend.sent.Load(), "broadcast again")
	assert.Equal(t, 1, chain.Pending())
	assert.Equal(t, nonce+1, nonceOf(t, chain, owner))
}

func TestEnsureRegisteredRefusesUnknownPendingTransactions(t *testing.T) {
	tests := []struct {
		name    string
		pending func(t *testing.T, chain *onchaintest.Chain, app common.Address) // leaves owner transactions in the pool
		want    uint64                                                           // how many
	}{
		{"another process's transaction", func(t *testing.T, chain *onchaintest.Chain, app common.Address) {
			_, err := chain.Transact(testCtx(t), chain.Transactor(0), app, NewDstackApp().PackAddComposeHash(common.HexToHash("0x99")))
			require.NoError(t, err)
		}, 1},
		{"another Registrar's registration", func(t *testing.T, chain *onchaintest.Chain, app common.Address) {
			other := newRegistrar(t, chain, chain.Transactor(0), WithReceiptTimeout(50*time.Millisecond))
			_, err := other.EnsureRegistered(testCtx(t), prereqFor(t, app, regDevice, regCompose))
			var rte *ReceiptTimeoutError
			require.ErrorAs(t, err, &rte)
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chain := newChain(t)
			ctx := testCtx(t)
			app := deployApp(t, chain, onchaintest.AppConfig{})
			owner := chain.Accounts[0].Address
			latest := nonceOf(t, chain, owner)
			tt.pending(t, chain, app)

			reg, err := newRegistrar(t, chain, chain.Transactor(0)).EnsureRegistered(ctx, prereqFor(t, app, regDevice, regCompose))
			assert.Nil(t, reg)
			var pte *PendingTransactionsError
			require.ErrorAs(t, err, &pte)
			assert.Equal(t, PendingTransactionsError{Account: owner, Latest: latest, Pending: latest + tt.want}, *pte)
			assert.Equal(t, int(tt.want), chain.Pending(), "nothing sent")
		})
	}
}

func TestEnsureRegisteredFixedNonceIsUsedOnce(t *testing.T) {
	chain := newChain(t, onchaintest.WithAutoCommit(5*time.Millisecond))
	ctx := testCtx(t)
	apps := []common.Address{deployApp(t, chain, onchaintest.AppConfig{}), deployApp(t, chain, onchaintest.AppConfig{}), deployApp(t, chain, onchaintest.AppConfig{})}
	owner := chain.Accounts[0].Address
	signer := chain.Transactor(0)
	nonce := nonceOf(t, chain, owner)
	signer.Nonce = new(big.Int).SetUint64(nonce)
	r := newRegistrar(t, chain, signer)

	first, err := r.EnsureRegistered(ctx, prereqFor(t, apps[0], regDevice, regCompose))
	require.NoError(t, err)
	before := nonceOf(t, chain, owner)

	_, err = r.EnsureRegistered(ctx, prereqFor(t, apps[1], regDevice, regCompose))
	var nre *NonceReusedError
	require.ErrorAs(t, err, &nre)
	assert.Equal(t, NonceReusedError{Account: owner, Nonce: nonce, TxHash: first.DeviceTx}, *nre)
	assert.Equal(t, before, nonceOf(t, chain, owner), "nothing sent")

	// A new fixed nonce is the caller's choice.
	signer.Nonce = new(big.Int).SetUint64(before)
	_, err = r.EnsureRegistered(ctx, prereqFor(t, apps[2], regDevice, regCompose))
	require.NoError(t, err)
}

// keyedEndpoint is an HTTP transport for a provider URL carrying an API key
// in its path and query: it forwards to the chain until fail requests have
// gone through, then fails every request like a dropped connection. The
// http.Client quotes the request URL in the error.
type keyedEndpoint struct {
	target *url.URL
	fail   int64
	n      atomic.Int64
}

func (k *keyedEndpoint) RoundTrip(r *http.Request) (*http.Response, error) {
	if k.n.Add(1) > k.fail {
		return nil, errors.New("connection reset by peer")
	}
	c := r.Clone(r.Context())
	c.URL.Scheme, c.URL.Host, c.URL.Path, c.URL.RawQuery = k.target.Scheme, k.target.Host, "/", ""
	c.Host = ""
	return http.DefaultTransport.RoundTrip(c)
}

func TestErrorsRedactRPCURL(t *testing.T) {
	const secret = "s3cr3tPr0jectKey"
	chain := newChain(t, onchaintest.WithHTTP(), onchaintest.WithAutoCommit(5*time.Millisecond))
	ctx := testCtx(t)
	target, err := url.Parse(chain.URL())
	require.NoError(t, err)
	providerURL := "http://" + target.Host + "/v3/" + secret + "?apikey=" + secret
	kms, err := chain.DeployDstackKms(ctx, chain.Transactor(0), onchaintest.KMSInfo{})
	require.NoError(t, err)

	dial := func(t *testing.T, fail int64) (*ethclient.Client, *rpc.Client) {
		rc, err := rpc.DialOptions(ctx, providerURL, rpc.WithHTTPClient(&http.Client{Transport: &keyedEndpoint{target: target, fail: fail}}))
		require.NoError(t, err)
		t.Cleanup(rc.Close)
		return ethclient.NewClient(rc), rc
	}
	check := func(t *testing.T, err error, logs string) {
		t.Helper()
		require.Error(t, err)
		assert.NotContains(t, err.Error(), secret)
		assert.NotContains(t, logs, secret)
	}

	t.Run("readers", func(t *testing.T) {
		app := deployApp(t, chain, onchaintest.AppConfig{})
		client, rc := dial(t, 0)
		_, err := Status(ctx, client, app, regDevice, regCompose)
		check(t, err, "")
		assert.Contains(t, err.Error(), "http://"+target.Host+"/…", "the host is kept")
		_, err = Status(ctx, nil, app, regDevice, regCompose, WithRPCClient(rc))
		check(t, err, "")
		_, err = ContractVersion(ctx, client, app)
		check(t, err, "")
		_, err = KMSRootKey(ctx, client, kms)
		check(t, err, "")
	})

	// The connection breaks after each request of a registration in turn,
	// until one gets through.
	fail := int64(0)
	for ; fail < 100; fail++ {
		app := deployApp(t, chain, onchaintest.AppConfig{})
		client, rc := dial(t, fail)
		var logs bytes.Buffer
		r, err := NewRegistrar(client, chain.Transactor(0), WithRPCClient(rc), WithPollInterval(5*time.Millisecond),
			WithReceiptTimeout(50*time.Millisecond), WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
		require.NoError(t, err)
		_, err = r.EnsureRegistered(ctx, prereqFor(t, app, regDevice, regCompose))
		if err == nil {
			break
		}
		check(t, err, logs.String())
		// Let the chain mine whatever went through before the next round.
		for chain.Pending() > 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	// Status batch (with the send reads), send batch, receipt polls,
	// re-read: at least four round trips, each of which failed once.
	assert.Greater(t, fail, int64(3), "a registration makes more requests than that")
	assert.Less(t, fail, int64(100), "a registration succeeds once the connection holds")
}

func TestRedactURLsIn(t *testing.T) {
	tests := []struct{ in, want string }{
		{`Post "https://eth.example.com/v3/KEY": EOF`, `Post "https://eth.example.com/…": EOF`},
		{"dial wss://u:p@node.example.com:8546 failed", "dial wss://node.example.com:8546/… failed"},
		{"two: http://a.example/KEY1 and HTTPS://b.example?key=KEY2", "two: http://a.example/… and https://b.example/…"},
		{"bare host https://mainnet.base.org stays", "bare host https://mainnet.base.org stays"},
		{"other scheme ipc:///tmp/geth.ipc stays", "other scheme ipc:///tmp/geth.ipc stays"},
		{"no url: header not found", "no url: header not found"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, redactURLsIn(tt.in), tt.in)
	}
	orig := errors.New(`Post "https://eth.example.com/v3/KEY": EOF`)
	err := redactURLs(orig)
	assert.ErrorIs(t, err, orig, "the original stays in the chain")
	assert.Nil(t, redactURLs(nil))
}
