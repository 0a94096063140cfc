package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/mattn/go-isatty"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/onchain"
)

// exitNotConfirmed is the exit code of an apply that would remove instances
// and was not confirmed: stdin is not a terminal and --auto-approve was not
// given, or the answer on the terminal was not "yes". Nothing was written.
const exitNotConfirmed = 6

// setIO is where apply reads its confirmation from.
type setIO struct {
	in       io.Reader
	terminal bool // in is an interactive terminal
}

// stdinIO is the process's standard input.
func stdinIO() setIO {
	return setIO{in: os.Stdin, terminal: isatty.IsTerminal(os.Stdin.Fd()) || isatty.IsCygwinTerminal(os.Stdin.Fd())}
}

// setOptions are the flags of "plan" and "apply".
type setOptions struct {
	options            // the client, on-chain and output flags shared with replicate
	verb        string // "plan" or "apply"
	file        string // -f / --file: the replica set spec
	autoApprove bool   // --auto-approve
	concurrency int    // --concurrency (0 = the library's default)
	prune       bool   // --prune-devices
}

// parseSetArgs parses the arguments of "plan" or "apply" (after the verb).
func parseSetArgs(verb string, args []string, getenv func(string) string) (*setOptions, error) {
	so := &setOptions{verb: verb}
	o := &so.options
	var kmsRoots stringList
	fs := flag.NewFlagSet("phala-replicate "+verb, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&so.file, "f", "", "")
	fs.StringVar(&so.file, "file", "", "")
	fs.StringVar(&o.envFile, "env-file", "", "")
	fs.StringVar(&o.envFile, "e", "", "")
	fs.Var(secretFlag{&o.privateKey}, "private-key", "")
	fs.StringVar(&o.rpcURL, "rpc-url", "", "")
	fs.Var(&kmsRoots, "kms-root", "")
	fs.StringVar(&o.kmsContract, "kms-contract", "", "")
	fs.BoolVar(&o.skipKMSCheck, "insecure-skip-kms-verify", false, "")
	fs.StringVar(&o.safeFile, "safe-file", "", "")
	fs.StringVar(&o.preparedFile, "prepared-file", "", "")
	fs.BoolVar(&o.jsonOut, "json", false, "")
	fs.BoolVar(&o.jsonOut, "j", false, "")
	fs.Var(secretFlag{&o.apiKey}, "api-key", "")
	fs.Var(secretFlag{&o.apiKey}, "api-token", "")
	fs.DurationVar(&o.pollInterval, "poll-interval", 0, "")
	fs.IntVar(&so.concurrency, "concurrency", 0, "")
	fs.BoolVar(&so.prune, "prune-devices", false, "")
	if verb == "apply" {
		fs.BoolVar(&o.wait, "wait", false, "")
		fs.BoolVar(&so.autoApprove, "auto-approve", false, "")
		fs.BoolVar(&o.commit, "commit", false, "")
		fs.StringVar(&o.txHash, "transaction-hash", "", "")
		fs.BoolVar(&o.verify, "verify", false, "")
		fs.StringVar(&o.attestRoots, "attestation-roots", "", "")
		fs.StringVar(&o.collateral, "collateral", "", "")
		fs.StringVar(&o.pccs, "pccs", "", "")
		fs.StringVar(&o.attestAt, "at", "", "")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, usagef("%s", redactLongHex(err.Error()))
	}
	if fs.NArg() > 0 {
		return nil, usagef("%s takes no argument (the set is read from -f FILE), got %q", verb, redactLongHex(strings.Join(fs.Args(), " ")))
	}
	seen := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { seen[f.Name] = true })

	if err := o.resolveShared(seen, getenv); err != nil {
		return nil, err
	}
	o.txHash = strings.TrimSpace(o.txHash)
	o.count = 1
	if so.concurrency < 0 || so.concurrency > maxCount {
		return nil, usagef("--concurrency must be between 1 and %d (got %d)", maxCount, so.concurrency)
	}
	if err := o.resolveKMS(kmsRoots, seen); err != nil {
		return nil, err
	}
	if err := o.checkVerifyFlags(func(names ...string) string {
		for _, n := range names {
			if seen[n] {
				return dashName(n)
			}
		}
		return ""
	}); err != nil {
		return nil, err
	}

	if o.commit {
		if o.preparedFile == "" {
			return nil, usagef("apply --commit needs --prepared-file (the file 'apply' wrote)")
		}
		for _, n := range []string{"f", "file", "env-file", "e", "safe-file", "auto-approve", "private-key"} {
			if seen[n] {
				return nil, usagef("%s cannot be used with --commit: the set was fixed when it was prepared", dashName(n))
			}
		}
		return so, nil
	}
	if seen["transaction-hash"] {
		return nil, usagef("--transaction-hash is only used with --commit")
	}
	if so.file == "" {
		return nil, usagef("%s needs the replica set: -f FILE (JSON or YAML)", verb)
	}
	if verb == "plan" && (o.safeFile != "" || o.preparedFile != "") {
		return nil, usagef("--safe-file and --prepared-file are written by apply, not by plan")
	}
	if o.safeFile != "" && o.safeFile == o.preparedFile {
		return nil, usagef("--safe-file and --prepared-file must be different files")
	}
	return so, nil
}

