package reliability_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
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
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runDeadline bounds every workflow run; a run that returns later than
// runDeadline+hangSlack is a hang.
const (
	runDeadline = 15 * time.Second
	hangSlack   = 2 * time.Second
)

// secretEnvValue is the env plaintext every workflow with env sends; it must
// never appear in a log line or an error string.
const secretEnvValue = "plaintext-env-s3cret-7f3a"

// faultKind is one fault of the matrix.
type faultKind string

const (
	fLatency      faultKind = "latency spike"
	f429          faultKind = "429 Retry-After"
	f502HTML      faultKind = "502 HTML"
	f503          faultKind = "503"
	fResetBefore  faultKind = "reset before processing"
	fResetAfter   faultKind = "reset after processing"
	fTruncated    faultKind = "truncated JSON"
	fOversized    faultKind = "oversized body"
	fWrongCT      faultKind = "wrong content type"
	fCancel       faultKind = "context cancelled mid-way"
	f503After     faultKind = "proxy 503 after processing"
	f303Source    faultKind = "303 to the source after processing"
	fRedirectAway faultKind = "cross-host 302 after processing"
	fLyingDevice  faultKind = "465 naming a foreign device"
	fRPCDown      faultKind = "RPC node down"
	fTxReverted   faultKind = "tx reverted"
	fNoReceipt    faultKind = "receipt timeout"
	maxRespBytes            = 1 << 20
	oversizeBytes           = 8 << 20
)

var httpFaults = []faultKind{fLatency, f429, f502HTML, f503, fResetBefore, fResetAfter, fTruncated, fOversized, fWrongCT, fCancel}

// postFaults hit only POSTs: the server acted, then a proxy's answer replaced its own.
var postFaults = []faultKind{f503After, f303Source, fRedirectAway}

// lyingFaults make the API lie in a 465, so they hit only the POST replicas of
// on-chain workflows.
var lyingFaults = []faultKind{fLyingDevice}

// foreignDevice is the device a lying 465 names: no node of the workspace has it.
const foreignDevice = "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0"

var chainFaults = []faultKind{fRPCDown, fTxReverted, fNoReceipt}

// target selects the request an HTTP fault hits.
type target struct {
	name   string
	method string
	prefix func(w *world) string // path relative to /api/v1
}

var (
	tRead   = target{"first GET", http.MethodGet, func(*world) string { return "" }}
	tWrite  = target{"POST replicas", http.MethodPost, func(w *world) string { return "/cvms/" + w.src.VMUUID + "/replicas" }}
	tCommit = target{"POST commit", http.MethodPost, func(w *world) string { return "/cvms/" + w.src.VMUUID + "/commit-replica" }}
)

type workflow struct {
	name    string
	onchain bool
	want    int // replicas a successful run creates
	targets []target
	run     func(ctx context.Context, c *phala.Client, w *world) error
}

var secretEnv = []envcrypt.EnvVar{{Key: "API_KEY", Value: secretEnvValue}}

var workflows = []workflow{
	{name: "simple", want: 1, targets: []target{tRead, tWrite},
		run: func(ctx context.Context, c *phala.Client, w *world) error {
			_, err := c.Replicate(ctx, w.src.VMUUID, phala.ReplicateRequest{Node: "tdx-1"})
			return err
		}},
	{name: "with env", want: 1, targets: []target{tRead, tWrite},
		run: func(ctx context.Context, c *phala.Client, w *world) error {
			_, err := c.Replicate(ctx, w.src.VMUUID, phala.ReplicateRequest{Node: "tdx-1", Env: secretEnv})
			return err
		}},
	{name: "auto-registered", onchain: true, want: 1, targets: []target{tRead, tWrite, tCommit},
		run: func(ctx context.Context, c *phala.Client, w *world) error {
			_, err := c.Replicate(ctx, w.src.VMUUID, phala.ReplicateRequest{Node: "tdx-1", Env: secretEnv, Registrar: w.registrar})
			return err
		}},
	{name: "prepare+commit", onchain: true, want: 1, targets: []target{tRead, tWrite, tCommit},
		run: func(ctx context.Context, c *phala.Client, w *world) error {
			p, err := c.PrepareReplica(ctx, w.src.VMUUID, phala.ReplicateRequest{Node: "tdx-1", Env: secretEnv})
			if err != nil {
				return err
			}
			reg, err := w.registrar.EnsureRegistered(ctx, p.Prerequisite())
			if err != nil {
				return err
			}
			_, err = c.CommitPrepared(ctx, p, reg.CommitTransactionHash())
			return err
		}},
	{name: "scale", want: 3, targets: []target{tRead, tWrite},
		run: func(ctx context.Context, c *phala.Client, w *world) error {
			res, err := c.Scale(ctx, w.src.VMUUID, 3, phala.ReplicateRequest{Node: "tdx-1"}, phala.ScaleOptions{Concurrency: 2})
			if err == nil && len(res) != 3 {
				return fmt.Errorf("scale returned %d results for 3 replicas", len(res))
			}
			return err
		}},
}

