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
	"github.com/phalaforge/phala-go/onchain/onchaintest"
	"github.com/phalaforge/phala-go/phalatest"
	phsandbox "github.com/phalaforge/phala-go/phalatest/sandbox"
)

// sandbox is what the demo runs against: the API emulator and a simulated
// chain, in this process, seeded with one app of each kind.
type sandbox struct {
	box   *phsandbox.Sandbox
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
	sb.box, err = phsandbox.Start(ctx,
		phsandbox.WithChainOptions(onchaintest.WithAutoCommit(t.autoCommit)),
		phsandbox.WithServerOptions(phalatest.WithProvisioningDelays(t.creating, t.starting)),
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
	sb.srv, sb.chain = sb.box.Server, sb.box.Chain
	sb.nodeA, sb.nodeB, sb.kms = sb.box.NodeA, sb.box.NodeB, sb.box.KMS
	sb.owner, sb.approver = sb.chain.Accounts[0], sb.chain.Accounts[1]
	sb.srv.AddWorkspace(phalatest.Workspace{}) // another team: its CVMs stay invisible

	// 1. A Cloud KMS app: no contract, replicas need no approval.
	sb.cloudApp, sb.cloudCVM = sb.box.AddCloudApp(phalatest.App{
		Name: "web-cloud-kms",
		Compose: phalatest.Compose{
			DockerCompose: "services:\n  web:\n    image: nginx:1.27\n    environment: [GREETING, LOG_LEVEL]\n",
			AllowedEnvs:   []string{"GREETING", "LOG_LEVEL"},
		},
	}, envcrypt.EnvVar{Key: "GREETING", Value: "hello from the source CVM"}, envcrypt.EnvVar{Key: "LOG_LEVEL", Value: "info"})

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
	a, err := sb.box.AddOnchainApp(ctx, phalatest.App{
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
	if sb.box != nil {
		sb.box.Close()
	}
}
