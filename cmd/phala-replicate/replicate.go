package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/attest"
	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/onchain"
)

// command is one run of the replicate command.
type command struct {
	o      *options
	stdout io.Writer
	stderr io.Writer
	now    func() time.Time
	red    redactor

	client   *phala.Client
	reg      *lazyRegistrar
	verified []*phala.Verification // --verify results, for the JSON output
	source   *phala.CVM            // the source CVM, if the workflow read it (team and KMS lines)
	attest   []attest.Option       // settings.attest
}

// settings are defaults that callers inside this program (the demo) may
// change; a plain run uses the zero value.
type settings struct {
	pollInterval time.Duration   // default of --poll-interval (0 = the libraries' defaults)
	attest       []attest.Option // added to every attestation check (the demo trusts its emulator's test root)
}

// progressf writes a progress line to stderr in text mode. In --json mode
// stderr is reserved for the error document, so progress is not printed.
func (c *command) progressf(format string, args ...any) {
	if c.o.jsonOut {
		return
	}
	_, _ = io.WriteString(c.stderr, c.red.clean(fmt.Sprintf(format, args...)))
}

// headline is the first line of a text-mode error, as the phala CLI prints it.
func (c *command) headline() string {
	switch {
	case c.o.commit:
		return "Failed to commit CVM replica"
	case c.o.prepareOnly:
		return "Failed to prepare CVM replica"
	case c.o.count > 1:
		return "Failed to create CVM replicas"
	default:
		return "Failed to create CVM replica"
	}
}

func (c *command) run(ctx context.Context) error {
	if err := c.newClient(ctx); err != nil {
		return err
	}
	defer func() {
		if c.reg != nil {
			c.reg.Close()
		}
	}()
	switch {
	case c.o.commit:
		return c.commit(ctx)
	case c.o.prepareOnly:
		return c.prepare(ctx)
	case c.o.count > 1:
		return c.scale(ctx)
	default:
		return c.replicate(ctx)
	}
}

// newClient builds the API client from the options only (never from the
// process environment directly, so the demo and tests control it).
func (c *command) newClient(ctx context.Context) error {
	o := c.o
	if o.apiKey == "" {
		return usagef("missing API key: pass --api-key or set %s", envAPIKey)
	}
	base := o.apiPrefix
	if base == "" {
		base = phala.DefaultBaseURL
	}
	opts := []phala.Option{
		phala.WithAPIKey(string(o.apiKey)),
		phala.WithBaseURL(base),
		phala.WithUserAgent("phala-replicate/" + phala.Version),
	}
	if len(o.kmsRoots) > 0 {
		keys := make([]string, len(o.kmsRoots))
		for i, k := range o.kmsRoots {
			keys[i] = fmt.Sprintf("%x", k)
		}
		opts = append(opts, phala.WithTrustedKMSRootKeys(keys...))
	}
	chains, err := onchain.NewChains()
	if err != nil {
		return err
	}
	kmsChainIDs := chains.IDs()
	if o.envFile != "" && o.rpcURL != "" {
		// The KMS root key of an on-chain app is read from its DstackKms
		// contract on the app's chain; --rpc-url serves that chain when its
		// chain id says so.
		if id, err := chainIDOf(ctx, o.rpcURL); err != nil {
			c.progressf("warning: cannot read the chain id of --rpc-url %s (%v); env encryption keys of on-chain KMS apps cannot be verified through it\n", redactURL(o.rpcURL), err)
		} else {
			opts = append(opts, phala.WithKMSChainRPC(id, o.rpcURL))
			kmsChainIDs = append(kmsChainIDs, id)
		}
	}
	if o.kmsContract != "" {
		// Pin the contract on every chain the root key could be read from,
		// so the API cannot name a contract of its own on any of them.
		for _, id := range kmsChainIDs {
			opts = append(opts, phala.WithKMSContract(id, o.kmsContract))
		}
	}
	opts = append(opts, phala.WithKMSChains(chains))
	if o.skipKMSCheck {
		opts = append(opts, phala.WithoutKMSSignatureVerification())
	}
	c.client, err = phala.NewClient(opts...)
	if err != nil {
		return err
	}
	if o.privateKey != "" && !o.prepareOnly && !o.commit {
		var ropts []onchain.Option
		if o.pollInterval > 0 {
			ropts = append(ropts, onchain.WithPollInterval(o.pollInterval))
		}
		if !o.jsonOut {
			ropts = append(ropts, onchain.WithProgress(c.onchainProgress))
		}
		c.reg = &lazyRegistrar{key: o.privateKey, rpcURL: o.rpcURL, chains: chains, opts: ropts}
	}
	return nil
}

