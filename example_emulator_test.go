package phala_test

// Examples that run against phalatest, the in-process emulator of the API, and
// phalatest/sandbox (the emulator with a simulated chain), so each one works
// as it is when copied into another module.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"time"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
	"github.com/phalaforge/phala-go/phalatest"
	"github.com/phalaforge/phala-go/phalatest/sandbox"
)

// emulator starts an emulator with one node and one running Cloud KMS CVM,
// "web-1", whose clock moves only with Advance.
func emulator() (*phalatest.Server, *phala.Client, phalatest.CVM) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	srv := phalatest.NewServer(phalatest.WithClock(func() time.Time { return start }))
	srv.AddNode(phalatest.Node{Name: "tdx-1"})
	app := srv.AddApp(phalatest.App{Name: "web", KMS: phalatest.KMSCloud})
	src := srv.AddCVM(phalatest.CVM{AppID: app.ID, Name: "web-1"})
	c, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}
	return srv, c, src
}

// Replicate and wait until the replica runs.
func ExampleClient_WaitForReplica() {
	srv, c, src := emulator()
	defer srv.Close()
	ctx := context.Background()

	vm, err := c.Replicate(ctx, src.VMUUID, phala.ReplicateRequest{})
	if err != nil {
		log.Fatal(err)
	}
	// Leave the options nil in real code: the polls start after 500 ms and
	// back off to 5 s. Here each read moves the emulator's clock instead.
	running, err := c.WaitForReplica(ctx, vm.VMUUID, phala.WaitOptions{
		PollInterval: time.Millisecond,
		OnProgress: func(cvm *phala.CVM) {
			fmt.Println("status:", cvm.Status)
			srv.Advance(time.Second)
		},
	})
	if err != nil {
		log.Fatal(err) // a *ReplicaFailedError carries the boot error
	}
	in := running.Instance()
	fmt.Println(in.Status, "on", in.NodeName, "- same replica:", in.VMUUID == vm.Instance().VMUUID)
	// Output:
	// status: creating
	// status: starting
	// status: running
	// running on tdx-1 - same replica: true
}

// Create three replicas, then wait for all of them at once; each is reported,
// the one that fails to boot as well.
func ExampleClient_WaitForReplicas() {
	srv, c, src := emulator()
	defer srv.Close()
	ctx := context.Background()

	srv.FailNextBoot("decrypting the environment: wrong key") // the first replica fails
	results, err := c.Scale(ctx, src.VMUUID, 3, phala.ReplicateRequest{}, phala.ScaleOptions{Concurrency: 1})
	if err != nil {
		log.Fatal(err)
	}
	var uuids []string
	for _, r := range results {
		uuids = append(uuids, r.VM.VMUUID)
	}

	srv.Advance(time.Minute) // in real life: time passes
	waited, err := c.WaitForReplicas(ctx, uuids, phala.WaitOptions{})
	for i, w := range waited {
		var failed *phala.ReplicaFailedError
		switch {
		case errors.As(w.Err, &failed):
			fmt.Printf("replica %d: %s: %s\n", i, failed.Status, failed.BootError)
		case w.Err != nil:
			fmt.Printf("replica %d: %v\n", i, w.Err) // a read failed, or ctx ended
		default:
			fmt.Printf("replica %d: %s\n", i, w.CVM.Status)
		}
	}
	var werr *phala.WaitError
	if errors.As(err, &werr) {
		fmt.Printf("%d of %d running; first failure is a boot failure: %v\n",
			werr.Running, werr.Waited, errors.Is(err, phala.ErrReplicaFailed))
	}
	// Output:
	// replica 0: error: decrypting the environment: wrong key
	// replica 1: running
	// replica 2: running
	// 2 of 3 running; first failure is a boot failure: true
}

// List an app's instances, for example to count the live ones or to check after
// an *OutcomeUnknownError whether a replica was created.
func ExampleClient_ListReplicas() {
	srv, c, src := emulator()
	defer srv.Close()
	ctx := context.Background()

	if _, err := c.Replicate(ctx, src.VMUUID, phala.ReplicateRequest{NodeID: 1}); err != nil {
		log.Fatal(err)
	}
	list, err := c.ListReplicas(ctx, src.AppID)
	if err != nil {
		log.Fatal(err)
	}
	for _, cvm := range list {
		in := cvm.Instance()
		fmt.Println(in.Status, "on node", in.NodeID, "source:", in.VMUUID == src.VMUUID)
	}
	// Output:
	// running on node 1 source: true
	// creating on node 1 source: false
}

