package onchain

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"
)

// ErrNotDstackApp is returned when the address holds no contract, or one
// that does not answer the DstackApp allow-list getters.
var ErrNotDstackApp = errors.New("onchain: not a DstackApp contract")

// StatusReader is what [Status] needs from a backend: contract calls and the
// latest header (to pin all reads to one block). *ethclient.Client, the
// simulated backend's client and every [Backend] satisfy it.
type StatusReader interface {
	bind.ContractCaller
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
}

// AppStatus is what a DstackApp contract says about one compose hash and
// one device, read at a single block.
type AppStatus struct {
	ComposeHashAllowed bool   `json:"compose_hash_allowed"`   // allowedComposeHashes(hash)
	DeviceIDAllowed    bool   `json:"device_id_allowed"`      // AllowAnyDevice || DeviceListed
	IsAllowed          bool   `json:"is_allowed"`             // both of the above
	AllowAnyDevice     bool   `json:"allow_any_device"`       // allowAnyDevice()
	DeviceListed       bool   `json:"device_listed"`          // allowedDeviceIds(device)
	RequireTCBUpToDate bool   `json:"require_tcb_up_to_date"` // v2 contracts only; false on v1
	Block              uint64 `json:"block"`                  // the block every value was read at
}

// OnchainStatus returns the three booleans of the 465 payload's
// onchain_status.
func (s *AppStatus) OnchainStatus() OnchainStatus {
	return OnchainStatus{ComposeHashAllowed: s.ComposeHashAllowed, DeviceIDAllowed: s.DeviceIDAllowed, IsAllowed: s.IsAllowed}
}

// Status reads, at one block, whether the DstackApp contract at app allows
// composeHash and deviceID: allowAnyDevice(), allowedDeviceIds(deviceID),
// allowedComposeHashes(composeHash), and requireTcbUpToDate() (which v1
// contracts lack: it then reads as false).
//
// The block is the latest one unless [AtBlock] is given. With
// [WithRPCClient] the four reads go in one JSON-RPC batch: one round trip.
// For the latest block the batch also reads the latest block before and
// after the calls; if a block arrived in between, the calls are read again
// at the newer block (a second round trip), so all values always come from
// one block. Without WithRPCClient the reads are sequential calls through
// reader (five round trips: latest header and four calls; four with
// AtBlock).
//
// An address without code, or whose getters revert or return garbage, gives
// an error matching [ErrNotDstackApp]. Once ctx is done, Status returns its
// error, never values read meanwhile. No error names an RPC URL's path or
// query.
func Status(ctx context.Context, reader StatusReader, app common.Address, deviceID, composeHash common.Hash, opts ...Option) (_ *AppStatus, err error) {
	defer func() { err = redactURLs(err) }()
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	if reader == nil && o.rpcClient == nil {
		return nil, errors.New("onchain: Status: nil reader")
	}
	s, _, err := readAppStatus(ctx, reader, o.rpcClient, o.block, app, deviceID, composeHash, true, nil)
	return s, err
}