// chainIDOf asks an RPC endpoint for its chain id.
func chainIDOf(ctx context.Context, url string) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	ec, err := ethclient.DialContext(ctx, url)
	if err != nil {
		return 0, err
	}
	defer ec.Close()
	id, err := ec.ChainID(ctx)
	if err != nil {
		return 0, err
	}
	if !id.IsUint64() {
		return 0, fmt.Errorf("chain id %s out of range", id)
	}
	return id.Uint64(), nil
}

// onchainProgress prints the Registrar's progress events.
func (c *command) onchainProgress(ev onchain.Event) {
	switch ev.Kind {
	case onchain.EventSubmitted:
		c.progressf("  → %s sent: tx %s (nonce %d)\n", ev.Method, ev.TxHash.Hex(), ev.Nonce)
	case onchain.EventMined:
		c.progressf("  ✓ %s mined in block %d\n", ev.Method, ev.Block)
	case onchain.EventConfirmed:
		c.progressf("  ✓ %s confirmed (block %d)\n", ev.Method, ev.Block)
	default:
		c.progressf("  %s %s: tx %s\n", ev.Method, ev.Kind, ev.TxHash.Hex())
	}
}

// readEnvFile parses the --env-file, if any.
func (c *command) readEnvFile() ([]envcrypt.EnvVar, error) {
	if c.o.envFile == "" {
		return nil, nil
	}
	f, err := os.Open(c.o.envFile)
	if err != nil {
		return nil, fmt.Errorf("environment file: %w", err)
	}
	defer f.Close()
	env, err := envcrypt.ParseDotenv(f)
	if err != nil {
		return nil, fmt.Errorf("environment file %s: %w", c.o.envFile, err)
	}
	if len(env) == 0 {
		return nil, usagef("environment file %s defines no variable", c.o.envFile)
	}
	return env, nil
}

func (c *command) request() (phala.ReplicateRequest, error) {
	env, err := c.readEnvFile()
	if err != nil {
		return phala.ReplicateRequest{}, err
	}
	// The source CVM, when the workflow reads it anyway, gives the team and KMS
	// lines of the text output: no request is sent for them.
	req := phala.ReplicateRequest{Node: c.o.nodeID, ComposeHash: c.o.composeHash, Env: env,
		OnSource: func(cvm *phala.CVM) { c.source = cvm }}
	if c.reg != nil {
		req.Registrar = c.reg
	}
	return req, nil
}

// replicate creates one replica: the simple workflow, or the automatic one
// when a private key is given. Without a key, an app on an on-chain KMS
// ends with the prepare payload on stdout and exit code 4.
func (c *command) replicate(ctx context.Context) error {
	req, err := c.request()
	if err != nil {
		return err
	}
	if req.Registrar != nil {
		c.progressf("Replicating %s (on-chain registration with the owner key if needed)…\n", c.o.source)
	}
	vm, err := c.client.Replicate(ctx, c.o.source, req)
	if answer, lie := c.unusableAnswer(err); answer != nil {
		return c.refuseAnswer(answer, lie)
	}
	if err != nil {
		var pre *phala.ErrOnchainPrerequisite
		if req.Registrar == nil && errors.As(err, &pre) {
			return c.registrationRequired(pre)
		}
		return err
	}
	return c.finish(ctx, vm)
}

// finish waits for the replica if asked, then prints it. vm is the SDK's
// checked answer: one naming no valid vm_uuid, the source itself or another
// app than the one the SDK was told of came back as an error (unusableAnswer).
func (c *command) finish(ctx context.Context, vm *phala.VM) error {
	var cvm *phala.CVM
	var werr error
	if c.o.wait {
		cvm, werr = c.wait(ctx, vm)
	}
	if err := c.printReplica(vm, cvm, werr == nil); err != nil {
		return err
	}
	return werr
}