// world is one emulator (and, for on-chain workflows, one simulated chain
// behind a JSON-RPC proxy) seeded with a source CVM.
type world struct {
	srv       *phalatest.Server
	app       phalatest.App
	node      phalatest.Node
	src       phalatest.CVM
	chain     *onchaintest.Chain
	rpc       *rpcProxy
	signerKey *ecdsa.PrivateKey
	registrar *onchain.Registrar
	appAddr   common.Address
}

func newWorld(t *testing.T, wf workflow, fault faultKind, logger *slog.Logger) *world {
	t.Helper()
	w := &world{}
	if !wf.onchain {
		w.srv = phalatest.NewServer()
		t.Cleanup(w.srv.Close)
		w.node = w.srv.AddNode(phalatest.Node{Name: "tdx-1"})
		w.app = w.srv.AddApp(phalatest.App{Name: "web", KMS: phalatest.KMSCloud,
			Compose: phalatest.Compose{AllowedEnvs: []string{"API_KEY"}}})
		w.src = w.srv.AddCVM(phalatest.CVM{AppID: w.app.ID, NodeID: w.node.ID})
		return w
	}
	ctx := context.Background()
	w.chain = onchaintest.NewChain(onchaintest.WithAutoCommit(10*time.Millisecond), onchaintest.WithHTTP(), onchaintest.WithAccounts(2))
	t.Cleanup(func() { _ = w.chain.Close() })
	root, err := crypto.GenerateKey()
	require.NoError(t, err)
	kms, err := w.chain.DeployDstackKms(ctx, w.chain.Transactor(0), onchaintest.KMSInfo{K256Pubkey: crypto.CompressPubkey(&root.PublicKey)})
	require.NoError(t, err)
	w.appAddr, err = w.chain.DeployDstackApp(ctx, w.chain.Transactor(0), onchaintest.AppConfig{})
	require.NoError(t, err)
	w.srv = phalatest.NewServer(phalatest.WithChain(w.chain.Client, onchaintest.ChainID), phalatest.WithKMSRootKey(root))
	t.Cleanup(w.srv.Close)
	w.node = w.srv.AddNode(phalatest.Node{Name: "tdx-1"})
	w.app = w.srv.AddApp(phalatest.App{ID: w.appAddr.Hex(), KMS: phalatest.KMSBase, ChainID: onchaintest.ChainID,
		KMSContract: kms.Hex(), Compose: phalatest.Compose{AllowedEnvs: []string{"API_KEY"}}})
	w.src = w.srv.AddCVM(phalatest.CVM{AppID: w.app.ID, NodeID: w.node.ID})

	w.rpc = newRPCProxy(t, w.chain.URL())
	rc, err := rpc.DialHTTP(w.rpc.URL())
	require.NoError(t, err)
	t.Cleanup(rc.Close)
	signer := w.chain.Transactor(0)
	w.signerKey = w.chain.Accounts[0].Key
	if fault == fTxReverted {
		// Account 1 does not own the app: its transactions revert on chain. A
		// fixed gas limit skips estimation, so the transaction is really mined.
		signer = w.chain.Transactor(1)
		signer.GasLimit = 300_000
		w.signerKey = w.chain.Accounts[1].Key
	}
	w.registrar, err = onchain.NewRegistrar(ethclient.NewClient(rc), signer,
		onchain.WithRPCClient(rc), onchain.WithPollInterval(20*time.Millisecond),
		onchain.WithReceiptTimeout(2*time.Second), onchain.WithLogger(logger))
	require.NoError(t, err)
	return w
}

