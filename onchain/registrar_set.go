package onchain

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
)

// SetStatus is what a DstackApp contract says about one compose hash and a set
// of devices, read at one block: the on-chain state a replica set spread over
// several nodes depends on.
type SetStatus struct {
	ComposeHashAllowed bool                 `json:"compose_hash_allowed"`
	AllowAnyDevice     bool                 `json:"allow_any_device"`
	DevicesListed      map[common.Hash]bool `json:"devices_listed"` // allowedDeviceIds(device), per device read
	Block              uint64               `json:"block"`
}

// DeviceAllowed reports whether the contract allows device (listed, or any
// device allowed).
func (s *SetStatus) DeviceAllowed(device common.Hash) bool {
	return s.AllowAnyDevice || s.DevicesListed[device]
}

// MissingDevices returns the devices of ids the contract does not allow, in
// the order given, without duplicates.
func (s *SetStatus) MissingDevices(ids []common.Hash) []common.Hash {
	var out []common.Hash
	seen := map[common.Hash]bool{}
	for _, d := range ids {
		if !seen[d] && !s.DeviceAllowed(d) {
			out = append(out, d)
		}
		seen[d] = true
	}
	return out
}

// ReadSetStatus reads, at one block, allowAnyDevice(),
// allowedComposeHashes(composeHash) and allowedDeviceIds(d) for every d of
// deviceIDs (duplicates are read once). With [WithRPCClient] every read goes
// in one JSON-RPC batch (plus the latest block before and after, as in
// [Status]): one round trip whatever the number of devices. Without it the
// reads are sequential calls through reader. [AtBlock] pins the block.
func ReadSetStatus(ctx context.Context, reader StatusReader, app common.Address, composeHash common.Hash, deviceIDs []common.Hash, opts ...Option) (_ *SetStatus, err error) {
	defer func() { err = redactURLs(err) }()
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	if reader == nil && o.rpcClient == nil {
		return nil, errors.New("onchain: ReadSetStatus: nil reader")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("onchain: reading the status of %s: %w", app, err)
	}
	d := NewDstackApp()
	calls := []statusCall{
		{name: "allowAnyDevice", data: d.PackAllowAnyDevice()},
		{name: "allowedComposeHashes", data: d.PackAllowedComposeHashes(composeHash)},
	}
	var devices []common.Hash
	seen := map[common.Hash]bool{}
	for _, id := range deviceIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		devices = append(devices, id)
		calls = append(calls, statusCall{name: "allowedDeviceIds", data: d.PackAllowedDeviceIds(id)})
	}
	var block uint64
	switch {
	case o.block != nil:
		block = *o.block
		if o.rpcClient != nil {
			err = batchCalls(ctx, o.rpcClient, app, blockArg(block), calls)
		} else {
			err = sequentialCalls(ctx, reader, app, block, calls)
		}
	case o.rpcClient != nil:
		block, err = batchLatest(ctx, o.rpcClient, app, calls)
	default:
		block, err = latestBlock(ctx, reader)
		if err == nil {
			err = sequentialCalls(ctx, reader, app, block, calls)
		}
	}
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("onchain: reading the status of %s: %w", app, err)
	}
	vals := make([]bool, len(calls))
	for i, c := range calls {
		if c.err != nil {
			return nil, c.err
		}
		v, err := d.UnpackAllowAnyDevice(c.out) // every getter returns one bool
		if err != nil || len(c.out) != 32 {
			return nil, fmt.Errorf("%w: %s at %s returned %d bytes (no contract at this address on this chain?)", ErrNotDstackApp, c.name, app, len(c.out))
		}
		vals[i] = v
	}
	st := &SetStatus{AllowAnyDevice: vals[0], ComposeHashAllowed: vals[1], DevicesListed: map[common.Hash]bool{}, Block: block}
	for i, id := range devices {
		st.DevicesListed[id] = vals[2+i]
	}
	return st, nil
}

// SetPrerequisite is what a replica set spread over several nodes needs on
// chain: the compose hash and every device, on one DstackApp contract.
type SetPrerequisite struct {
	App         common.Address `json:"app"`
	ChainID     uint64         `json:"chain_id"` // the app's chain (kms_info.chain_id)
	ComposeHash common.Hash    `json:"compose_hash"`
	DeviceIDs   []common.Hash  `json:"device_ids"`
}

// SetTx is one transaction of a [SetRegistration].
type SetTx struct {
	Method string      `json:"method"` // "addDevice", "addComposeHash" or "removeDevice"
	Arg    common.Hash `json:"arg"`
	TxHash common.Hash `json:"tx_hash"`
}

// SetRegistration is the result of [Registrar.EnsureRegisteredSet].
type SetRegistration struct {
	Txs   []SetTx `json:"txs"`   // in nonce order; empty when nothing was needed
	Block uint64  `json:"block"` // the block the registration was verified at
}