// dashName spells a flag as typed: "-f", "--file".
func dashName(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// notConfirmedError is an apply that would remove instances and was not
// confirmed: exit code exitNotConfirmed, nothing written.
type notConfirmedError struct {
	removals int
	terminal bool
}

func (e *notConfirmedError) Error() string {
	if e.terminal {
		return fmt.Sprintf("apply cancelled: the removal of %d instance(s) was not confirmed; nothing was changed", e.removals)
	}
	return fmt.Sprintf("apply would remove %d instance(s) and stdin is not a terminal to confirm it: review the plan ('phala-replicate plan -f …') and pass --auto-approve; nothing was changed", e.removals)
}

// setCommand is one run of "plan" or "apply".
type setCommand struct {
	command
	so      *setOptions
	io      setIO
	spec    *phala.ReplicaSet
	jsonDoc bool // --json: stdout carries one JSON document

	plan     *phala.ReplicaSetPlan
	planOpts *phala.PlanOptions
	chain    *ethclient.Client // closed at the end
	// chainID and rpc go with chain; chainTried: chainFor was called (with
	// chain nil, the chain could not be reached and the run says so once).
	chainID    uint64
	rpc        *rpc.Client
	chainTried bool
}

// runSet runs "phala-replicate plan|apply …" and returns the exit code. With
// --json, the outcome (success or failure) is one JSON document on stdout;
// the plan text and progress go to stderr.
func runSet(ctx context.Context, verb string, args []string, stdout, stderr io.Writer, getenv func(string) string, s settings, sio setIO) int {
	so, err := parseSetArgs(verb, args, getenv)
	if err == errHelp {
		_, _ = io.WriteString(stdout, helpText)
		return exitOK
	}
	if err != nil {
		if wantsJSON(args) {
			_ = writeJSON(stdout, setFailure(verb, err, redactor{}))
		} else {
			writeError(stderr, false, "", err, redactor{})
		}
		return setExitCode(err)
	}
	if so.pollInterval == 0 {
		so.pollInterval = s.pollInterval
	}
	jsonOut := so.jsonOut
	// The shared command prints progress only in text mode; here progress
	// always goes to stderr, and the JSON document is written by this file.
	so.jsonOut = false
	sc := &setCommand{
		command: command{o: &so.options, stdout: stdout, stderr: stderr, now: time.Now, red: newRedactor(&so.options), attest: s.attest},
		so:      so, io: sio, jsonDoc: jsonOut,
	}
	doc, err := sc.run(ctx)
	if jsonOut {
		if doc == nil {
			doc = &setDoc{Command: verb}
		}
		if sc.o.commit && doc.Command == "apply" {
			doc.Command = "apply --commit"
		}
		doc.Success = err == nil
		if err != nil {
			body := setFailure(verb, err, sc.red).Error
			doc.Error = body
		}
		if werr := writeJSONClean(stdout, doc, sc.red); werr != nil {
			writeError(stderr, false, "", werr, sc.red)
			return exitError
		}
	} else if err != nil {
		writeError(stderr, false, sc.headline(), err, sc.red)
	}
	return setExitCode(err)
}

// setExitCode is exitCode, with the exit codes of the set commands: a spec
// the server's nodes refute is a usage error, an unconfirmed removal is
// exitNotConfirmed.
func setExitCode(err error) int {
	var nc *notConfirmedError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &nc):
		return exitNotConfirmed
	case errors.Is(err, phala.ErrInvalidSpec):
		return exitUsage
	}
	return exitCode(err)
}

