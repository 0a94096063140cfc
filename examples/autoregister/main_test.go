package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/examples/internal/mainrun"
	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
	"github.com/phalaforge/phala-go/phalatest"
	"github.com/phalaforge/phala-go/phalatest/sandbox"
)

func setup(t *testing.T, owner int) (*sandbox.Sandbox, config) {
	t.Helper()
	ctx := context.Background()
	sb, err := sandbox.Start(ctx)
	require.NoError(t, err)
	t.Cleanup(sb.Close)
	app, err := sb.AddOnchainApp(ctx, phalatest.App{Name: "api"}, owner)
	require.NoError(t, err)
	client, err := sb.Client()
	require.NoError(t, err)
	return sb, config{
		client: client, source: app.CVM.VMUUID, node: "node-b",
		chainID: onchaintest.ChainID, rpcURL: sb.Chain.URL(), privateKey: sb.PrivateKey(0),
		pollInterval: 20 * time.Millisecond,
	}
}

func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sb, cfg := setup(t, 0)

	var out bytes.Buffer
	require.NoError(t, run(ctx, &out, cfg))
	reps := sb.Server.Replicas()
	require.Len(t, reps, 1)
	assert.True(t, reps[0].Committed, "created by the commit after registration")
	assert.Equal(t, sb.NodeB.ID, reps[0].NodeID)
	assert.Contains(t, out.String(), "addDevice submitted: tx 0x")
	assert.Contains(t, out.String(), "addComposeHash confirmed: tx 0x")
	assert.Contains(t, out.String(), "Created replica "+reps[0].VMUUID)

	dev, err := onchain.ParseHash32(sb.NodeB.DeviceID)
	require.NoError(t, err)
	ch, err := onchain.ParseHash32(reps[0].ComposeHash)
	require.NoError(t, err)
	st, err := onchain.Status(ctx, sb.Chain.Client, common.HexToAddress(reps[0].AppID), dev, ch)
	require.NoError(t, err)
	assert.True(t, st.IsAllowed)
}

func TestRunNotOwner(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sb, cfg := setup(t, 1) // the DstackApp belongs to account 1, the key is account 0's

	err := run(ctx, &bytes.Buffer{}, cfg)
	var notOwner *onchain.NotOwnerError
	require.ErrorAs(t, err, &notOwner)
	var auto *phala.AutoRegistrationError
	require.True(t, errors.As(err, &auto))
	assert.NotEmpty(t, auto.Prerequisite.CommitToken, "the token is kept for a later commit")
	assert.Empty(t, sb.Server.Replicas())
	assert.NotContains(t, err.Error(), cfg.privateKey)
}

func TestEmulatorConfig(t *testing.T) {
	ctx := context.Background()
	cfg, done, err := emulatorConfig(ctx)
	require.NoError(t, err)
	defer done()
	require.NoError(t, run(ctx, &bytes.Buffer{}, cfg))
}

// TestMain lets TestMainUsesTheConfiguredAPI run this example's main in a
// child process (the test binary itself), as `go run ./examples/autoregister`
// would.
func TestMain(m *testing.M) { mainrun.Dispatch(m, main) }

// TestMainUsesTheConfiguredAPI runs main with PHALA_CLOUD_API_KEY,
// PHALA_CLOUD_API_PREFIX (an emulator standing in for Phala Cloud),
// PRIVATE_KEY and -source, -chain-id and -rpc-url naming a simulated chain
// served over HTTP: the device and compose hash are registered on that chain
// and the replica is committed on that emulator, not in the in-process one.
func TestMainUsesTheConfiguredAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sb, cfg := setup(t, 0)

	cloud := sb.CloudEnv()
	chainArgs := fmt.Sprintf(" -node node-b -chain-id %d -rpc-url %s", cfg.chainID, cfg.rpcURL)

	// Without PRIVATE_KEY nothing is sent anywhere.
	out, err := mainrun.Run(ctx, t, cloud, strings.Fields("-source "+cfg.source+chainArgs)...)
	require.Error(t, err, "%s", out)
	assert.Contains(t, out, "set PRIVATE_KEY")
	assert.NotContains(t, out, "in-process emulator")
	assert.Empty(t, sb.Server.Replicas())

	// The source can also come from PHALA_SOURCE_CVM.
	env := map[string]string{"PRIVATE_KEY": cfg.privateKey, "PHALA_SOURCE_CVM": cfg.source}
	for k, v := range cloud {
		env[k] = v
	}
	out, err = mainrun.Run(ctx, t, env, strings.Fields(chainArgs)...)
	require.NoError(t, err, "%s", out)
	assert.NotContains(t, out, "in-process emulator")
	assert.NotContains(t, out, cfg.privateKey)
	reps := sb.Server.Replicas()
	require.Len(t, reps, 1)
	assert.True(t, reps[0].Committed, "created by the commit after registration")
	assert.Equal(t, cfg.source, reps[0].SourceVMUUID)
	assert.Equal(t, sb.NodeB.ID, reps[0].NodeID)
	assert.Contains(t, out, "addDevice submitted: tx 0x")
	assert.Contains(t, out, "addComposeHash confirmed: tx 0x")
	assert.Contains(t, out, "Created replica "+reps[0].VMUUID)

	dev, err := onchain.ParseHash32(sb.NodeB.DeviceID)
	require.NoError(t, err)
	ch, err := onchain.ParseHash32(reps[0].ComposeHash)
	require.NoError(t, err)
	st, err := onchain.Status(ctx, sb.Chain.Client, common.HexToAddress(reps[0].AppID), dev, ch)
	require.NoError(t, err)
	assert.True(t, st.IsAllowed, "registered on the chain named by -rpc-url")
}
