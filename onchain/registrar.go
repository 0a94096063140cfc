package onchain

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"
)

// Backend is what a [Registrar] needs from a node: go-ethereum's contract
// and deployment backends plus the chain id, balances, mined nonces and
// transaction lookups. *ethclient.Client and the simulated backend's client
// satisfy it.
type Backend interface {
	bind.ContractBackend
	bind.DeployBackend
	ChainID(ctx context.Context) (*big.Int, error)
	BalanceAt(ctx context.Context, account common.Address, blockNumber *big.Int) (*big.Int, error)
	// NonceAt is the account's nonce at blockNumber (nil: the latest block).
	NonceAt(ctx context.Context, account common.Address, blockNumber *big.Int) (uint64, error)
	TransactionByHash(ctx context.Context, hash common.Hash) (tx *types.Transaction, isPending bool, err error)
}

// EventKind says what happened to a registration transaction.
type EventKind string

// The kinds of progress [Event].
const (
	EventSubmitted EventKind = "submitted" // accepted by the node
	EventMined     EventKind = "mined"     // included in a block
	EventConfirmed EventKind = "confirmed" // the configured number of confirmations reached
)

// Event reports the progress of one registration transaction; see
// [WithProgress].
type Event struct {
	Kind   EventKind   `json:"kind"`
	Method string      `json:"method"`  // "addDevice" or "addComposeHash"
	TxHash common.Hash `json:"tx_hash"` //
	Nonce  uint64      `json:"nonce"`   //
	Block  uint64      `json:"block"`   // the including block (0 for EventSubmitted)
}

// Registration is the result of [Registrar.EnsureRegistered].
type Registration struct {
	DeviceTx      common.Hash `json:"device_tx,omitzero"`       // addDevice transaction; zero (left out of JSON) if none was needed
	ComposeHashTx common.Hash `json:"compose_hash_tx,omitzero"` // addComposeHash transaction; zero (left out of JSON) if none was needed
	// Block is the block at which the registration was verified: the block
	// of the last receipt, or the block read when nothing was needed.
	Block uint64 `json:"block"`
}

// CommitTransactionHash is the transaction_hash for the commit call: the
// compose-hash transaction if one was sent, else the device transaction,
// else [AlreadyRegistered].
func (r *Registration) CommitTransactionHash() string {
	switch {
	case r == nil:
		return AlreadyRegistered
	case r.ComposeHashTx != (common.Hash{}):
		return r.ComposeHashTx.Hex()
	case r.DeviceTx != (common.Hash{}):
		return r.DeviceTx.Hex()
	default:
		return AlreadyRegistered
	}
}

// Registrar registers compose hashes and devices on DstackApp contracts
// from an owner account. The signer is a *bind.TransactOpts, so keystore,
// hardware and remote signers work as well as [SignerFromHex].
//
// A Registrar remembers the transactions it sent: a later EnsureRegistered
// for the same write (after a [*ReceiptTimeoutError] or a canceled
// context) waits for the earlier transaction instead of sending another
// one. It never sends while the signer's account has pending transactions
// it did not send itself ([*PendingTransactionsError]), so use one
// Registrar per signer and keep it for retries. A Registrar is safe for
// concurrent use: calls choose nonces and send one at a time.
type Registrar struct {
	backend Backend
	signer  *bind.TransactOpts
	opts    *options
	log     *slog.Logger

	// sendMu serialises deciding what to send, choosing nonces and
	// sending, and guards sent and nonces.
	sendMu sync.Mutex
	// sent is the transaction sent for each write, until it is mined.
	sent map[writeKey]*types.Transaction
	// nonces holds every nonce this Registrar sent at, and the transaction.
	nonces map[uint64]common.Hash
	// sends counts the sends: reads made before one are stale after it.
	sends uint64

	// chain is the chain id the backend was checked to serve (0: not yet).
	chain atomic.Uint64
	// head is the latest block read, from which the block time of an
	// unknown chain is measured; measured is that block time (0: not yet).
	head     atomic.Pointer[blockRef]
	measured atomic.Int64
}

// writeKey names one write: the same method with the same argument on the
// same contract is the same registration.
type writeKey struct {
	app    common.Address
	method string
	arg    common.Hash
}

// NewRegistrar returns a Registrar sending from signer through backend.
// Options: [WithChainID], [WithConfirmations], [WithReceiptTimeout],
// [WithPollInterval], [WithBlockTime], [WithCheckedChainID], [WithProgress],
// [WithLogger], [WithRPCClient].
func NewRegistrar(backend Backend, signer *bind.TransactOpts, opts ...Option) (*Registrar, error) {
	if backend == nil {
		return nil, errors.New("onchain: NewRegistrar: nil backend")
	}
	if signer == nil || signer.Signer == nil {
		return nil, errors.New("onchain: NewRegistrar: signer must have a Signer function")
	}
	if signer.From == (common.Address{}) {
		return nil, errors.New("onchain: NewRegistrar: signer has no From address")
	}
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	r := &Registrar{backend: backend, signer: signer, opts: o, log: o.logger,
		sent: map[writeKey]*types.Transaction{}, nonces: map[uint64]common.Hash{}}
	r.chain.Store(o.checkedChainID)
	return r, nil
}

// write is one planned addDevice/addComposeHash call.
type write struct {
	key    writeKey
	method string
	data   []byte
	gas    uint64
	tx     *types.Transaction
}

// EnsureRegistered makes the DstackApp contract named by prereq allow its
// compose hash and device:
//
//  1. It checks that the backend is on the app's chain, the one the
//     prerequisite's kms_info names (and [WithChainID], if given, must
//     name the same chain): [*WrongChainError]. It reads the contract's
//     state at the latest block. If nothing is missing it returns at once,
//     without sending anything.
//  2. A missing write this Registrar already sent in an earlier call, whose
//     transaction is still pending or was mined after the state read, is
//     not sent again: this call waits for that transaction. A dropped one
//     whose nonce is still free is broadcast again as is (same hash).
//  3. For the other missing writes, it checks that the signer is owner()
//     ([*NotOwnerError]), estimates the gas of each, and checks that the
//     balance covers gas × max fee for all of them
//     ([*InsufficientFundsError]). It refuses to send while the account has
//     pending transactions this Registrar did not send
//     ([*PendingTransactionsError]); a fixed signer Nonce is used for one
//     send only ([*NonceReusedError] after that).
//  4. It sends them (addDevice, then addComposeHash), with consecutive
//     nonces, back to back, and waits for all receipts together, then for
//     the configured confirmations ([*ReceiptTimeoutError] on timeout).
//  5. It decodes reverts ([*RevertError]) and re-reads the contract at the
//     receipts' block: success is reported only once the chain shows the
//     compose hash and device as allowed ([*StateNotConfirmedError]).
//
// Once a transaction has been sent (or an earlier one resumed), any error
// comes with a non-nil Registration listing those transactions; calling
// EnsureRegistered again on the same Registrar resumes waiting for them.
// No error names an RPC URL's path or query, where providers put API keys.
func (r *Registrar) EnsureRegistered(ctx context.Context, prereq *ErrOnchainPrerequisite) (*Registration, error) {
	return r.EnsureRegisteredChecked(ctx, prereq, nil)
}

