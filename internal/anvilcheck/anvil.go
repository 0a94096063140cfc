//go:build anvil

// Package anvilcheck runs package onchain against Foundry's anvil, a real EVM
// node reached over real JSON-RPC (HTTP and websocket), rather than only
// go-ethereum's simulated backend. Its tests build only with -tags anvil and
// need the anvil binary: $ANVIL, else anvil on $PATH. scripts/anvil-check.sh
// installs it and runs them (make anvil-check).
package anvilcheck

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

// ChainID is the chain id every node is started with: the phala CLI's
// local-node chain.
const ChainID = onchain.ChainIDAnvil

// Node is one anvil process, killed when the test ends.
type Node struct {
	URL    string // http://127.0.0.1:port
	WSURL  string // ws://127.0.0.1:port (anvil serves both on one port)
	RPC    *rpc.Client
	Client *ethclient.Client

	noMining bool
}

// Start runs anvil on a free loopback port with chain id 31337 and extra
// arguments (e.g. "--block-time", "1" or "--no-mining"), and waits until it
// answers.
func Start(t testing.TB, args ...string) *Node {
	t.Helper()
	bin := os.Getenv("ANVIL")
	if bin == "" {
		p, err := exec.LookPath("anvil")
		if err != nil {
			t.Fatalf("anvilcheck: no anvil binary: set ANVIL or run scripts/anvil-check.sh, which installs it: %v", err)
		}
		bin = p
	}
	port := freePort(t)
	cmd := exec.Command(bin, append([]string{"--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--chain-id", strconv.FormatUint(ChainID, 10), "--silent"}, args...)...)
	setGroup(cmd)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("anvilcheck: starting %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		killGroup(cmd)
		<-exited
	})

	n := &Node{URL: "http://127.0.0.1:" + strconv.Itoa(port), WSURL: "ws://127.0.0.1:" + strconv.Itoa(port)}
	for _, a := range args {
		n.noMining = n.noMining || a == "--no-mining"
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		rc, err := rpc.Dial(n.URL)
		if err == nil {
			var id hexutil.Uint64
			if err = rc.Call(&id, "eth_chainId"); err == nil {
				n.RPC, n.Client = rc, ethclient.NewClient(rc)
				t.Cleanup(rc.Close)
				return n
			}
			rc.Close()
		}
		select {
		case <-exited:
			t.Fatalf("anvilcheck: anvil exited: %s", stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("anvilcheck: anvil not answering on %s: %v", n.URL, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Ether is n ETH in wei.
func Ether(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(params.Ether)) }

// Key is a fresh account funded with wei (anvil_setBalance).
type Key struct {
	Key     *ecdsa.PrivateKey
	Address common.Address
}

// NewKey returns a fresh key whose account holds wei.
func (n *Node) NewKey(t testing.TB, wei *big.Int) Key {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	key := Key{Key: k, Address: crypto.PubkeyToAddress(k.PublicKey)}
	n.SetBalance(t, key.Address, wei)
	return key
}

// SetBalance sets addr's balance to wei.
func (n *Node) SetBalance(t testing.TB, addr common.Address, wei *big.Int) {
	t.Helper()
	n.call(t, nil, "anvil_setBalance", addr, (*hexutil.Big)(wei))
}

// Signer is a fresh transactor of k for chain 31337.
func (k Key) Signer() *bind.TransactOpts {
	return bind.NewKeyedTransactor(k.Key, new(big.Int).SetUint64(ChainID))
}

// Mine mines one block now (evm_mine), for nodes started with --no-mining.
func (n *Node) Mine(t testing.TB) {
	t.Helper()
	n.call(t, nil, "evm_mine")
}

func (n *Node) call(t testing.TB, out any, method string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.RPC.CallContext(ctx, out, method, args...); err != nil {
		t.Fatalf("anvilcheck: %s: %v", method, err)
	}
}

// Deploy deploys a DstackApp test double owned by owner, mines it and
// returns its address (the app id).
func (n *Node) Deploy(t testing.TB, owner Key, cfg onchaintest.AppConfig) common.Address {
	t.Helper()
	ctx := Ctx(t)
	addr, tx, err := onchaintest.DeployDstackApp(ctx, n.Client, owner.Signer(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	n.MustMine(t, tx)
	return addr
}

// Transact sends calldata to app from k and mines it.
func (n *Node) Transact(t testing.TB, k Key, to common.Address, data []byte) *types.Receipt {
	t.Helper()
	tx := n.SendFrom(t, k, to, data, nil)
	return n.MustMine(t, tx)
}

// SendFrom signs and sends a transaction from k (gas estimated, pending
// nonce, EIP-1559 fees) without waiting for it.
func (n *Node) SendFrom(t testing.TB, k Key, to common.Address, data []byte, value *big.Int) *types.Transaction {
	t.Helper()
	ctx := Ctx(t)
	nonce, err := n.Client.PendingNonceAt(ctx, k.Address)
	if err != nil {
		t.Fatal(err)
	}
	gas, err := n.Client.EstimateGas(ctx, ethereum.CallMsg{From: k.Address, To: &to, Data: data, Value: value})
	if err != nil {
		t.Fatalf("anvilcheck: estimating gas: %v", err)
	}
	head, err := n.Client.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	tip := big.NewInt(params.GWei)
	fee := new(big.Int).Add(tip, new(big.Int).Mul(head.BaseFee, big.NewInt(2)))
	tx, err := types.SignNewTx(k.Key, types.LatestSignerForChainID(new(big.Int).SetUint64(ChainID)), &types.DynamicFeeTx{
		ChainID: new(big.Int).SetUint64(ChainID), Nonce: nonce, GasTipCap: tip, GasFeeCap: fee, Gas: gas, To: &to, Value: value, Data: data,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Client.SendTransaction(ctx, tx); err != nil {
		t.Fatalf("anvilcheck: sending: %v", err)
	}
	return tx
}

// MustMine mines tx (evm_mine on a --no-mining node) and returns its
// successful receipt.
func (n *Node) MustMine(t testing.TB, tx *types.Transaction) *types.Receipt {
	t.Helper()
	if n.noMining {
		n.Mine(t)
	}
	rc, err := n.WaitReceipt(Ctx(t), tx.Hash())
	if err != nil {
		t.Fatal(err)
	}
	if rc.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("anvilcheck: transaction %s reverted", tx.Hash())
	}
	return rc
}

// WaitReceipt polls for the receipt of h every 20 ms.
func (n *Node) WaitReceipt(ctx context.Context, h common.Hash) (*types.Receipt, error) {
	for {
		rc, err := n.Client.TransactionReceipt(ctx, h)
		if err == nil {
			return rc, nil
		}
		if !errors.Is(err, ethereum.NotFound) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("anvilcheck: waiting for %s: %w", h, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Ctx is a context canceled at the end of the test (60 s at most).
func Ctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Prereq is the 465 prerequisite of app on chain 31337, as the API sends it
// (hex without 0x), with no onchain_status: the Registrar reads the chain.
func Prereq(app common.Address, device, composeHash common.Hash) *onchain.ErrOnchainPrerequisite {
	return &onchain.ErrOnchainPrerequisite{
		CommitToken: "token-not-printed",
		AppID:       strings.TrimPrefix(strings.ToLower(app.Hex()), "0x"),
		ComposeHash: strings.TrimPrefix(composeHash.Hex(), "0x"),
		DeviceID:    strings.TrimPrefix(device.Hex(), "0x"),
		KMSInfo:     &onchain.KMSInfo{ChainID: ChainID},
	}
}

// Hash is a deterministic bytes32 for tests: tag then i.
func Hash(tag byte, i int) common.Hash {
	var h common.Hash
	h[0] = tag
	h[31] = byte(i)
	h[30] = byte(i >> 8)
	return h
}

// Proxy is a JSON-RPC relay in front of a node that records the methods of
// every round trip (one HTTP request, a single call or a batch).
type Proxy struct {
	URL   string
	mu    sync.Mutex
	trips [][]string
	null  map[string]bool
}

// AnswerNull makes the proxy answer single requests of method with a null
// result instead of relaying them, as a node that does not know the object
// (or one behind a load balancer that lost track of it) does.
func (p *Proxy) AnswerNull(method string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.null[method] = true
}

// NewProxy relays to target until the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p := &Proxy{null: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var msgs []struct {
			Method string `json:"method"`
		}
		if b := bytes.TrimSpace(body); len(b) > 0 && b[0] == '[' {
			_ = json.Unmarshal(b, &msgs)
		} else {
			msgs = make([]struct {
				Method string `json:"method"`
			}, 1)
			_ = json.Unmarshal(b, &msgs[0])
		}
		methods := make([]string, len(msgs))
		for i, m := range msgs {
			methods[i] = m.Method
		}
		p.mu.Lock()
		p.trips = append(p.trips, methods)
		null := len(msgs) == 1 && body[0] != '[' && p.null[methods[0]]
		p.mu.Unlock()
		if null {
			var req struct {
				ID json.RawMessage `json:"id"`
			}
			_ = json.Unmarshal(body, &req)
			w.Header().Set("Content-Type", "application/json")
			_, _ = fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":null}`, req.ID)
			return
		}
		resp, err := http.Post(target, "application/json", bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// Trips returns the round trips so far and forgets them.
func (p *Proxy) Trips() [][]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.trips
	p.trips = nil
	return out
}

// RevertingCode is runtime bytecode that reverts every call with
// Error(reason): anvil_setCode puts it in place of a contract to make a
// transaction already sent to it revert when mined.
func RevertingCode(reason string) []byte {
	data := append([]byte{0x08, 0xc3, 0x79, 0xa0}, common.LeftPadBytes([]byte{0x20}, 32)...)
	data = append(data, common.LeftPadBytes(big.NewInt(int64(len(reason))).Bytes(), 32)...)
	data = append(data, common.RightPadBytes([]byte(reason), (len(reason)+31)/32*32)...)
	var code []byte
	for off := 0; off < len(data); off += 32 {
		word := common.RightPadBytes(data[off:min(off+32, len(data))], 32)
		code = append(code, 0x7f) // PUSH32 word
		code = append(code, word...)
		code = append(code, 0x61, byte(off>>8), byte(off)) // PUSH2 off
		code = append(code, 0x52)                          // MSTORE
	}
	code = append(code, 0x61, byte(len(data)>>8), byte(len(data)), 0x60, 0x00, 0xfd) // PUSH2 len PUSH1 0 REVERT
	return code
}

// SetCode replaces the code at addr (anvil_setCode).
func (n *Node) SetCode(t testing.TB, addr common.Address, code []byte) {
	t.Helper()
	n.call(t, nil, "anvil_setCode", addr, hexutil.Bytes(code))
}
