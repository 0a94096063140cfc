package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/examples/internal/mainrun"
	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/phalatest"
	"github.com/phalaforge/phala-go/phalatest/sandbox"
)

func TestRunEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, done, err := emulatorConfig(ctx)
	require.NoError(t, err)
	defer done()

	var out bytes.Buffer
	require.NoError(t, run(ctx, &out, cfg))
	assert.Contains(t, out.String(), "Wrote safe-batch.json (2 calls) and prepared.json.")
	assert.Contains(t, out.String(), "Committed: replica ")

	fi, err := os.Stat(cfg.preparedPath())
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	var batch onchain.SafeBatch
	b, err := os.ReadFile(cfg.batchPath())
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &batch))
	assert.Equal(t, "addDevice", batch.Transactions[0].ContractMethod.Name)
	assert.Equal(t, "addComposeHash", batch.Transactions[1].ContractMethod.Name)
}

// TestRunInTwoSteps is the real-world shape: prepare and stop, the Safe
// executes later, a second run commits from the saved file.
func TestRunInTwoSteps(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, done, err := emulatorConfig(ctx)
	require.NoError(t, err)
	defer done()
	approve := cfg.approve
	cfg.approve = nil

	var out bytes.Buffer
	require.NoError(t, run(ctx, &out, cfg))
	assert.Contains(t, out.String(), "-commit <tx hash>")

	b, err := os.ReadFile(cfg.batchPath())
	require.NoError(t, err)
	var batch onchain.SafeBatch
	require.NoError(t, json.Unmarshal(b, &batch))

	// Committing before the Safe executed: the contract does not allow it.
	early := cfg
	early.commitTx = onchain.AlreadyRegistered
	err = run(ctx, &out, early)
	assert.ErrorContains(t, err, "does not allow the replica yet")

	tx, err := approve(ctx, &batch)
	require.NoError(t, err)
	later := cfg
	later.source, later.commitTx = "", tx
	require.NoError(t, run(ctx, &out, later))
	assert.Contains(t, out.String(), "Committed: replica ")

	// The token is used now.
	err = run(ctx, &out, later)
	assert.ErrorContains(t, err, "expired or was used")
}

// TestMain lets TestMainUsesTheConfiguredAPI run this example's main in a
// child process (the test binary itself), as `go run ./examples/multisig`
// would.
func TestMain(m *testing.M) { mainrun.Dispatch(m, main) }

// TestMainUsesTheConfiguredAPI runs main's two real-world steps with
// PHALA_CLOUD_API_KEY and PHALA_CLOUD_API_PREFIX naming an emulator that
// stands in for Phala Cloud: -source prepares and writes the files in -dir
// and stops; the test executes the batch as the Safe would (from the
// DstackApp's owner, on the emulator's chain); -commit then commits the
// saved PreparedReplica on that emulator, not in the in-process one.
func TestMainUsesTheConfiguredAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sb, err := sandbox.Start(ctx)
	require.NoError(t, err)
	defer sb.Close()
	const safe = 1 // the chain account owning the DstackApp
	src, err := sb.AddOnchainApp(ctx, phalatest.App{Name: "db"}, safe)
	require.NoError(t, err)
	dir := t.TempDir()

	runMain := func(args ...string) string {
		out, err := mainrun.Run(ctx, t, sb.CloudEnv(), args...)
		require.NoError(t, err, "%s", out)
		return out
	}

	// 1. Prepare: nothing is created yet.
	out := runMain("-source", src.CVM.VMUUID, "-node", "node-b", "-dir", dir)
	assert.NotContains(t, out, "in-process emulator")
	assert.Contains(t, out, "Wrote safe-batch.json (2 calls) and prepared.json.")
	assert.Contains(t, out, "-dir "+dir+" -commit <tx hash>")
	assert.Empty(t, sb.Server.Replicas())
	fi, err := os.Stat(filepath.Join(dir, "prepared.json"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	// 2. The Safe executes the batch written in dir.
	b, err := os.ReadFile(filepath.Join(dir, "safe-batch.json"))
	require.NoError(t, err)
	var batch onchain.SafeBatch
	require.NoError(t, json.Unmarshal(b, &batch))
	require.Len(t, batch.Transactions, 2)
	var last string
	for _, tx := range batch.Transactions {
		data, err := hexutil.Decode(tx.Data)
		require.NoError(t, err)
		sent, err := sb.Chain.Transact(ctx, sb.Chain.Transactor(safe), common.HexToAddress(tx.To), data)
		require.NoError(t, err)
		_, err = sb.Chain.Mine(ctx, sent)
		require.NoError(t, err)
		last = sent.Hash().Hex()
	}

	// 3. Commit from the saved file, without -source.
	out = runMain("-dir", dir, "-commit", last)
	assert.NotContains(t, out, "in-process emulator")
	reps := sb.Server.Replicas()
	require.Len(t, reps, 1)
	assert.True(t, reps[0].Committed)
	assert.Equal(t, src.CVM.VMUUID, reps[0].SourceVMUUID)
	assert.Equal(t, sb.NodeB.ID, reps[0].NodeID)
	assert.Contains(t, out, "Committed: replica "+reps[0].VMUUID)
}