// EnsureRegisteredChecked is [Registrar.EnsureRegistered] with a check of the
// caller's that runs alongside the first read of the chain, such as comparing
// the prerequisite with what the caller knows of its app over HTTP: the check
// and the read each take a round trip, and this way they overlap.
//
// The read (the chain id, the contract's state and, with a JSON-RPC client,
// what sending needs: owner, balance, nonces, fees and gas estimates) goes
// out at once; nothing is signed or sent until check has returned nil. An
// error from check is returned as is, with no Registration, even when the
// read failed too, and the read is cancelled.
// check must not modify prereq, which the read uses at the same time. A nil
// check is EnsureRegistered.
func (r *Registrar) EnsureRegisteredChecked(ctx context.Context, prereq *ErrOnchainPrerequisite, check func(context.Context) error) (*Registration, error) {
	var checkErr error
	reg, err := r.ensure(ctx, prereq, check, &checkErr)
	if checkErr != nil {
		return nil, checkErr
	}
	return reg, redactURLs(err)
}

// ensure is EnsureRegisteredChecked; a failed check is reported in *checkErr.
func (r *Registrar) ensure(ctx context.Context, prereq *ErrOnchainPrerequisite, check func(context.Context) error, checkErr *error) (*Registration, error) {
	// Until it has passed, the check runs concurrently with what follows up
	// to the state read, which only reads.
	wait, readCtx := func() error { return nil }, ctx
	if check != nil {
		var cancelRead context.CancelFunc
		readCtx, cancelRead = context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := check(ctx); err != nil {
				*checkErr = err
				cancelRead()
			}
		}()
		waited := false
		wait = func() error {
			if !waited {
				waited = true
				<-done
				cancelRead()
			}
			return *checkErr
		}
		defer func() { _ = wait() }() // never leave the check running
	}
	if prereq == nil {
		return nil, errors.New("onchain: EnsureRegistered: nil prerequisite")
	}
	app, err := prereq.AppAddress()
	if err != nil {
		return nil, err
	}
	composeHash, err := prereq.ComposeHashBytes()
	if err != nil {
		return nil, err
	}
	deviceID, deviceErr := prereq.DeviceIDBytes()

	d := NewDstackApp()
	// The writes the 465 says are missing: with a JSON-RPC client, what
	// sending them needs is read in the same batch as the state.
	var ahead []*write
	if needHash, needDevice := prereq.missing(); deviceErr == nil || !needDevice {
		if needDevice {
			ahead = append(ahead, &write{key: writeKey{app, "addDevice", deviceID}, method: "addDevice", data: d.PackAddDevice(deviceID)})
		}
		if needHash {
			ahead = append(ahead, &write{key: writeKey{app, "addComposeHash", composeHash}, method: "addComposeHash", data: d.PackAddComposeHash(composeHash)})
		}
	}
	st, pre, err := r.readState(readCtx, prereq, app, deviceID, composeHash, ahead)
	if err := wait(); err != nil {
		return nil, err // the read's outcome is of no use
	}
	if err != nil {
		return nil, err
	}

	var plan []*write
	if !st.DeviceIDAllowed {
		if deviceErr != nil {
			return nil, fmt.Errorf("onchain: the device is not allowed on %s but the prerequisite has no usable device id: %w", app, deviceErr)
		}
		plan = append(plan, &write{key: writeKey{app, "addDevice", deviceID}, method: "addDevice", data: d.PackAddDevice(deviceID)})
	} else {
		r.forget(writeKey{app, "addDevice", deviceID}, nil)
	}
	if !st.ComposeHashAllowed {
		plan = append(plan, &write{key: writeKey{app, "addComposeHash", composeHash}, method: "addComposeHash", data: d.PackAddComposeHash(composeHash)})
	} else {
		r.forget(writeKey{app, "addComposeHash", composeHash}, nil)
	}
	if len(plan) == 0 {
		r.log.InfoContext(ctx, "onchain: already registered", "app", app, "block", st.Block)
		return &Registration{Block: st.Block}, nil
	}

	reg := &Registration{}
	if err := r.submitWith(ctx, app, plan, st.Block, reg, pre); err != nil {
		if reg.DeviceTx == (common.Hash{}) && reg.ComposeHashTx == (common.Hash{}) {
			return nil, err
		}
		return reg, err
	}
	block, err := r.confirm(ctx, app, plan)
	if err != nil {
		return reg, err
	}
	reg.Block = max(reg.Block, block)

	after, err := r.reread(ctx, app, deviceID, composeHash, reg.Block)
	if err != nil {
		return reg, fmt.Errorf("onchain: re-reading the contract after registration: %w", err)
	}
	if !after.IsAllowed {
		return reg, &StateNotConfirmedError{Status: *after}
	}
	r.log.InfoContext(ctx, "onchain: registered", "app", app, "block", reg.Block, "commit_tx", reg.CommitTransactionHash())
	return reg, nil
}

// forget drops the remembered transaction of k (only if it is tx, when tx
// is not nil).
func (r *Registrar) forget(k writeKey, tx *types.Transaction) {
	r.sendMu.Lock()
	defer r.sendMu.Unlock()
	if old := r.sent[k]; old != nil && (tx == nil || old.Hash() == tx.Hash()) {
		delete(r.sent, k)
	}
}

func (reg *Registration) record(method string, h common.Hash) {
	switch method {
	case "addDevice":
		reg.DeviceTx = h
	case "addComposeHash":
		reg.ComposeHashTx = h
	}
}

// nonceReader reads the signer's nonce at the latest block once per call.
type nonceReader struct {
	r    *Registrar
	read bool
	n    uint64
}

