package onchain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
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
// [WithPollInterval], [WithProgress], [WithLogger], [WithRPCClient].
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
	return &Registrar{backend: backend, signer: signer, opts: o, log: o.logger,
		sent: map[writeKey]*types.Transaction{}, nonces: map[uint64]common.Hash{}}, nil
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
func (r *Registrar) EnsureRegistered(ctx context.Context, prereq *ErrOnchainPrerequisite) (_ *Registration, err error) {
	defer func() { err = redactURLs(err) }()
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

	if err := r.checkChain(ctx, prereq); err != nil {
		return nil, err
	}
	st, err := r.status(ctx, app, deviceID, composeHash, nil)
	if err != nil {
		return nil, err
	}

	d := NewDstackApp()
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
	if err := r.submit(ctx, app, plan, st.Block, reg); err != nil {
		if reg.DeviceTx == (common.Hash{}) && reg.ComposeHashTx == (common.Hash{}) {
			return nil, err
		}
		return reg, err
	}
	receipts, err := r.wait(ctx, plan)
	if err != nil {
		return reg, err
	}
	// Mined: a later call decides afresh from the contract's state.
	for _, w := range plan {
		r.forget(w.key, w.tx)
	}
	for i, w := range plan {
		r.emit(Event{Kind: EventConfirmed, Method: w.method, TxHash: w.tx.Hash(), Nonce: w.tx.Nonce(), Block: receipts[i].BlockNumber.Uint64()})
	}
	if err := r.checkReverts(ctx, app, plan, receipts); err != nil {
		return reg, err
	}
	for _, rc := range receipts {
		reg.Block = max(reg.Block, rc.BlockNumber.Uint64())
	}

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

// submit gives every write of plan a transaction: the one this Registrar
// sent earlier for the same write, if it can still be mined, else a new
// one, sent after the owner, balance and nonce checks. seen is the block
// the contract's state was read at. It records the hashes in reg.
func (r *Registrar) submit(ctx context.Context, app common.Address, plan []*write, seen uint64, reg *Registration) error {
	r.sendMu.Lock()
	defer r.sendMu.Unlock()
	nonces := nonceReader{r: r}
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

	if err := r.checkOwner(ctx, app); err != nil {
		return err
	}
	fees, err := r.fees(ctx)
	if err != nil {
		return err
	}
	if err := r.estimate(ctx, app, fresh, fees); err != nil {
		return err
	}
	nonce, err := r.nonce(ctx, len(fresh), &nonces)
	if err != nil {
		return err
	}
	return r.send(ctx, app, fresh, fees, nonce, reg)
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
// transaction").
func alreadyKnown(err error) bool {
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "already known") || strings.Contains(msg, "known transaction")
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
	deadline := time.Now().Add(r.opts.receiptTimeout)
	for {
		st, err := r.status(ctx, app, deviceID, composeHash, &block)
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			return st, err
		}
		r.log.DebugContext(ctx, "onchain: re-read failed, retrying", "block", block, "err", redactURLs(err))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(r.opts.pollInterval):
		}
	}
}

func (r *Registrar) status(ctx context.Context, app common.Address, deviceID, composeHash common.Hash, block *uint64) (*AppStatus, error) {
	var opts []Option
	if r.opts.rpcClient != nil {
		opts = append(opts, WithRPCClient(r.opts.rpcClient))
	}
	if block != nil {
		opts = append(opts, AtBlock(*block))
	}
	return Status(ctx, r.backend, app, deviceID, composeHash, opts...)
}