// wait waits until the replica runs, printing each status change. With
// --verify the wait also verifies it (WaitOptions.Verify), polling on while a
// running replica's attestation is not served yet.
func (c *command) wait(ctx context.Context, vm *phala.VM) (*phala.CVM, error) {
	if vm.VMUUID == "" {
		return nil, fmt.Errorf("cannot wait: the API's answer has no vm_uuid for replica %q", vm.Name)
	}
	start := c.now()
	last := ""
	opts := phala.WaitOptions{
		PollInterval: c.o.pollInterval,
		OnProgress: func(cv *phala.CVM) {
			if cv.Status != last {
				last = cv.Status
				c.progressf("  %-10s %5.1fs\n", cv.Status, c.now().Sub(start).Seconds())
			}
		},
	}
	if c.o.verify {
		vo, err := c.verifyOptions(ctx, vm.VMUUID)
		if err != nil {
			return nil, err
		}
		opts.Verify = vo
	}
	c.progressf("Waiting for replica %s to run…\n", vm.VMUUID)
	res, err := c.client.WaitForReplicas(ctx, []string{vm.VMUUID}, opts)
	if len(res) != 1 {
		return nil, err
	}
	r := res[0]
	var rf *phala.ReplicaFailedError
	switch {
	case r.Err == nil:
		if r.Verification != nil {
			c.recordVerification(r.Verification)
		}
		return r.CVM, nil
	case errors.As(r.Err, &rf) && rf.CVM != nil:
		return rf.CVM, r.Err
	case c.o.verify && r.CVM != nil:
		return r.CVM, fmt.Errorf("replica %s is running but its attestation did not verify: %w", vm.VMUUID, r.Err)
	}
	return r.CVM, r.Err
}

// printReplica prints a created replica: the labels of the phala CLI, or
// {"success": ok, ...replica} in --json mode. cvm, when known (after
// --wait), gives the current status, the team and the KMS; else the source
// CVM gives the team and KMS if the workflow read it, and they print as "-"
// if it did not. Text and --json send the same requests.
func (c *command) printReplica(vm *phala.VM, cvm *phala.CVM, ok bool) error {
	if cvm != nil && cvm.Status != "" {
		vm.Status = cvm.Status
	}
	if c.o.jsonOut {
		doc, err := withSuccess(vmObject(vm), ok)
		if err != nil {
			return err
		}
		if doc, err = withVerification(doc, c.verified); err != nil {
			return err
		}
		return writeJSON(c.stdout, doc)
	}
	if cvm == nil {
		cvm = c.source
	}
	writeReplicaText(c.stdout, c.replicaView(vm, cvm))
	return nil
}

func normUUID(s string) string { return strings.ToLower(strings.ReplaceAll(s, "-", "")) }

func (c *command) replicaView(vm *phala.VM, cvm *phala.CVM) replicaView {
	v := replicaView{
		SourceCVMID: c.o.source, UUID: vm.VMUUID, AppID: vm.AppID, Name: vm.Name, Status: vm.Status,
		NodeName: vm.TeepodName, NodeID: int(vm.TeepodID), VCPU: vm.VCPU, MemoryMB: vm.Memory, DiskGB: vm.DiskSize,
	}
	if v.SourceCVMID == "" {
		v.SourceCVMID = vm.SourceCVMID
	}
	if vm.Teepod != nil {
		if vm.Teepod.Name != "" {
			v.NodeName = vm.Teepod.Name
		}
		if v.NodeID == 0 {
			v.NodeID = int(vm.Teepod.ID)
		}
	}
	slug := ""
	if cvm != nil {
		if cvm.Workspace != nil {
			v.Team = teamLabel(cvm.Workspace.Name, cvm.Workspace.Slug)
			slug = cvm.Workspace.Slug
		}
		v.KMS = string(cvm.KMSType)
	}
	v.AppURL = appURL(c.o.cloudURL, slug, vm.AppID, vm.VMUUID, vm.AppURL)
	return v
}