func (nr *nonceReader) latest(ctx context.Context) (uint64, error) {
	if !nr.read {
		n, err := nr.r.backend.NonceAt(ctx, nr.r.signer.From, nil)
		if err != nil {
			return 0, fmt.Errorf("onchain: reading the mined nonce of %s: %w", nr.r.signer.From, err)
		}
		nr.n, nr.read = n, true
	}
	return nr.n, nil
}

// resumable reports whether tx, sent by this Registrar in an earlier call,
// can still do its write: it is pending, or was mined after block seen (the
// state read that found the write missing). A transaction the node no
// longer knows is broadcast again, unchanged, unless its nonce was used by
// another transaction. A transaction mined at or before seen did not leave
// the write in place (it reverted, or the write was undone since): a new
// one is needed.
func (r *Registrar) resumable(ctx context.Context, tx *types.Transaction, seen uint64, nonces *nonceReader) (bool, error) {
	rc, err := r.backend.TransactionReceipt(ctx, tx.Hash())
	if err == nil && minedReceipt(rc) {
		return rc.BlockNumber.Uint64() > seen, nil
	}
	if err != nil && !errors.Is(err, ethereum.NotFound) {
		return false, fmt.Errorf("onchain: looking up the receipt of earlier transaction %s: %w", tx.Hash(), err)
	}
	if _, _, err := r.backend.TransactionByHash(ctx, tx.Hash()); err == nil {
		return true, nil
	} else if !errors.Is(err, ethereum.NotFound) {
		return false, fmt.Errorf("onchain: looking up earlier transaction %s: %w", tx.Hash(), err)
	}
	latest, err := nonces.latest(ctx)
	if err != nil {
		return false, err
	}
	if tx.Nonce() < latest {
		return false, nil // another transaction took its nonce: it can never be mined
	}
	if err := r.backend.SendTransaction(ctx, tx); err != nil && !alreadyKnown(err) {
		return false, fmt.Errorf("onchain: broadcasting earlier transaction %s again: %w", tx.Hash(), err)
	}
	r.log.InfoContext(ctx, "onchain: broadcast again", "tx", tx.Hash(), "nonce", tx.Nonce())
	return true, nil
}

// alreadyKnown reports whether a node refused a transaction because it
// already holds it (go-ethereum: "already known"; older nodes: "known
// transaction"; Foundry's anvil: "transaction already imported").
func alreadyKnown(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "already known") || strings.Contains(msg, "known transaction") ||
		strings.Contains(msg, "already imported")
}

func (r *Registrar) emit(e Event) {
	if r.opts.progress != nil {
		r.opts.progress(e)
	}
}

// reread reads the contract at the receipts' block. A node behind a load balancer
// may serve the receipt before it has that block ("header not found"), so a failed
// read is retried every poll interval for up to the receipt timeout; the last error
// is returned after that.
func (r *Registrar) reread(ctx context.Context, app common.Address, deviceID, composeHash common.Hash, block uint64) (*AppStatus, error) {
	return retryRead(ctx, r, block, func() (*AppStatus, error) {
		return r.status(ctx, app, deviceID, composeHash, &block)
	})
}

// retryRead is the retry loop of the re-reads: read at block until it
// succeeds, ctx ends or the receipt timeout passes, waiting as the pacer
// says in between.
func retryRead[T any](ctx context.Context, r *Registrar, block uint64, read func() (T, error)) (T, error) {
	deadline := time.Now().Add(r.opts.receiptTimeout)
	p := r.newPacer()
	for {
		v, err := read()
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			return v, err
		}
		r.log.DebugContext(ctx, "onchain: re-read failed, retrying", "block", block, "err", redactURLs(err))
		select {
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		case <-time.After(p.wait()):
		}
	}
}

func (r *Registrar) status(ctx context.Context, app common.Address, deviceID, composeHash common.Hash, block *uint64) (*AppStatus, error) {
	st, _, err := readAppStatus(ctx, r.backend, r.opts.rpcClient, block, app, deviceID, composeHash, false, nil)
	return st, err
}

// txFees are the fee fields every planned transaction uses: either a legacy
// gas price or EIP-1559 caps.
type txFees struct {
	gasPrice, tipCap, feeCap *big.Int
}

func (f txFees) maxPerGas() *big.Int {
	if f.gasPrice != nil {
		return f.gasPrice
	}
	return f.feeCap
}

// minedReceipt reports whether rc names the block that includes its
// transaction.
func minedReceipt(rc *types.Receipt) bool {
	return rc != nil && rc.BlockNumber != nil && rc.BlockNumber.Sign() > 0 && rc.BlockHash != (common.Hash{})
}

// confirm waits for the receipts of plan's sent writes, forgets the mined
// writes (a later call decides afresh from the contract's state), reports
// each as confirmed, checks for reverts and returns the highest block they
// were mined in.
func (r *Registrar) confirm(ctx context.Context, app common.Address, plan []*write) (uint64, error) {
	receipts, err := r.wait(ctx, plan)
	if err != nil {
		return 0, err
	}
	for _, w := range plan {
		r.forget(w.key, w.tx)
	}
	for i, w := range plan {
		r.emit(Event{Kind: EventConfirmed, Method: w.method, TxHash: w.tx.Hash(), Nonce: w.tx.Nonce(), Block: receipts[i].BlockNumber.Uint64()})
	}
	if err := r.checkReverts(ctx, app, plan, receipts); err != nil {
		return 0, err
	}
	var block uint64
	for _, rc := range receipts {
		block = max(block, rc.BlockNumber.Uint64())
	}
	return block, nil
}

// checkReverts turns failed receipts into *RevertError, replaying each call
// at its block to recover the revert data.
func (r *Registrar) checkReverts(ctx context.Context, app common.Address, plan []*write, receipts []*types.Receipt) error {
	var errs []error
	for i, w := range plan {
		rc := receipts[i]
		if rc.Status == types.ReceiptStatusSuccessful {
			continue
		}
		re := &RevertError{Reason: "reason unavailable"}
		_, err := r.backend.CallContract(ctx, ethereum.CallMsg{From: r.signer.From, To: &app, Data: w.data, Gas: w.tx.Gas()}, rc.BlockNumber)
		if data, ok := revertData(err); ok {
			re = DecodeRevert(data)
		}
		re.Method, re.TxHash = w.method, w.tx.Hash()
		errs = append(errs, re)
	}
	return errors.Join(errs...)
}

