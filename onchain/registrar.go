package onchain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// Backend is what a [Registrar] needs from a node: go-ethereum's contract
// and deployment backends plus the chain id and balances.
// *ethclient.Client and the simulated backend's client satisfy it.
type Backend interface {
	bind.ContractBackend
	bind.DeployBackend
	ChainID(ctx context.Context) (*big.Int, error)
	BalanceAt(ctx context.Context, account common.Address, blockNumber *big.Int) (*big.Int, error)
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
	Kind   EventKind
	Method string      // "addDevice" or "addComposeHash"
	TxHash common.Hash //
	Nonce  uint64      //
	Block  uint64      // the including block (0 for EventSubmitted)
}

// Registration is the result of [Registrar.EnsureRegistered].
type Registration struct {
	DeviceTx      common.Hash // addDevice transaction; zero if none was needed
	ComposeHashTx common.Hash // addComposeHash transaction; zero if none was needed
	// Block is the block at which the registration was verified: the block
	// of the last receipt, or the block read when nothing was needed.
	Block uint64
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
// hardware and remote signers work as well as [SignerFromHex]. A Registrar
// is safe for concurrent use, but concurrent EnsureRegistered calls with the
// same signer compete for nonces.
type Registrar struct {
	backend Backend
	signer  *bind.TransactOpts
	opts    *options
	log     *slog.Logger
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
	return &Registrar{backend: backend, signer: signer, opts: o, log: o.logger}, nil
}

// write is one planned addDevice/addComposeHash call.
type write struct {
	method string
	data   []byte
	gas    uint64
	tx     *types.Transaction
}

// EnsureRegistered makes the DstackApp contract named by prereq allow its
// compose hash and device:
//
//  1. It checks that the backend is on the app's chain ([*WrongChainError])
//     and reads the contract's state at the latest block. If nothing is
//     missing it returns at once, without sending anything.
//  2. It checks that the signer is owner() ([*NotOwnerError]), estimates
//     the gas of each missing write, and checks that the balance covers
//     gas × max fee for all of them ([*InsufficientFundsError]).
//  3. It sends only the missing writes (addDevice, then addComposeHash),
//     with consecutive nonces, back to back, and waits for both receipts
//     together, then for the configured confirmations
//     ([*ReceiptTimeoutError] on timeout).
//  4. It decodes reverts ([*RevertError]) and re-reads the contract at the
//     receipts' block: success is reported only once the chain shows the
//     compose hash and device as allowed ([*StateNotConfirmedError]).
//
// Once a transaction has been sent, any error comes with a non-nil
// Registration listing the transactions sent so far, so the caller can
// check on them instead of sending again.
func (r *Registrar) EnsureRegistered(ctx context.Context, prereq *ErrOnchainPrerequisite) (*Registration, error) {
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
		plan = append(plan, &write{method: "addDevice", data: d.PackAddDevice(deviceID)})
	}
	if !st.ComposeHashAllowed {
		plan = append(plan, &write{method: "addComposeHash", data: d.PackAddComposeHash(composeHash)})
	}
	if len(plan) == 0 {
		r.log.InfoContext(ctx, "onchain: already registered", "app", app, "block", st.Block)
		return &Registration{Block: st.Block}, nil
	}

	if err := r.checkOwner(ctx, app); err != nil {
		return nil, err
	}
	fees, err := r.fees(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.estimate(ctx, app, plan, fees); err != nil {
		return nil, err
	}
	nonce, err := r.nonce(ctx)
	if err != nil {
		return nil, err
	}

	reg := &Registration{}
	if err := r.send(ctx, app, plan, fees, nonce, reg); err != nil {
		if reg.DeviceTx == (common.Hash{}) && reg.ComposeHashTx == (common.Hash{}) {
			return nil, err
		}
		return reg, err
	}
	receipts, err := r.wait(ctx, plan)
	if err != nil {
		return reg, err
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
		r.log.DebugContext(ctx, "onchain: re-read failed, retrying", "block", block, "err", err)
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
	want := r.opts.chainID
	if want == 0 && prereq.KMSInfo != nil {
		want = prereq.KMSInfo.ChainID
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

func (r *Registrar) nonce(ctx context.Context) (uint64, error) {
	if r.signer.Nonce != nil {
		if !r.signer.Nonce.IsUint64() {
			return 0, errors.New("onchain: signer nonce out of range")
		}
		return r.signer.Nonce.Uint64(), nil
	}
	n, err := r.backend.PendingNonceAt(ctx, r.signer.From)
	if err != nil {
		return 0, fmt.Errorf("onchain: reading the nonce of %s: %w", r.signer.From, err)
	}
	return n, nil
}

// send signs and sends the writes back to back with consecutive nonces.
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
		switch w.method {
		case "addDevice":
			reg.DeviceTx = tx.Hash()
		case "addComposeHash":
			reg.ComposeHashTx = tx.Hash()
		}
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
				r.log.DebugContext(ctx, "onchain: receipt poll failed", "tx", w.tx.Hash(), "err", err)
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