// setFailure is the JSON document of a failure before there is anything
// else to report.
func setFailure(verb string, err error, r redactor) *setDoc {
	body := errorDoc(err).Error
	body.ExitCode = setExitCode(err)
	var nc *notConfirmedError
	switch {
	case errors.As(err, &nc):
		body.Type = "not_confirmed"
	case errors.Is(err, phala.ErrInvalidSpec):
		body.Type = "usage"
		var se *phala.SpecError
		if errors.As(err, &se) {
			v, _ := json.Marshal(se.Value)
			body.Details = append(body.Details, jsonErrorDetail{Field: se.Field, Value: v, Message: se.Reason})
		}
	}
	body.Message = r.clean(body.Message)
	return &setDoc{Command: verb, Error: &body}
}

func writeJSONClean(w io.Writer, v any, r redactor) error {
	var sb strings.Builder
	if err := writeJSON(&sb, v); err != nil {
		return err
	}
	_, err := io.WriteString(w, r.clean(sb.String()))
	return err
}

// setDoc is the --json document of plan and apply.
type setDoc struct {
	Success bool   `json:"success"`
	Command string `json:"command"` // "plan", "apply" or "apply --commit"
	// Status: "planned", "unchanged", "applied", "approval_required",
	// "committed" or "failed".
	Status       string                   `json:"status,omitempty"`
	Plan         *phala.ReplicaSetPlan    `json:"plan,omitempty"`
	Registration *onchain.SetRegistration `json:"registration,omitempty"`
	Creates      []phala.CreateOutcome    `json:"creates,omitempty"`
	Removals     []phala.RemovalOutcome   `json:"removals,omitempty"`
	Prune        *phala.PruneOutcome      `json:"prune,omitempty"`
	Approval     *approvalDoc             `json:"approval,omitempty"`
	Committed    []committedItem          `json:"committed,omitempty"`
	Waited       []phala.WaitResult       `json:"waited,omitempty"`
	Error        *jsonErrorBody           `json:"error,omitempty"`
}

// approvalDoc is what the owners of a multisig approve: never the commit
// tokens (they are in the prepared file only).
type approvalDoc struct {
	SafeFile      string         `json:"safe_file"`
	PreparedFile  string         `json:"prepared_file"`
	Calls         []string       `json:"calls"` // e.g. "addDevice(0x…)", in batch order
	Nodes         []approvalNode `json:"nodes"`
	ExpiresAt     time.Time      `json:"expires_at"`
	CommitCommand string         `json:"commit_command"`
}

type approvalNode struct {
	NodeID    int64  `json:"node_id"`
	NodeName  string `json:"node_name"`
	Prepared  bool   `json:"prepared"`
	Replicas  int    `json:"replicas"` // created on this node by the commit
	Committed string `json:"committed_vm_uuid,omitempty"`
	Error     string `json:"error,omitempty"`
}

// committedItem is one node of a committed prepared set.
type committedItem struct {
	NodeID    int64    `json:"node_id"`
	NodeName  string   `json:"node_name"`
	Committed string   `json:"committed_vm_uuid,omitempty"`
	Created   []string `json:"created_vm_uuids,omitempty"`
	Error     string   `json:"error,omitempty"`
	// OutcomeUnknown: a create's answer was lost; a rerun creates nothing
	// more on this node (apply the set again instead).
	OutcomeUnknown bool `json:"outcome_unknown,omitempty"`
}

func (sc *setCommand) headline() string {
	switch {
	case sc.so.verb == "plan":
		return "Failed to plan the replica set"
	case sc.o.commit:
		return "Failed to commit the prepared replica set"
	default:
		return "Failed to apply the replica set"
	}
}

func (sc *setCommand) run(ctx context.Context) (*setDoc, error) {
	doc := &setDoc{Command: sc.so.verb}
	if err := sc.newClient(ctx); err != nil {
		return doc, err
	}
	defer func() {
		if sc.reg != nil {
			sc.reg.Close()
		}
		if sc.chain != nil {
			sc.chain.Close()
		}
	}()
	if sc.o.commit {
		return doc, sc.commitSet(ctx, doc)
	}
	data, err := os.ReadFile(sc.so.file)
	if err != nil {
		return doc, fmt.Errorf("replica set: %w", err)
	}
	if sc.spec, err = phala.ParseReplicaSet(data); err != nil {
		return doc, err
	}
	if sc.o.envFile != "" {
		env, err := sc.readEnvFile()
		if err != nil {
			return doc, err
		}
		sc.spec.Env, sc.spec.EncryptedEnv = env, ""
		if err := sc.spec.Validate(); err != nil {
			return doc, err
		}
	}
	if err := sc.planSet(ctx); err != nil {
		return doc, err
	}
	doc.Plan = sc.plan
	if sc.so.verb == "plan" {
		doc.Status = "planned"
		if sc.plan.Empty() {
			doc.Status = "unchanged"
		}
		sc.showPlan(sc.stdoutOrErr())
		return doc, nil
	}
	return doc, sc.apply(ctx, doc)
}