// submit is submitWith without reads made earlier.
func (r *Registrar) submit(ctx context.Context, app common.Address, plan []*write, seen uint64, reg *Registration) error {
	return r.submitWith(ctx, app, plan, seen, reg, nil)
}

// submitWith gives every write of plan a transaction: the one this
// Registrar sent earlier for the same write, if it can still be mined, else
// a new one, sent after the owner, balance and nonce checks. seen is the
// block the contract's state was read at; pre, if not nil, holds reads made
// in the same batch as the state. It records the hashes in reg.
func (r *Registrar) submitWith(ctx context.Context, app common.Address, plan []*write, seen uint64, reg *Registration, pre *sendReads) error {
	r.sendMu.Lock()
	defer r.sendMu.Unlock()
	rd := pre
	if rd == nil || rd.sends != r.sends {
		// Nothing read yet, or this Registrar sent since: the nonces and
		// the balance moved.
		rd = &sendReads{head: pre.headOrNil(), gas: map[writeKey]*slot[uint64]{}}
	}
	nonces := nonceReader{r: r}
	if rd.latest.ok && rd.latest.err == nil {
		nonces.n, nonces.read = rd.latest.v, true
	}
	var fresh []*write
	for _, w := range plan {
		if tx := r.sent[w.key]; tx != nil {
			ok, err := r.resumable(ctx, tx, seen, &nonces)
			if err != nil {
				return err
			}
			if ok {
				w.tx = tx
				reg.record(w.method, tx.Hash())
				r.log.InfoContext(ctx, "onchain: waiting for the transaction sent earlier", "method", w.method, "tx", tx.Hash(), "nonce", tx.Nonce(), "app", app)
				continue
			}
			delete(r.sent, w.key)
		}
		fresh = append(fresh, w)
	}
	if len(fresh) == 0 {
		return nil
	}
	if nonces.read && !rd.latest.ok {
		rd.latest.set(nonces.n, nil)
	}
	if err := r.fill(ctx, app, fresh, rd); err != nil {
		return err
	}
	if err := r.checkOwner(ctx, app, rd); err != nil {
		return err
	}
	fees, err := r.fees(rd)
	if err != nil {
		return err
	}
	if err := r.estimate(fresh, fees, rd); err != nil {
		return err
	}
	nonce, err := r.nonce(len(fresh), rd)
	if err != nil {
		return err
	}
	return r.send(ctx, app, fresh, fees, nonce, reg)
}

// slot is one value read from the node, or the error reading it.
type slot[T any] struct {
	v   T
	err error
	ok  bool // read (v or err holds the answer)
}

func (s *slot[T]) set(v T, err error) { s.v, s.err, s.ok = v, err, true }

// sendReads is what sending needs from the node. Each is read once: in the
// status batch when the 465 said what is missing, otherwise in one more
// batch (or one call each on a plain Backend).
type sendReads struct {
	sends    uint64    // Registrar.sends when read
	head     *blockRef // the latest block (base fee), if read
	headErr  error
	owner    slot[[]byte]
	balance  slot[*big.Int]
	latest   slot[uint64] // mined nonce
	pending  slot[uint64] // pending nonce
	tip      slot[*big.Int]
	gasPrice slot[*big.Int]
	gas      map[writeKey]*slot[uint64]
}

func (rd *sendReads) headOrNil() *blockRef {
	if rd == nil {
		return nil
	}
	return rd.head
}

// want lists what is still to read for sending writes.
type want struct {
	head, owner, balance, nonces, tip, gasPrice bool
	gas                                         []*write
}

func (r *Registrar) wants(writes []*write, rd *sendReads) want {
	s := r.signer
	w := want{owner: !rd.owner.ok, balance: !rd.balance.ok}
	w.nonces = s.Nonce == nil && (!rd.latest.ok || !rd.pending.ok)
	if s.GasPrice == nil {
		w.head = rd.head == nil && rd.headErr == nil
		legacy := rd.head != nil && rd.head.BaseFee == nil
		w.tip = s.GasTipCap == nil && !legacy && !rd.tip.ok
		w.gasPrice = legacy && !rd.gasPrice.ok
	}
	if s.GasLimit == 0 {
		for _, wr := range writes {
			if g := rd.gas[wr.key]; g == nil || !g.ok {
				w.gas = append(w.gas, wr)
			}
		}
	}
	return w
}

// readElems returns the batch elements reading what writes still need into
// rd, and a function to call once the batch is answered. The latest block is
// not among them: the status batch reads it.
func (r *Registrar) readElems(app common.Address, writes []*write, rd *sendReads, w want) ([]rpc.BatchElem, func()) {
	from := r.signer.From
	var elems []rpc.BatchElem
	var done []func()
	add := func(method string, result any, then func(error), args ...any) {
		i := len(elems)
		elems = append(elems, rpc.BatchElem{Method: method, Args: args, Result: result})
		done = append(done, func() { then(elems[i].Error) })
	}
	if w.owner {
		var out hexutil.Bytes
		add("eth_call", &out, func(err error) { rd.owner.set(out, err) },
			map[string]any{"to": app, "input": hexutil.Bytes(NewDstackApp().PackOwner())}, "latest")
	}
	if w.balance {
		var b *hexutil.Big
		add("eth_getBalance", &b, func(err error) { rd.balance.set(bigOf(b, err)) }, from, "latest")
	}
	if w.nonces {
		var l, p *hexutil.Uint64
		add("eth_getTransactionCount", &l, func(err error) { rd.latest.set(uintOf(l, err)) }, from, "latest")
		add("eth_getTransactionCount", &p, func(err error) { rd.pending.set(uintOf(p, err)) }, from, "pending")
	}
	if w.tip {
		var t *hexutil.Big
		add("eth_maxPriorityFeePerGas", &t, func(err error) { rd.tip.set(bigOf(t, err)) })
	}
	if w.gasPrice {
		var g *hexutil.Big
		add("eth_gasPrice", &g, func(err error) { rd.gasPrice.set(bigOf(g, err)) })
	}
	for _, wr := range w.gas {
		var g *hexutil.Uint64
		key := wr.key
		add("eth_estimateGas", &g, func(err error) {
			s := &slot[uint64]{}
			s.set(uintOf(g, err))
			rd.gas[key] = s
		}, map[string]any{"from": from, "to": app, "input": hexutil.Bytes(wr.data)})
	}
	return elems, func() {
		for _, f := range done {
			f()
		}
	}
}

