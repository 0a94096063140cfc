// Command scale creates several replicas of a CVM at once, as the
// dashboard's "Scale" action does, then waits until each one runs.
// Partial success is reported replica by replica: when a node runs out of
// room half way, the replicas already created are kept and listed.
//
// Without configuration it runs against phalatest, an emulator of Phala Cloud
// started inside the program:
//
//	go run ./examples/scale
//
// Against Phala Cloud:
//
//	PHALA_CLOUD_API_KEY=... go run ./examples/scale -source <cvm> -n 3 [-node <node>]
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
	"sync"
	"time"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/phalatest"
)

// config is what run needs; main fills it from flags and the environment.
type config struct {
	client *phala.Client
	source string // the CVM to replicate: UUID, app ID or name
	node   string // node ID or name; "" lets Phala Cloud choose each time
	n      int    // how many replicas

	pollInterval time.Duration // WaitForReplica polling (0 = the SDK default, 5 s)
}

// run creates cfg.n replicas, then waits for all of them together.
func run(ctx context.Context, w io.Writer, cfg config) error {
	var mu sync.Mutex // OnResult calls are serialised; the waits below are not
	results, err := cfg.client.Scale(ctx, cfg.source, cfg.n, phala.ReplicateRequest{Node: cfg.node}, phala.ScaleOptions{
		Concurrency: 2,
		OnResult: func(i int, r phala.ScaleResult) {
			mu.Lock()
			defer mu.Unlock()
			if r.Err != nil {
				fmt.Fprintf(w, "replica %d: not created: %v\n", i+1, r.Err)
				return
			}
			fmt.Fprintf(w, "replica %d: created %s on node %s\n", i+1, r.VM.VMUUID, r.VM.TeepodName)
		},
	})
	if results == nil {
		return err // nothing attempted: the source or node could not be resolved
	}

	// Wait for every created replica at once.
	var wg sync.WaitGroup
	waitErrs := make([]error, len(results))
	for i, r := range results {
		if r.VM == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cvm, werr := cfg.client.WaitForReplica(ctx, r.VM.VMUUID, phala.WaitOptions{PollInterval: cfg.pollInterval})
			mu.Lock()
			defer mu.Unlock()
			var failed *phala.ReplicaFailedError
			switch {
			case errors.As(werr, &failed):
				fmt.Fprintf(w, "replica %d: %s: %s\n", i+1, failed.Status, failed.BootError)
			case werr != nil:
				fmt.Fprintf(w, "replica %d: %v\n", i+1, werr)
			default:
				fmt.Fprintf(w, "replica %d: %s\n", i+1, cvm.Status)
			}
			waitErrs[i] = werr
		}()
	}
	wg.Wait()

	running := 0
	for i, r := range results {
		if r.VM != nil && waitErrs[i] == nil {
			running++
		}
	}
	fmt.Fprintf(w, "%d of %d replicas running.\n", running, cfg.n)
	// err is a *phala.ScaleError when some replicas were not created; it
	// unwraps to the first failure (errors.Is(err, phala.ErrInsufficientSlots)).
	return errors.Join(append([]error{err}, waitErrs...)...)
}

func main() {
	source := flag.String("source", os.Getenv("PHALA_SOURCE_CVM"), "CVM to replicate: UUID, app ID or name (default $PHALA_SOURCE_CVM)")
	node := flag.String("node", "", "target node ID or name (default: Phala Cloud chooses)")
	n := flag.Int("n", 3, "number of replicas")
	poll := flag.Duration("poll", 0, "how often to check each replica's status (default: the SDK's, 5s)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	if os.Getenv(phala.EnvAPIKey) == "" || *source == "" {
		fmt.Println("No PHALA_CLOUD_API_KEY and -source: running against the in-process emulator.")
		cfg, done, err := emulatorConfig(*n)
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
	if err := run(ctx, os.Stdout, config{client: client, source: *source, node: *node, n: *n, pollInterval: *poll}); err != nil {
		log.Fatal(err)
	}
}

// emulatorConfig starts the emulator with one Cloud KMS app; the replicas go
// wherever the emulator schedules them.
func emulatorConfig(n int) (config, func(), error) {
	srv := phalatest.NewServer(phalatest.WithProvisioningDelays(200*time.Millisecond, 200*time.Millisecond))
	nodeA := srv.AddNode(phalatest.Node{Name: "node-a", Region: "us-west", Listed: true})
	srv.AddNode(phalatest.Node{Name: "node-b", Region: "eu-central", Listed: true})
	app := srv.AddApp(phalatest.App{Name: "worker", KMS: phalatest.KMSCloud})
	cvm := srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: nodeA.ID})
	client, err := srv.Client()
	if err != nil {
		srv.Close()
		return config{}, nil, err
	}
	return config{client: client, source: cvm.VMUUID, n: n, pollInterval: 50 * time.Millisecond}, srv.Close, nil
}