// CommitTransactionHash is the transaction_hash to commit any replica of the
// set with: the addComposeHash transaction if one was sent (the commit check
// accepts a transaction that added the compose hash or the replica's device),
// else the last transaction, else [AlreadyRegistered].
func (r *SetRegistration) CommitTransactionHash() string {
	if r == nil || len(r.Txs) == 0 {
		return AlreadyRegistered
	}
	for _, t := range r.Txs {
		if t.Method == "addComposeHash" {
			return t.TxHash.Hex()
		}
	}
	return r.Txs[len(r.Txs)-1].TxHash.Hex()
}

// EnsureRegisteredSet makes the DstackApp contract allow the compose hash and
// every device of req with one pipelined send and one confirmation wait: it
// reads the whole state in one batch ([ReadSetStatus]), then sends every
// missing addDevice and the addComposeHash (last) with consecutive nonces,
// back to back, waits for all receipts together, and re-reads the contract at
// the receipts' block. It applies every check of [Registrar.EnsureRegistered]:
// the backend's chain, owner(), gas estimates, the balance for all writes,
// pending transactions of the account, a write already sent by this Registrar
// being waited for rather than sent again, decoded reverts, and a re-read that
// must show everything allowed ([*StateNotConfirmedError] otherwise, whose
// Status describes the compose hash and the first device still missing).
//
// Once a transaction has been sent, any error comes with a non-nil
// SetRegistration listing them; calling again resumes waiting for them.
func (r *Registrar) EnsureRegisteredSet(ctx context.Context, req SetPrerequisite) (_ *SetRegistration, err error) {
	defer func() { err = redactURLs(err) }()
	if req.App == (common.Address{}) {
		return nil, errors.New("onchain: EnsureRegisteredSet: no app address")
	}
	if req.ComposeHash == (common.Hash{}) {
		return nil, errors.New("onchain: EnsureRegisteredSet: no compose hash")
	}
	if err := r.checkChain(ctx, &ErrOnchainPrerequisite{KMSInfo: &KMSInfo{ChainID: req.ChainID}}); err != nil {
		return nil, err
	}
	st, err := r.setStatus(ctx, req, nil)
	if err != nil {
		return nil, err
	}
	// The writes are the calls a Safe would be given for the same state.
	calls, err := SetRegistrationCalls(req, st)
	if err != nil && !errors.Is(err, ErrNothingToRegister) {
		return nil, err
	}
	plan := make([]*write, len(calls))
	for i, c := range calls {
		plan[i] = &write{key: writeKey{c.To, c.Method, c.Arg}, method: c.Method, data: c.Data}
	}
	for _, id := range req.DeviceIDs {
		if st.DeviceAllowed(id) {
			r.forget(writeKey{req.App, "addDevice", id}, nil)
		}
	}
	if st.ComposeHashAllowed {
		r.forget(writeKey{req.App, "addComposeHash", req.ComposeHash}, nil)
	}
	if len(plan) == 0 {
		r.log.InfoContext(ctx, "onchain: set already registered", "app", req.App, "devices", len(req.DeviceIDs), "block", st.Block)
		return &SetRegistration{Block: st.Block}, nil
	}

	out, err := r.sendSet(ctx, req.App, plan, st.Block)
	if err != nil {
		return out, err
	}
	after, err := r.rereadSet(ctx, req, out.Block)
	if err != nil {
		return out, fmt.Errorf("onchain: re-reading the contract after registration: %w", err)
	}
	if missing := after.MissingDevices(req.DeviceIDs); len(missing) > 0 || !after.ComposeHashAllowed {
		as := AppStatus{ComposeHashAllowed: after.ComposeHashAllowed, AllowAnyDevice: after.AllowAnyDevice,
			DeviceIDAllowed: len(missing) == 0, DeviceListed: len(missing) == 0, Block: after.Block}
		as.IsAllowed = as.ComposeHashAllowed && as.DeviceIDAllowed
		return out, &StateNotConfirmedError{Status: as}
	}
	r.log.InfoContext(ctx, "onchain: set registered", "app", req.App, "txs", len(out.Txs), "block", out.Block)
	return out, nil
}

func (r *Registrar) setStatus(ctx context.Context, req SetPrerequisite, block *uint64) (*SetStatus, error) {
	var opts []Option
	if r.opts.rpcClient != nil {
		opts = append(opts, WithRPCClient(r.opts.rpcClient))
	}
	if block != nil {
		opts = append(opts, AtBlock(*block))
	}
	return ReadSetStatus(ctx, r.backend, req.App, req.ComposeHash, req.DeviceIDs, opts...)
}

// rereadSet is reread for a set: retried while the node lacks the block.
func (r *Registrar) rereadSet(ctx context.Context, req SetPrerequisite, block uint64) (*SetStatus, error) {
	return retryRead(ctx, r, block, func() (*SetStatus, error) {
		return r.setStatus(ctx, req, &block)
	})
}