var errNoResult = errors.New("the node returned no result")

func bigOf(v *hexutil.Big, err error) (*big.Int, error) {
	if err == nil && v == nil {
		err = errNoResult
	}
	if err != nil {
		return nil, err
	}
	return v.ToInt(), nil
}

func uintOf(v *hexutil.Uint64, err error) (uint64, error) {
	if err == nil && v == nil {
		err = errNoResult
	}
	if err != nil {
		return 0, err
	}
	return uint64(*v), nil
}

// fill reads what writes still need: in one batch with a JSON-RPC client
// (two on a chain without a base fee, whose gas price is read after the
// header), else with one call each.
func (r *Registrar) fill(ctx context.Context, app common.Address, writes []*write, rd *sendReads) error {
	for range 3 {
		w := r.wants(writes, rd)
		if rc := r.opts.rpcClient; rc != nil {
			elems, done := r.readElems(app, writes, rd, w)
			var head *blockRef
			if w.head {
				elems = append(elems, rpc.BatchElem{Method: "eth_getBlockByNumber", Args: []any{"latest", false}, Result: &head})
			}
			if len(elems) == 0 {
				return nil
			}
			if err := rc.BatchCallContext(ctx, elems); err != nil {
				return fmt.Errorf("onchain: reading what sending needs: %w", err)
			}
			done()
			if w.head {
				switch e := elems[len(elems)-1]; {
				case e.Error != nil:
					rd.headErr = e.Error
				case head == nil || head.Number == nil:
					rd.headErr = errNoResult
				default:
					rd.head = head
					r.sawHead(head)
				}
			}
			continue
		}
		if err := r.fillSequential(ctx, app, rd, w); err != nil {
			return err
		}
	}
	return nil
}

// fillSequential is fill on a plain Backend.
func (r *Registrar) fillSequential(ctx context.Context, app common.Address, rd *sendReads, w want) error {
	b, from := r.backend, r.signer.From
	if w.owner {
		rd.owner.set(b.CallContract(ctx, ethereum.CallMsg{To: &app, Data: NewDstackApp().PackOwner()}, nil))
	}
	if w.head {
		h, err := b.HeaderByNumber(ctx, nil)
		if err == nil && (h == nil || h.Number == nil) {
			err = errNoResult
		}
		if err != nil {
			rd.headErr = err
		} else {
			rd.head = &blockRef{Number: (*hexutil.Big)(h.Number), Hash: h.Hash(), Time: hexutil.Uint64(h.Time), BaseFee: (*hexutil.Big)(h.BaseFee)}
		}
	}
	if w.gasPrice {
		rd.gasPrice.set(b.SuggestGasPrice(ctx))
	}
	if w.tip && !(rd.head != nil && rd.head.BaseFee == nil) {
		rd.tip.set(b.SuggestGasTipCap(ctx))
	}
	for _, wr := range w.gas {
		s := &slot[uint64]{}
		s.set(b.EstimateGas(ctx, ethereum.CallMsg{From: from, To: &app, Data: wr.data}))
		rd.gas[wr.key] = s
	}
	if w.balance {
		rd.balance.set(b.BalanceAt(ctx, from, nil))
	}
	if w.nonces {
		if !rd.latest.ok {
			rd.latest.set(b.NonceAt(ctx, from, nil))
		}
		rd.pending.set(b.PendingNonceAt(ctx, from))
	}
	return ctx.Err()
}

// readState checks the backend's chain and reads the contract's state at
// the latest block. With a JSON-RPC client it is one batch: the chain id
// (unless already checked), the state, and what sending the writes of ahead
// needs (returned as reads, for [Registrar.submitWith]).
func (r *Registrar) readState(ctx context.Context, prereq *ErrOnchainPrerequisite, app common.Address, deviceID, composeHash common.Hash, ahead []*write) (*AppStatus, *sendReads, error) {
	want, err := r.wantChain(prereq)
	if err != nil {
		return nil, nil, err
	}
	rc := r.opts.rpcClient
	if rc == nil {
		if err := r.checkChainID(ctx, want); err != nil {
			return nil, nil, err
		}
		st, err := r.status(ctx, app, deviceID, composeHash, nil)
		return st, nil, err
	}
	var (
		extra   []rpc.BatchElem
		chainID *hexutil.Big
		checked = r.chain.Load()
	)
	if checked == 0 {
		extra = append(extra, rpc.BatchElem{Method: "eth_chainId", Result: &chainID})
	} else if checked != want {
		return nil, nil, &WrongChainError{Want: want, Got: checked}
	}
	r.sendMu.Lock()
	rd := &sendReads{sends: r.sends, gas: map[writeKey]*slot[uint64]{}}
	r.sendMu.Unlock()
	var done func()
	if len(ahead) > 0 {
		elems, d := r.readElems(app, ahead, rd, r.wants(ahead, rd))
		extra, done = append(extra, elems...), d
	}
	st, head, err := readAppStatus(ctx, nil, rc, nil, app, deviceID, composeHash, false, extra)
	if checked == 0 {
		switch {
		case chainID != nil:
			if err := r.matchChain(want, chainID.ToInt()); err != nil {
				return nil, nil, err
			}
		case err == nil:
			return nil, nil, fmt.Errorf("onchain: reading the chain id: %w", cmp.Or(extra[0].Error, errNoResult))
		}
	}
	if err != nil {
		return nil, nil, err
	}
	if done != nil {
		done()
	}
	rd.head = head
	r.sawHead(head)
	return st, rd, nil
}

// wantChain is the app's chain: the prerequisite's, which [WithChainID] must
// match, or WithChainID's when the prerequisite names none.
func (r *Registrar) wantChain(prereq *ErrOnchainPrerequisite) (uint64, error) {
	var want uint64
	if prereq.KMSInfo != nil {
		want = prereq.KMSInfo.ChainID
	}
	if cfg := r.opts.chainID; cfg != 0 {
		if want != 0 && want != cfg {
			// The caller and the payload disagree on the app's chain:
			// neither is trusted over the other.
			return 0, &WrongChainError{Want: want, Configured: cfg}
		}
		want = cfg
	}
	if want == 0 {
		return 0, ErrNoChainID
	}
	return want, nil
}

func (r *Registrar) checkChain(ctx context.Context, prereq *ErrOnchainPrerequisite) error {
	want, err := r.wantChain(prereq)
	if err != nil {
		return err
	}
	return r.checkChainID(ctx, want)
}