// stdoutOrErr is where prose goes: stdout in text mode, stderr when stdout
// carries the JSON document.
func (sc *setCommand) stdoutOrErr() io.Writer {
	if sc.jsonMode() {
		return sc.stderr
	}
	return sc.stdout
}

// jsonMode reports whether --json was given (sc.o.jsonOut is cleared so
// that the shared code prints progress).
func (sc *setCommand) jsonMode() bool { return sc.jsonDoc }

func (sc *setCommand) showPlan(w io.Writer) {
	_, _ = io.WriteString(w, sc.red.clean(sc.plan.String()))
}

// planSet plans the set. For an Onchain KMS app with creates (or devices to
// prune), the plan reads the DstackApp contract on the app's chain, which it
// learns from the source: chainFor dials it then (--rpc-url, which must serve
// that chain, else the chain registry's public endpoint), so the app's
// instances and nodes are read once.
func (sc *setCommand) planSet(ctx context.Context) error {
	po := &phala.PlanOptions{PruneDevices: sc.so.prune, ChainFor: sc.chainFor}
	p, err := sc.client.PlanReplicaSet(ctx, sc.spec, *po)
	if err != nil {
		return err
	}
	sc.planOpts = po
	sc.plan = p
	return nil
}

// chainFor is the plan's PlanOptions.ChainFor: it dials the app's chain once
// per run (apply's re-plan reuses the connection).
func (sc *setCommand) chainFor(ctx context.Context, chainID uint64) (onchain.StatusReader, *rpc.Client, error) {
	if sc.chainTried && sc.chainID == chainID {
		if sc.chain == nil {
			return nil, nil, nil // warned already: the on-chain state stays unknown
		}
		return sc.chain, sc.rpc, nil
	}
	if sc.chainTried {
		return nil, nil, fmt.Errorf("the app is on chain %d but this run read chain %d", chainID, sc.chainID)
	}
	sc.chainTried, sc.chainID = true, chainID
	po, err := sc.dialAppChain(ctx, chainID)
	if err != nil || po == nil {
		return nil, nil, err
	}
	sc.rpc = po.RPC
	return po.Chain, po.RPC, nil
}

// dialAppChain connects to the app's chain: --rpc-url (an error if it
// serves another chain), else the registry's public endpoint. When no
// endpoint is known or it cannot be reached, it warns and returns nil: the
// plan's on-chain state is then unknown and lists every target device.
func (sc *setCommand) dialAppChain(ctx context.Context, chainID uint64) (*phala.PlanOptions, error) {
	url := sc.o.rpcURL
	if url == "" {
		chains, err := onchain.NewChains()
		if err != nil {
			return nil, err
		}
		cfg, err := chains.Lookup(chainID)
		if err != nil {
			sc.progressf("warning: cannot read the DstackApp contract (%v); pass --rpc-url or set %s. The on-chain state is unknown.\n", err, envRPCURL)
			return nil, nil
		}
		url = cfg.RPCURL
	}
	ec, rc, err := onchain.Dial(ctx, onchain.ChainConfig{ID: chainID, RPCURL: url})
	var wc *onchain.WrongChainError
	switch {
	case errors.As(err, &wc):
		return nil, fmt.Errorf("--rpc-url %s: %w", redactURL(url), err)
	case err != nil:
		sc.progressf("warning: cannot read the DstackApp contract (%v). The on-chain state is unknown.\n", err)
		return nil, nil
	}
	sc.chain = ec
	return &phala.PlanOptions{Chain: ec, RPC: rc}, nil
}

// needsApproval reports whether the plan's creates need on-chain
// registration first.
func needsApproval(p *phala.ReplicaSetPlan) bool {
	w := p.Onchain
	return w != nil && len(p.Creates) > 0 && (w.Needed() || !w.Known)
}

