package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
	"github.com/phalaforge/phala-go/phalatest"
)

// sandbox is what the demo runs against: the API emulator and a simulated
// chain, in this process, seeded with one app of each kind.
type sandbox struct {
	srv   *phalatest.Server
	chain *onchaintest.Chain

	nodeA, nodeB phalatest.Node
	kms          common.Address // DstackKms holding the emulator's KMS root key

	cloudApp, autoApp, safeApp phalatest.App
	cloudCVM, autoCVM, safeCVM phalatest.CVM

	owner    onchaintest.Account // owns autoApp's DstackApp: the demo's private key
	approver onchaintest.Account // owns safeApp's DstackApp: stands in for a Safe
}

// sandboxTiming holds the pace of the sandbox: short, so the demo runs in
// seconds, yet long enough to show a replica moving through its statuses.
type sandboxTiming struct {
	autoCommit time.Duration // the chain mines pending transactions this often
	creating   time.Duration // a replica stays "creating" this long
	starting   time.Duration // then "starting" this long
}

var demoTiming = sandboxTiming{autoCommit: 20 * time.Millisecond, creating: 300 * time.Millisecond, starting: 300 * time.Millisecond}

// newSandbox starts and seeds the emulator and the chain. Close it.
func newSandbox(ctx context.Context, t sandboxTiming) (_ *sandbox, err error) {
	sb := &sandbox{}
	sb.chain = onchaintest.NewChain(onchaintest.WithHTTP(), onchaintest.WithAutoCommit(t.autoCommit))
	defer func() {
		if err != nil {
			sb.Close()
		}
	}()
	sb.owner, sb.approver = sb.chain.Accounts[0], sb.chain.Accounts[1]

	sb.srv = phalatest.NewServer(
		phalatest.WithChain(sb.chain.Client, onchaintest.ChainID),
		phalatest.WithProvisioningDelays(t.creating, t.starting),
	)
	sb.srv.AddWorkspace(phalatest.Workspace{}) // another team: its CVMs stay invisible
	sb.nodeA = sb.srv.AddNode(phalatest.Node{Name: "node-a", Region: "us-west", Listed: true, OnchainKMS: true})
	sb.nodeB = sb.srv.AddNode(phalatest.Node{Name: "node-b", Region: "eu-central", Listed: true, OnchainKMS: true})

	// The KMS contract publishes the root key that signs env encryption
	// keys, so clients can verify them against the chain.
	sb.kms, err = sb.chain.DeployDstackKms(ctx, sb.chain.Transactor(0), onchaintest.KMSInfo{K256Pubkey: sb.srv.KMSRootPublicKey()})
	if err != nil {
		return nil, fmt.Errorf("deploying DstackKms: %w", err)
	}

	// 1. A Cloud KMS app: no contract, replicas need no approval.
	sb.cloudApp = sb.srv.AddApp(phalatest.App{
		Name: "web-cloud-kms",
		KMS:  phalatest.KMSCloud,
		Compose: phalatest.Compose{
			DockerCompose: "services:\n  web:\n    image: nginx:1.27\n    environment: [GREETING, LOG_LEVEL]\n",
			AllowedEnvs:   []string{"GREETING", "LOG_LEVEL"},
		},
	})
	sb.cloudCVM = sb.srv.AddCVM(phalatest.CVM{
		AppID:  sb.cloudApp.ID,
		NodeID: sb.nodeA.ID,
		Env:    []envcrypt.EnvVar{{Key: "GREETING", Value: "hello from the source CVM"}, {Key: "LOG_LEVEL", Value: "info"}},
	})

	// 2. An Onchain KMS app whose DstackApp is owned by the demo key; it
	// allows only node-a's device, so a replica on node-b needs both
	// addDevice and addComposeHash.
	sb.autoApp, sb.autoCVM, err = sb.addOnchainApp(ctx, "api-onchain-kms", 0)
	if err != nil {
		return nil, err
	}
	// 3. The same, owned by another account: the "Safe" that approves.
	sb.safeApp, sb.safeCVM, err = sb.addOnchainApp(ctx, "db-multisig", 1)
	if err != nil {
		return nil, err
	}
	return sb, nil
}

// addOnchainApp deploys a DstackApp owned by account ownerIdx, allowing
// node-a's device, and seeds an app on it with a live CVM on node-a.
func (sb *sandbox) addOnchainApp(ctx context.Context, name string, ownerIdx int) (phalatest.App, phalatest.CVM, error) {
	dev, err := onchain.ParseHash32(sb.nodeA.DeviceID)
	if err != nil {
		return phalatest.App{}, phalatest.CVM{}, fmt.Errorf("node-a device id: %w", err)
	}
	addr, err := sb.chain.DeployDstackApp(ctx, sb.chain.Transactor(ownerIdx), onchaintest.AppConfig{DeviceID: dev})
	if err != nil {
		return phalatest.App{}, phalatest.CVM{}, fmt.Errorf("deploying the DstackApp of %s: %w", name, err)
	}
	app := sb.srv.AddApp(phalatest.App{
		ID:          addr.Hex(),
		Name:        name,
		KMS:         phalatest.KMSBase,
		ChainID:     onchaintest.ChainID,
		KMSContract: sb.kms.Hex(),
		Compose: phalatest.Compose{
			DockerCompose: "services:\n  " + name + ":\n    image: ghcr.io/example/" + name + ":1.0\n",
			AllowedEnvs:   []string{"LOG_LEVEL"},
		},
	})
	cvm := sb.srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: sb.nodeA.ID})
	return app, cvm, nil
}

// env is the environment a command run against the sandbox sees.
func (sb *sandbox) env(extra map[string]string) func(string) string {
	m := map[string]string{
		envAPIPrefix: sb.srv.URL(),
		envAPIKey:    sb.srv.APIKey(),
		envCloudURL:  strings.TrimSuffix(sb.srv.URL(), phalatest.APIPrefix),
	}
	for k, v := range extra {
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

// keyHex is an account's private key as 64 hex digits without 0x.
func keyHex(a onchaintest.Account) string {
	return hex.EncodeToString(crypto.FromECDSA(a.Key))
}

// Close stops the emulator and the chain.
func (sb *sandbox) Close() {
	if sb.srv != nil {
		sb.srv.Close()
	}
	if sb.chain != nil {
		_ = sb.chain.Close()
	}
}