// vmObject is the replica as a JSON object: the VM's fields, then the
// fields the SDK does not know (kept in Extra), so --json loses nothing the
// API sent. A known field whose value had a type the SDK could not use is
// printed as the server sent it, not as a zero value, and id, name and status,
// which the VM type always encodes, are left out when the server sent none:
// like the phala CLI's, the document shows the server's answer, not guesses.
func vmObject(vm *phala.VM) json.RawMessage {
	b, err := json.Marshal(vm)
	if err != nil {
		return b
	}
	fields, ok := objectFields(b)
	if !ok {
		return b
	}
	seen := make(map[string]bool, len(fields))
	out := []byte{'{'}
	add := func(k string, v json.RawMessage) {
		if len(out) > 1 {
			out = append(out, ',')
		}
		kb, _ := json.Marshal(k)
		out = append(append(append(out, kb...), ':'), v...)
	}
	for _, f := range fields {
		seen[f.key] = true
		if raw, ok := vm.Extra[f.key]; ok && json.Valid(raw) {
			add(f.key, raw)
			continue
		}
		switch f.key {
		case "id", "name", "status":
			if s := string(f.value); s == "0" || s == `""` {
				continue
			}
		}
		add(f.key, f.value)
	}
	keys := make([]string, 0, len(vm.Extra))
	for k := range vm.Extra {
		if !seen[k] && json.Valid(vm.Extra[k]) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		add(k, vm.Extra[k])
	}
	return append(out, '}')
}

// objectField is one member of a JSON object, in document order.
type objectField struct {
	key   string
	value json.RawMessage
}

// objectFields splits the JSON object b into its members, in order.
func objectFields(b []byte) ([]objectField, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var fields []objectField
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, false
		}
		k, ok := t.(string)
		if !ok {
			return nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		fields = append(fields, objectField{k, v})
	}
	return fields, true
}

// unusableAnswer returns, for an SDK error saying that a 2xx answer does not
// identify the new replica (*phala.UnreadableCreatedError with the decoded
// VM), that answer and the command's error for it: its own replyError when it
// sees the same problem, else the SDK's error. It returns nil, nil for any
// other error.
func (c *command) unusableAnswer(err error) (*phala.VM, error) {
	var u *phala.UnreadableCreatedError
	if !errors.As(err, &u) || u.VM == nil {
		return nil, nil
	}
	app := c.sourceApp()
	if app == "" && isAppID(u.AppID) {
		app = u.AppID // a prepared file's app, which the SDK checked
	}
	if lie := c.checkReplica(u.VM, app); lie != nil {
		return u.VM, lie
	}
	return u.VM, err
}

// refuseAnswer prints the server's unusable answer, then returns lie: the
// replica is neither waited for nor verified on its word.
func (c *command) refuseAnswer(answer *phala.VM, lie error) error {
	if perr := c.printReplica(answer, nil, false); perr != nil {
		return perr
	}
	return lie
}

// replyError reports a 2xx answer to a replicate or commit that names a
// replica the command cannot take for the one it asked for: no usable
// vm_uuid (nothing identifies it), the source CVM's own vm_uuid, or an app
// other than the source's. The server acted on the request, so the command
// does not send it again. It is an API failure (exit code 3).
type replyError struct {
	problem string // what is wrong with the answer
	app     string // the source's app id, when known, for the advice
}

func (e *replyError) Error() string {
	where := "the source app's instances (GET /apps/{app_id}/cvms)"
	if e.app != "" {
		where = fmt.Sprintf("the instances of app %s (GET /apps/%s/cvms)", e.app, appDigits(e.app))
	}
	return fmt.Sprintf("the API answered success, so it acted on the request (a replica was probably created), but its answer %s; "+
		"do not run the command again, which could create a second replica: look for the new instance among %s", e.problem, where)
}

