//go:build demo

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/phalaforge/phala-go/attest"
	"github.com/phalaforge/phala-go/cmd/phala-replicate/internal/demobox"
	"github.com/phalaforge/phala-go/phalatest"
)

// demoPollInterval keeps the demo's waits short.
const demoPollInterval = 100 * time.Millisecond

// runDemo starts the emulator and a simulated chain in this process and
// runs the three replication workflows with this command, printing each
// command line before its output.
func runDemo(ctx context.Context, stdout, stderr io.Writer) error {
	start := time.Now()
	w := stdout
	fmt.Fprintln(w, "phala-replicate demo: the three replication workflows, end to end, against an")
	fmt.Fprintln(w, "emulated Phala Cloud API (phalatest) and a simulated Ethereum chain (chain id 1337),")
	fmt.Fprintln(w, "both running inside this process. No account, no network, no money.")

	sb, err := demobox.New(ctx, demobox.DemoTiming())
	if err != nil {
		return err
	}
	defer sb.Close()
	dir, err := os.MkdirTemp("", "phala-replicate-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	fmt.Fprintln(w)
	fmt.Fprintln(w, "Seeded:")
	fmt.Fprintf(w, "  nodes      node-a (ID %d), node-b (ID %d)\n", sb.NodeA.ID, sb.NodeB.ID)
	fmt.Fprintf(w, "  DstackKms  %s holds the KMS root key that signs env encryption keys\n", sb.KMS.Hex())
	fmt.Fprintf(w, "  app 1      %s, Cloud KMS: CVM %s on node-a\n", sb.CloudApp.Name, sb.CloudCVM.VMUUID)
	fmt.Fprintf(w, "  app 2      %s, Onchain KMS: CVM %s on node-a;\n", sb.AutoApp.Name, sb.AutoCVM.VMUUID)
	fmt.Fprintf(w, "             DstackApp 0x%s owned by the demo key (%s)\n", sb.AutoApp.ID, sb.Owner.Address.Hex())
	fmt.Fprintf(w, "  app 3      %s, Onchain KMS: CVM %s on node-a;\n", sb.SafeApp.Name, sb.SafeCVM.VMUUID)
	fmt.Fprintf(w, "             DstackApp 0x%s owned by %s, standing in for a Safe\n", sb.SafeApp.ID, sb.Approver.Address.Hex())
	fmt.Fprintln(w, "  Both DstackApps allow node-a's device only: a replica on node-b needs approval.")

	sh := func(extraEnv map[string]string, shown string, args ...string) error {
		fmt.Fprintf(w, "\n$ %sphala-replicate %s\n", shown, strings.Join(quoteAll(args), " "))
		code := runWith(ctx, args, stdout, stderr, demoEnv(sb, extraEnv), settings{pollInterval: demoPollInterval,
			attest: []attest.Option{attest.WithTrustedRoots(sb.Srv.AttestationRoots())}})
		if code != exitOK {
			return fmt.Errorf("phala-replicate %s exited with code %d", args[0], code)
		}
		return nil
	}

	// 1. Simple.
	section(w, "1. Simple replication (Cloud KMS), with an env override encrypted on this machine")
	envFile := filepath.Join(dir, "replica.env")
	if err := os.WriteFile(envFile, []byte("# values for the replica only\nGREETING=\"hello from the replica\"\nexport LOG_LEVEL=debug # inline comments are fine\n"), 0o600); err != nil {
		return err
	}
	if err := sh(nil, "", sb.CloudCVM.VMUUID, "--node-id", "node-b", "--env-file", envFile, "--wait", "--verify"); err != nil {
		return err
	}
	if err := showEnv(w, sb.Srv); err != nil {
		return err
	}

	// 2. Auto-registered.
	section(w, "2. Onchain KMS, registered automatically with the owner's key")
	fmt.Fprintln(w, "The replica gets its own env too: its encryption key is verified against the KMS")
	fmt.Fprintln(w, "root key read from the DstackKms contract over --rpc-url before anything is encrypted.")
	envFile2 := filepath.Join(dir, "api.env")
	if err := os.WriteFile(envFile2, []byte("LOG_LEVEL=warn\n"), 0o600); err != nil {
		return err
	}
	if err := sh(map[string]string{envPrivateKey: demobox.KeyHex(sb.Owner)}, "PRIVATE_KEY=<demo owner key> ",
		sb.AutoCVM.VMUUID, "--node-id", "node-b", "-e", envFile2, "--rpc-url", sb.Chain.URL(), "--wait", "--verify"); err != nil {
		return err
	}
	if err := showEnv(w, sb.Srv); err != nil {
		return err
	}

	// 3. Multisig.
	section(w, "3. Onchain KMS owned by a multisig: prepare, approve from the Safe, commit")
	safeFile := filepath.Join(dir, "safe-batch.json")
	prepared := filepath.Join(dir, "prepared.json")
	if err := sh(nil, "", sb.SafeCVM.VMUUID, "--node-id", "node-b", "--prepare-only", "--safe-file", safeFile, "--prepared-file", prepared); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nThe owners review %s and execute it; here the approver account sends its calls:\n", filepath.Base(safeFile))
	tx, err := approve(ctx, w, sb, safeFile)
	if err != nil {
		return err
	}
	if err := sh(nil, "", "--commit", "--prepared-file", prepared, "--transaction-hash", tx.Hex(), "--wait", "--verify"); err != nil {
		return err
	}

	// 4. Replica sets.
	if err := demoReplicaSet(w, sb, dir, sh); err != nil {
		return err
	}

	removed := len(sb.Srv.Deleted())
	fmt.Fprintf(w, "\nDone: %d replicas created in %.1fs (%d of them removed by the scale-down).\n",
		len(sb.Srv.Replicas())+removed, time.Since(start).Seconds(), removed)
	fmt.Fprintln(w, "Against Phala Cloud, set PHALA_CLOUD_API_KEY and run the same commands with your own CVM;")
	fmt.Fprintln(w, "'phala-replicate --help' lists every flag.")
	return nil
}

// demoReplicaSet declares the Cloud KMS app's replicas over two regions,
// plans and applies the set, then scales it down.
func demoReplicaSet(w io.Writer, sb *demobox.Sandbox, dir string, sh func(map[string]string, string, ...string) error) error {
	section(w, "4. Replica sets: declare where replicas run, plan, apply, scale down")
	nodeC := sb.Srv.AddNode(phalatest.Node{Name: "node-c", Region: "us-west", Listed: true, OnchainKMS: true})
	fmt.Fprintf(w, "A third node joins: node-c (ID %d) in us-west, next to node-a; node-b is in eu-central.\n", nodeC.ID)
	setFile := filepath.Join(dir, "web-set.json")
	write := func(doc string) error {
		fmt.Fprintf(w, "\n%s:\n%s\n", filepath.Base(setFile), doc)
		return os.WriteFile(setFile, []byte(doc+"\n"), 0o600)
	}
	spread := `{"source": "` + sb.CloudCVM.VMUUID + `",
 "placements": [{"region": "us-west", "count": 3}, {"region": "eu-central", "count": 2}],
 "protect": ["` + sb.CloudCVM.VMUUID + `"]}`
	if err := write(spread); err != nil {
		return err
	}
	if err := sh(nil, "", "plan", "-f", setFile); err != nil {
		return err
	}
	if err := sh(nil, "", "apply", "-f", setFile, "--wait"); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nScale down to one replica per region: apply removes failed and stopped instances")
	fmt.Fprintln(w, "first, then the newest, never a protected one; it asks before removing anything")
	fmt.Fprintln(w, "(--auto-approve answers for a script).")
	down := strings.Replace(strings.Replace(spread, `"count": 3`, `"count": 1`, 1), `"count": 2`, `"count": 1`, 1)
	if err := write(down); err != nil {
		return err
	}
	return sh(nil, "", "apply", "-f", setFile, "--auto-approve")
}

func section(w io.Writer, title string) {
	fmt.Fprintf(w, "\n── %s ──\n", title)
}

func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = shellQuote(a)
	}
	return out
}

