// Package demobox is what "phala-replicate demo" runs against: the API
// emulator and a simulated chain, in one process, seeded with one app of
// each kind. It links go-ethereum's simulated backend, so only the demo
// build (-tags demo) and the tests import it: the installed CLI does not.
package demobox

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
	"github.com/phalaforge/phala-go/phalatest"
	phsandbox "github.com/phalaforge/phala-go/phalatest/sandbox"
)

// Sandbox is the emulator and the chain, seeded. Close it.
type Sandbox struct {
	Box   *phsandbox.Sandbox
	Srv   *phalatest.Server
	Chain *onchaintest.Chain

	NodeA, NodeB phalatest.Node
	KMS          common.Address // DstackKms holding the emulator's KMS root key

	CloudApp, AutoApp, SafeApp phalatest.App
	CloudCVM, AutoCVM, SafeCVM phalatest.CVM

	Owner    onchaintest.Account // owns AutoApp's DstackApp: the demo's private key
	Approver onchaintest.Account // owns SafeApp's DstackApp: stands in for a Safe
}

// Timing holds the pace of the sandbox: short, so the demo runs in seconds,
// yet long enough to show a replica moving through its statuses.
type Timing struct {
	AutoCommit time.Duration // the chain mines pending transactions this often
	Creating   time.Duration // a replica stays "creating" this long
	Starting   time.Duration // then "starting" this long
}

// DemoTiming is the demo's pace.
func DemoTiming() Timing {
	return Timing{AutoCommit: 20 * time.Millisecond, Creating: 300 * time.Millisecond, Starting: 300 * time.Millisecond}
}

// New starts and seeds the emulator and the chain. Close it.
func New(ctx context.Context, t Timing) (_ *Sandbox, err error) {
	sb := &Sandbox{}
	sb.Box, err = phsandbox.Start(ctx,
		phsandbox.WithChainOptions(onchaintest.WithAutoCommit(t.AutoCommit)),
		phsandbox.WithServerOptions(phalatest.WithProvisioningDelays(t.Creating, t.Starting)),
	)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			sb.Close()
		}
	}()
	// The sandbox holds node-a and node-b, and a DstackKms publishing the
	// root key that signs env encryption keys, so clients can verify them
	// against the chain.
	sb.Srv, sb.Chain = sb.Box.Server, sb.Box.Chain
	sb.NodeA, sb.NodeB, sb.KMS = sb.Box.NodeA, sb.Box.NodeB, sb.Box.KMS
	sb.Owner, sb.Approver = sb.Chain.Accounts[0], sb.Chain.Accounts[1]
	sb.Srv.AddWorkspace(phalatest.Workspace{}) // another team: its CVMs stay invisible

	// 1. A Cloud KMS app: no contract, replicas need no approval.
	sb.CloudApp, sb.CloudCVM = sb.Box.AddCloudApp(phalatest.App{
		Name: "web-cloud-kms",
		Compose: phalatest.Compose{
			DockerCompose: "services:\n  web:\n    image: nginx:1.27\n    environment: [GREETING, LOG_LEVEL]\n",
			AllowedEnvs:   []string{"GREETING", "LOG_LEVEL"},
		},
	}, envcrypt.EnvVar{Key: "GREETING", Value: "hello from the source CVM"}, envcrypt.EnvVar{Key: "LOG_LEVEL", Value: "info"})

	// 2. An Onchain KMS app whose DstackApp is owned by the demo key; it
	// allows only node-a's device, so a replica on node-b needs both
	// addDevice and addComposeHash.
	sb.AutoApp, sb.AutoCVM, err = sb.addOnchainApp(ctx, "api-onchain-kms", 0)
	if err != nil {
		return nil, err
	}
	// 3. The same, owned by another account: the "Safe" that approves.
	sb.SafeApp, sb.SafeCVM, err = sb.addOnchainApp(ctx, "db-multisig", 1)
	if err != nil {
		return nil, err
	}
	return sb, nil
}

// addOnchainApp deploys a DstackApp owned by account ownerIdx, allowing
// node-a's device, and seeds an app on it with a live CVM on node-a.
func (sb *Sandbox) addOnchainApp(ctx context.Context, name string, ownerIdx int) (phalatest.App, phalatest.CVM, error) {
	a, err := sb.Box.AddOnchainApp(ctx, phalatest.App{
		Name: name,
		Compose: phalatest.Compose{
			DockerCompose: "services:\n  " + name + ":\n    image: ghcr.io/example/" + name + ":1.0\n",
			AllowedEnvs:   []string{"LOG_LEVEL"},
		},
	}, ownerIdx)
	if err != nil {
		return phalatest.App{}, phalatest.CVM{}, fmt.Errorf("seeding %s: %w", name, err)
	}
	return a.App, a.CVM, nil
}

// KeyHex is an account's private key as 64 hex digits without 0x.
func KeyHex(a onchaintest.Account) string {
	return hex.EncodeToString(crypto.FromECDSA(a.Key))
}

// Close stops the emulator and the chain.
func (sb *Sandbox) Close() {
	if sb.Box != nil {
		sb.Box.Close()
	}
}

// Approve sends the calls of the Safe batch file at path from the approver
// account (which owns SafeApp's DstackApp) and returns the batch and the
// receipts, one per call.
func (sb *Sandbox) Approve(ctx context.Context, path string) (*onchain.SafeBatch, []*types.Receipt, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var batch onchain.SafeBatch
	if err := json.Unmarshal(b, &batch); err != nil {
		return nil, nil, fmt.Errorf("reading the Safe batch: %w", err)
	}
	receipts, err := sb.Box.ExecuteBatch(ctx, 1, &batch)
	if err != nil {
		return nil, nil, err
	}
	if len(receipts) == 0 {
		return nil, nil, fmt.Errorf("the Safe batch %s holds no call", path)
	}
	return &batch, receipts, nil
}
