// Package sandbox starts a phalatest emulator wired to a simulated Ethereum
// chain, both in-process, seeded for the replication workflows that need a
// chain: two nodes, a DstackKms contract holding the emulator's KMS root key,
// and helpers that deploy a DstackApp owned by a funded account and seed an
// app on it. It is the on-chain seeding recipe of the examples and of
// phala-replicate's demo, as public API, so a program copied out of this
// module can run without a Phala Cloud account or a real chain.
//
//	sb, err := sandbox.Start(ctx)
//	if err != nil { ... }
//	defer sb.Close()
//	app, err := sb.AddOnchainApp(ctx, phalatest.App{Name: "api"}, 0)
//	client, err := sb.Client()
//	// replicate app.CVM.VMUUID onto sb.NodeB.Name; sign with app.OwnerKey()
//	// on sb.Chain.URL() (chain id onchaintest.ChainID)
//
// It is a separate package from phalatest because the simulated chain links
// much of go-ethereum: a test that needs only phalatest.NewServer does not
// pay for it.
package sandbox

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
	"github.com/phalaforge/phala-go/phalatest"
)

// Defaults of a sandbox: the chain mines pending transactions every
// DefaultAutoCommit; a replica stays creating for DefaultCreatingDelay, then
// starting for DefaultStartingDelay, so a wait shows some progress yet ends
// in well under a second.
const (
	DefaultAutoCommit    = 20 * time.Millisecond
	DefaultCreatingDelay = 200 * time.Millisecond
	DefaultStartingDelay = 200 * time.Millisecond
)

// Sandbox is a running emulator and simulated chain. Start seeds two listed
// nodes on on-chain KMS, NodeA ("node-a", us-west) and NodeB ("node-b",
// eu-central), and deploys a DstackKms contract holding the emulator's KMS
// root key, so env encryption keys verify against the chain.
type Sandbox struct {
	Server *phalatest.Server  // the API emulator
	Chain  *onchaintest.Chain // the simulated chain, chain id onchaintest.ChainID, served over HTTP at Chain.URL()
	NodeA  phalatest.Node     // where seeded CVMs run
	NodeB  phalatest.Node     // a second node, not allowed by seeded DstackApps
	KMS    common.Address     // the DstackKms contract, deployed by Chain.Accounts[0]
}

// Option configures Start.
type Option func(*config)

type config struct {
	server []phalatest.Option
	chain  []onchaintest.Option
}

// WithServerOptions adds options for phalatest.NewServer, applied after the
// sandbox's own (WithChain for the simulated chain and provisioning delays
// of DefaultCreatingDelay and DefaultStartingDelay), so they may override
// the delays or add a clock or a logger.
func WithServerOptions(opts ...phalatest.Option) Option {
	return func(c *config) { c.server = append(c.server, opts...) }
}

// WithChainOptions adds options for onchaintest.NewChain, applied after the
// sandbox's own (WithHTTP, and WithAutoCommit(DefaultAutoCommit)), so they
// may change the mining interval, the accounts or their balances.
func WithChainOptions(opts ...onchaintest.Option) Option {
	return func(c *config) { c.chain = append(c.chain, opts...) }
}

// Start starts and seeds a sandbox. The caller should call Close when
// finished. Like phalatest.NewServer and onchaintest.NewChain it panics on
// an invalid option; it returns an error when the contracts cannot be
// deployed.
func Start(ctx context.Context, opts ...Option) (_ *Sandbox, err error) {
	var cfg config
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	sb := &Sandbox{}
	defer func() {
		if err != nil {
			sb.Close()
		}
	}()
	chainOpts := append([]onchaintest.Option{onchaintest.WithHTTP(), onchaintest.WithAutoCommit(DefaultAutoCommit)}, cfg.chain...)
	sb.Chain = onchaintest.NewChain(chainOpts...)
	if len(sb.Chain.Accounts) == 0 {
		return nil, errors.New("sandbox: the chain has no account")
	}
	serverOpts := append([]phalatest.Option{
		phalatest.WithChain(sb.Chain.Client, onchaintest.ChainID),
		phalatest.WithProvisioningDelays(DefaultCreatingDelay, DefaultStartingDelay),
	}, cfg.server...)
	sb.Server = phalatest.NewServer(serverOpts...)
	sb.NodeA = sb.Server.AddNode(phalatest.Node{Name: "node-a", Region: "us-west", Listed: true, OnchainKMS: true})
	sb.NodeB = sb.Server.AddNode(phalatest.Node{Name: "node-b", Region: "eu-central", Listed: true, OnchainKMS: true})
	sb.KMS, err = sb.Chain.DeployDstackKms(ctx, sb.Chain.Transactor(0), onchaintest.KMSInfo{K256Pubkey: sb.Server.KMSRootPublicKey()})
	if err != nil {
		return nil, fmt.Errorf("sandbox: deploying DstackKms: %w", err)
	}
	return sb, nil
}

// Client returns a client of the emulator (its URL and the default
// workspace's API key); opts are applied after those.
func (sb *Sandbox) Client(opts ...phala.Option) (*phala.Client, error) {
	return sb.Server.Client(opts...)
}

// CloudEnv returns the environment that points a program at the emulator
// as if it were Phala Cloud: phala.EnvAPIKey (PHALA_CLOUD_API_KEY) and
// phala.EnvAPIPrefix (PHALA_CLOUD_API_PREFIX).
func (sb *Sandbox) CloudEnv() map[string]string {
	return map[string]string{phala.EnvAPIKey: sb.Server.APIKey(), phala.EnvAPIPrefix: sb.Server.URL()}
}

