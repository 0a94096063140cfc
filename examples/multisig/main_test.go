package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain"
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
