package onchaintest

import (
	"context"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/phalaforge/phala-go/onchain/internal/testcontracts"
)

// AppConfig is the initial state of a deployed DstackApp test double.
type AppConfig struct {
	// Legacy deploys a "v1" contract, like most live proxies: version(),
	// requireTcbUpToDate(), pendingOwner() and acceptOwnership() revert with
	// empty data and ownership transfers are immediate. The zero value is a
	// "v2" contract (version() == 2, two-step ownership).
	Legacy             bool
	AllowAnyDevice     bool
	RequireTCBUpToDate bool        // ignored when Legacy
	DeviceID           common.Hash // allowed at deployment unless zero
	ComposeHash        common.Hash // allowed at deployment unless zero
}

// KMSInfo is what a deployed DstackKms test double returns from kmsInfo().
type KMSInfo struct {
	K256Pubkey []byte // KMS root key, 33-byte compressed SEC1 on real KMSs
	CAPubkey   []byte
	Quote      []byte
	EventLog   []byte
}

// DeployDstackApp sends the creation transaction of a DstackApp test double
// owned by owner.From and returns its future address and the transaction,
// without waiting for it to be mined. It works with any backend (a simulated
// chain, anvil, a dev node); on a Chain prefer [Chain.DeployDstackApp].
func DeployDstackApp(ctx context.Context, backend bind.ContractBackend, owner *bind.TransactOpts, cfg AppConfig) (common.Address, *types.Transaction, error) {
	if owner == nil {
		return common.Address{}, nil, errors.New("onchaintest: DeployDstackApp: nil owner")
	}
	ctor := testcontracts.NewDstackApp().PackConstructor(owner.From, cfg.Legacy, cfg.RequireTCBUpToDate, cfg.AllowAnyDevice, cfg.DeviceID, cfg.ComposeHash)
	return deploy(ctx, backend, owner, testcontracts.DstackAppMetaData.Bin, ctor)
}

// DeployDstackKms sends the creation transaction of a DstackKms test double
// owned by owner.From, without waiting and without KMS info; on a Chain
// prefer [Chain.DeployDstackKms].
func DeployDstackKms(ctx context.Context, backend bind.ContractBackend, owner *bind.TransactOpts) (common.Address, *types.Transaction, error) {
	if owner == nil {
		return common.Address{}, nil, errors.New("onchaintest: DeployDstackKms: nil owner")
	}
	ctor := testcontracts.NewDstackKms().PackConstructor(owner.From)
	return deploy(ctx, backend, owner, testcontracts.DstackKmsMetaData.Bin, ctor)
}

func deploy(ctx context.Context, backend bind.ContractBackend, owner *bind.TransactOpts, binHex string, ctor []byte) (common.Address, *types.Transaction, error) {
	code, err := hexutil.Decode(binHex)
	if err != nil {
		return common.Address{}, nil, fmt.Errorf("onchaintest: embedded bytecode: %w", err)
	}
	opts := *owner
	opts.Context = ctx
	addr, tx, err := bind.DeployContract(&opts, code, backend, ctor)
	if err != nil {
		return common.Address{}, nil, fmt.Errorf("onchaintest: deploying: %w", err)
	}
	return addr, tx, nil
}

// DeployDstackApp deploys a DstackApp test double owned by owner.From, mines
// it and returns its address (which is the app id).
func (c *Chain) DeployDstackApp(ctx context.Context, owner *bind.TransactOpts, cfg AppConfig) (common.Address, error) {
	addr, tx, err := DeployDstackApp(ctx, c.Client, owner, cfg)
	if err != nil {
		return common.Address{}, err
	}
	if _, err := c.Mine(ctx, tx); err != nil {
		return common.Address{}, err
	}
	return addr, nil
}

// DeployDstackKms deploys a DstackKms test double owned by owner.From, sets
// its KMS info (unless info is the zero value), mines both and returns its
// address.
func (c *Chain) DeployDstackKms(ctx context.Context, owner *bind.TransactOpts, info KMSInfo) (common.Address, error) {
	addr, tx, err := DeployDstackKms(ctx, c.Client, owner)
	if err != nil {
		return common.Address{}, err
	}
	if _, err := c.Mine(ctx, tx); err != nil {
		return common.Address{}, err
	}
	if info.K256Pubkey == nil && info.CAPubkey == nil && info.Quote == nil && info.EventLog == nil {
		return addr, nil
	}
	kms := testcontracts.NewDstackKms()
	data := kms.PackSetKmsInfo(testcontracts.DstackKmsKmsInfo{
		K256Pubkey: nonNil(info.K256Pubkey), CaPubkey: nonNil(info.CAPubkey),
		Quote: nonNil(info.Quote), Eventlog: nonNil(info.EventLog),
	})
	tx, err = c.Transact(ctx, owner, addr, data)
	if err != nil {
		return common.Address{}, err
	}
	if _, err := c.Mine(ctx, tx); err != nil {
		return common.Address{}, err
	}
	return addr, nil
}

// Transact sends calldata to contract from opts.From (gas estimated, nonce
// from the pending state) without waiting; pair it with Mine. Tests use it
// to change a contract's state, e.g. with the packers of the onchain
// package's DstackApp binding.
func (c *Chain) Transact(ctx context.Context, opts *bind.TransactOpts, contract common.Address, calldata []byte) (*types.Transaction, error) {
	o := *opts
	o.Context = ctx
	bc := bind.NewBoundContract(contract, testcontracts.NewDstackApp().GetABI(), c.Client, c.Client, c.Client)
	tx, err := bc.RawTransact(&o, calldata)
	if err != nil {
		return nil, fmt.Errorf("onchaintest: transact to %s: %w", contract, err)
	}
	return tx, nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