// GetCVM reads a CVM by vm_uuid, app id or name.
func ExampleClient_GetCVM() {
	srv, c, src := emulator()
	defer srv.Close()

	cvm, err := c.GetCVM(context.Background(), "web-1")
	if err != nil {
		log.Fatal(err)
	}
	in := cvm.Instance()
	fmt.Println(in.Name, in.Status, "on", in.NodeName)
	fmt.Println("vm_uuid:", in.VMUUID == src.VMUUID, "compose hash:", in.ComposeHash == src.ComposeHash)
	fmt.Println("on-chain KMS:", cvm.OnchainKMS())
	// Output:
	// web-1 running on tdx-1
	// vm_uuid: true compose hash: true
	// on-chain KMS: false
}

// The multisig workflow with a Safe: prepare, have the owners execute the Safe
// batch, then commit with the batch's transaction.
func ExampleClient_CommitPrepared() {
	ctx := context.Background()
	sb, err := sandbox.Start(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close()
	app, err := sb.AddOnchainApp(ctx, phalatest.App{Name: "api"}, 0)
	if err != nil {
		log.Fatal(err)
	}
	c, err := sb.Client()
	if err != nil {
		log.Fatal(err)
	}

	// The DstackApp allows node-a only: a replica on node-b needs approval.
	p, err := c.PrepareReplica(ctx, app.CVM.VMUUID, phala.ReplicateRequest{Node: sb.NodeB.Name})
	if err != nil {
		log.Fatal(err)
	}
	batch, err := onchain.SafeTransactions(p.Prerequisite(), onchaintest.ChainID)
	if err != nil {
		log.Fatal(err)
	}
	for _, tx := range batch.Transactions {
		fmt.Println("Safe batch:", tx.ContractMethod.Name)
	}
	receipts, err := sb.ExecuteBatch(ctx, 0, batch) // the Safe owners sign and execute
	if err != nil {
		log.Fatal(err)
	}

	vm, err := c.CommitPrepared(ctx, p, receipts[len(receipts)-1].TxHash.Hex())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("replica on", vm.Instance().NodeName)
	// Output:
	// Safe batch: addDevice
	// Safe batch: addComposeHash
	// replica on node-b
}

// An HTTP 465 from Replicate, saved as JSON and committed later, possibly by
// another process once the owners have approved it.
func ExampleAsPrepared() {
	ctx := context.Background()
	sb, err := sandbox.Start(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer sb.Close()
	app, err := sb.AddOnchainApp(ctx, phalatest.App{Name: "api"}, 0)
	if err != nil {
		log.Fatal(err)
	}
	c, err := sb.Client()
	if err != nil {
		log.Fatal(err)
	}

	_, err = c.Replicate(ctx, app.CVM.VMUUID, phala.ReplicateRequest{Node: sb.NodeB.Name})
	p, ok := phala.AsPrepared(err)
	if !ok {
		log.Fatal(err)
	}
	fmt.Println("approval needed:", errors.Is(err, phala.ErrHashRegistrationRequired))
	fmt.Println("commit within 14 days:", p.ExpiresAt.Sub(p.PreparedAt) == phala.CommitTokenTTL)
	saved, err := json.Marshal(p) // holds the commit token: store it as a secret
	if err != nil {
		log.Fatal(err)
	}

	// Later: the owner registers, and the saved replica is committed.
	var resumed phala.PreparedReplica
	if err := json.Unmarshal(saved, &resumed); err != nil {
		log.Fatal(err)
	}
	r, err := onchain.NewRegistrar(sb.Chain.Client, sb.Chain.Transactor(0), onchain.WithPollInterval(10*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	reg, err := r.EnsureRegistered(ctx, resumed.Prerequisite())
	if err != nil {
		log.Fatal(err)
	}
	vm, err := c.CommitPrepared(ctx, &resumed, reg.CommitTransactionHash())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("replica of", resumed.SourceVMUUID == app.CVM.VMUUID, "on", vm.Instance().NodeName)
	// Output:
	// approval needed: true
	// commit within 14 days: true
	// replica of true on node-b
}