// showEnv prints the environment the last replica's application sees, as
// the emulator decrypted it with dstack's rules.
func showEnv(w io.Writer, srv *phalatest.Server) error {
	reps := srv.Replicas()
	if len(reps) == 0 {
		return errors.New("no replica was created")
	}
	r := reps[len(reps)-1]
	if r.EnvError != nil {
		return fmt.Errorf("the replica cannot decrypt its environment: %w", r.EnvError)
	}
	if r.DecryptedEnv == nil {
		return errors.New("the replica has no environment")
	}
	fmt.Fprintf(w, "\nInside replica %s, the app sees (decrypted by the emulated CVM):\n", r.VMUUID)
	for _, v := range r.DecryptedEnv.Vars {
		fmt.Fprintf(w, "  %s=%s\n", v.Key, v.Value)
	}
	return nil
}

// approve sends the calls of a Safe batch file from the approver account
// and returns the hash of the last transaction (the compose-hash one).
func approve(ctx context.Context, w io.Writer, sb *demobox.Sandbox, path string) (common.Hash, error) {
	batch, receipts, err := sb.Approve(ctx, path)
	if err != nil {
		return common.Hash{}, err
	}
	for i, r := range receipts {
		t := batch.Transactions[i]
		fmt.Fprintf(w, "  %s(%s)  tx %s, block %d\n", t.ContractMethod.Name, shortHex(firstValue(t.ContractInputsValues)), r.TxHash.Hex(), blockOf(r))
	}
	return receipts[len(receipts)-1].TxHash, nil
}

func blockOf(r *types.Receipt) uint64 {
	if r.BlockNumber == nil {
		return 0
	}
	return r.BlockNumber.Uint64()
}

// demoEnv is the environment a command run against the sandbox sees.
func demoEnv(sb *demobox.Sandbox, extra map[string]string) func(string) string {
	m := map[string]string{
		envAPIPrefix: sb.Srv.URL(),
		envAPIKey:    sb.Srv.APIKey(),
		envCloudURL:  strings.TrimSuffix(sb.Srv.URL(), phalatest.APIPrefix),
	}
	for k, v := range extra {
		m[k] = v
	}
	return func(k string) string { return m[k] }
}
