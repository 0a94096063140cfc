// Command bench measures the SDK against the phalatest emulator and a simulated
// chain (in process, beside the ideal round trips × latency), and the
// phala-replicate binary against the official Node CLI (phala@1.1.18) as whole
// processes in alternating pairs against the same emulator, and prints the
// markdown tables of docs/benchmarks.md.
//
//	go run ./bench -cli /tmp/phala-cli-1.1.18/node_modules/.bin/phala -runs 5
//
// Without -cli (or when the CLI cannot be run) the CLI columns say why;
// -cli-self runs the process comparison with our binary on both sides (to
// check the harness where the official CLI cannot be installed).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
	"github.com/phalaforge/phala-go/phalatest"
)

func main() {
	cli := flag.String("cli", "", "path of the official CLI's phala binary (npm i phala@1.1.18)")
	runs := flag.Int("runs", 5, "runs per wall-time cell (median reported)")
	latency := flag.Duration("latency", 50*time.Millisecond, "injected latency per request")
	only := flag.String("only", "", `run one part only: "sets" (the replica set tables), "cli" (the CLI-vs-CLI tables), "overlap" (the 465 check beside the chain read), "scale" (the Scale tables)`)
	self := flag.Bool("cli-self", false, "compare our binary with itself instead of the official CLI (harness check)")
	flag.Parse()
	if *runs < 1 {
		fmt.Fprintln(os.Stderr, "bench: -runs must be at least 1")
		os.Exit(2)
	}
	if *only == "overlap" {
		if err := overlap(context.Background(), os.Stdout, *runs, *latency); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *only == "scale" {
		if err := scale(context.Background(), os.Stdout, *latency); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *only == "sets" {
		if err := replicaSets(context.Background(), os.Stdout, *latency); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(os.Stdout, *cli, *self, *only == "cli", *runs, *latency); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// scenario is one workflow run once on a fresh world.
type scenario struct {
	name    string
	onchain bool
	missing string                                    // on-chain, what is not yet registered: "device", "hash", "both"; "both-registered" for nothing
	minHTTP int                                       // protocol minimum of HTTP requests
	setup   func(ctx context.Context, w *world) error // untimed, before the counts start
	ours    func(ctx context.Context, w *world) error
	cliArgs func(w *world) []string // nil: the CLI cannot run it
	cliWhy  string                  // why cliArgs is nil
}

func run(out io.Writer, cliPath string, self, cliOnly bool, runs int, latency time.Duration) error {
	ctx := context.Background()
	secret := []envcrypt.EnvVar{{Key: "API_KEY", Value: "bench-secret"}}
	byID := func(ctx context.Context, w *world, env []envcrypt.EnvVar) error {
		_, err := w.client.Replicate(ctx, w.src.VMUUID, phala.ReplicateRequest{Node: strconv.Itoa(w.node.ID), Env: env, Registrar: w.registrar})
		return err
	}
	noChainCLI := "the CLI supports only chains 1, 8453 and 31337 (spec §12.4); the simulated chain is 1337"
	scenarios := []scenario{
		{name: "simple, by vm_uuid", minHTTP: 1,
			ours:    func(ctx context.Context, w *world) error { return byID(ctx, w, nil) },
			cliArgs: func(w *world) []string { return []string{w.src.VMUUID, "--node-id", strconv.Itoa(w.node.ID)} }},
		{name: "simple, by name", minHTTP: 2,
			ours: func(ctx context.Context, w *world) error {
				_, err := w.client.Replicate(ctx, w.src.Name, phala.ReplicateRequest{Node: strconv.Itoa(w.node.ID)})
				return err
			},
			cliArgs: func(w *world) []string { return []string{w.src.Name, "--node-id", strconv.Itoa(w.node.ID)} }},
		{name: "simple, with env (Cloud KMS)", minHTTP: 2,
			ours: func(ctx context.Context, w *world) error { return byID(ctx, w, secret) },
			cliArgs: func(w *world) []string {
				return []string{w.src.VMUUID, "--node-id", strconv.Itoa(w.node.ID), "-e", w.envPath}
			}},
		{name: "auto-registered, nothing missing", onchain: true, missing: "both-registered", minHTTP: 1,
			ours: func(ctx context.Context, w *world) error { return byID(ctx, w, nil) }, cliWhy: noChainCLI},
		{name: "auto-registered, device missing", onchain: true, missing: "device", minHTTP: 2,
			ours: func(ctx context.Context, w *world) error { return byID(ctx, w, nil) }, cliWhy: noChainCLI},
		{name: "auto-registered, hash missing", onchain: true, missing: "hash", minHTTP: 2,
			ours: func(ctx context.Context, w *world) error { return byID(ctx, w, nil) }, cliWhy: noChainCLI},
		{name: "auto-registered, both missing", onchain: true, missing: "both", minHTTP: 2,
			ours: func(ctx context.Context, w *world) error { return byID(ctx, w, nil) }, cliWhy: noChainCLI},
		{name: "prepare only (on-chain)", onchain: true, missing: "both", minHTTP: 1,
			ours: func(ctx context.Context, w *world) error {
				_, err := w.client.PrepareReplica(ctx, w.src.VMUUID, phala.ReplicateRequest{Node: strconv.Itoa(w.node.ID)})
				return err
			},
			cliArgs: func(w *world) []string {
				return []string{w.src.VMUUID, "--node-id", strconv.Itoa(w.node.ID), "--prepare-only"}
			}},
		{name: "commit (after prepare, already registered)", onchain: true, missing: "both-registered", minHTTP: 1,
			setup: func(ctx context.Context, w *world) error {
				var err error
				w.prepared, err = w.client.PrepareReplica(ctx, w.src.VMUUID, phala.ReplicateRequest{Node: strconv.Itoa(w.node.ID)})
				return err
			},
			ours: func(ctx context.Context, w *world) error {
				_, err := w.client.CommitPrepared(ctx, w.prepared, phala.AlreadyRegistered)
				return err
			},
			cliArgs: func(w *world) []string {
				return []string{w.src.VMUUID, "--commit", "--token", w.prepared.Prerequisite().CommitToken,
					"--compose-hash", w.prepared.Prerequisite().ComposeHash, "--transaction-hash", phala.AlreadyRegistered}
			}},
	}

	var cliErr string
	if self {
		cliErr = ""
	} else if cliPath == "" {
		cliErr = "not run: no -cli path given"
	} else if _, err := os.Stat(cliPath); err != nil {
		cliErr = "not run: " + err.Error()
	}
	oursPath, cleanup, err := buildOurs(ctx)
	if err != nil {
		return err
	}
	defer cleanup()
	ours, theirs := oursProc(oursPath), officialProc(cliPath)
	if self {
		theirs = oursProc(oursPath)
		theirs.name = "phala-replicate (again)"
	}
	if cliOnly {
		if cliErr != "" {
			return fmt.Errorf("official CLI %s", cliErr)
		}
		_, err := cliVsCLI(ctx, out, scenarios, ours, theirs, runs, latency)
		return err
	}
	// The process comparison runs first (its HTTP counts fill the CLI column
	// of the in-process table) and is printed after it.
	var cliTables bytes.Buffer
	var cliRes map[string]pairResult
	if cliErr == "" {
		if cliRes, err = cliVsCLI(ctx, &cliTables, scenarios, ours, theirs, runs, latency); err != nil {
			return err
		}
	}

	fmt.Fprintf(out, "## Round trips and wall time per workflow\n\n")
	fmt.Fprintf(out, "SDK calls in process, median of %d runs; latency is added by the emulator to every HTTP request (JSON-RPC calls are not delayed), so the ideal is HTTP round trips × latency. CLI HTTP: the official CLI's requests (whole-process runs below).\n\n", runs)
	fmt.Fprintf(out, "| workflow | protocol min HTTP | ours HTTP | ours JSON-RPC calls in round trips | ours tx / confirmation waits | CLI HTTP | ours 0 ms | ours %s | ideal at %s | ours − ideal |\n", latency, latency)
	fmt.Fprintf(out, "|---|---|---|---|---|---|---|---|---|---|\n")
	for _, sc := range scenarios {
		var ours [2][]time.Duration
		var oursHTTP int
		oursRPC := "0"
		var txs, waits int
		cliNote := cliErr
		if cliNote == "" && sc.cliArgs == nil {
			cliNote = "n/a: " + sc.cliWhy
		}
		for li, lat := range []time.Duration{0, latency} {
			for i := 0; i < runs; i++ {
				w, err := newWorld(ctx, sc)
				if err != nil {
					return fmt.Errorf("%s: %w", sc.name, err)
				}
				if err := w.prepare(ctx, sc); err != nil {
					return fmt.Errorf("%s (setup): %w", sc.name, err)
				}
				w.srv.SetLatency(lat)
				start := time.Now()
				err = sc.ours(ctx, w)
				el := time.Since(start)
				if err != nil {
					w.close()
					return fmt.Errorf("%s (ours): %w", sc.name, err)
				}
				ours[li] = append(ours[li], el)
				oursHTTP = len(w.srv.Requests())
				if w.rpc != nil {
					oursRPC = fmt.Sprintf("%d in %d", w.rpc.calls.Load(), w.rpc.posts.Load())
					txs, waits = w.rpc.waits()
				}
				w.close()
			}
		}
		txCol := "–"
		if sc.onchain && sc.setup == nil && sc.name != "prepare only (on-chain)" {
			txCol = fmt.Sprintf("%d / %d", txs, waits)
		}
		cliHTTP := cliNote
		if r, ok := cliRes[sc.name]; cliNote == "" && ok {
			cliHTTP = strconv.Itoa(r.theirsHTTP)
		} else if cliNote == "" {
			cliHTTP = "failed (see below)"
		}
		ideal := time.Duration(oursHTTP) * latency
		fmt.Fprintf(out, "| %s | %d | %d | %s | %s | %s | %s | %s | %s | %s |\n", sc.name, sc.minHTTP, oursHTTP, oursRPC, txCol, cliHTTP,
			ms(median(ours[0])), ms(median(ours[1])), ms(ideal), ms(median(ours[1])-ideal))
	}
	_, _ = cliTables.WriteTo(out)

	if err := overlap(ctx, out, runs, latency); err != nil {
		return err
	}
	if err := scale(ctx, out, latency); err != nil {
		return err
	}
	return replicaSets(ctx, out, latency)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// world is a fresh emulator (and chain) with one source CVM.
type world struct {
	srv       *phalatest.Server
	node      phalatest.Node
	app       phalatest.App
	src       phalatest.CVM
	client    *phala.Client
	chain     *onchaintest.Chain
	rpc       *rpcCounter
	registrar *onchain.Registrar
	envPath   string
	prepared  *phala.PreparedReplica
	closers   []func()
}

// prepare runs the scenario's untimed setup and forgets what it sent.
func (w *world) prepare(ctx context.Context, sc scenario) error {
	if sc.setup == nil {
		return nil
	}
	if err := sc.setup(ctx, w); err != nil {
		return err
	}
	w.srv.ResetRequests()
	if w.rpc != nil {
		w.rpc.reset()
	}
	return nil
}

func (w *world) close() {
	for i := len(w.closers) - 1; i >= 0; i-- {
		w.closers[i]()
	}
}

func newWorld(ctx context.Context, sc scenario) (*world, error) {
	w := &world{}
	dir, err := os.MkdirTemp("", "phala-bench")
	if err != nil {
		return nil, err
	}
	w.closers = append(w.closers, func() { os.RemoveAll(dir) })
	w.envPath = filepath.Join(dir, ".env")
	if err := os.WriteFile(w.envPath, []byte("API_KEY=bench-secret\n"), 0o600); err != nil {
		return nil, err
	}
	compose := phalatest.Compose{AllowedEnvs: []string{"API_KEY"}}
	if !sc.onchain {
		w.srv = phalatest.NewServer()
		w.closers = append(w.closers, w.srv.Close)
		w.node = w.srv.AddNode(phalatest.Node{Name: "tdx-1"})
		w.app = w.srv.AddApp(phalatest.App{Name: "web", KMS: phalatest.KMSCloud, Compose: compose})
		w.src = w.srv.AddCVM(phalatest.CVM{AppID: w.app.ID, Name: "web-main"})
		w.client, err = w.srv.Client()
		return w, err
	}
	w.chain = onchaintest.NewChain(onchaintest.WithAutoCommit(5*time.Millisecond), onchaintest.WithHTTP())
	w.closers = append(w.closers, func() { _ = w.chain.Close() })
	root, err := crypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	kms, err := w.chain.DeployDstackKms(ctx, w.chain.Transactor(0), onchaintest.KMSInfo{K256Pubkey: crypto.CompressPubkey(&root.PublicKey)})
	if err != nil {
		return nil, err
	}
	appAddr, err := w.chain.DeployDstackApp(ctx, w.chain.Transactor(0), onchaintest.AppConfig{})
	if err != nil {
		return nil, err
	}
	w.srv = phalatest.NewServer(phalatest.WithChain(w.chain.Client, onchaintest.ChainID), phalatest.WithKMSRootKey(root))
	w.closers = append(w.closers, w.srv.Close)
	w.node = w.srv.AddNode(phalatest.Node{Name: "tdx-1"})
	w.app = w.srv.AddApp(phalatest.App{ID: appAddr.Hex(), KMS: phalatest.KMSBase, ChainID: onchaintest.ChainID, KMSContract: kms.Hex(), Compose: compose})
	w.src = w.srv.AddCVM(phalatest.CVM{AppID: w.app.ID, Name: "web-main"})

	// Pre-register what the scenario says is already on chain.
	var calls [][]byte
	if sc.missing == "hash" || sc.missing == "both-registered" {
		calls = append(calls, call("addDevice(bytes32)", w.node.DeviceID))
	}
	if sc.missing == "device" || sc.missing == "both-registered" {
		calls = append(calls, call("addComposeHash(bytes32)", w.app.ComposeHash))
	}
	for _, data := range calls {
		tx, err := w.chain.Transact(ctx, w.chain.Transactor(0), appAddr, data)
		if err != nil {
			return nil, err
		}
		if _, err := w.chain.Mine(ctx, tx); err != nil {
			return nil, err
		}
	}

	w.rpc, err = newRPCCounter(w.chain.URL())
	if err != nil {
		return nil, err
	}
	w.closers = append(w.closers, w.rpc.close)
	rc, err := rpc.DialHTTP(w.rpc.url)
	if err != nil {
		return nil, err
	}
	w.closers = append(w.closers, rc.Close)
	// As after onchain.Dial (which checks the chain id): default, adaptive
	// receipt polling.
	w.registrar, err = onchain.NewRegistrar(ethclient.NewClient(rc), w.chain.Transactor(0), onchain.WithRPCClient(rc), onchain.WithCheckedChainID(onchaintest.ChainID))
	if err != nil {
		return nil, err
	}
	w.client, err = w.srv.Client(phala.WithKMSChainRPC(onchaintest.ChainID, w.rpc.url))
	return w, err
}

// call packs a one-bytes32 call of a DstackApp function.
func call(sig, hexArg string) []byte {
	return append(crypto.Keccak256([]byte(sig))[:4], common.HexToHash(hexArg).Bytes()...)
}

// rpcCounter relays JSON-RPC to the chain (onchaintest.RPCProxy), counting
// round trips and calls, recording their methods in order, and adding delay
// to every round trip.
type rpcCounter struct {
	proxy   *onchaintest.RPCProxy
	url     string
	calls   atomic.Int64
	posts   atomic.Int64 // HTTP requests (a batch is one)
	delay   atomic.Int64 // latency added to every request, in nanoseconds
	mu      sync.Mutex
	methods []string
}

func newRPCCounter(target string) (*rpcCounter, error) {
	c := &rpcCounter{}
	c.proxy = onchaintest.NewRPCProxy(target, func(methods []string) {
		c.posts.Add(1)
		c.calls.Add(int64(len(methods)))
		c.mu.Lock()
		c.methods = append(c.methods, methods...)
		c.mu.Unlock()
		time.Sleep(time.Duration(c.delay.Load()))
	})
	c.url = c.proxy.URL
	return c, nil
}

func (c *rpcCounter) close() { c.proxy.Close() }

func (c *rpcCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls.Store(0)
	c.posts.Store(0)
	c.methods = nil
}

// waits returns the transactions sent and the confirmation waits: runs of
// eth_getTransactionReceipt calls, each ended by a new transaction or the end.
func (c *rpcCounter) waits() (txs, waits int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	inWait := false
	for _, m := range c.methods {
		switch m {
		case "eth_sendRawTransaction":
			txs++
			inWait = false
		case "eth_getTransactionReceipt":
			if !inWait {
				waits++
				inWait = true
			}
		}
	}
	return txs, waits
}