// checkChainID checks the backend serves chain want, reading eth_chainId
// only the first time.
func (r *Registrar) checkChainID(ctx context.Context, want uint64) error {
	if got := r.chain.Load(); got != 0 {
		if got != want {
			return &WrongChainError{Want: want, Got: got}
		}
		return nil
	}
	got, err := r.backend.ChainID(ctx)
	if err != nil {
		return fmt.Errorf("onchain: reading the chain id: %w", err)
	}
	return r.matchChain(want, got)
}

// matchChain compares the backend's chain id got with want and remembers it.
func (r *Registrar) matchChain(want uint64, got *big.Int) error {
	if got == nil || !got.IsUint64() || got.Uint64() != want {
		g := uint64(0)
		if got != nil && got.IsUint64() {
			g = got.Uint64()
		}
		return &WrongChainError{Want: want, Got: g}
	}
	r.chain.Store(want)
	return nil
}

func (r *Registrar) checkOwner(ctx context.Context, app common.Address, rd *sendReads) error {
	if rd.owner.err != nil {
		return fmt.Errorf("onchain: reading owner() of %s: %w", app, rd.owner.err)
	}
	out := rd.owner.v
	owner, err := NewDstackApp().UnpackOwner(out)
	if err != nil {
		return fmt.Errorf("%w: owner() at %s returned 0x%x", ErrNotDstackApp, app, out)
	}
	if owner == r.signer.From {
		return nil
	}
	e := &NotOwnerError{App: app, Signer: r.signer.From, Owner: owner}
	if code, err := r.backend.CodeAt(ctx, owner, nil); err == nil && len(code) > 0 {
		e.OwnerIsContract = true
	}
	return e
}

// fees follows bind's rules: the signer's values win; otherwise EIP-1559
// caps of 2 × base fee + suggested tip, or the suggested legacy gas price on
// chains without a base fee.
func (r *Registrar) fees(rd *sendReads) (txFees, error) {
	s := r.signer
	if s.GasPrice != nil {
		return txFees{gasPrice: s.GasPrice}, nil
	}
	if rd.headErr != nil {
		return txFees{}, fmt.Errorf("onchain: reading the latest header: %w", rd.headErr)
	}
	if rd.head.BaseFee == nil {
		if rd.gasPrice.err != nil {
			return txFees{}, fmt.Errorf("onchain: suggesting a gas price: %w", rd.gasPrice.err)
		}
		return txFees{gasPrice: rd.gasPrice.v}, nil
	}
	tip := s.GasTipCap
	if tip == nil {
		if rd.tip.err != nil {
			return txFees{}, fmt.Errorf("onchain: suggesting a priority fee: %w", rd.tip.err)
		}
		tip = rd.tip.v
	}
	feeCap := s.GasFeeCap
	if feeCap == nil {
		feeCap = new(big.Int).Add(tip, new(big.Int).Mul(rd.head.BaseFee.ToInt(), big.NewInt(2)))
	}
	if feeCap.Cmp(tip) < 0 {
		return txFees{}, fmt.Errorf("onchain: max fee per gas %s is below the priority fee %s", feeCap, tip)
	}
	return txFees{tipCap: tip, feeCap: feeCap}, nil
}

// estimate fills in each write's gas and checks the balance covers them all.
func (r *Registrar) estimate(plan []*write, fees txFees, rd *sendReads) error {
	total := new(big.Int)
	methods := make([]string, len(plan))
	for i, w := range plan {
		methods[i] = w.method
		w.gas = r.signer.GasLimit
		if w.gas == 0 {
			g := rd.gas[w.key]
			if g == nil || !g.ok {
				return fmt.Errorf("onchain: estimating gas for %s: %w", w.method, errNoResult)
			}
			if err := g.err; err != nil {
				if data, ok := revertData(err); ok {
					re := DecodeRevert(data)
					re.Method = w.method
					return re
				}
				return fmt.Errorf("onchain: estimating gas for %s: %w", w.method, err)
			}
			w.gas = g.v
		}
		total.Add(total, new(big.Int).Mul(new(big.Int).SetUint64(w.gas), fees.maxPerGas()))
	}
	if rd.balance.err != nil {
		return fmt.Errorf("onchain: reading the balance of %s: %w", r.signer.From, rd.balance.err)
	}
	if balance := rd.balance.v; balance.Cmp(total) < 0 {
		return &InsufficientFundsError{Account: r.signer.From, Balance: balance, Required: total, Methods: methods}
	}
	return nil
}

// nonce returns the first of count consecutive nonces to send at. A fixed
// signer Nonce is used once: if this Registrar already sent at any of the
// count nonces from it, the answer is a [*NonceReusedError]. Otherwise the
// nonce is the account's pending nonce, provided every pending transaction
// of the account is one this Registrar sent ([*PendingTransactionsError]
// if not). Called with sendMu held.
func (r *Registrar) nonce(count int, rd *sendReads) (uint64, error) {
	from := r.signer.From
	if r.signer.Nonce != nil {
		if !r.signer.Nonce.IsUint64() || r.signer.Nonce.Uint64() > math.MaxUint64-uint64(count) {
			return 0, errors.New("onchain: signer nonce out of range")
		}
		n := r.signer.Nonce.Uint64()
		for i := range uint64(count) {
			if h, used := r.nonces[n+i]; used {
				return 0, &NonceReusedError{Account: from, Nonce: n + i, TxHash: h}
			}
		}
		return n, nil
	}
	if rd.latest.err != nil {
		return 0, fmt.Errorf("onchain: reading the mined nonce of %s: %w", from, rd.latest.err)
	}
	if rd.pending.err != nil {
		return 0, fmt.Errorf("onchain: reading the nonce of %s: %w", from, rd.pending.err)
	}
	latest, pending := rd.latest.v, rd.pending.v
	if pending > latest {
		unknown := pending-latest > uint64(len(r.nonces))
		for n := latest; n < pending && !unknown; n++ {
			_, mine := r.nonces[n]
			unknown = !mine
		}
		if unknown {
			return 0, &PendingTransactionsError{Account: from, Latest: latest, Pending: pending}
		}
	}
	return pending, nil
}

// errNotSent marks a transaction not sent because an earlier one failed.
var errNotSent = errors.New("not sent: an earlier transaction was refused")

