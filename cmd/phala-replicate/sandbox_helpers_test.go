package main

import (
	"context"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/phalaforge/phala-go/cmd/phala-replicate/internal/demobox"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
	"github.com/phalaforge/phala-go/phalatest"
	phsandbox "github.com/phalaforge/phala-go/phalatest/sandbox"
)

// sandbox is the demo's sandbox (demobox) as the tests use it.
type sandbox struct {
	demo  *demobox.Sandbox
	box   *phsandbox.Sandbox
	srv   *phalatest.Server
	chain *onchaintest.Chain

	nodeA, nodeB phalatest.Node
	kms          common.Address

	cloudApp, autoApp, safeApp phalatest.App
	cloudCVM, autoCVM, safeCVM phalatest.CVM

	owner, approver onchaintest.Account
}

// sandboxTiming is demobox.Timing.
type sandboxTiming struct{ autoCommit, creating, starting time.Duration }

func newSandbox(ctx context.Context, t sandboxTiming) (*sandbox, error) {
	b, err := demobox.New(ctx, demobox.Timing{AutoCommit: t.autoCommit, Creating: t.creating, Starting: t.starting})
	if err != nil {
		return nil, err
	}
	return &sandbox{
		demo: b, box: b.Box, srv: b.Srv, chain: b.Chain, nodeA: b.NodeA, nodeB: b.NodeB, kms: b.KMS,
		cloudApp: b.CloudApp, autoApp: b.AutoApp, safeApp: b.SafeApp,
		cloudCVM: b.CloudCVM, autoCVM: b.AutoCVM, safeCVM: b.SafeCVM,
		owner: b.Owner, approver: b.Approver,
	}, nil
}

func (sb *sandbox) Close() { sb.box.Close() }

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

func keyHex(a onchaintest.Account) string { return demobox.KeyHex(a) }
