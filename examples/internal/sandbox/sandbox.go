// Package sandbox starts what the examples run against when no Phala Cloud
// account is configured: the phalatest API emulator and a simulated
// Ethereum chain (onchaintest), both in-process, seeded with the apps an
// example needs. It is not part of what users copy: with a real account
// the examples talk to Phala Cloud and a real chain instead.
package sandbox

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
	"github.com/phalaforge/phala-go/phalatest"
)

// Sandbox is a running emulator and chain with two nodes, node-a and
// node-b, and a DstackKms contract holding the emulator's KMS root key.
type Sandbox struct {
	Server *phalatest.Server
	Chain  *onchaintest.Chain
	NodeA  phalatest.Node
	NodeB  phalatest.Node
	KMS    common.Address // DstackKms contract
}

// Start starts a sandbox; Close it when done. Replicas take a few hundred
// milliseconds to boot, so waiting for them shows some progress.
func Start(ctx context.Context) (*Sandbox, error) {
	sb := &Sandbox{}
	sb.Chain = onchaintest.NewChain(onchaintest.WithHTTP(), onchaintest.WithAutoCommit(20*time.Millisecond))
	sb.Server = phalatest.NewServer(
		phalatest.WithChain(sb.Chain.Client, onchaintest.ChainID),
		phalatest.WithProvisioningDelays(200*time.Millisecond, 200*time.Millisecond),
	)
	sb.NodeA = sb.Server.AddNode(phalatest.Node{Name: "node-a", Region: "us-west", Listed: true, OnchainKMS: true})
	sb.NodeB = sb.Server.AddNode(phalatest.Node{Name: "node-b", Region: "eu-central", Listed: true, OnchainKMS: true})
	var err error
	sb.KMS, err = sb.Chain.DeployDstackKms(ctx, sb.Chain.Transactor(0), onchaintest.KMSInfo{K256Pubkey: sb.Server.KMSRootPublicKey()})
	if err != nil {
		sb.Close()
		return nil, fmt.Errorf("sandbox: deploying DstackKms: %w", err)
	}
	return sb, nil
}

// Client returns a client of the emulator.
func (sb *Sandbox) Client() (*phala.Client, error) {
	return phala.NewClient(phala.WithAPIKey(sb.Server.APIKey()), phala.WithBaseURL(sb.Server.URL()))
}

// CloudEnv returns the environment that points a program at the emulator
// as if it were Phala Cloud: PHALA_CLOUD_API_KEY and PHALA_CLOUD_API_PREFIX.
func (sb *Sandbox) CloudEnv() map[string]string {
	return map[string]string{phala.EnvAPIKey: sb.Server.APIKey(), phala.EnvAPIPrefix: sb.Server.URL()}
}

// CloudApp seeds an app on Cloud KMS whose compose file allows allowedEnvs,
// with one running CVM on node-a started with env, and returns the CVM.
func (sb *Sandbox) CloudApp(name string, allowedEnvs []string, env []envcrypt.EnvVar) phalatest.CVM {
	app := sb.Server.AddApp(phalatest.App{
		Name:    name,
		KMS:     phalatest.KMSCloud,
		Compose: phalatest.Compose{AllowedEnvs: allowedEnvs},
	})
	return sb.Server.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: sb.NodeA.ID, Env: env})
}

// OnchainApp deploys a DstackApp owned by chain account owner (0-3) that
// allows node-a only, seeds an app on it (Onchain KMS on Base, emulated on
// the simulated chain) with one running CVM on node-a, and returns the CVM.
// A replica on node-b then needs addDevice and addComposeHash.
func (sb *Sandbox) OnchainApp(ctx context.Context, name string, owner int) (phalatest.CVM, error) {
	dev, err := onchain.ParseHash32(sb.NodeA.DeviceID)
	if err != nil {
		return phalatest.CVM{}, err
	}
	addr, err := sb.Chain.DeployDstackApp(ctx, sb.Chain.Transactor(owner), onchaintest.AppConfig{DeviceID: dev})
	if err != nil {
		return phalatest.CVM{}, fmt.Errorf("sandbox: deploying a DstackApp: %w", err)
	}
	app := sb.Server.AddApp(phalatest.App{
		ID: addr.Hex(), Name: name, KMS: phalatest.KMSBase, ChainID: onchaintest.ChainID, KMSContract: sb.KMS.Hex(),
	})
	return sb.Server.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: sb.NodeA.ID}), nil
}

// PrivateKey returns the private key of chain account i as 64 hex digits
// (a well-known test key: never use it on a real chain).
func (sb *Sandbox) PrivateKey(i int) string {
	return hex.EncodeToString(crypto.FromECDSA(sb.Chain.Accounts[i].Key))
}

// Close stops the emulator and the chain.
func (sb *Sandbox) Close() {
	if sb.Server != nil {
		sb.Server.Close()
	}
	if sb.Chain != nil {
		_ = sb.Chain.Close()
	}
}