// send signs the writes with consecutive nonces and sends them back to back
// (one batch with a JSON-RPC client, in nonce order), remembering each
// transaction the node took. Called with sendMu held.
func (r *Registrar) send(ctx context.Context, app common.Address, plan []*write, fees txFees, nonce uint64, reg *Registration) error {
	bc := bind.NewBoundContract(app, NewDstackApp().GetABI(), r.backend, r.backend, r.backend)
	txs := make([]*types.Transaction, len(plan))
	for i, w := range plan {
		opts := *r.signer
		opts.Context = ctx
		opts.Nonce = new(big.Int).SetUint64(nonce + uint64(i))
		opts.GasLimit = w.gas
		opts.GasPrice, opts.GasTipCap, opts.GasFeeCap = fees.gasPrice, fees.tipCap, fees.feeCap
		opts.Value = nil
		opts.NoSend = true
		tx, err := bc.RawTransact(&opts, w.data)
		if err != nil {
			return fmt.Errorf("onchain: signing %s to %s: %w", w.method, app, err)
		}
		txs[i] = tx
	}
	errs := r.broadcast(ctx, txs)
	var first error
	for i, w := range plan {
		if err := errs[i]; err != nil {
			if first == nil {
				first = fmt.Errorf("onchain: sending %s to %s: %w", w.method, app, err)
			}
			continue
		}
		tx := txs[i]
		w.tx = tx
		r.sent[w.key] = tx
		r.nonces[tx.Nonce()] = tx.Hash()
		r.sends++
		reg.record(w.method, tx.Hash())
		r.log.InfoContext(ctx, "onchain: sent", "method", w.method, "tx", tx.Hash(), "nonce", tx.Nonce(), "app", app, "gas", w.gas)
		r.emit(Event{Kind: EventSubmitted, Method: w.method, TxHash: tx.Hash(), Nonce: tx.Nonce()})
	}
	return first
}

// broadcast sends txs in order and returns, for each, nil if the node took
// it (or already had it).
func (r *Registrar) broadcast(ctx context.Context, txs []*types.Transaction) []error {
	errs := make([]error, len(txs))
	rc := r.opts.rpcClient
	if rc == nil {
		for i, tx := range txs {
			if err := r.backend.SendTransaction(ctx, tx); err != nil && !alreadyKnown(err) {
				errs[i] = err
				for j := i + 1; j < len(txs); j++ {
					errs[j] = errNotSent
				}
				break
			}
		}
		return errs
	}
	elems := make([]rpc.BatchElem, len(txs))
	hashes := make([]common.Hash, len(txs))
	for i, tx := range txs {
		raw, err := tx.MarshalBinary()
		if err != nil {
			for j := range errs {
				errs[j] = err
			}
			return errs
		}
		elems[i] = rpc.BatchElem{Method: "eth_sendRawTransaction", Args: []any{hexutil.Bytes(raw)}, Result: &hashes[i]}
	}
	if err := rc.BatchCallContext(ctx, elems); err != nil {
		for j := range errs {
			errs[j] = err
		}
		return errs
	}
	for i, e := range elems {
		if e.Error != nil && !alreadyKnown(e.Error) {
			errs[i] = e.Error
		}
	}
	return errs
}

// pacer spaces receipt polls: the first soon after sending, then doubling,
// up to fine for two block times and up to slow after that.
type pacer struct {
	next, fine, slow time.Duration
	start, fineUntil time.Time
}

// pollCap is the longest wait between two polls.
func (r *Registrar) pollCap() time.Duration {
	if r.opts.pollInterval > 0 {
		return r.opts.pollInterval
	}
	if bt := r.blockTime(); bt > 0 {
		return bt
	}
	return defaultPollInterval
}

// blockTime is the chain's block time: WithBlockTime, else the known one of
// the checked chain, else the one measured from two headers, else 0.
func (r *Registrar) blockTime() time.Duration {
	if r.opts.blockTime > 0 {
		return r.opts.blockTime
	}
	if bt := BlockTime(r.chain.Load()); bt > 0 {
		return bt
	}
	return time.Duration(r.measured.Load())
}

// sawHead remembers the latest block read, for [Registrar.newProbe].
func (r *Registrar) sawHead(head *blockRef) {
	if head != nil && head.Number != nil {
		r.head.Store(head)
	}
}

// blockTimeProbe reads, in the first receipt poll's batch (no round trip of
// its own), the header blockTimeSpan blocks below the latest block seen, to
// measure the block time of a chain whose block time is not known.
type blockTimeProbe struct {
	head, older *blockRef
	elem        []rpc.BatchElem
}

// newProbe returns a probe when the block time is not known yet and a
// JSON-RPC client and a latest block are at hand, else nil.
func (r *Registrar) newProbe() *blockTimeProbe {
	if r.opts.rpcClient == nil || r.blockTime() > 0 {
		return nil
	}
	head := r.head.Load()
	if head == nil || !head.Number.ToInt().IsUint64() || head.Number.ToInt().Uint64() < 2 {
		return nil
	}
	// Not the genesis block, whose timestamp need not be a block time
	// before block 1 (0 on a simulated chain).
	n := head.Number.ToInt().Uint64()
	older := max(n-min(n, blockTimeSpan), 1)
	p := &blockTimeProbe{head: head}
	p.elem = []rpc.BatchElem{{Method: "eth_getBlockByNumber", Args: []any{blockArg(older), false}, Result: &p.older}}
	return p
}

// extra returns the batch elements p adds to a receipt poll (none for nil).
func (p *blockTimeProbe) extra() []rpc.BatchElem {
	if p == nil {
		return nil
	}
	return p.elem
}

// learn records the block time the probe measured: the 2-second default
// when the headers cannot tell, nothing when the read failed (the next wait
// tries again).
func (r *Registrar) learn(ctx context.Context, p *blockTimeProbe) {
	if p.elem[0].Error != nil {
		r.log.DebugContext(ctx, "onchain: reading a header to measure the block time failed", "err", redactURLs(p.elem[0].Error))
		return
	}
	bt, ok := estimateBlockTime(p.head, p.older)
	if !ok {
		bt = defaultPollInterval
	}
	if r.measured.CompareAndSwap(0, int64(bt)) {
		r.log.DebugContext(ctx, "onchain: measured the block time", "block_time", bt, "from_headers", ok)
	}
}

func (r *Registrar) newPacer() *pacer {
	p := &pacer{start: time.Now()}
	r.tune(p)
	p.next = min(firstPoll, p.slow)
	return p
}

