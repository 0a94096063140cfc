// Package onchaintest runs an in-process Ethereum chain (go-ethereum's
// simulated backend, a real EVM) with funded accounts, and deploys the
// DstackApp and DstackKms test doubles compiled from onchain/contracts.
// Tests, the API emulator, examples and demos use it to exercise package
// onchain without a network.
//
// A simulated chain always has chain id 1337 ([ChainID]). Nothing is mined
// until [Chain.Commit] is called, unless the chain was created with
// [WithAutoCommit].
//
//	chain := onchaintest.NewChain(onchaintest.WithAutoCommit(10 * time.Millisecond))
//	defer chain.Close()
//	app, err := chain.DeployDstackApp(ctx, chain.Transactor(0), onchaintest.AppConfig{})
package onchaintest

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"
)

// ChainID is the chain id of every simulated chain.
const ChainID = 1337

// DefaultBalance is the genesis balance of each account: 1000 ETH.
var DefaultBalance = new(big.Int).Mul(big.NewInt(1000), big.NewInt(params.Ether))

// Account is a funded externally owned account of a Chain. Its key is a
// well-known test key: never use it on a real chain.
type Account struct {
	Key     *ecdsa.PrivateKey
	Address common.Address
}

// Chain is a simulated chain. Its methods are safe for concurrent use.
type Chain struct {
	// Backend is the simulated backend. Prefer Chain.Commit to
	// Backend.Commit: it is serialised with the auto-committer.
	Backend *simulated.Backend
	// Client talks to the chain; it satisfies bind.ContractBackend,
	// bind.DeployBackend and onchain.Backend.
	Client simulated.Client
	// Accounts are funded with the configured balance at genesis.
	Accounts []Account

	url      string
	wsURL    string
	ipc      string
	rpcOnce  sync.Once
	rpc      *rpc.Client
	rpcErr   error
	commitMu sync.Mutex
	stop     chan struct{}
	done     chan struct{}
	closeMu  sync.Mutex
	closed   bool
}

type config struct {
	accounts   int
	balance    *big.Int
	alloc      types.GenesisAlloc
	autoCommit time.Duration
	http       bool
	ws         bool
}

// Option configures NewChain.
type Option func(*config)

// WithAccounts sets how many funded accounts the chain has (default 4).
func WithAccounts(n int) Option {
	return func(c *config) { c.accounts = n }
}

// WithBalance sets the genesis balance of every account in Accounts
// (default [DefaultBalance]).
func WithBalance(wei *big.Int) Option {
	return func(c *config) { c.balance = new(big.Int).Set(wei) }
}

// WithFunds gives addr a genesis balance of wei, e.g. a signer that should
// be short of funds.
func WithFunds(addr common.Address, wei *big.Int) Option {
	return func(c *config) {
		c.alloc[addr] = types.Account{Balance: new(big.Int).Set(wei)}
	}
}

// WithAutoCommit mines a block every interval if transactions are pending,
// so code that sends a transaction and waits for its receipt (such as
// onchain.Registrar) works without a test calling Commit.
func WithAutoCommit(interval time.Duration) Option {
	return func(c *config) { c.autoCommit = interval }
}

// WithHTTP also serves the chain's JSON-RPC API over HTTP on a free loopback
// port; see [Chain.URL]. Useful to exercise real JSON-RPC batching and to
// count round trips.
func WithHTTP() Option {
	return func(c *config) { c.http = true }
}

// WithWebSocket also serves the chain's JSON-RPC API over a websocket on a
// free loopback port; see [Chain.WSURL]. Useful to exercise subscriptions
// (newHeads) the way a client of a real node does.
func WithWebSocket() Option {
	return func(c *config) { c.ws = true }
}

