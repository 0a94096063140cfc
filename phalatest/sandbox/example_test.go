package sandbox_test

import (
	"context"
	"fmt"
	"log"
	"time"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/phalatest"
	"github.com/phalaforge/phala-go/phalatest/sandbox"
)

// Auto-registration without an account or a real chain: the app's
// DstackApp allows node-a only, so a replica on node-b needs addDevice and
// addComposeHash, which the Registrar sends with the owner's funded key
// before Replicate commits the replica.
func ExampleStart() {
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
	client, err := sb.Client()
	if err != nil {
		log.Fatal(err)
	}
	signer := sb.Chain.Transactor(0) // or onchain.SignerFromHex with app.OwnerKey()
	registrar, err := onchain.NewRegistrar(sb.Chain.Client, signer, onchain.WithPollInterval(10*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}

	vm, err := client.Replicate(ctx, app.CVM.VMUUID, phala.ReplicateRequest{Node: sb.NodeB.Name, Registrar: registrar})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("replica on", vm.TeepodName, "of app", vm.AppID == app.App.ID)
	fmt.Println("replicas created:", len(sb.Server.Replicas()))
	// Output:
	// replica on node-b of app true
	// replicas created: 1
}