func (sc *setCommand) apply(ctx context.Context, doc *setDoc) error {
	sc.showPlan(sc.stdoutOrErr())
	if sc.plan.Empty() {
		doc.Status = "unchanged"
		_, _ = fmt.Fprintln(sc.stdoutOrErr(), "Nothing to do: the set is as declared.")
		return nil
	}
	multisig := needsApproval(sc.plan) && sc.reg == nil
	if multisig && (sc.o.safeFile == "" || sc.o.preparedFile == "") {
		return &onchainError{fmt.Errorf("on-chain registration required (%s): pass --private-key or set %s to register automatically, or pass --safe-file and --prepared-file to prepare the set for a multisig", describeWork(sc.plan.Onchain), envPrivateKey)}
	}
	if multisig {
		if err := sc.checkPreparedFileFree(); err != nil {
			return err
		}
	}
	pruning := 0
	if w := sc.plan.Onchain; w != nil {
		pruning = len(w.RemoveDevices)
	}
	if pruning > 0 && sc.reg == nil && sc.o.safeFile == "" {
		return &onchainError{fmt.Errorf("--prune-devices: %d device(s) to remove from DstackApp %s: pass --private-key or set %s to remove them, or pass --safe-file to write the Safe batch that does", pruning, sc.plan.Onchain.App, envPrivateKey)}
	}
	if len(sc.plan.Removals)+pruning > 0 && !sc.so.autoApprove {
		if err := sc.confirm(len(sc.plan.Removals) + pruning); err != nil {
			return err
		}
	}
	opts := phala.ApplyOptions{
		Concurrency:  sc.so.concurrency,
		Env:          sc.spec.Env,
		Prepare:      multisig,
		PruneDevices: sc.so.prune,
		SafeOptions:  []onchain.Option{onchain.WithCreatedAt(sc.now())},
		Wait:         phala.WaitOptions{PollInterval: sc.o.pollInterval},
	}
	if sc.planOpts != nil {
		opts.Plan = *sc.planOpts
	}
	if sc.reg != nil {
		opts.Registrar = setRegistrar{sc.reg}
	}
	verify, err := sc.verifyOptions()
	if err != nil {
		return err
	}
	// The set's replicas are verified before any removal, against the plan's app
	// id and compose hash; the wait below then finds them running.
	opts.Verify = verify
	res, err := sc.applyFresh(ctx, opts)
	if res != nil {
		doc.Plan = res.Plan
		doc.Registration = res.Registration
		doc.Creates, doc.Removals = res.Creates, res.Removals
		doc.Prune = res.Prune
		if p := res.Prune; p != nil && p.SafeBatch != nil && res.Prepared == nil {
			if werr := writeSafeBatch(sc.o.safeFile, p.SafeBatch); werr != nil {
				return werr
			}
			sc.progressf("Safe batch to remove %d device(s): %s (ONE approval)\n", len(p.Devices), sc.o.safeFile)
		}
	}
	if res != nil && res.Prepared != nil {
		if werr := sc.writeApproval(res, doc); werr != nil {
			return werr
		}
		if err != nil {
			doc.Status = "failed"
			return err
		}
		doc.Status = "approval_required"
		return nil
	}
	sc.reportApply(res)
	if err == nil && sc.o.wait && res != nil {
		var uuids []string
		for _, c := range res.Creates {
			if c.VM != nil {
				uuids = append(uuids, c.VM.Instance().VMUUID)
			}
		}
		doc.Waited, err = sc.waitAll(ctx, uuids, nil)
	}
	doc.Status = "applied"
	if err != nil {
		doc.Status = "failed"
	}
	return err
}

// applyFresh applies the reviewed plan. When the state moved between the
// plan and the apply (a replica finished booting), the plan of the state
// now is applied instead only if nothing was confirmed and it removes
// nothing either: a removal is never carried out unreviewed.
func (sc *setCommand) applyFresh(ctx context.Context, opts phala.ApplyOptions) (*phala.ApplyResult, error) {
	plan := sc.plan
	for attempt := 0; ; attempt++ {
		res, err := sc.client.ApplyReplicaSet(ctx, plan, opts)
		var stale *phala.StalePlanError
		if !errors.As(err, &stale) || stale.Current == nil || attempt >= 2 ||
			len(sc.plan.Removals) > 0 || len(stale.Current.Removals) > 0 || needsApproval(stale.Current) != needsApproval(sc.plan) ||
			(stale.Current.Onchain != nil && len(stale.Current.Onchain.RemoveDevices) > 0) {
			return res, err
		}
		plan = stale.Current
		sc.progressf("The state changed since the plan; applying the current plan (it removes nothing):\n")
		_, _ = io.WriteString(sc.stderr, sc.red.clean(plan.String()))
	}
}