// checkReplica compares a created or committed replica with what the command
// knows of its source, app its app id ("" when unknown), to say in its own words
// what the SDK refused.
func (c *command) checkReplica(vm *phala.VM, app string) error {
	lie := func(format string, args ...any) error {
		return &replyError{problem: fmt.Sprintf(format, args...), app: app}
	}
	switch {
	case vm.VMUUID == "":
		return lie("names no vm_uuid")
	case !isUUID(vm.VMUUID):
		return lie("names an invalid vm_uuid %q", shorten(vm.VMUUID, 40))
	}
	if src := c.sourceUUID(); src != "" && normUUID(src) == normUUID(vm.VMUUID) {
		return lie("names the source CVM itself (vm_uuid %s) as the replica", vm.VMUUID)
	}
	if app != "" && vm.AppID != "" && appDigits(vm.AppID) != appDigits(app) {
		return lie("names app %s, not the source's app %s", shorten(vm.AppID, 48), app)
	}
	return nil
}

// sourceUUID is the source CVM's vm_uuid, when known without a request.
func (c *command) sourceUUID() string {
	switch {
	case isUUID(c.o.source):
		return c.o.source
	case c.source != nil && isUUID(c.source.VMUUID):
		return c.source.VMUUID
	}
	return ""
}

// sourceApp is the source CVM's app id, when known without a request.
func (c *command) sourceApp() string {
	switch {
	case c.source != nil && isAppID(c.source.AppID):
		return c.source.AppID
	case isAppID(c.o.source):
		return c.o.source
	}
	return ""
}

// appDigits is an app id's 40 hex digits in lowercase (app_ and 0x dropped).
func appDigits(s string) string {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "app_"):
		s = s[4:]
	case strings.HasPrefix(s, "0x"), strings.HasPrefix(s, "0X"):
		s = s[2:]
	}
	return strings.ToLower(s)
}

// registrationRequired reports an app on an on-chain KMS that needs
// approval when no key was given: it prints the prepare payload (so the
// commit token is not lost), writes the Safe batch if asked, and returns
// the on-chain error (exit code 4).
func (c *command) registrationRequired(pre *phala.ErrOnchainPrerequisite) error {
	v := prepareView{
		SourceArg: c.o.source, ComposeHash: pre.ComposeHash, AppID: pre.AppID, DeviceID: pre.DeviceID,
		CommitToken: pre.CommitToken, CommitURL: pre.CommitURL, APICommitURL: pre.APICommitURL,
		KMSInfo: pre.KMSInfo, OnchainStatus: pre.OnchainStatus, ExpiresAt: c.now().Add(phala.CommitTokenTTL),
	}
	if isUUID(c.o.source) {
		v.SourceVMUUID = canonicalUUID(c.o.source)
	}
	if err := c.writeSafeFile(&v, pre); err != nil {
		return err
	}
	if err := c.printPrepared(v, false); err != nil {
		return err
	}
	return &registrationRequiredError{pre: pre}
}

// registrationRequiredError is the end of a replicate of an on-chain KMS
// app without a private key. It unwraps to the prerequisite.
type registrationRequiredError struct{ pre *phala.ErrOnchainPrerequisite }

func (e *registrationRequiredError) Error() string {
	var missing []string
	st := e.pre.OnchainStatus
	if st == nil || !st.ComposeHashAllowed {
		missing = append(missing, "compose hash")
	}
	if st == nil || !st.DeviceIDAllowed {
		missing = append(missing, "device")
	}
	what := "registration"
	if len(missing) > 0 {
		what = strings.Join(missing, " and ") + " not registered"
	}
	return fmt.Sprintf("on-chain registration required: %s. Pass --private-key or set %s to register automatically, or use --prepare-only (with --safe-file for a multisig) to handle registration separately", what, envPrivateKey)
}

func (e *registrationRequiredError) Unwrap() error { return e.pre }

func (c *command) printPrepared(v prepareView, success bool) error {
	if c.o.jsonOut {
		return writeJSON(c.stdout, v.json(success))
	}
	writePrepareText(c.stdout, v, c.now())
	return nil
}