// NewChain starts a simulated chain. It panics with an "onchaintest: …"
// message if the chain cannot start (as httptest.NewServer does), so test
// setup stays a one-liner. The caller should call Close when finished.
func NewChain(opts ...Option) *Chain {
	cfg := config{accounts: 4, balance: DefaultBalance, alloc: types.GenesisAlloc{}}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.accounts < 0 {
		panic("onchaintest: WithAccounts: negative count")
	}
	if cfg.autoCommit < 0 {
		panic("onchaintest: WithAutoCommit: negative interval")
	}
	c := &Chain{}
	alloc := types.GenesisAlloc{}
	for i := 0; i < cfg.accounts; i++ {
		key := testKey(i)
		a := Account{Key: key, Address: crypto.PubkeyToAddress(key.PublicKey)}
		c.Accounts = append(c.Accounts, a)
		alloc[a.Address] = types.Account{Balance: new(big.Int).Set(cfg.balance)}
	}
	for addr, acc := range cfg.alloc {
		alloc[addr] = acc
	}

	var err error
	for attempt := 0; attempt < 5; attempt++ {
		c.Backend, c.url, c.wsURL, c.ipc, err = startBackend(alloc, cfg.http, cfg.ws)
		if err == nil {
			break
		}
	}
	if err != nil {
		panic("onchaintest: " + err.Error())
	}
	c.Client = c.Backend.Client()
	if cfg.autoCommit > 0 {
		c.stop = make(chan struct{})
		c.done = make(chan struct{})
		go c.autoCommit(cfg.autoCommit)
	}
	return c
}

// startBackend starts a simulated backend serving JSON-RPC over IPC (for
// RPCClient) and optionally over HTTP and a websocket on free loopback
// ports. The ports are chosen first and may be taken by someone else in
// between: node start then fails (the backend panics) and the caller
// retries.
func startBackend(alloc types.GenesisAlloc, withHTTP, withWS bool) (b *simulated.Backend, url, wsURL, ipc string, err error) {
	var port, wsPort int
	if withHTTP {
		if port, err = freePort(); err != nil {
			return nil, "", "", "", err
		}
		url = "http://127.0.0.1:" + strconv.Itoa(port)
	}
	if withWS {
		if wsPort, err = freePort(); err != nil {
			return nil, "", "", "", err
		}
		wsURL = "ws://127.0.0.1:" + strconv.Itoa(wsPort)
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, "", "", "", err
	}
	// A bare name: the node puts it in the OS temp dir (or names a pipe on
	// Windows); IPCEndpoint gives the full path.
	ipcConf := node.Config{IPCPath: "onchaintest-" + hex.EncodeToString(rnd[:]) + ".ipc"}
	ipc = ipcConf.IPCEndpoint()
	defer func() {
		if r := recover(); r != nil {
			b, url, wsURL, ipc, err = nil, "", "", "", fmt.Errorf("starting the simulated backend: %v", r)
		}
	}()
	b = simulated.NewBackend(alloc, func(nc *node.Config, _ *ethconfig.Config) {
		nc.IPCPath = ipcConf.IPCPath
		if withHTTP {
			nc.HTTPHost = "127.0.0.1"
			nc.HTTPPort = port
			nc.HTTPModules = []string{"eth", "net", "web3"}
			nc.HTTPVirtualHosts = []string{"localhost", "127.0.0.1"}
		}
		if withWS {
			nc.WSHost = "127.0.0.1"
			nc.WSPort = wsPort
			nc.WSModules = []string{"eth", "net", "web3"}
		}
	})
	return b, url, wsURL, ipc, nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// testKey derives the well-known private key of account i.
func testKey(i int) *ecdsa.PrivateKey {
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], uint64(i))
	key, err := crypto.ToECDSA(crypto.Keccak256([]byte("phala-go onchaintest account"), seed[:]))
	if err != nil { // keccak output is a valid key with overwhelming probability
		panic("onchaintest: deriving test key: " + err.Error())
	}
	return key
}

func (c *Chain) autoCommit(interval time.Duration) {
	defer close(c.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			if c.Pending() > 0 {
				c.Commit()
			}
		}
	}
}