// outcome is what one cell of the matrix produced.
type outcome struct {
	workflow, target string
	fault            faultKind
	errType          string // "" on success
	replicas         int
	elapsed          time.Duration
	panicked         bool
	leaked           []string
	foreignTx        []string
}

func TestFaultMatrix(t *testing.T) {
	var mu sync.Mutex
	var results []outcome
	record := func(o outcome) { mu.Lock(); results = append(results, o); mu.Unlock() }

	// Most cells wait (Retry-After, latency, receipt timeouts) rather than
	// compute, so they run 8 at a time whatever -parallel says; t.Run may be
	// called from several goroutines.
	type cell struct {
		name string
		wf   workflow
		tg   target
		f    faultKind
	}
	var cells []cell
	for _, wf := range workflows {
		for _, tg := range wf.targets {
			for _, f := range httpFaults {
				cells = append(cells, cell{wf.name + "/" + tg.name + "/" + string(f), wf, tg, f})
			}
			if tg.method == http.MethodPost {
				for _, f := range postFaults {
					cells = append(cells, cell{wf.name + "/" + tg.name + "/" + string(f), wf, tg, f})
				}
			}
			if wf.onchain && tg.name == tWrite.name {
				for _, f := range lyingFaults {
					cells = append(cells, cell{wf.name + "/" + tg.name + "/" + string(f), wf, tg, f})
				}
			}
		}
		if wf.onchain {
			for _, f := range chainFaults {
				cells = append(cells, cell{wf.name + "/chain/" + string(f), wf, target{name: "chain"}, f})
			}
		}
	}
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, c := range cells {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t.Run(c.name, func(t *testing.T) { record(runCell(t, c.wf, c.tg, c.f)) })
		}()
	}
	wg.Wait()

	var survived, duplicated, leaked, foreign, panics int
	for _, o := range results {
		if !o.panicked && o.errType != "untyped" && o.elapsed < runDeadline+hangSlack {
			survived++
		}
		if o.replicas > wantFor(o.workflow) {
			duplicated++
		}
		leaked += len(o.leaked)
		foreign += len(o.foreignTx)
		if o.panicked {
			panics++
		}
	}
	t.Logf("faults injected: %d, survived: %d, replicas duplicated: %d, secrets leaked: %d, foreign txs signed: %d, panics: %d",
		len(results), survived, duplicated, leaked, foreign, panics)
	for _, o := range results {
		res := "success"
		if o.errType != "" {
			res = o.errType
		}
		t.Logf("| %s | %s | %s | %s | %d | %s |", o.workflow, o.target, o.fault, res, o.replicas, o.elapsed.Round(time.Millisecond))
	}
	assert.Equal(t, len(results), survived, "every fault survived")
	assert.Zero(t, duplicated, "replicas duplicated")
	assert.Zero(t, leaked, "secrets leaked")
	assert.Zero(t, foreign, "transactions signed for data not from the source")
}

func wantFor(name string) int {
	for _, wf := range workflows {
		if wf.name == name {
			return wf.want
		}
	}
	return 0
}