// writeSafeFile writes the Safe Transaction Builder batch of the missing
// registration calls to --safe-file, if given, and records it in v.
func (c *command) writeSafeFile(v *prepareView, pre *phala.ErrOnchainPrerequisite) error {
	if c.o.safeFile == "" {
		return nil
	}
	batch, err := onchain.SafeTransactions(pre, 0, onchain.WithCreatedAt(c.now()))
	if errors.Is(err, onchain.ErrNothingToRegister) {
		c.progressf("Nothing to register: the compose hash and device are already allowed; no Safe batch written.\n")
		return nil
	}
	if err != nil {
		return fmt.Errorf("building the Safe batch: %w", err)
	}
	b, err := json.MarshalIndent(batch, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the Safe batch: %w", err)
	}
	if err := os.WriteFile(c.o.safeFile, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the Safe batch: %w", err)
	}
	v.SafeFile = c.o.safeFile
	for _, tx := range batch.Transactions {
		v.SafeCalls = append(v.SafeCalls, tx.ContractMethod.Name)
	}
	return nil
}

// prepare runs --prepare-only: the replica is prepared, not created.
func (c *command) prepare(ctx context.Context) error {
	req, err := c.request()
	if err != nil {
		return err
	}
	p, err := c.client.PrepareReplica(ctx, c.o.source, req)
	if answer, lie := c.unusableAnswer(err); answer != nil {
		return c.refuseAnswer(answer, lie)
	}
	var created *phala.ReplicaCreatedError
	if errors.As(err, &created) && created.VM != nil {
		// The server created the replica at once (a Cloud KMS source needs
		// no approval): report it as created, never as prepared.
		c.progressf("Note: nothing to approve: the server created the replica directly.\n")
		return c.finish(ctx, created.VM)
	}
	if err != nil {
		return err
	}
	v := prepareView{
		SourceArg: c.o.source, SourceVMUUID: p.SourceVMUUID, ComposeHash: p.ComposeHash, AppID: p.AppID,
		DeviceID: p.DeviceID, CommitToken: p.CommitToken, CommitURL: p.CommitURL, APICommitURL: p.APICommitURL,
		KMSInfo: p.KMSInfo, OnchainStatus: p.OnchainStatus, ExpiresAt: p.ExpiresAt,
	}
	if err := c.writeSafeFile(&v, p.Prerequisite()); err != nil {
		return err
	}
	if c.o.preparedFile != "" {
		b, err := json.MarshalIndent(p, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding the prepared replica: %w", err)
		}
		// It holds the commit token: readable by its owner only, whatever the mode
		// of a file already there, and never half written.
		if err := phala.WriteFileAtomic(c.o.preparedFile, append(b, '\n'), 0o600); err != nil {
			return fmt.Errorf("writing the prepared replica: %w", err)
		}
		v.PreparedFile = c.o.preparedFile
	}
	return c.printPrepared(v, true)
}

// commit runs --commit, from the flags or from --prepared-file.
func (c *command) commit(ctx context.Context) error {
	tx := c.o.txHash
	if tx == "" {
		tx = phala.AlreadyRegistered
	}
	var p *phala.PreparedReplica
	if c.o.preparedFile != "" {
		var err error
		if p, err = loadPrepared(c.o.preparedFile); err != nil {
			return err
		}
		if c.o.source != "" && (!isUUID(c.o.source) || normUUID(c.o.source) != normUUID(p.SourceVMUUID)) {
			return usagef("<cvm-id> %q is not the source of the prepared replica in %s (%s); omit it", c.o.source, c.o.preparedFile, p.SourceVMUUID)
		}
		if c.o.composeHash != "" && !sameHex(c.o.composeHash, p.ComposeHash) {
			return usagef("--compose-hash differs from the prepared replica's compose hash %s; omit it", p.ComposeHash)
		}
		if c.o.source == "" {
			c.o.source = p.SourceVMUUID
		}
	} else {
		vmUUID, err := c.commitSource(ctx)
		if err != nil {
			return err
		}
		// The source's app, when the command knows it (an app id argument, or
		// the CVM commitSource read), lets the SDK refuse an answer naming
		// another app, as it does for a prepared file.
		p = &phala.PreparedReplica{SourceVMUUID: vmUUID, CommitToken: string(c.o.token),
			ComposeHash: c.o.composeHash, AppID: c.sourceApp()}
	}
	vm, err := c.client.CommitPrepared(ctx, p, tx)
	if answer, lie := c.unusableAnswer(err); answer != nil {
		return c.refuseAnswer(answer, lie)
	}
	if err != nil {
		return err
	}
	return c.finish(ctx, vm)
}

