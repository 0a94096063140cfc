// Command multisig replicates a CVM of an app whose DstackApp contract is
// owned by a multisig (a Safe): nobody holds a key that could register the
// replica alone, so the work is split in time.
//
//  1. prepare: the API returns a commit token (valid 14 days), the compose
//     hash and the device to allow. Save them as a PreparedReplica (JSON) and
//     write the missing calls as a Safe Transaction Builder batch file.
//  2. The Safe owners import the batch, review it, sign and execute it.
//  3. commit: load the PreparedReplica, possibly days later in another
//     process, and commit with the hash of the executing transaction.
//
// Without configuration it runs all three steps against phalatest and a
// simulated chain, an ordinary account standing in for the Safe:
//
//	go run ./examples/multisig
//
// Against Phala Cloud, run step 1, have the Safe execute the batch, then step 3:
//
//	PHALA_CLOUD_API_KEY=... go run ./examples/multisig -source <cvm> [-node <node>] -dir ./replica
//	PHALA_CLOUD_API_KEY=... go run ./examples/multisig -dir ./replica -commit 0x<safe tx hash>
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/phalatest"
	"github.com/phalaforge/phala-go/phalatest/sandbox"
)

// config is what run needs; main fills it from flags and the environment.
type config struct {
	client *phala.Client
	source string // the CVM to replicate: UUID, app ID or name
	node   string // node ID or name; "" lets Phala Cloud choose
	dir    string // where prepared.json and safe-batch.json are written

	// commitTx, when set, skips preparing: the PreparedReplica saved in dir
	// is committed with this transaction hash (the Safe's execution).
	commitTx string
	// approve, when set, has the batch executed right away and returns the
	// transaction hash (the emulator's stand-in for the Safe owners).
	approve func(ctx context.Context, batch *onchain.SafeBatch) (string, error)
}

func (c config) preparedPath() string { return filepath.Join(c.dir, "prepared.json") }
func (c config) batchPath() string    { return filepath.Join(c.dir, "safe-batch.json") }

// run prepares the replica and writes the files; then, if the batch can be
// executed now (cfg.approve) or was already (cfg.commitTx), commits it.
func run(ctx context.Context, w io.Writer, cfg config) error {
	if cfg.commitTx != "" {
		return commit(ctx, w, cfg, cfg.commitTx)
	}

	// 1. Prepare: nothing is created, the server answers with what the
	// contract must allow. The payload is checked against the source.
	p, err := cfg.client.PrepareReplica(ctx, cfg.source, phala.ReplicateRequest{Node: cfg.node})
	var created *phala.ReplicaCreatedError
	if errors.As(err, &created) {
		fmt.Fprintf(w, "Nothing to approve: the app needs no on-chain approval and replica %s was created.\n", created.VM.VMUUID)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Prepared: compose hash %s, device %s; the token expires %s.\n",
		p.ComposeHash, p.DeviceID, p.ExpiresAt.Format("2006-01-02 15:04 MST"))

	// Save the PreparedReplica: it holds the commit token, so keep it
	// private (0600, even over an existing file) and never half written.
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := phala.WriteFileAtomic(cfg.preparedPath(), b, 0o600); err != nil {
		return err
	}

	// The missing calls, as a batch a Safe owner imports in the Transaction
	// Builder (onchain.RegistrationCalls gives raw calldata for any other
	// multisig or timelock).
	batch, err := onchain.SafeTransactions(p.Prerequisite(), 0)
	if errors.Is(err, onchain.ErrNothingToRegister) {
		fmt.Fprintln(w, "The contract already allows both: committing with already-registered.")
		return commit(ctx, w, cfg, phala.AlreadyRegistered)
	}
	if err != nil {
		return err
	}
	if b, err = json.MarshalIndent(batch, "", "  "); err != nil {
		return err
	}
	if err := os.WriteFile(cfg.batchPath(), b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "Wrote %s (%d calls) and %s.\n", filepath.Base(cfg.batchPath()), len(batch.Transactions), filepath.Base(cfg.preparedPath()))

	if cfg.approve == nil {
		fmt.Fprintf(w, "Have the Safe execute the batch, then run again with -dir %s -commit <tx hash>.\n", cfg.dir)
		return nil
	}
	// 2. The owners execute the batch.
	tx, err := cfg.approve(ctx, batch)
	if err != nil {
		return err
	}
	// 3. Commit.
	return commit(ctx, w, cfg, tx)
}