// readAppStatus is [Status]: withTCB adds requireTcbUpToDate() (which the
// Registrar does not need), and extra elements (reads at "latest" the caller
// wants in the same round trip) ride in the batch when rc is not nil and the
// block is the latest. It also returns the block the values were read at
// (nil when block was given or without rc).
func readAppStatus(ctx context.Context, reader StatusReader, rc *rpc.Client, at *uint64, app common.Address, deviceID, composeHash common.Hash, withTCB bool, extra []rpc.BatchElem) (*AppStatus, *blockRef, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("onchain: reading the status of %s: %w", app, err)
	}
	d := NewDstackApp()
	calls := []statusCall{
		{name: "allowAnyDevice", data: d.PackAllowAnyDevice()},
		{name: "allowedDeviceIds", data: d.PackAllowedDeviceIds(deviceID)},
		{name: "allowedComposeHashes", data: d.PackAllowedComposeHashes(composeHash)},
	}
	if withTCB {
		calls = append(calls, statusCall{name: "requireTcbUpToDate", data: d.PackRequireTcbUpToDate(), optional: true})
	}
	var (
		block uint64
		head  *blockRef
		err   error
	)
	switch {
	case at != nil:
		block = *at
		if rc != nil {
			err = batchCalls(ctx, rc, app, blockArg(block), calls)
		} else {
			err = sequentialCalls(ctx, reader, app, block, calls)
		}
	case rc != nil:
		head, err = batchLatestWith(ctx, rc, app, calls, extra)
		if head != nil {
			block = head.Number.ToInt().Uint64()
		}
	default:
		block, err = latestBlock(ctx, reader)
		if err == nil {
			err = sequentialCalls(ctx, reader, app, block, calls)
		}
	}
	if err != nil {
		return nil, head, err
	}
	// A client may deliver an answer that raced with the cancellation
	// (go-ethereum's picks either at random): the caller gave up, so the
	// values are not reported.
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("onchain: reading the status of %s: %w", app, err)
	}

	vals := make([]bool, 4)
	for i, c := range calls {
		if c.err != nil {
			if c.optional && c.reverted {
				continue // v1 contract: no requireTcbUpToDate()
			}
			return nil, head, c.err
		}
		v, err := d.UnpackAllowAnyDevice(c.out) // every getter returns one bool
		if err != nil || len(c.out) != 32 {
			return nil, head, fmt.Errorf("%w: %s at %s returned %d bytes (no contract at this address on this chain?)", ErrNotDstackApp, c.name, app, len(c.out))
		}
		vals[i] = v
	}
	s := &AppStatus{
		AllowAnyDevice:     vals[0],
		DeviceListed:       vals[1],
		ComposeHashAllowed: vals[2],
		RequireTCBUpToDate: vals[3],
		Block:              block,
	}
	s.DeviceIDAllowed = s.AllowAnyDevice || s.DeviceListed
	s.IsAllowed = s.ComposeHashAllowed && s.DeviceIDAllowed
	return s, head, nil
}

type statusCall struct {
	name     string
	data     []byte
	optional bool

	out      []byte
	err      error
	reverted bool
}

func (c *statusCall) setErr(app common.Address, err error) {
	if data, ok := revertData(err); ok {
		c.reverted = true
		r := DecodeRevert(data)
		r.Method = c.name
		c.err = fmt.Errorf("%w: %s at %s: %w", ErrNotDstackApp, c.name, app, r)
		return
	}
	c.err = fmt.Errorf("onchain: calling %s at %s: %w", c.name, app, err)
}

func latestBlock(ctx context.Context, reader StatusReader) (uint64, error) {
	h, err := reader.HeaderByNumber(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("onchain: reading the latest block: %w", err)
	}
	if h == nil || h.Number == nil {
		return 0, errors.New("onchain: reading the latest block: the node returned no block number")
	}
	return h.Number.Uint64(), nil
}

// blockRef is the part of an eth_getBlockByNumber answer the reads need:
// the block, its time and base fee (nil before London).
type blockRef struct {
	Number  *hexutil.Big   `json:"number"`
	Hash    common.Hash    `json:"hash"`
	Time    hexutil.Uint64 `json:"timestamp"`
	BaseFee *hexutil.Big   `json:"baseFeePerGas"`
}

// batchLatest is batchLatestWith without extra reads, returning the block
// number.
func batchLatest(ctx context.Context, rc *rpc.Client, app common.Address, calls []statusCall) (uint64, error) {
	head, err := batchLatestWith(ctx, rc, app, calls, nil)
	if head == nil {
		return 0, err
	}
	return head.Number.ToInt().Uint64(), err
}

