// Command simple creates one replica of a CVM: the shortest use of the SDK.
//
// Without configuration it runs against phalatest, an emulator of Phala Cloud
// started inside the program, so it needs no account:
//
//	go run ./examples/simple
//
// Against Phala Cloud, give an API key and the CVM to replicate (its UUID, app
// ID or name), and optionally the node (ID or name):
//
//	PHALA_CLOUD_API_KEY=... go run ./examples/simple -source <cvm> [-node <node>]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"time"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/phalatest"
)

// config is what run needs; main fills it from flags and the environment.
type config struct {
	client *phala.Client
	source string // the CVM to replicate: UUID, app ID or name
	node   string // node ID or name; "" lets Phala Cloud choose
}

// run replicates cfg.source and prints the new replica.
func run(ctx context.Context, w io.Writer, cfg config) error {
	vm, err := cfg.client.Replicate(ctx, cfg.source, phala.ReplicateRequest{Node: cfg.node})
	var pre *phala.ErrOnchainPrerequisite
	switch {
	case errors.As(err, &pre):
		// The app's KMS is on chain: its DstackApp contract must allow the
		// replica first. See examples/autoregister and examples/multisig.
		return fmt.Errorf("on-chain approval needed (compose hash %s, device %s): %w", pre.ComposeHash, pre.DeviceID, err)
	case errors.Is(err, phala.ErrInsufficientSlots), errors.Is(err, phala.ErrInsufficientVCPU), errors.Is(err, phala.ErrInsufficientMemory):
		return fmt.Errorf("the node is full, choose another one with -node: %w", err)
	case err != nil:
		return err
	}
	fmt.Fprintf(w, "Created replica %s (%s) of app %s on node %s; status %s.\n",
		vm.VMUUID, vm.Name, vm.AppID, vm.TeepodName, vm.Status)
	return nil
}

func main() {
	source := flag.String("source", os.Getenv("PHALA_SOURCE_CVM"), "CVM to replicate: UUID, app ID or name (default $PHALA_SOURCE_CVM)")
	node := flag.String("node", "", "target node ID or name (default: Phala Cloud chooses)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	if os.Getenv(phala.EnvAPIKey) == "" || *source == "" {
		fmt.Println("No PHALA_CLOUD_API_KEY and -source: running against the in-process emulator.")
		cfg, done, err := emulatorConfig()
		if err != nil {
			log.Fatal(err)
		}
		defer done()
		if err := run(ctx, os.Stdout, cfg); err != nil {
			log.Fatal(err)
		}
		return
	}
	client, err := phala.NewClient() // reads PHALA_CLOUD_API_KEY (and PHALA_CLOUD_API_PREFIX)
	if err != nil {
		log.Fatal(err)
	}
	if err := run(ctx, os.Stdout, config{client: client, source: *source, node: *node}); err != nil {
		log.Fatal(err)
	}
}

// emulatorConfig starts the emulator with one Cloud KMS app running on
// node-a and asks for a replica on node-b. Replicas boot in 400 ms.
func emulatorConfig() (config, func(), error) {
	srv := phalatest.NewServer(phalatest.WithProvisioningDelays(200*time.Millisecond, 200*time.Millisecond))
	nodeA := srv.AddNode(phalatest.Node{Name: "node-a", Region: "us-west", Listed: true})
	srv.AddNode(phalatest.Node{Name: "node-b", Region: "eu-central", Listed: true})
	app := srv.AddApp(phalatest.App{Name: "web", KMS: phalatest.KMSCloud})
	cvm := srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: nodeA.ID})
	client, err := srv.Client()
	if err != nil {
		srv.Close()
		return config{}, nil, err
	}
	return config{client: client, source: cvm.VMUUID, node: "node-b"}, srv.Close, nil
}