// AddCloudApp seeds app on Cloud KMS (whatever app.KMS says) with one
// running CVM on NodeA started with env, and returns both. Replicas of it
// need no approval.
func (sb *Sandbox) AddCloudApp(app phalatest.App, env ...envcrypt.EnvVar) (phalatest.App, phalatest.CVM) {
	app.KMS = phalatest.KMSCloud
	app = sb.Server.AddApp(app)
	return app, sb.Server.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: sb.NodeA.ID, Env: env})
}

// OnchainApp is an app seeded by AddOnchainApp.
type OnchainApp struct {
	App      phalatest.App       // App.ID is the DstackApp's address, bare lowercase hex
	CVM      phalatest.CVM       // its running CVM on NodeA
	Contract common.Address      // the DstackApp contract
	Owner    onchaintest.Account // owns the DstackApp; funded at genesis
}

// OwnerKey returns the owner's private key as 64 hex digits without 0x, as
// onchain.SignerFromHex and PRIVATE_KEY take it. It is a well-known test
// key: never use it on a real chain.
func (a OnchainApp) OwnerKey() string {
	return hex.EncodeToString(crypto.FromECDSA(a.Owner.Key))
}

// AddOnchainApp deploys a DstackApp owned by chain account owner (an index
// of Chain.Accounts, 0 to 3 by default) that allows NodeA's device and no
// compose hash, seeds app on it with one running CVM on NodeA, and returns
// them. The sandbox sets app's ID (the contract address), ChainID and
// KMSContract, and KMS to phalatest.KMSBase unless it names another
// on-chain KMS. A replica on NodeB then needs addDevice and addComposeHash:
// the HTTP 465 flow of auto-registration or of a multisig.
func (sb *Sandbox) AddOnchainApp(ctx context.Context, app phalatest.App, owner int) (OnchainApp, error) {
	if owner < 0 || owner >= len(sb.Chain.Accounts) {
		return OnchainApp{}, fmt.Errorf("sandbox: owner %d: the chain has %d accounts", owner, len(sb.Chain.Accounts))
	}
	dev, err := onchain.ParseHash32(sb.NodeA.DeviceID)
	if err != nil {
		return OnchainApp{}, fmt.Errorf("sandbox: device id of %s: %w", sb.NodeA.Name, err)
	}
	addr, err := sb.Chain.DeployDstackApp(ctx, sb.Chain.Transactor(owner), onchaintest.AppConfig{DeviceID: dev})
	if err != nil {
		return OnchainApp{}, fmt.Errorf("sandbox: deploying a DstackApp: %w", err)
	}
	if !app.KMS.Onchain() {
		app.KMS = phalatest.KMSBase
	}
	app.ID, app.ChainID, app.KMSContract = addr.Hex(), onchaintest.ChainID, sb.KMS.Hex()
	app = sb.Server.AddApp(app)
	cvm := sb.Server.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: sb.NodeA.ID})
	return OnchainApp{App: app, CVM: cvm, Contract: addr, Owner: sb.Chain.Accounts[owner]}, nil
}

// PrivateKey returns the private key of chain account i as 64 hex digits
// without 0x (a well-known test key: never use it on a real chain). It
// panics if i is out of range.
func (sb *Sandbox) PrivateKey(i int) string {
	if i < 0 || i >= len(sb.Chain.Accounts) {
		panic(fmt.Sprintf("sandbox: PrivateKey(%d): the chain has %d accounts", i, len(sb.Chain.Accounts)))
	}
	return hex.EncodeToString(crypto.FromECDSA(sb.Chain.Accounts[i].Key))
}

// ExecuteBatch sends the calls of a Safe Transaction Builder batch (see
// onchain.SafeTransactions) from chain account i, one transaction each, in
// order, and returns their receipts once mined: a stand-in for the Safe
// owners signing and executing the batch. The hash of the last receipt is
// what a commit sends as its transaction_hash.
func (sb *Sandbox) ExecuteBatch(ctx context.Context, i int, batch *onchain.SafeBatch) ([]*types.Receipt, error) {
	if i < 0 || i >= len(sb.Chain.Accounts) {
		return nil, fmt.Errorf("sandbox: account %d: the chain has %d accounts", i, len(sb.Chain.Accounts))
	}
	if batch == nil || len(batch.Transactions) == 0 {
		return nil, errors.New("sandbox: the Safe batch has no transaction")
	}
	receipts := make([]*types.Receipt, 0, len(batch.Transactions))
	for n, t := range batch.Transactions {
		if !common.IsHexAddress(t.To) {
			return receipts, fmt.Errorf("sandbox: transaction %d of the batch: %q is not an address", n, t.To)
		}
		data, err := hexutil.Decode(t.Data)
		if err != nil {
			return receipts, fmt.Errorf("sandbox: calldata of transaction %d of the batch: %w", n, err)
		}
		tx, err := sb.Chain.Transact(ctx, sb.Chain.Transactor(i), common.HexToAddress(t.To), data)
		if err != nil {
			return receipts, fmt.Errorf("sandbox: sending %s: %w", t.ContractMethod.Name, err)
		}
		rs, err := sb.Chain.Mine(ctx, tx)
		if err != nil {
			return receipts, err
		}
		receipts = append(receipts, rs...)
	}
	return receipts, nil
}

// Close stops the emulator and the chain. It is safe to call more than once.
func (sb *Sandbox) Close() {
	if sb.Server != nil {
		sb.Server.Close()
	}
	if sb.Chain != nil {
		_ = sb.Chain.Close()
	}
}
