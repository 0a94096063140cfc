// Command envfile creates a replica whose environment variables come from a
// .env file instead of the source CVM's. The variables are encrypted on this
// machine to the app's key (for an on-chain KMS, a key whose KMS signature was
// verified first), so neither Phala Cloud nor anyone on the way sees them.
//
// Without configuration it runs against phalatest, an emulator of Phala Cloud
// started inside the program, and shows what the replica's app sees:
//
//	go run ./examples/envfile
//
// Against Phala Cloud:
//
//	PHALA_CLOUD_API_KEY=... go run ./examples/envfile -source <cvm> -env-file prod.env [-node <node>]
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/phalatest"
)

// config is what run needs; main fills it from flags and the environment.
type config struct {
	client  *phala.Client
	source  string // the CVM to replicate: UUID, app ID or name
	node    string // node ID or name; "" lets Phala Cloud choose
	envFile string // path of the .env file
}

// run reads cfg.envFile and replicates cfg.source with it.
func run(ctx context.Context, w io.Writer, cfg config) error {
	f, err := os.Open(cfg.envFile)
	if err != nil {
		return err
	}
	defer f.Close()
	env, err := envcrypt.ParseDotenv(f)
	if err != nil {
		return err // a *envcrypt.ParseError names the line
	}

	// Replicate encrypts env with EncryptEnv before sending. Names the CVM
	// would drop (not in the compose file's allowed_envs) are an error here
	// rather than silently missing in the replica.
	vm, err := cfg.client.Replicate(ctx, cfg.source, phala.ReplicateRequest{Node: cfg.node, Env: env})
	var notAllowed *envcrypt.NotAllowedError
	switch {
	case errors.As(err, &notAllowed):
		return fmt.Errorf("the app does not accept %v (add them to allowed_envs in its compose file): %w", notAllowed.Names, err)
	case errors.Is(err, phala.ErrNoKMSTrustRoot):
		return fmt.Errorf("cannot verify the on-chain KMS's key: configure phala.WithKMSChains or phala.WithTrustedKMSRootKeys: %w", err)
	case err != nil:
		return err
	}
	names := make([]string, len(env))
	for i, v := range env {
		names[i] = v.Key // never print values: they may be secrets
	}
	fmt.Fprintf(w, "Created replica %s on node %s with %d variables from %s: %v.\n",
		vm.VMUUID, vm.TeepodName, len(env), filepath.Base(cfg.envFile), names)
	return nil
}

//go:embed example.env
var exampleEnv []byte

func main() {
	source := flag.String("source", os.Getenv("PHALA_SOURCE_CVM"), "CVM to replicate: UUID, app ID or name (default $PHALA_SOURCE_CVM)")
	node := flag.String("node", "", "target node ID or name (default: Phala Cloud chooses)")
	envFile := flag.String("env-file", "", "the .env file (default: the bundled example.env)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	if os.Getenv(phala.EnvAPIKey) == "" || *source == "" {
		fmt.Println("No PHALA_CLOUD_API_KEY and -source: running against the in-process emulator.")
		cfg, srv, done, err := emulatorConfig(*envFile)
		if err != nil {
			log.Fatal(err)
		}
		defer done()
		if err := run(ctx, os.Stdout, cfg); err != nil {
			log.Fatal(err)
		}
		showEnv(os.Stdout, srv)
		return
	}
	if *envFile == "" {
		log.Fatal("-env-file is required with a real source")
	}
	// The default chain registry knows public RPC endpoints of Ethereum and
	// Base, so keys of on-chain KMSs are verified against the DstackKms
	// contract without further setup.
	chains, err := onchain.NewChains()
	if err != nil {
		log.Fatal(err)
	}
	client, err := phala.NewClient(phala.WithKMSChains(chains))
	if err != nil {
		log.Fatal(err)
	}
	if err := run(ctx, os.Stdout, config{client: client, source: *source, node: *node, envFile: *envFile}); err != nil {
		log.Fatal(err)
	}
}

// emulatorConfig starts the emulator with a Cloud KMS app that accepts
// GREETING and LOG_LEVEL, and writes the bundled example.env unless an env
// file is given.
func emulatorConfig(envFile string) (config, *phalatest.Server, func(), error) {
	srv := phalatest.NewServer(phalatest.WithProvisioningDelays(200*time.Millisecond, 200*time.Millisecond))
	dir, err := os.MkdirTemp("", "envfile-example-")
	if err != nil {
		srv.Close()
		return config{}, nil, nil, err
	}
	done := func() { srv.Close(); os.RemoveAll(dir) }
	if envFile == "" {
		envFile = filepath.Join(dir, "example.env")
		if err := os.WriteFile(envFile, exampleEnv, 0o600); err != nil {
			done()
			return config{}, nil, nil, err
		}
	}
	nodeA := srv.AddNode(phalatest.Node{Name: "node-a", Region: "us-west", Listed: true})
	srv.AddNode(phalatest.Node{Name: "node-b", Region: "eu-central", Listed: true})
	app := srv.AddApp(phalatest.App{Name: "web", KMS: phalatest.KMSCloud, Compose: phalatest.Compose{AllowedEnvs: []string{"GREETING", "LOG_LEVEL"}}})
	cvm := srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: nodeA.ID,
		Env: []envcrypt.EnvVar{{Key: "GREETING", Value: "hello from the source"}, {Key: "LOG_LEVEL", Value: "info"}}})
	client, err := srv.Client()
	if err != nil {
		done()
		return config{}, nil, nil, err
	}
	return config{client: client, source: cvm.VMUUID, node: "node-b", envFile: envFile}, srv, done, nil
}

// showEnv prints what the emulated CVM of the last replica decrypted: what
// its app sees.
func showEnv(w io.Writer, srv *phalatest.Server) {
	reps := srv.Replicas()
	if len(reps) == 0 || reps[len(reps)-1].DecryptedEnv == nil {
		return
	}
	fmt.Fprintln(w, "The replica's app sees (decrypted inside the emulated CVM):")
	for _, v := range reps[len(reps)-1].DecryptedEnv.Vars {
		fmt.Fprintf(w, "  %s=%s\n", v.Key, v.Value)
	}
}