// loadPrepared reads a PreparedReplica saved by --prepare-only --prepared-file.
func loadPrepared(path string) (*phala.PreparedReplica, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("prepared replica: %w", err)
	}
	var p phala.PreparedReplica
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, usagef("%s is not a prepared replica file: %v", path, err)
	}
	if p.SourceVMUUID == "" || p.CommitToken == "" || p.ComposeHash == "" {
		return nil, usagef("%s is not a prepared replica file (written by --prepare-only --prepared-file): source_vm_uuid, commit_token or compose_hash missing", path)
	}
	return &p, nil
}

// commitSource finds the source vm_uuid of a commit given by flags. The
// commit token is bound to the CVM the replica was prepared from: a UUID
// is used as is; a CVM name is looked up with GET /cvms/{name}, as the
// official CLI does; an app id is resolved among the app's instances by the
// compose hash, and must name exactly one.
func (c *command) commitSource(ctx context.Context) (string, error) {
	src := c.o.source
	if isUUID(src) {
		return src, nil
	}
	if !isAppID(src) {
		cvm, err := c.client.GetCVM(ctx, src)
		if err != nil {
			return "", err
		}
		c.source = cvm
		return cvm.VMUUID, nil
	}
	list, err := c.client.ListReplicas(ctx, src)
	if err != nil {
		return "", err
	}
	var match []string
	for _, cv := range list {
		if cv != nil && cv.VMUUID != "" && sameHex(cv.ComposeHash, c.o.composeHash) {
			match = append(match, cv.VMUUID)
			c.source = cv
		}
	}
	switch len(match) {
	case 1:
		return match[0], nil
	case 0:
		return "", usagef("no instance of app %s has compose hash %s: pass the source CVM's UUID", src, c.o.composeHash)
	default:
		return "", usagef("app %s has %d instances with compose hash %s (%s): pass the UUID of the one the replica was prepared from",
			src, len(match), c.o.composeHash, strings.Join(match, ", "))
	}
}

// scale runs --count N: N replicas, each reported.
func (c *command) scale(ctx context.Context) error {
	req, err := c.request()
	if err != nil {
		return err
	}
	n := c.o.count
	c.progressf("Creating %d replicas of %s…\n", n, c.o.source)
	// With on-chain registration, Scale runs the first replica alone (its
	// registration and commit token are not raced by other prepares, which
	// would supersede the token, ERR-01-006); the others then need no
	// transaction and run concurrently.
	var opts phala.ScaleOptions
	opts.OnResult = func(i int, res phala.ScaleResult) {
		switch {
		case res.VM != nil:
			c.progressf("  [%d/%d] created %s (%s)\n", i+1, n, res.VM.VMUUID, res.VM.Status)
		case errors.Is(res.Err, phala.ErrNotAttempted):
			c.progressf("  [%d/%d] not attempted\n", i+1, n)
		default:
			c.progressf("  [%d/%d] failed: %s\n", i+1, n, c.red.clean(res.Err.Error()))
		}
	}
	results, err := c.client.Scale(ctx, c.o.source, n, req, opts)
	if results == nil {
		if err == nil {
			err = errors.New("scale returned no result")
		}
		return err
	}
	// A replica whose answer cannot be taken for a new instance of the source
	// is reported as such and not waited for; the POST is not sent again.
	var lieErr error
	for i, r := range results {
		if answer, lie := c.unusableAnswer(r.Err); answer != nil {
			// The SDK refused the answer: show it, with this command's words.
			results[i].VM, results[i].Err = answer, lie
			if lieErr == nil {
				lieErr = lie
			}
		}
	}
	cvms := make([]*phala.CVM, len(results))
	var waitErr error
	if c.o.wait {
		for i, r := range results {
			if r.VM == nil || r.Err != nil {
				continue
			}
			cv, werr := c.wait(ctx, r.VM)
			cvms[i] = cv
			if werr != nil {
				results[i].Err = werr
				if waitErr == nil {
					waitErr = werr
				}
			}
		}
	}
	if perr := c.printScale(results, cvms, err == nil && waitErr == nil && lieErr == nil); perr != nil {
		return perr
	}
	if err != nil {
		return err
	}
	if waitErr != nil {
		return waitErr
	}
	return lieErr
}

