// Command autoregister replicates a CVM of an app on an on-chain KMS, whose
// DstackApp contract must allow the replica's compose hash and device before
// Phala Cloud commits it. With the contract owner's private key the SDK does
// it all in one call: the API answers HTTP 465 with what is missing, the
// payload is checked against the source, the missing addDevice and
// addComposeHash transactions are sent (back to back, one wait), the chain
// is re-read, and the replica is committed.
//
// Without configuration it runs against phalatest and a simulated chain, both
// started inside the program:
//
//	go run ./examples/autoregister
//
// Against Phala Cloud (Base by default; the key must own the DstackApp):
//
//	PHALA_CLOUD_API_KEY=... PRIVATE_KEY=0x... ETH_RPC_URL=https://... \
//	  go run ./examples/autoregister -source <cvm> [-node <node>] [-chain-id 8453]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"time"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
	"github.com/phalaforge/phala-go/phalatest"
	"github.com/phalaforge/phala-go/phalatest/sandbox"
)

// config is what run needs; main fills it from flags and the environment.
type config struct {
	client     *phala.Client
	source     string // the CVM to replicate: UUID, app ID or name
	node       string // node ID or name; "" lets Phala Cloud choose
	chainID    uint64 // chain of the app's KMS (8453 Base, 1 Ethereum)
	rpcURL     string // JSON-RPC endpoint of that chain
	privateKey string // owner of the DstackApp, 64 hex digits, 0x optional

	pollInterval time.Duration // receipt polling (0 = the onchain default, 2 s)
}

// run replicates cfg.source, registering on chain what the replica needs.
func run(ctx context.Context, w io.Writer, cfg config) error {
	// Dial checks that the endpoint really serves the expected chain.
	backend, rpcClient, err := onchain.Dial(ctx, onchain.ChainConfig{ID: cfg.chainID, RPCURL: cfg.rpcURL})
	if err != nil {
		return err
	}
	defer backend.Close()

	// Any *bind.TransactOpts works (keystore, hardware or remote signer);
	// SignerFromHex is the simplest. Its errors never contain the key.
	signer, err := onchain.SignerFromHex(cfg.privateKey, cfg.chainID)
	if err != nil {
		return err
	}
	opts := []onchain.Option{
		onchain.WithRPCClient(rpcClient), // contract reads in one JSON-RPC batch
		onchain.WithProgress(func(ev onchain.Event) {
			fmt.Fprintf(w, "  %s %s: tx %s\n", ev.Method, ev.Kind, ev.TxHash.Hex())
		}),
	}
	if cfg.pollInterval > 0 {
		opts = append(opts, onchain.WithPollInterval(cfg.pollInterval))
	}
	registrar, err := onchain.NewRegistrar(backend, signer, opts...)
	if err != nil {
		return err
	}

	vm, err := cfg.client.Replicate(ctx, cfg.source, phala.ReplicateRequest{Node: cfg.node, Registrar: registrar})
	if err != nil {
		// An *AutoRegistrationError keeps the commit token and the
		// transactions sent, so the replica can still be committed later
		// with CommitReplica instead of starting again.
		return err
	}
	fmt.Fprintf(w, "Created replica %s on node %s; status %s.\n", vm.VMUUID, vm.TeepodName, vm.Status)
	return nil
}

func main() {
	source := flag.String("source", os.Getenv("PHALA_SOURCE_CVM"), "CVM to replicate: UUID, app ID or name (default $PHALA_SOURCE_CVM)")
	node := flag.String("node", "", "target node ID or name (default: Phala Cloud chooses)")
	chainID := flag.Uint64("chain-id", onchain.ChainIDBase, "chain of the app's KMS")
	rpcURL := flag.String("rpc-url", os.Getenv("ETH_RPC_URL"), "JSON-RPC endpoint of that chain (default $ETH_RPC_URL, else the chain's public endpoint)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	if os.Getenv(phala.EnvAPIKey) == "" || *source == "" {
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
	key := os.Getenv("PRIVATE_KEY")
	if key == "" {
		log.Fatal("set PRIVATE_KEY to the DstackApp owner's key")
	}
	if *rpcURL == "" {
		chains, err := onchain.NewChains()
		if err != nil {
			log.Fatal(err)
		}
		c, err := chains.Lookup(*chainID)
		if err != nil {
			log.Fatal(err)
		}
		*rpcURL = c.RPCURL
	}
	client, err := phala.NewClient()
	if err != nil {
		log.Fatal(err)
	}
	cfg := config{client: client, source: *source, node: *node, chainID: *chainID, rpcURL: *rpcURL, privateKey: key}
	if err := run(ctx, os.Stdout, cfg); err != nil {
		log.Fatal(err)
	}
}

// emulatorConfig starts the emulator and a simulated chain with an app whose
// DstackApp is owned by chain account 0 (funded) and allows node-a only, and
// asks for a replica on node-b: both the device and the compose hash get
// registered.
func emulatorConfig(ctx context.Context) (config, func(), error) {
	sb, err := sandbox.Start(ctx)
	if err != nil {
		return config{}, nil, err
	}
	app, err := sb.AddOnchainApp(ctx, phalatest.App{Name: "api"}, 0)
	if err != nil {
		sb.Close()
		return config{}, nil, err
	}
	client, err := sb.Client()
	if err != nil {
		sb.Close()
		return config{}, nil, err
	}
	return config{
		client: client, source: app.CVM.VMUUID, node: sb.NodeB.Name,
		chainID: onchaintest.ChainID, rpcURL: sb.Chain.URL(), privateKey: app.OwnerKey(),
		pollInterval: 50 * time.Millisecond,
	}, sb.Close, nil
}