// DeviceRemoval names devices to take off one DstackApp contract's
// allow-list: those of nodes that no longer host a replica of the app.
type DeviceRemoval struct {
	App       common.Address `json:"app"`
	ChainID   uint64         `json:"chain_id"` // the app's chain (kms_info.chain_id)
	DeviceIDs []common.Hash  `json:"device_ids"`
}

// DevicesStillListedError means the removeDevice transactions were mined, yet
// reading the contract at their block still shows some devices listed (for
// example another owner added them again in the same block).
type DevicesStillListedError struct {
	Devices []common.Hash `json:"devices"`
	Block   uint64        `json:"block"`
}

// Error implements error.
func (e *DevicesStillListedError) Error() string {
	return fmt.Sprintf("onchain: after removal, block %d still lists %d device(s), the first %s", e.Block, len(e.Devices), e.Devices[0])
}

// RemoveDevices makes the DstackApp contract stop listing every device of
// req, with one pipelined send and one confirmation wait, under the checks of
// [Registrar.EnsureRegisteredSet]: the backend's chain, one batched read of
// the contract, owner(), gas estimates, the balance for all writes, pending
// transactions, a removal already sent by this Registrar being waited for,
// decoded reverts, and a re-read at the receipts' block that must show none
// of the devices listed ([*DevicesStillListedError] otherwise). Devices the
// contract does not list are not sent; when none is listed it returns at
// once. Only the listing is changed: allowAnyDevice is left as it is.
//
// Once a transaction has been sent, any error comes with a non-nil
// SetRegistration listing them (Method "removeDevice"); calling again
// resumes waiting for them.
func (r *Registrar) RemoveDevices(ctx context.Context, req DeviceRemoval) (_ *SetRegistration, err error) {
	defer func() { err = redactURLs(err) }()
	if req.App == (common.Address{}) {
		return nil, errors.New("onchain: RemoveDevices: no app address")
	}
	if err := r.checkChain(ctx, &ErrOnchainPrerequisite{KMSInfo: &KMSInfo{ChainID: req.ChainID}}); err != nil {
		return nil, err
	}
	// The compose hash is not needed; allowedComposeHashes(0) is read and ignored.
	sreq := SetPrerequisite{App: req.App, ChainID: req.ChainID, DeviceIDs: req.DeviceIDs}
	st, err := r.setStatus(ctx, sreq, nil)
	if err != nil {
		return nil, err
	}
	d := NewDstackApp()
	var plan []*write
	seen := map[common.Hash]bool{}
	for _, id := range req.DeviceIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		k := writeKey{req.App, "removeDevice", id}
		if !st.DevicesListed[id] {
			r.forget(k, nil)
			continue
		}
		plan = append(plan, &write{key: k, method: "removeDevice", data: d.PackRemoveDevice(id)})
	}
	if len(plan) == 0 {
		r.log.InfoContext(ctx, "onchain: no device to remove", "app", req.App, "devices", len(req.DeviceIDs), "block", st.Block)
		return &SetRegistration{Block: st.Block}, nil
	}

	out, err := r.sendSet(ctx, req.App, plan, st.Block)
	if err != nil {
		return out, err
	}
	after, err := r.rereadSet(ctx, sreq, out.Block)
	if err != nil {
		return out, fmt.Errorf("onchain: re-reading the contract after removal: %w", err)
	}
	var still []common.Hash
	for _, w := range plan {
		if after.DevicesListed[w.key.arg] {
			still = append(still, w.key.arg)
		}
	}
	if len(still) > 0 {
		return out, &DevicesStillListedError{Devices: still, Block: after.Block}
	}
	r.log.InfoContext(ctx, "onchain: devices removed", "app", req.App, "txs", len(out.Txs), "block", out.Block)
	return out, nil
}

// sendSet sends plan in one pipelined submit, waits for every receipt at once and
// checks them for reverts. Once anything was sent the result lists it, also with an
// error, so the caller can check on it instead of sending again; Block is the block
// of the last receipt.
func (r *Registrar) sendSet(ctx context.Context, app common.Address, plan []*write, block uint64) (*SetRegistration, error) {
	out := &SetRegistration{}
	record := func() {
		out.Txs = out.Txs[:0]
		for _, w := range plan {
			if w.tx != nil {
				out.Txs = append(out.Txs, SetTx{Method: w.method, Arg: w.key.arg, TxHash: w.tx.Hash()})
			}
		}
	}
	if err := r.submit(ctx, app, plan, block, &Registration{}); err != nil {
		record()
		if len(out.Txs) == 0 {
			return nil, err
		}
		return out, err
	}
	record()
	block, err := r.confirm(ctx, app, plan)
	if err != nil {
		return out, err
	}
	out.Block = max(out.Block, block)
	return out, nil
}