// tune sets p's limits from the poll cap and the block time as now known.
func (r *Registrar) tune(p *pacer) {
	slow := r.pollCap()
	bt := r.blockTime()
	if bt <= 0 {
		bt = slow
	}
	first := min(firstPoll, slow)
	p.fine = min(max(bt/16, first), slow)
	p.slow = slow
	p.fineUntil = p.start.Add(2 * bt)
	if p.next > 0 {
		p.next = min(p.next, slow)
	}
}

// wait returns how long to wait before the next poll.
func (p *pacer) wait() time.Duration {
	d := p.next
	limit := p.fine
	if time.Now().After(p.fineUntil) {
		limit = p.slow
	}
	p.next = min(2*p.next, limit)
	return d
}

// wait polls for all receipts together, then for the confirmations, and
// returns the receipts in plan order.
func (r *Registrar) wait(ctx context.Context, plan []*write) ([]*types.Receipt, error) {
	hashes := make([]common.Hash, len(plan))
	for i, w := range plan {
		hashes[i] = w.tx.Hash()
	}
	timeout := time.NewTimer(r.opts.receiptTimeout)
	defer timeout.Stop()
	p := r.newPacer()
	// probe measures an unknown block time in the first poll (nil: known).
	probe := r.newProbe()
	h := r.subscribeHeads(ctx) // nil: poll on the pacer alone
	defer func() { h.stop() }()
	tick := time.NewTimer(h.first(p))
	defer tick.Stop()

	receipts := make([]*types.Receipt, len(plan))
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("onchain: waiting for transactions %v: %w", hashes, ctx.Err())
		case <-timeout.C:
			return nil, &ReceiptTimeoutError{TxHashes: hashes, Timeout: r.opts.receiptTimeout}
		case <-tick.C:
		case <-h.C():
		case err := <-h.Err():
			r.log.DebugContext(ctx, "onchain: newHeads subscription ended, polling for receipts", "err", redactURLs(err))
			h.stop()
			h = nil
		}
		ok, err := r.poll(ctx, plan, receipts, probe.extra())
		if probe != nil {
			r.learn(ctx, probe)
			r.tune(p)
			probe = nil
		}
		if err != nil {
			return nil, err
		} else if ok {
			return receipts, nil
		}
		tick.Reset(h.next(p))
	}
}

// receipts fetches the receipts of hashes: one batch with a JSON-RPC
// client, extra riding in it (their Error fields are set). A transaction
// not mined yet has a nil receipt and a nil error.
func (r *Registrar) receipts(ctx context.Context, hashes []common.Hash, extra ...rpc.BatchElem) ([]*types.Receipt, []error) {
	out := make([]*types.Receipt, len(hashes))
	errs := make([]error, len(hashes))
	rc := r.opts.rpcClient
	if rc == nil {
		for i, h := range hashes {
			rcpt, err := r.backend.TransactionReceipt(ctx, h)
			if errors.Is(err, ethereum.NotFound) {
				err = nil
			}
			out[i], errs[i] = rcpt, err
		}
	} else {
		elems := make([]rpc.BatchElem, len(hashes))
		for i, h := range hashes {
			elems[i] = rpc.BatchElem{Method: "eth_getTransactionReceipt", Args: []any{h}, Result: &out[i]}
		}
		elems = append(elems, extra...)
		err := rc.BatchCallContext(ctx, elems)
		for i := range extra {
			extra[i].Error = cmp.Or(err, elems[len(hashes)+i].Error)
		}
		if err != nil {
			for i := range errs {
				errs[i] = err
			}
			return make([]*types.Receipt, len(hashes)), errs
		}
		for i, e := range elems[:len(hashes)] {
			errs[i] = e.Error
		}
	}
	for i := range out {
		if errs[i] == nil && out[i] != nil && !minedReceipt(out[i]) {
			// Some nodes answer for a pending transaction with a receipt
			// that names no block: not mined yet.
			out[i] = nil
		}
	}
	return out, errs
}

// poll fetches missing receipts and reports whether all are mined and
// confirmed (and still canonical).
func (r *Registrar) poll(ctx context.Context, plan []*write, receipts []*types.Receipt, extra []rpc.BatchElem) (bool, error) {
	var idx []int
	var hashes []common.Hash
	for i, w := range plan {
		if receipts[i] == nil {
			idx = append(idx, i)
			hashes = append(hashes, w.tx.Hash())
		}
	}
	all := true
	if len(hashes) > 0 {
		got, errs := r.receipts(ctx, hashes, extra...)
		if ctx.Err() != nil {
			return false, fmt.Errorf("onchain: waiting for %s: %w", hashes[0], ctx.Err())
		}
		for k, i := range idx {
			w := plan[i]
			if errs[k] != nil || got[k] == nil {
				if errs[k] != nil {
					r.log.DebugContext(ctx, "onchain: receipt poll failed", "tx", w.tx.Hash(), "err", redactURLs(errs[k]))
				}
				all = false
				continue
			}
			rc := got[k]
			receipts[i] = rc
			r.log.InfoContext(ctx, "onchain: mined", "method", w.method, "tx", w.tx.Hash(), "block", rc.BlockNumber, "status", rc.Status)
			r.emit(Event{Kind: EventMined, Method: w.method, TxHash: w.tx.Hash(), Nonce: w.tx.Nonce(), Block: rc.BlockNumber.Uint64()})
		}
	}
	if !all {
		return false, nil
	}
	if r.opts.confirmations <= 1 {
		return true, nil
	}
	var last uint64
	for _, rc := range receipts {
		last = max(last, rc.BlockNumber.Uint64())
	}
	head, err := r.backend.HeaderByNumber(ctx, nil)
	if err != nil {
		if ctx.Err() != nil {
			return false, fmt.Errorf("onchain: waiting for confirmations: %w", ctx.Err())
		}
		return false, nil
	}
	if head.Number.Uint64()+1 < last+r.opts.confirmations {
		return false, nil
	}
	// Deep enough: make sure no receipt moved in a reorg meanwhile.
	hashes = hashes[:0]
	for _, w := range plan {
		hashes = append(hashes, w.tx.Hash())
	}
	again, errs := r.receipts(ctx, hashes)
	stable := true
	for i := range plan {
		if errs[i] != nil || again[i] == nil || again[i].BlockHash != receipts[i].BlockHash {
			receipts[i] = nil
			stable = false
		}
	}
	return stable, nil
}