// batchLatestWith reads calls at the latest block in one round trip: one batch
// of the latest block, the calls at "latest", and the latest block again
// (then extra, which the caller reads from its own results). When both
// blocks are the same (by hash), every call in between read that block.
// When a block arrived meanwhile, the calls are read again, in a second
// batch, at the newer block's number. It returns the newer block.
func batchLatestWith(ctx context.Context, rc *rpc.Client, app common.Address, calls []statusCall, extra []rpc.BatchElem) (*blockRef, error) {
	var before, after *blockRef
	elems := []rpc.BatchElem{{Method: "eth_getBlockByNumber", Args: []any{"latest", false}, Result: &before}}
	outs := make([]hexutil.Bytes, len(calls))
	for i, c := range calls {
		elems = append(elems, callElem(app, "latest", c.data, &outs[i]))
	}
	elems = append(elems, rpc.BatchElem{Method: "eth_getBlockByNumber", Args: []any{"latest", false}, Result: &after})
	afterIdx := len(elems) - 1
	elems = append(elems, extra...)
	if err := rc.BatchCallContext(ctx, elems); err != nil {
		return nil, fmt.Errorf("onchain: batch of %d contract reads at %s: %w", len(calls), app, err)
	}
	copy(extra, elems[afterIdx+1:]) // the caller reads their Error fields
	for _, e := range []rpc.BatchElem{elems[0], elems[afterIdx]} {
		if e.Error != nil {
			return nil, fmt.Errorf("onchain: reading the latest block: %w", e.Error)
		}
	}
	if before == nil || after == nil || before.Number == nil || after.Number == nil || !after.Number.ToInt().IsUint64() {
		return nil, errors.New("onchain: reading the latest block: the node returned no block number")
	}
	if before.Hash != after.Hash {
		return after, batchCalls(ctx, rc, app, blockArg(after.Number.ToInt().Uint64()), calls)
	}
	for i := range calls {
		if e := elems[i+1]; e.Error != nil {
			calls[i].setErr(app, e.Error)
			continue
		}
		calls[i].out = outs[i]
	}
	return after, nil
}

func blockArg(n uint64) string { return hexutil.EncodeUint64(n) }

func callElem(app common.Address, block string, data []byte, out *hexutil.Bytes) rpc.BatchElem {
	return rpc.BatchElem{
		Method: "eth_call",
		Args:   []any{map[string]any{"to": app, "input": hexutil.Bytes(data)}, block},
		Result: out,
	}
}

func sequentialCalls(ctx context.Context, reader StatusReader, app common.Address, block uint64, calls []statusCall) error {
	bn := new(big.Int).SetUint64(block)
	for i := range calls {
		out, err := reader.CallContract(ctx, ethereum.CallMsg{To: &app, Data: calls[i].data}, bn)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			calls[i].setErr(app, err)
			continue
		}
		calls[i].out = out
	}
	return nil
}

func batchCalls(ctx context.Context, rc *rpc.Client, app common.Address, block string, calls []statusCall) error {
	elems := make([]rpc.BatchElem, len(calls))
	outs := make([]hexutil.Bytes, len(calls))
	for i, c := range calls {
		elems[i] = callElem(app, block, c.data, &outs[i])
	}
	if err := rc.BatchCallContext(ctx, elems); err != nil {
		return fmt.Errorf("onchain: batch of %d contract reads at %s: %w", len(elems), app, err)
	}
	for i := range calls {
		if elems[i].Error != nil {
			calls[i].setErr(app, elems[i].Error)
			continue
		}
		calls[i].out = outs[i]
	}
	return nil
}

// ContractVersion detects the DstackApp generation at app: 1 for contracts
// without version() (the call reverts with empty data or returns nothing;
// most live proxies), otherwise the value version() returns (2 at the time
// of writing). An address without code gives [ErrNotDstackApp]. No error
// names an RPC URL's path or query.
func ContractVersion(ctx context.Context, caller bind.ContractCaller, app common.Address) (_ uint64, err error) {
	defer func() { err = redactURLs(err) }()
	code, err := caller.CodeAt(ctx, app, nil)
	if err != nil {
		return 0, fmt.Errorf("onchain: reading code at %s: %w", app, err)
	}
	if len(code) == 0 {
		return 0, fmt.Errorf("%w: no code at %s", ErrNotDstackApp, app)
	}
	d := NewDstackApp()
	out, err := caller.CallContract(ctx, ethereum.CallMsg{To: &app, Data: d.PackVersion()}, nil)
	if err != nil {
		if _, ok := revertData(err); ok {
			return 1, nil
		}
		return 0, fmt.Errorf("onchain: calling version() at %s: %w", app, err)
	}
	if len(out) == 0 {
		return 1, nil
	}
	v, err := d.UnpackVersion(out)
	if err != nil || !v.IsUint64() {
		return 0, fmt.Errorf("%w: version() at %s returned 0x%x", ErrNotDstackApp, app, out)
	}
	return v.Uint64(), nil
}