func (c *command) printScale(results []phala.ScaleResult, cvms []*phala.CVM, ok bool) error {
	created := 0
	for _, r := range results {
		if r.VM != nil {
			created++
		}
	}
	if c.o.jsonOut {
		items := make([]json.RawMessage, len(results))
		for i, r := range results {
			var item any
			if r.VM != nil {
				if cvms[i] != nil && cvms[i].Status != "" {
					r.VM.Status = cvms[i].Status
				}
				obj, err := withSuccess(vmObject(r.VM), r.Err == nil)
				if err == nil {
					obj, err = c.withReplicaVerification(obj, r.VM.VMUUID, r.Err)
				}
				var lie *replyError
				if err == nil && errors.As(r.Err, &lie) {
					obj, err = withField(obj, "error", errorDoc(r.Err).Error)
				}
				if err != nil {
					return err
				}
				item = obj
			} else {
				item = struct {
					Success bool          `json:"success"`
					Error   jsonErrorBody `json:"error"`
				}{false, errorDoc(r.Err).Error}
			}
			b, err := json.Marshal(item)
			if err != nil {
				return err
			}
			items[i] = json.RawMessage(c.red.clean(string(b)))
		}
		return writeJSON(c.stdout, struct {
			Success   bool              `json:"success"`
			Requested int               `json:"requested"`
			Created   int               `json:"created"`
			Replicas  []json.RawMessage `json:"replicas"`
		}{ok, len(results), created, items})
	}
	for i, r := range results {
		if i > 0 {
			_, _ = fmt.Fprintln(c.stdout)
		}
		_, _ = fmt.Fprintf(c.stdout, "Replica %d of %d\n", i+1, len(results))
		if r.VM != nil {
			cv := cvms[i]
			if cv == nil {
				cv = c.source
			}
			if cvms[i] != nil && cvms[i].Status != "" {
				r.VM.Status = cvms[i].Status
			}
			writeReplicaText(c.stdout, c.replicaView(r.VM, cv))
			var lie *replyError
			if errors.As(r.Err, &lie) {
				_, _ = fmt.Fprintf(c.stdout, "  not usable: %s\n", c.red.clean(r.Err.Error()))
			}
			continue
		}
		_, _ = fmt.Fprintf(c.stdout, "  not created: %s\n", c.red.clean(r.Err.Error()))
	}
	_, _ = fmt.Fprintf(c.stdout, "\nCreated %d of %d replicas.\n", created, len(results))
	return nil
}

// isUUID reports whether s is 32 hex digits, with or without the dashes of
// the 8-4-4-4-12 layout.
func isUUID(s string) bool {
	if len(s) == 36 {
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return false
		}
		s = strings.ReplaceAll(s, "-", "")
	}
	return len(s) == 32 && isHexDigits(s)
}

// canonicalUUID writes a UUID (checked with isUUID) in the lowercase
// 8-4-4-4-12 form the API uses.
func canonicalUUID(s string) string {
	d := normUUID(s)
	return d[0:8] + "-" + d[8:12] + "-" + d[12:16] + "-" + d[16:20] + "-" + d[20:]
}

// isAppID reports whether s is app_<40 hex>, 0x<40 hex> or 40 hex digits.
func isAppID(s string) bool {
	switch {
	case strings.HasPrefix(s, "app_"):
		s = s[4:]
	case strings.HasPrefix(s, "0x"), strings.HasPrefix(s, "0X"):
		s = s[2:]
	}
	return len(s) == 40 && isHexDigits(s)
}

func isHexDigits(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}

// sameHex reports whether two 32-byte hex values are equal (0x and case
// ignored).
func sameHex(a, b string) bool {
	ha, errA := onchain.ParseHash32(a)
	hb, errB := onchain.ParseHash32(b)
	return errA == nil && errB == nil && ha == hb && ha != (common.Hash{})
}