func (r *Registrar) checkChain(ctx context.Context, prereq *ErrOnchainPrerequisite) error {
	var want uint64
	if prereq.KMSInfo != nil {
		want = prereq.KMSInfo.ChainID
	}
	if cfg := r.opts.chainID; cfg != 0 {
		if want != 0 && want != cfg {
			// The caller and the payload disagree on the app's chain:
			// neither is trusted over the other.
			return &WrongChainError{Want: want, Configured: cfg}
		}
		want = cfg
	}
	if want == 0 {
		return ErrNoChainID
	}
	got, err := r.backend.ChainID(ctx)
	if err != nil {
		return fmt.Errorf("onchain: reading the chain id: %w", err)
	}
	if !got.IsUint64() || got.Uint64() != want {
		g := uint64(0)
		if got.IsUint64() {
			g = got.Uint64()
		}
		return &WrongChainError{Want: want, Got: g}
	}
	return nil
}

func (r *Registrar) checkOwner(ctx context.Context, app common.Address) error {
	d := NewDstackApp()
	out, err := r.backend.CallContract(ctx, ethereum.CallMsg{To: &app, Data: d.PackOwner()}, nil)
	if err != nil {
		return fmt.Errorf("onchain: reading owner() of %s: %w", app, err)
	}
	owner, err := d.UnpackOwner(out)
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

// fees follows bind's rules: the signer's values win; otherwise EIP-1559
// caps of 2 × base fee + suggested tip, or the suggested legacy gas price on
// chains without a base fee.
func (r *Registrar) fees(ctx context.Context) (txFees, error) {
	s := r.signer
	if s.GasPrice != nil {
		return txFees{gasPrice: s.GasPrice}, nil
	}
	head, err := r.backend.HeaderByNumber(ctx, nil)
	if err != nil {
		return txFees{}, fmt.Errorf("onchain: reading the latest header: %w", err)
	}
	if head.BaseFee == nil {
		gp, err := r.backend.SuggestGasPrice(ctx)
		if err != nil {
			return txFees{}, fmt.Errorf("onchain: suggesting a gas price: %w", err)
		}
		return txFees{gasPrice: gp}, nil
	}
	tip := s.GasTipCap
	if tip == nil {
		if tip, err = r.backend.SuggestGasTipCap(ctx); err != nil {
			return txFees{}, fmt.Errorf("onchain: suggesting a priority fee: %w", err)
		}
	}
	feeCap := s.GasFeeCap
	if feeCap == nil {
		feeCap = new(big.Int).Add(tip, new(big.Int).Mul(head.BaseFee, big.NewInt(2)))
	}
	if feeCap.Cmp(tip) < 0 {
		return txFees{}, fmt.Errorf("onchain: max fee per gas %s is below the priority fee %s", feeCap, tip)
	}
	return txFees{tipCap: tip, feeCap: feeCap}, nil
}

// estimate fills in each write's gas and checks the balance covers them all.
func (r *Registrar) estimate(ctx context.Context, app common.Address, plan []*write, fees txFees) error {
	total := new(big.Int)
	methods := make([]string, len(plan))
	for i, w := range plan {
		methods[i] = w.method
		w.gas = r.signer.GasLimit
		if w.gas == 0 {
			gas, err := r.backend.EstimateGas(ctx, ethereum.CallMsg{From: r.signer.From, To: &app, Data: w.data})
			if err != nil {
				if data, ok := revertData(err); ok {
					re := DecodeRevert(data)
					re.Method = w.method
					return re
				}
				return fmt.Errorf("onchain: estimating gas for %s: %w", w.method, err)
			}
			w.gas = gas
		}
		total.Add(total, new(big.Int).Mul(new(big.Int).SetUint64(w.gas), fees.maxPerGas()))
	}
	balance, err := r.backend.BalanceAt(ctx, r.signer.From, nil)
	if err != nil {
		return fmt.Errorf("onchain: reading the balance of %s: %w", r.signer.From, err)
	}
	if balance.Cmp(total) < 0 {
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
func (r *Registrar) nonce(ctx context.Context, count int, nonces *nonceReader) (uint64, error) {
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
	latest, err := nonces.latest(ctx)
	if err != nil {
		return 0, err
	}
	pending, err := r.backend.PendingNonceAt(ctx, from)
	if err != nil {
		return 0, fmt.Errorf("onchain: reading the nonce of %s: %w", from, err)
	}
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

// send signs and sends the writes back to back with consecutive nonces,
// remembering each transaction. Called with sendMu held.
func (r *Registrar) send(ctx context.Context, app common.Address, plan []*write, fees txFees, nonce uint64, reg *Registration) error {
	bc := bind.NewBoundContract(app, NewDstackApp().GetABI(), r.backend, r.backend, r.backend)
	for i, w := range plan {
		opts := *r.signer
		opts.Context = ctx
		opts.Nonce = new(big.Int).SetUint64(nonce + uint64(i))
		opts.GasLimit = w.gas
		opts.GasPrice, opts.GasTipCap, opts.GasFeeCap = fees.gasPrice, fees.tipCap, fees.feeCap
		opts.Value = nil
		opts.NoSend = false
		tx, err := bc.RawTransact(&opts, w.data)
		if err != nil {
			return fmt.Errorf("onchain: sending %s to %s: %w", w.method, app, err)
		}
		w.tx = tx
		r.sent[w.key] = tx
		r.nonces[tx.Nonce()] = tx.Hash()
		reg.record(w.method, tx.Hash())
		r.log.InfoContext(ctx, "onchain: sent", "method", w.method, "tx", tx.Hash(), "nonce", tx.Nonce(), "app", app, "gas", w.gas)
		r.emit(Event{Kind: EventSubmitted, Method: w.method, TxHash: tx.Hash(), Nonce: tx.Nonce()})
	}
	return nil
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
	tick := time.NewTicker(r.opts.pollInterval)
	defer tick.Stop()

	receipts := make([]*types.Receipt, len(plan))
	for {
		if ok, err := r.poll(ctx, plan, receipts); err != nil {
			return nil, err
		} else if ok {
			return receipts, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("onchain: waiting for transactions %v: %w", hashes, ctx.Err())
		case <-timeout.C:
			return nil, &ReceiptTimeoutError{TxHashes: hashes, Timeout: r.opts.receiptTimeout}
		case <-tick.C:
		}
	}
}

// poll fetches missing receipts and reports whether all are mined and
// confirmed (and still canonical).
func (r *Registrar) poll(ctx context.Context, plan []*write, receipts []*types.Receipt) (bool, error) {
	all := true
	for i, w := range plan {
		if receipts[i] != nil {
			continue
		}
		rc, err := r.backend.TransactionReceipt(ctx, w.tx.Hash())
		if err == nil && !minedReceipt(rc) {
			// Some nodes answer for a pending transaction with a receipt
			// that names no block: not mined yet.
			err = ethereum.NotFound
		}
		if err != nil {
			if ctx.Err() != nil {
				return false, fmt.Errorf("onchain: waiting for %s: %w", w.tx.Hash(), ctx.Err())
			}
			if !errors.Is(err, ethereum.NotFound) {
				r.log.DebugContext(ctx, "onchain: receipt poll failed", "tx", w.tx.Hash(), "err", redactURLs(err))
			}
			all = false
			continue
		}
		receipts[i] = rc
		r.log.InfoContext(ctx, "onchain: mined", "method", w.method, "tx", w.tx.Hash(), "block", rc.BlockNumber, "status", rc.Status)
		r.emit(Event{Kind: EventMined, Method: w.method, TxHash: w.tx.Hash(), Nonce: w.tx.Nonce(), Block: rc.BlockNumber.Uint64()})
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
	stable := true
	for i, w := range plan {
		rc, err := r.backend.TransactionReceipt(ctx, w.tx.Hash())
		if err != nil || !minedReceipt(rc) || rc.BlockHash != receipts[i].BlockHash {
			receipts[i] = nil
			stable = false
		}
	}
	return stable, nil
}

// minedReceipt reports whether rc names the block that includes its
// transaction.
func minedReceipt(rc *types.Receipt) bool {
	return rc != nil && rc.BlockNumber != nil && rc.BlockNumber.Sign() > 0 && rc.BlockHash != (common.Hash{})
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