// describeWork says what an Onchain KMS app's contract is missing.
func describeWork(w *phala.OnchainWork) string {
	if w == nil {
		return "nothing"
	}
	if !w.Known {
		return fmt.Sprintf("the contract could not be read: compose hash and %d device(s) may be missing", len(w.TargetDevices))
	}
	var parts []string
	if n := len(w.MissingDevices); n > 0 {
		parts = append(parts, fmt.Sprintf("%d device(s)", n))
	}
	if w.ComposeHashMissing {
		parts = append(parts, "the compose hash")
	}
	return strings.Join(parts, " and ") + " not allowed by DstackApp " + w.App
}

// checkPreparedFileFree refuses to overwrite a prepared set whose commit
// tokens are still usable: they would be lost.
func (sc *setCommand) checkPreparedFileFree() error {
	path := sc.o.preparedFile
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	set, err := phala.ReadPreparedSet(path)
	if err != nil {
		return usagef("--prepared-file %s exists and is not a prepared set: choose another file", path)
	}
	for _, it := range set.Items {
		if it.Prepared != nil && it.Committed == "" && !it.Prepared.Expired(sc.now()) {
			return usagef("--prepared-file %s holds commit tokens not committed yet: commit them first (phala-replicate apply --commit --prepared-file %s --transaction-hash <tx-hash>) or choose another file", path, shellQuote(path))
		}
	}
	return nil
}

// confirm asks on the terminal before instances are removed; without a
// terminal it refuses.
func (sc *setCommand) confirm(n int) error {
	if !sc.io.terminal || sc.io.in == nil {
		return &notConfirmedError{removals: n}
	}
	_, _ = fmt.Fprintf(sc.stderr, "\nThis removes %d instance(s) (listed with '-' above). Only 'yes' is accepted.\nApply? ", n)
	line, _ := bufio.NewReader(sc.io.in).ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		return &notConfirmedError{removals: n, terminal: true}
	}
	return nil
}

// writeApproval writes the multisig outcome: the one Safe batch and the
// prepared set (mode 0600, it holds the commit tokens).
func (sc *setCommand) writeApproval(res *phala.ApplyResult, doc *setDoc) error {
	set := res.Prepared
	a := &approvalDoc{PreparedFile: sc.o.preparedFile, ExpiresAt: set.ExpiresAt, Calls: []string{}}
	tx := "<tx-hash>"
	if b := res.SafeBatch; b != nil {
		data, err := json.MarshalIndent(b, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding the Safe batch: %w", err)
		}
		if err := os.WriteFile(sc.o.safeFile, append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("writing the Safe batch: %w", err)
		}
		a.SafeFile = sc.o.safeFile
		for _, t := range b.Transactions {
			a.Calls = append(a.Calls, t.ContractMethod.Name+"("+firstValue(t.ContractInputsValues)+")")
		}
	} else {
		tx = phala.AlreadyRegistered
	}
	if err := phala.WritePreparedSet(sc.o.preparedFile, set); err != nil {
		return fmt.Errorf("writing the prepared set: %w", err)
	}
	for _, it := range set.Items {
		a.Nodes = append(a.Nodes, approvalNode{NodeID: it.NodeID, NodeName: it.NodeName, Prepared: it.Prepared != nil,
			Replicas: it.Extra + 1, Committed: it.Committed, Error: it.Error})
	}
	a.CommitCommand = "phala-replicate apply --commit --prepared-file " + shellQuote(sc.o.preparedFile) + " --transaction-hash " + tx
	doc.Approval = a

	w := sc.stdoutOrErr()
	var sb strings.Builder
	fmt.Fprintf(&sb, "\nPrepared %d node(s) for %d replica(s); nothing is created until the owners approve.\n", len(set.Items), len(res.Plan.Creates))
	if a.SafeFile != "" {
		fmt.Fprintf(&sb, "Safe batch:    %s: ONE approval, %d call(s): %s\n", a.SafeFile, len(a.Calls), strings.Join(shortCalls(a.Calls), ", "))
	}
	fmt.Fprintf(&sb, "Prepared set:  %s (commit tokens, mode 0600; they expire at %s)\n", a.PreparedFile, set.ExpiresAt.Format(time.RFC3339))
	for _, n := range a.Nodes {
		if n.Error != "" {
			fmt.Fprintf(&sb, "  ✗ %s (id %d): %s\n", n.NodeName, n.NodeID, n.Error)
		}
	}
	fmt.Fprintf(&sb, "Once the Safe has executed the batch:\n  %s\n", a.CommitCommand)
	_, _ = io.WriteString(w, sc.red.clean(sb.String()))
	return nil
}