// Pending returns the number of executable transactions waiting in the
// pool, i.e. what the next Commit will mine (unlike the "pending" block of
// eth_getBlockTransactionCountByNumber, which the miner refreshes only
// every few seconds). It returns 0 if the pool cannot be read.
func (c *Chain) Pending() int {
	rc, err := c.dial()
	if err != nil {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var st struct {
		Pending hexutil.Uint64 `json:"pending"`
	}
	if err := rc.CallContext(ctx, &st, "txpool_status"); err != nil {
		return 0
	}
	return int(st.Pending)
}

// Commit mines the pending transactions into a new block and returns its
// hash.
func (c *Chain) Commit() common.Hash {
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	return c.Backend.Commit()
}

// URL is the HTTP JSON-RPC endpoint (http://127.0.0.1:port, no trailing
// slash) when the chain was created WithHTTP, else "".
func (c *Chain) URL() string { return c.url }

// WSURL is the websocket JSON-RPC endpoint (ws://127.0.0.1:port) when the
// chain was created WithWebSocket, else "".
func (c *Chain) WSURL() string { return c.wsURL }

// RPCClient returns a JSON-RPC client of the chain over a local IPC socket,
// e.g. for onchain.WithRPCClient (the simulated backend does not expose its
// own). It is created on first use; do not close it, Close does. It panics
// if the socket cannot be dialled.
func (c *Chain) RPCClient() *rpc.Client {
	rc, err := c.dial()
	if err != nil {
		panic("onchaintest: dialling the chain's IPC endpoint: " + err.Error())
	}
	return rc
}

func (c *Chain) dial() (*rpc.Client, error) {
	c.rpcOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.rpc, c.rpcErr = rpc.DialIPC(ctx, c.ipc)
	})
	return c.rpc, c.rpcErr
}

// Transactor returns fresh transaction options signing for Accounts[i] on
// chain 1337. It panics if i is out of range.
func (c *Chain) Transactor(i int) *bind.TransactOpts {
	if i < 0 || i >= len(c.Accounts) {
		panic(fmt.Sprintf("onchaintest: Transactor(%d): chain has %d accounts", i, len(c.Accounts)))
	}
	return bind.NewKeyedTransactor(c.Accounts[i].Key, big.NewInt(ChainID))
}

// Mine makes sure txs are mined (committing a block unless the chain
// auto-commits) and returns their receipts. A reverted transaction is an
// error. It returns only once the chain's head holds every receipt's block,
// so a call or gas estimate at the latest block sees the transactions'
// effects: go-ethereum makes a receipt readable a moment before it moves
// the head, and a gas estimate made in that window is too low.
func (c *Chain) Mine(ctx context.Context, txs ...*types.Transaction) ([]*types.Receipt, error) {
	if c.stop == nil {
		c.Commit()
	}
	receipts := make([]*types.Receipt, len(txs))
	for i, tx := range txs {
		r, err := c.waitReceipt(ctx, tx.Hash())
		if err != nil {
			return nil, err
		}
		if r.Status != types.ReceiptStatusSuccessful {
			return nil, fmt.Errorf("onchaintest: transaction %s reverted", tx.Hash())
		}
		receipts[i] = r
	}
	return receipts, nil
}

func (c *Chain) waitReceipt(ctx context.Context, h common.Hash) (*types.Receipt, error) {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		r, err := c.Client.TransactionReceipt(ctx, h)
		if err == nil {
			head, err := c.Client.BlockNumber(ctx)
			if err == nil && r.BlockNumber != nil && head >= r.BlockNumber.Uint64() {
				return r, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("onchaintest: waiting for %s: %w", h, ctx.Err())
		case <-t.C:
		}
	}
}

// Close stops the auto-committer and shuts the chain down. It is safe to
// call more than once.
func (c *Chain) Close() error {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if c.stop != nil {
		close(c.stop)
		<-c.done
	}
	c.rpcOnce.Do(func() {}) // no dial after Close
	if c.rpc != nil {
		c.rpc.Close()
	}
	return c.Backend.Close()
}