// runCell runs one workflow with one fault and checks the invariants.
func runCell(t *testing.T, wf workflow, tg target, f faultKind) (o outcome) {
	o = outcome{workflow: wf.name, target: tg.name, fault: f}
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w := newWorld(t, wf, f, logger)

	ctx, cancel := context.WithTimeout(context.Background(), runDeadline)
	defer cancel()
	ft := newFaultTransport(t)
	opts := []phala.Option{
		phala.WithHTTPClient(&http.Client{Transport: ft}),
		phala.WithLogger(logger),
		phala.WithMaxResponseBytes(maxRespBytes),
		phala.WithTimeout(3 * time.Second),
		phala.WithRetryPolicy(phala.RetryPolicy{MaxAttempts: 4, MinBackoff: 20 * time.Millisecond,
			MaxBackoff: 200 * time.Millisecond, MaxRetryAfter: 5 * time.Second}),
	}
	if wf.onchain {
		opts = append(opts, phala.WithKMSChainRPC(onchaintest.ChainID, w.rpc.URL()))
	}
	c, err := w.srv.Client(opts...)
	require.NoError(t, err)

	if tg.method != "" {
		injectHTTP(w, ft, tg, f, cancel)
	} else {
		w.rpc.setMode(f)
	}

	start := time.Now()
	var runErr error
	func() {
		defer func() {
			if r := recover(); r != nil {
				o.panicked = true
				t.Errorf("panic: %v", r)
			}
		}()
		runErr = wf.run(ctx, c, w)
	}()
	o.elapsed = time.Since(start)
	if o.elapsed >= runDeadline+hangSlack {
		t.Errorf("returned after %s, past the %s deadline", o.elapsed, runDeadline)
	}

	o.replicas = len(w.srv.Replicas())
	if tg.method != "" {
		assert.Zero(t, w.srv.PendingFaults(), "the emulator's fault was injected")
		assert.False(t, ft.pending(), "the transport's fault was injected")
	} else {
		assert.NotZero(t, w.rpc.calls.Load(), "the chain was used")
	}
	if runErr != nil {
		o.errType = classify(runErr)
		assert.NotEqual(t, "untyped", o.errType, "error %T is not typed: %v", runErr, runErr)
	} else {
		assert.Equal(t, wf.want, o.replicas, "a success created every replica")
	}
	assert.LessOrEqual(t, o.replicas, wf.want, "no duplicate replica")
	checkPolicy(t, wf, tg, f, runErr, o.replicas)

	secrets := map[string]string{"API key": w.srv.APIKey(), "env plaintext": secretEnvValue}
	if w.signerKey != nil {
		secrets["private key"] = hex.EncodeToString(crypto.FromECDSA(w.signerKey))
	}
	var texts []string
	texts = append(texts, logs.String())
	if runErr != nil {
		texts = append(texts, runErr.Error(), fmt.Sprintf("%+v", runErr), fmt.Sprintf("%#v", runErr))
	}
	for name, s := range secrets {
		for _, text := range texts {
			if strings.Contains(strings.ToLower(text), strings.ToLower(s)) {
				o.leaked = append(o.leaked, name)
				t.Errorf("%s leaked", name)
			}
		}
	}
	if w.rpc != nil {
		allowed := []string{w.app.ComposeHash, w.node.DeviceID}
		o.foreignTx = w.rpc.foreignTxs(w.appAddr, allowed)
		assert.Empty(t, o.foreignTx, "every signed transaction carries the source's compose hash or the node's device")
	}
	return o
}

// checkPolicy asserts what the client promises for fault f on target tg: a GET
// is retried until it succeeds unless its 2xx body is unusable; a POST is never
// resent after an answer, so a refusal (429) creates nothing and says when to
// retry, a gateway error, redirect or lost answer is an unknown outcome (the
// replica exists when the server processed the request, and only once), and an
// unusable 2xx is "created, answer unreadable".
func checkPolicy(t *testing.T, wf workflow, tg target, f faultKind, err error, replicas int) {
	t.Helper()
	var (
		apiErr     *phala.APIError
		unknown    *phala.OutcomeUnknownError
		unreadable *phala.UnreadableCreatedError
		resp       *phala.ResponseError
	)
	single := wf.want == 1
	// A POST the API processed creates the replica unless it is the POST
	// replicas of an on-chain workflow (answered 465: created only at commit).
	creates := tg.name == tCommit.name || (tg.name == tWrite.name && !wf.onchain)
	switch {
	case f == fLyingDevice:
		assert.ErrorIs(t, err, phala.ErrPayloadMismatch, "a 465 naming a device the caller did not choose is refused")
		assert.Zero(t, replicas, "nothing was created for a foreign device")
	case tg.method == http.MethodGet:
		switch f {
		case fLatency, f429, f502HTML, f503, fResetBefore, fResetAfter:
			assert.NoError(t, err, "a GET is retried")
		case fTruncated, fOversized, fWrongCT:
			assert.ErrorAs(t, err, &resp, "an unusable 2xx GET body is a ResponseError")
			assert.False(t, errors.As(err, &unreadable), "a GET created nothing")
			assert.Zero(t, replicas)
		}
	case tg.method == http.MethodPost:
		switch f {
		case f429:
			require.ErrorAs(t, err, &apiErr, "a 429 on a POST is returned, not resent")
			assert.Equal(t, http.StatusTooManyRequests, apiErr.StatusCode)
			assert.Positive(t, apiErr.RetryAfter, "the refusal says when to retry")
			assert.False(t, errors.As(err, &unknown), "a refusal is not an unknown outcome")
			assert.Less(t, replicas, wf.want, "the refused POST created nothing")
			if single {
				assert.Zero(t, replicas, "a 429 leaves nothing created")
			}
		case f502HTML, f503:
			require.ErrorAs(t, err, &unknown, "a gateway error on a POST has an unknown outcome")
			want := map[faultKind]int{f502HTML: http.StatusBadGateway, f503: http.StatusServiceUnavailable}[f]
			assert.Equal(t, want, unknown.StatusCode)
			assert.Equal(t, 1, unknown.Attempts, "not resent")
			assert.Less(t, replicas, wf.want, "the emulator answered before processing: nothing created")
		case fResetAfter, f503After, f303Source, fRedirectAway:
			require.ErrorAs(t, err, &unknown, "a POST the API acted on, answered by a lost connection or a proxy, has an unknown outcome")
			assert.Equal(t, 1, unknown.Attempts, "not resent")
			if single && creates {
				assert.Equal(t, 1, replicas, "the replica exists once; the source is never reported as it")
			}
		case fTruncated, fOversized, fWrongCT:
			if wf.onchain && tg.name == tWrite.name {
				// The answer is a 465: a cut or oversized one is refused
				// before anything is signed; its content type is not checked.
				if f != fWrongCT {
					require.ErrorAs(t, err, &apiErr)
					assert.Equal(t, 465, apiErr.StatusCode)
				}
				break
			}
			require.ErrorAs(t, err, &unreadable, "an unusable 2xx POST body means created, answer unreadable")
			assert.ErrorIs(t, err, phala.ErrUnreadableCreated)
			assert.Positive(t, replicas, "the replica exists")
			if single {
				assert.Equal(t, 1, replicas)
			}
		}
	}
}