func shortCalls(calls []string) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		name, arg, _ := strings.Cut(strings.TrimSuffix(c, ")"), "(")
		out[i] = name + "(" + shortHex(arg) + ")"
	}
	return out
}

// reportApply prints each item of an apply in text form.
func (sc *setCommand) reportApply(res *phala.ApplyResult) {
	if res == nil {
		return
	}
	var sb strings.Builder
	if r := res.Registration; r != nil && len(r.Txs) > 0 {
		fmt.Fprintf(&sb, "\nRegistered on chain: %d transaction(s) sent together, one confirmation wait (block %d).\n", len(r.Txs), r.Block)
	}
	sb.WriteString("\n")
	created, removed := 0, 0
	for _, c := range res.Creates {
		if c.Err != nil {
			fmt.Fprintf(&sb, "  ✗ create on %s (id %d) failed: %v\n", c.NodeName, c.NodeID, c.Err)
			continue
		}
		in := c.VM.Instance()
		created++
		fmt.Fprintf(&sb, "  + created %s on %s (id %d), %s\n", in.VMUUID, c.NodeName, c.NodeID, in.Status)
	}
	for _, r := range res.Removals {
		switch {
		case r.Skipped != "":
			fmt.Fprintf(&sb, "  · kept    %s: %s\n", r.VMUUID, r.Skipped)
		case r.Err != nil:
			fmt.Fprintf(&sb, "  ✗ remove %s failed: %v\n", r.VMUUID, r.Err)
		default:
			removed++
			fmt.Fprintf(&sb, "  - removed %s (%s)\n", r.VMUUID, r.Outcome)
		}
	}
	fmt.Fprintf(&sb, "%d of %d created, %d of %d removed.\n", created, len(res.Creates), removed, len(res.Removals))
	if p := res.Prune; p != nil {
		switch {
		case p.Err != nil:
			fmt.Fprintf(&sb, "  ✗ removing %d device(s) from the allow-list failed: %v\n", len(p.Devices), p.Err)
		case p.Registration != nil:
			fmt.Fprintf(&sb, "Removed %d device(s) from the allow-list: %d transaction(s), one confirmation wait.\n", len(p.Devices), len(p.Registration.Txs))
		}
		if len(p.Kept) > 0 {
			fmt.Fprintf(&sb, "  · kept %d device(s) on the allow-list: a removal on their node did not succeed\n", len(p.Kept))
		}
	}
	_, _ = io.WriteString(sc.stdoutOrErr(), sc.red.clean(sb.String()))
}

// waitAll waits until every replica runs, printing status changes to
// stderr.
func (sc *setCommand) waitAll(ctx context.Context, uuids []string, verify *phala.VerifyOptions) ([]phala.WaitResult, error) {
	if len(uuids) == 0 {
		return nil, nil
	}
	sc.progressf("Waiting for %d replica(s) to run…\n", len(uuids))
	last := map[string]string{}
	res, err := sc.client.WaitForReplicas(ctx, uuids, phala.WaitOptions{
		PollInterval: sc.o.pollInterval,
		Verify:       verify,
		OnProgress: func(cv *phala.CVM) {
			if cv.Status != last[cv.VMUUID] {
				last[cv.VMUUID] = cv.Status
				sc.progressf("  %s %s\n", cv.VMUUID, cv.Status)
			}
		},
	})
	return res, err
}