// commit loads the saved PreparedReplica and commits it with tx.
func commit(ctx context.Context, w io.Writer, cfg config, tx string) error {
	b, err := os.ReadFile(cfg.preparedPath())
	if err != nil {
		return err
	}
	var p phala.PreparedReplica
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("%s: %w", cfg.preparedPath(), err)
	}
	// CommitPrepared checks the token's expiry before sending anything.
	vm, err := cfg.client.CommitPrepared(ctx, &p, tx)
	switch {
	case errors.Is(err, phala.ErrHashInvalidOrExpired):
		return fmt.Errorf("the commit token expired or was used: prepare again: %w", err)
	case errors.Is(err, phala.ErrTxVerificationFailed), errors.Is(err, phala.ErrHashNotAllowed):
		return fmt.Errorf("the contract does not allow the replica yet (is the Safe transaction executed and mined?): %w", err)
	case err != nil:
		return err
	}
	fmt.Fprintf(w, "Committed: replica %s on node %s; status %s.\n", vm.VMUUID, vm.TeepodName, vm.Status)
	return nil
}

func main() {
	source := flag.String("source", os.Getenv("PHALA_SOURCE_CVM"), "CVM to replicate: UUID, app ID or name (default $PHALA_SOURCE_CVM)")
	node := flag.String("node", "", "target node ID or name (default: Phala Cloud chooses)")
	dir := flag.String("dir", ".", "directory of prepared.json and safe-batch.json")
	commitTx := flag.String("commit", "", "commit the prepared replica in -dir with this transaction hash")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	if os.Getenv(phala.EnvAPIKey) == "" || (*source == "" && *commitTx == "") {
		fmt.Println("No PHALA_CLOUD_API_KEY and -source: running against the in-process emulator and a simulated chain.")
		cfg, done, err := emulatorConfig(ctx)
		if err != nil {
			log.Fatal(err)
		}
		defer done()
		if err := run(ctx, os.Stdout, cfg); err != nil {
			log.Fatal(err)
		}
		return
	}
	client, err := phala.NewClient()
	if err != nil {
		log.Fatal(err)
	}
	cfg := config{client: client, source: *source, node: *node, dir: *dir, commitTx: *commitTx}
	if err := run(ctx, os.Stdout, cfg); err != nil {
		log.Fatal(err)
	}
}

// emulatorConfig starts the emulator and a simulated chain with an app whose
// DstackApp is owned by chain account 1 (the "Safe"), and approves batches by
// sending their calls from that account.
func emulatorConfig(ctx context.Context) (config, func(), error) {
	sb, err := sandbox.Start(ctx)
	if err != nil {
		return config{}, nil, err
	}
	dir, err := os.MkdirTemp("", "multisig-example-")
	if err != nil {
		sb.Close()
		return config{}, nil, err
	}
	done := func() { sb.Close(); os.RemoveAll(dir) }
	app, err := sb.AddOnchainApp(ctx, phalatest.App{Name: "db"}, 1)
	if err != nil {
		done()
		return config{}, nil, err
	}
	client, err := sb.Client()
	if err != nil {
		done()
		return config{}, nil, err
	}
	approve := func(ctx context.Context, batch *onchain.SafeBatch) (string, error) {
		receipts, err := sb.ExecuteBatch(ctx, 1, batch) // one transaction per call, from the owner
		if err != nil {
			return "", err
		}
		return receipts[len(receipts)-1].TxHash.Hex(), nil
	}
	return config{client: client, source: app.CVM.VMUUID, node: sb.NodeB.Name, dir: dir, approve: approve}, done, nil
}