// injectHTTP arms fault f on the first request matching tg.
func injectHTTP(w *world, ft *faultTransport, tg target, f faultKind, cancel context.CancelFunc) {
	prefix := tg.prefix(w)
	fault := phalatest.Fault{Method: tg.method, PathPrefix: prefix}
	switch f {
	case fLatency:
		fault.Latency = 500 * time.Millisecond
	case f429:
		fault.Status, fault.RetryAfter = http.StatusTooManyRequests, time.Second
	case f502HTML:
		fault.Status, fault.HTMLBody = http.StatusBadGateway, true
	case f503:
		fault.Status = http.StatusServiceUnavailable
	case fResetAfter:
		fault.DropAfterProcessing = true
	case fTruncated:
		fault.Truncate = true
	case f503After:
		fault.Status, fault.AfterProcessing, fault.RetryAfter = http.StatusServiceUnavailable, true, time.Second
	case f303Source:
		fault.Status, fault.AfterProcessing = http.StatusSeeOther, true
		fault.Location = w.srv.URL() + "/cvms/" + w.src.VMUUID
	case fRedirectAway:
		fault.Status, fault.AfterProcessing = http.StatusFound, true
		fault.Location = "https://elsewhere.invalid/api/v1/cvms/" + w.src.VMUUID
	case fLyingDevice:
		fault.DeviceID = foreignDevice
	default:
		ft.arm(tg.method, prefix, f, cancel)
		return
	}
	w.srv.FailNext(fault)
}