// commitSet runs "apply --commit": every prepared replica of the set is
// committed with one transaction hash, then each node's further replicas
// are created. The file records what was done, so a rerun resumes.
func (sc *setCommand) commitSet(ctx context.Context, doc *setDoc) error {
	set, err := phala.ReadPreparedSet(sc.o.preparedFile)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("prepared set: %w", err)
		}
		return usagef("%s is not a prepared set (written by 'phala-replicate apply --prepared-file'): %v", sc.o.preparedFile, err)
	}
	if len(set.Items) == 0 || set.AppID == "" {
		return usagef("%s is not a prepared set (written by 'phala-replicate apply --prepared-file'): no item", sc.o.preparedFile)
	}
	tx := sc.o.txHash
	if tx == "" {
		tx = phala.AlreadyRegistered
	}
	if !set.ExpiresAt.IsZero() && !sc.now().Before(set.ExpiresAt) {
		sc.progressf("warning: the commit tokens expired at %s; items not committed yet will be refused (run apply again to prepare anew)\n", set.ExpiresAt.Format(time.RFC3339))
	}
	sc.progressf("Committing the prepared set of app_%s (%d node(s))…\n", set.AppID, len(set.Items))
	cerr := sc.client.CommitPreparedSet(ctx, set, tx)
	if werr := phala.WritePreparedSet(sc.o.preparedFile, set); werr != nil && cerr == nil {
		cerr = fmt.Errorf("recording the commit in %s: %w", sc.o.preparedFile, werr)
	}
	var uuids []string
	var sb strings.Builder
	sb.WriteString("\n")
	for _, it := range set.Items {
		doc.Committed = append(doc.Committed, committedItem{NodeID: it.NodeID, NodeName: it.NodeName, Committed: it.Committed, Created: it.Created,
			Error: it.Error, OutcomeUnknown: it.OutcomeUnknown})
		if it.Committed != "" {
			uuids = append(uuids, it.Committed)
			fmt.Fprintf(&sb, "  + committed %s on %s (id %d)\n", it.Committed, it.NodeName, it.NodeID)
		}
		for _, u := range it.Created {
			uuids = append(uuids, u)
			fmt.Fprintf(&sb, "  + created   %s on %s (id %d)\n", u, it.NodeName, it.NodeID)
		}
		if it.Error != "" {
			fmt.Fprintf(&sb, "  ✗ %s (id %d): %s\n", it.NodeName, it.NodeID, it.Error)
		}
	}
	fmt.Fprintf(&sb, "%d replica(s) of app_%s exist from this set.\n", len(uuids), set.AppID)
	_, _ = io.WriteString(sc.stdoutOrErr(), sc.red.clean(sb.String()))
	if cerr == nil && sc.o.wait {
		var verify *phala.VerifyOptions
		if verify, cerr = sc.verifyOptions(); cerr == nil {
			if verify != nil {
				verify.ComposeHash, verify.AppID = set.ComposeHash, set.AppID
			}
			doc.Waited, cerr = sc.waitAll(ctx, uuids, verify)
		}
	}
	doc.Status = "committed"
	if cerr != nil {
		doc.Status = "failed"
	}
	return cerr
}

// setRegistrar is the phala.SetRegistrar of apply with a private key: the
// lazy registrar, dialled for the set's chain on first use.
type setRegistrar struct{ *lazyRegistrar }

// EnsureRegisteredSet implements phala.SetRegistrar.
func (s setRegistrar) EnsureRegisteredSet(ctx context.Context, req onchain.SetPrerequisite) (*onchain.SetRegistration, error) {
	reg, err := s.registrar(ctx, &onchain.ErrOnchainPrerequisite{KMSInfo: &onchain.KMSInfo{ChainID: req.ChainID}})
	if err != nil {
		return nil, err
	}
	return reg.EnsureRegisteredSet(ctx, req)
}

// RemoveDevices implements phala.DeviceRemover (apply --prune-devices).
func (s setRegistrar) RemoveDevices(ctx context.Context, req onchain.DeviceRemoval) (*onchain.SetRegistration, error) {
	reg, err := s.registrar(ctx, &onchain.ErrOnchainPrerequisite{KMSInfo: &onchain.KMSInfo{ChainID: req.ChainID}})
	if err != nil {
		return nil, err
	}
	return reg.RemoveDevices(ctx, req)
}

// writeSafeBatch writes a Safe Transaction Builder batch to path.
func writeSafeBatch(path string, b *onchain.SafeBatch) error {
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the Safe batch: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the Safe batch: %w", err)
	}
	return nil
}

// verifyOptions are the options of --verify (nil without it): the attestation
// flags, expecting the set's app id and compose hash.
func (sc *setCommand) verifyOptions() (*phala.VerifyOptions, error) {
	if !sc.o.verify {
		return nil, nil
	}
	aopts, err := sc.o.verifyFlags().attestOptions()
	if err != nil {
		return nil, err
	}
	return &phala.VerifyOptions{Attest: append(aopts, sc.attest...)}, nil
}