// classify names the typed error err is (or wraps), "untyped" if none.
func classify(err error) string {
	var (
		apiErr     *phala.APIError
		outcome    *phala.OutcomeUnknownError
		unreadable *phala.UnreadableCreatedError
		redirect   *phala.RedirectError
		unverified *phala.DeviceUnverifiedError
		resp       *phala.ResponseError
		autoReg    *phala.AutoRegistrationError
		scale      *phala.ScaleError
		prereq     *onchain.ErrOnchainPrerequisite
		revert     *onchain.RevertError
		receipt    *onchain.ReceiptTimeoutError
		notOwner   *onchain.NotOwnerError
		notConf    *onchain.StateNotConfirmedError
		mismatch   *phala.PayloadMismatchError
		noTrust    *phala.NoKMSTrustRootError
		netErr     net.Error
		rpcHTTP    rpc.HTTPError
		rpcHTTPp   *rpc.HTTPError
		notAttmpt  *phala.NotAttemptedError
	)
	outer := ""
	switch {
	case errors.As(err, &scale):
		outer = "ScaleError→"
	case errors.As(err, &autoReg):
		outer = "AutoRegistrationError→"
	}
	switch {
	case errors.As(err, &notAttmpt) && outer == "":
		return "NotAttemptedError"
	case errors.As(err, &outcome):
		return outer + "OutcomeUnknownError"
	case errors.As(err, &unreadable):
		return outer + "UnreadableCreatedError"
	case errors.As(err, &mismatch):
		return outer + "PayloadMismatchError(" + mismatch.Field + ")"
	case errors.As(err, &unverified):
		return outer + "DeviceUnverifiedError"
	case errors.As(err, &redirect):
		return outer + "RedirectError"
	case errors.As(err, &resp):
		return outer + "ResponseError"
	case errors.As(err, &apiErr):
		if apiErr.Code == "" {
			return fmt.Sprintf("%sAPIError(%d)", outer, apiErr.StatusCode)
		}
		return outer + "APIError(" + string(apiErr.Code) + ")"
	case errors.As(err, &receipt):
		return outer + "ReceiptTimeoutError"
	case errors.As(err, &notOwner):
		return outer + "NotOwnerError"
	case errors.As(err, &revert), errors.Is(err, onchain.ErrReverted):
		return outer + "RevertError"
	case errors.As(err, &notConf):
		return outer + "StateNotConfirmedError"
	case errors.As(err, &noTrust):
		return outer + "NoKMSTrustRootError"
	case errors.As(err, &prereq):
		return outer + "ErrOnchainPrerequisite"
	case errors.Is(err, context.Canceled):
		return outer + "context.Canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return outer + "context.DeadlineExceeded"
	case errors.As(err, &rpcHTTP), errors.As(err, &rpcHTTPp):
		return outer + "rpc.HTTPError"
	case errors.As(err, &netErr):
		return outer + "net.Error"
	}
	return "untyped"
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// faultTransport forwards requests to the emulator and applies the faults the
// emulator cannot inject itself to the first request matching an armed rule.
type faultTransport struct {
	base  *http.Transport
	reset *http.Transport // dials a listener that resets every connection

	mu     sync.Mutex
	method string
	prefix string
	kind   faultKind
	armed  bool
	cancel context.CancelFunc
}

func newFaultTransport(t *testing.T) *faultTransport {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			// Close with SO_LINGER 0: the peer sees a reset, and the
			// request never reaches the emulator.
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = conn.Close()
		}
	}()
	base := &http.Transport{}
	reset := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", ln.Addr().String())
	}}
	t.Cleanup(base.CloseIdleConnections)
	t.Cleanup(reset.CloseIdleConnections)
	return &faultTransport{base: base, reset: reset}
}

func (ft *faultTransport) arm(method, prefix string, kind faultKind, cancel context.CancelFunc) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.method, ft.prefix, ft.kind, ft.armed, ft.cancel = method, prefix, kind, true, cancel
}

func (ft *faultTransport) pending() bool {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return ft.armed
}

func (ft *faultTransport) take(r *http.Request) (faultKind, bool) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, phalatest.APIPrefix)
	if !ft.armed || r.Method != ft.method || !strings.HasPrefix(path, ft.prefix) {
		return "", false
	}
	ft.armed = false
	return ft.kind, true
}

func (ft *faultTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	kind, ok := ft.take(r)
	if !ok {
		return ft.base.RoundTrip(r)
	}
	switch kind {
	case fResetBefore:
		return ft.reset.RoundTrip(r)
	case fCancel:
		// The server processes the request; the caller gives up while the
		// answer is on its way.
		resp, err := ft.base.RoundTrip(r)
		ft.cancel()
		return resp, err
	}
	resp, err := ft.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	switch kind {
	case fOversized:
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(resp.Body, io.LimitReader(spaces{}, oversizeBytes)), resp.Body}
		resp.ContentLength = -1
		resp.Header.Del("Content-Length")
	case fWrongCT:
		resp.Header.Set("Content-Type", "text/html; charset=utf-8")
	}
	return resp, nil
}

// spaces is an endless JSON-whitespace reader.
type spaces struct{}

func (spaces) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

// rpcProxy sits between the SDK and the chain's JSON-RPC endpoint: it counts
// calls, records every raw transaction, and injects chain faults.
type rpcProxy struct {
	target string
	srv    *http.Server
	url    string
	calls  atomic.Int64

	mu     sync.Mutex
	mode   faultKind
	rawTxs []string
}
