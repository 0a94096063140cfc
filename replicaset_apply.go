package phala

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/onchain"
)

// ErrStalePlan is matched by [*StalePlanError].
var ErrStalePlan = errors.New("phala: the replica set plan is stale")

// StalePlanError is returned by ApplyReplicaSet when the state changed since the
// plan was computed. Nothing was written. Current is the plan for the state now.
type StalePlanError struct {
	Planned string          `json:"planned_fingerprint"`
	Now     string          `json:"current_fingerprint"`
	Current *ReplicaSetPlan `json:"current_plan"`
}

// Error says what to do.
func (e *StalePlanError) Error() string {
	return fmt.Sprintf("phala: the replica set plan is stale (state %s, now %s): review the current plan and apply it, or apply with re-planning",
		shortHex(e.Planned), shortHex(e.Now))
}

// Is reports whether target is ErrStalePlan.
func (e *StalePlanError) Is(target error) bool { return target == ErrStalePlan }

// ErrApplyIncomplete is matched by [*ApplyError].
var ErrApplyIncomplete = errors.New("phala: the replica set was not fully applied")

// ApplyError is returned by ApplyReplicaSet when some item failed; the
// ApplyResult lists every item. Running apply again (after planning again)
// converges: created replicas are counted, nothing is created twice.
type ApplyError struct {
	Failed  int `json:"failed"`  // creates or removals that failed
	Skipped int `json:"skipped"` // removals not attempted to stay at the declared count
	First   error
}

// Error gives the counts and the first failure.
func (e *ApplyError) Error() string {
	return fmt.Sprintf("phala: replica set: %d item(s) failed, %d removal(s) skipped: %v", e.Failed, e.Skipped, e.First)
}

// Is reports whether target is ErrApplyIncomplete.
func (e *ApplyError) Is(target error) bool { return target == ErrApplyIncomplete }

// Unwrap returns the first failure.
func (e *ApplyError) Unwrap() error { return e.First }

// MarshalJSON encodes {"error","failed","skipped","cause"}.
func (e *ApplyError) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Error   string `json:"error"`
		Failed  int    `json:"failed"`
		Skipped int    `json:"skipped"`
		Cause   string `json:"cause,omitempty"`
	}{e.Error(), e.Failed, e.Skipped, errorText(e.First)})
}

// SetRegistrar registers a whole replica set's on-chain prerequisites at once;
// *onchain.Registrar implements it.
type SetRegistrar interface {
	Registrar
	EnsureRegisteredSet(ctx context.Context, req onchain.SetPrerequisite) (*onchain.SetRegistration, error)
}

// ApplyOptions tunes ApplyReplicaSet. The zero value applies a plan
// that needs no on-chain registration.
type ApplyOptions struct {
	// Replan applies the plan of the current state when the given one is stale,
	// instead of returning a *StalePlanError.
	Replan bool
	// Plan is given to the re-read of the state (the chain reader).
	Plan PlanOptions
	// Concurrency bounds the creates and removals in flight (0 = DefaultScaleConcurrency).
	Concurrency int
	// Registrar registers every missing device and the compose hash of an
	// Onchain KMS app in one send and one confirmation wait before the creates.
	Registrar SetRegistrar
	// Prepare (multisig): instead of creating on-chain replicas that need a
	// registration, prepare one per target node and return the PreparedSet and
	// one Safe batch in the result. Implied when the plan has on-chain work and
	// no Registrar is given.
	Prepare bool
	// SafeOptions are passed to onchain.SafeSetTransactions (Safe address, name).
	SafeOptions []onchain.Option
	// Env replaces the plan's env (needed for a plan read back from JSON, whose
	// env values are redacted).
	Env []envcrypt.EnvVar
	// PruneDevices (opt-in): after the removals, take off the DstackApp
	// allow-list the devices of the plan's OnchainWork.RemoveDevices (nodes
	// that no longer host any instance of the app), except those of a node
	// where a removal did not succeed or where the app's listing, read again
	// after the removals, still shows an instance. With a Registrar that is also a
	// [DeviceRemover]: one send and one confirmation wait; without one (or
	// with Prepare): ApplyResult.Prune.SafeBatch, one Safe batch holding every
	// removeDevice. The re-plan is made with PlanOptions.PruneDevices, so a
	// plan made without it is stale here (and the other way round).
	PruneDevices bool
	// Wait polls the new replicas before removals; the zero value uses
	// WaitForReplica's defaults.
	Wait WaitOptions
	// Verify, when set, waits for every new replica and verifies its attestation
	// once it runs, before any removal (as WaitOptions.Verify). An empty AppID or
	// ComposeHash means the plan's: the set's app and configuration, not each
	// replica's word. A replica that fails is a create failure (a
	// [*VerificationError] in its CreateOutcome), so no live instance is removed.
	Verify *VerifyOptions
}

// CreateOutcome is one create of an apply.
type CreateOutcome struct {
	PlannedCreate
	VM  *VM   `json:"vm,omitempty"`
	Err error `json:"-"`
	// Verification is the passing verification of the new replica, with
	// ApplyOptions.Verify.
	Verification *Verification `json:"verification,omitempty"`
}

// MarshalJSON adds "error" with Err's message and, when Err is a
// [*VerificationError], "verification_failure" with the failed check.
func (o CreateOutcome) MarshalJSON() ([]byte, error) {
	type plain CreateOutcome
	return json.Marshal(struct {
		plain
		Failure *VerificationError `json:"verification_failure,omitempty"`
		Error   string             `json:"error,omitempty"`
	}{plain(o), asVerificationError(o.Err), errorText(o.Err)})
}

// RemovalOutcome is one removal of an apply.
type RemovalOutcome struct {
	PlannedRemoval
	Outcome DeleteOutcome `json:"outcome,omitempty"`
	Skipped string        `json:"skipped,omitempty"` // why it was not attempted
	Err     error         `json:"-"`
}

// MarshalJSON adds "error" with Err's message.
func (o RemovalOutcome) MarshalJSON() ([]byte, error) {
	type plain RemovalOutcome
	return json.Marshal(struct {
		plain
		Error string `json:"error,omitempty"`
	}{plain(o), errorText(o.Err)})
}

// ApplyResult lists every item of an apply.
type ApplyResult struct {
	Plan         *ReplicaSetPlan          `json:"plan"`
	Registration *onchain.SetRegistration `json:"registration,omitempty"`
	Creates      []CreateOutcome          `json:"creates"`
	Removals     []RemovalOutcome         `json:"removals"`
	// Prepared and SafeBatch are set in the multisig flow: nothing was created;
	// execute the batch, then CommitPreparedSet.
	Prepared  *PreparedSet       `json:"prepared,omitempty"`
	SafeBatch *onchain.SafeBatch `json:"safe_batch,omitempty"`
	// Prune is the device pruning, with ApplyOptions.PruneDevices and devices
	// to remove.
	Prune *PruneOutcome `json:"prune,omitempty"`
}

// ApplyReplicaSet carries out plan. It first re-reads the state and refuses a
// plan computed from another state ([*StalePlanError], nothing written) unless
// opts.Replan. Then:
//
//  1. For an Onchain KMS app with on-chain work: with opts.Registrar, every
//     missing addDevice and the addComposeHash of the whole set go in one
//     pipelined send with one confirmation wait; without one (or with
//     opts.Prepare), one replica per target node is prepared, and the result
//     holds the PreparedSet and ONE Safe batch with every missing call, and
//     nothing else happens (see [Client.CommitPreparedSet]).
//  2. The creates run concurrently, each one replicate workflow (a POST never
//     resent; a lost answer is an error wrapping *OutcomeUnknownError).
//  3. The new replicas are waited for (WaitForReplica), and verified with
//     opts.Verify. Removals of live instances run only when every create
//     succeeded and runs (and verified), so a move never drops below the
//     declared count; removals of failed and stopped instances run regardless.
//     Every removal is a DELETE of an instance the re-plan's listing of the
//     app has just named (DeleteCVM, with its GET check, when the listing did
//     not say which app an instance belongs to).
//  4. With opts.PruneDevices, the devices that no longer host an instance of
//     the app are taken off the DstackApp allow-list (see ApplyOptions).
//
// A failed item does not stop the others; the error is then an [*ApplyError]
// and the result lists every item.
func (c *Client) ApplyReplicaSet(ctx context.Context, plan *ReplicaSetPlan, options ApplyOptions) (*ApplyResult, error) {
	if plan == nil {
		return nil, invalidArg("plan", "", "must not be nil")
	}
	opts := &options
	if opts.Concurrency < 0 {
		return nil, invalidArg("Concurrency", fmt.Sprint(opts.Concurrency), "must not be negative")
	}
	wait, err := newPoller(&opts.Wait)
	if err != nil {
		return nil, err
	}
	if opts.Verify != nil {
		if err := checkVerifyOptions(opts.Verify); err != nil {
			return nil, err
		}
	}
	spec := plan.Spec
	if len(opts.Env) > 0 {
		spec.Env, spec.EncryptedEnv = opts.Env, ""
	}
	for _, v := range spec.Env {
		if v.Value == "[REDACTED]" {
			return nil, &SpecError{Field: "env", Value: v.Key, Reason: "the plan's env values are redacted (read back from JSON): pass ApplyOptions.Env"}
		}
	}
	po := opts.Plan
	po.PruneDevices = opts.PruneDevices
	known, _ := appHex(plan.AppID)
	cur, err := c.planReplicaSet(ctx, &spec, &po, known)
	if err != nil {
		return nil, err
	}
	if cur.Fingerprint != plan.Fingerprint {
		if !opts.Replan {
			return nil, &StalePlanError{Planned: plan.Fingerprint, Now: cur.Fingerprint, Current: cur}
		}
	}
	plan = cur
	res := &ApplyResult{Plan: plan, Creates: []CreateOutcome{}, Removals: []RemovalOutcome{}}
	conc := opts.Concurrency
	if conc == 0 {
		conc = DefaultScaleConcurrency
	}

	encEnv := spec.EncryptedEnv
	if len(plan.Creates) > 0 && len(spec.Env) > 0 {
		// A vm_uuid or name source was read by GET /cvms/{id} in the re-plan:
		// that record holds the env key. An app's source is a listing entry,
		// so it is read whole.
		if src, _ := parseSource(spec.Source); src.kind != sourceApp && plan.source != nil {
			encEnv, err = c.encryptEnvFor(ctx, plan.source, spec.Env)
		} else {
			encEnv, err = c.EncryptEnv(ctx, plan.SourceVMUUID, spec.Env)
		}
		if err != nil {
			return nil, err
		}
	}
	req := ReplicateRequest{ComposeHash: plan.ComposeHash, EncryptedEnv: encEnv}

	if w := plan.Onchain; w != nil && len(plan.Creates) > 0 && (w.Needed() || !w.Known) {
		if opts.Registrar == nil || opts.Prepare {
			return c.prepareSet(ctx, plan, req, opts, res)
		}
		pre, err := w.prerequisite()
		if err != nil {
			return nil, fmt.Errorf("phala: replica set: on-chain work: %w", err)
		}
		reg, err := opts.Registrar.EnsureRegisteredSet(ctx, pre)
		res.Registration = reg
		if err != nil {
			return res, fmt.Errorf("phala: replica set: registering on chain (nothing was created): %w", err)
		}
	}
	if opts.Registrar != nil {
		// A 465 after the set registration (a lagging chain node, or a device
		// the listing did not name) is handled by the per-replica workflow,
		// which may register only the devices the plan read for its nodes.
		req.Registrar = opts.Registrar
		if w := plan.Onchain; w != nil && len(w.TargetDevices) > 0 {
			req.Registrar = newPlanRegistrar(opts.Registrar, w.TargetDevices)
		}
	}

	// Creates.
	res.Creates = make([]CreateOutcome, len(plan.Creates))
	reps := map[int64]*replication{}
	for _, cr := range plan.Creates {
		if reps[cr.NodeID] != nil {
			continue
		}
		r := req
		r.NodeID = cr.NodeID
		rep, err := c.newReplication(ctx, sourceRef{kind: sourceUUID, id: plan.SourceVMUUID, uuid: plan.SourceVMUUID}, "", r)
		if err != nil {
			return nil, err
		}
		// The re-plan just read the source: a 465 is checked against it
		// (app, compose hash, chain) without a GET per create, and a 2xx
		// naming another app is refused by the replicate call itself.
		rep.cvm = plan.source
		reps[cr.NodeID] = rep
	}
	runAll(ctx, len(plan.Creates), conc, func(i int) {
		cr := plan.Creates[i]
		vm, err := reps[cr.NodeID].replicate(ctx)
		res.Creates[i] = CreateOutcome{PlannedCreate: cr, VM: vm, Err: err}
	})
	checkCreates(plan, res.Creates)
	failed, skipped := 0, 0
	var first error
	note := func(err error) {
		failed++
		if first == nil {
			first = err
		}
	}
	allUp := true
	for i := range res.Creates {
		if res.Creates[i].Err != nil {
			note(res.Creates[i].Err)
			allUp = false
		}
	}
	// Wait for the new replicas (and verify them) before removing anything live.
	if opts.Verify != nil || (allUp && len(res.Creates) > 0 && hasLiveRemoval(plan)) {
		if opts.Verify != nil {
			v := *opts.Verify
			if v.AppID == "" {
				v.AppID = plan.AppID
			}
			if v.ComposeHash == "" {
				v.ComposeHash = plan.ComposeHash
			}
			wait.verify = &v
		}
		waited := make([]bool, len(res.Creates))
		runAll(ctx, len(res.Creates), conc, func(i int) {
			o := &res.Creates[i]
			if o.Err != nil || o.VM == nil {
				return
			}
			uuid, err := parseVMUUID("vm_uuid", o.VM.Instance().VMUUID)
			if err == nil {
				_, o.Verification, err = c.waitOne(ctx, uuid, wait)
			}
			o.Err, waited[i] = err, true
		})
		for i := range res.Creates {
			if waited[i] && res.Creates[i].Err != nil {
				note(res.Creates[i].Err)
				allUp = false
			}
		}
	}

	// Removals.
	res.Removals = make([]RemovalOutcome, len(plan.Removals))
	runAll(ctx, len(plan.Removals), conc, func(i int) {
		rm := plan.Removals[i]
		o := RemovalOutcome{PlannedRemoval: rm}
		if rm.Live && !allUp {
			o.Skipped = "not every new replica was created and running: removing it could drop below the declared count"
		} else if rm.ofApp {
			// The listing just read names it as the app's: no second GET.
			o.Outcome, o.Err = c.deleteOfApp(ctx, rm.VMUUID, plan.AppID)
		} else {
			o.Outcome, o.Err = c.DeleteCVM(ctx, rm.VMUUID, plan.AppID)
		}
		res.Removals[i] = o
	})
	for _, o := range res.Removals {
		switch {
		case o.Skipped != "":
			skipped++
		case o.Err != nil:
			note(o.Err)
		}
	}
	if w := plan.Onchain; opts.PruneDevices && w != nil && len(w.RemoveDevices) > 0 {
		res.Prune = c.pruneDevices(ctx, plan, res.Removals, opts)
		if res.Prune.Err != nil {
			note(res.Prune.Err)
		}
	}
	if failed > 0 || skipped > 0 {
		if first == nil {
			first = errors.New("removals skipped")
		}
		return res, &ApplyError{Failed: failed, Skipped: skipped, First: first}
	}
	return res, nil
}

// checkCreates turns into a failure (wrapping ErrUnexpectedBody) each
// create whose 2xx answer cannot be the new replica asked for: a vm_uuid the
// plan saw already or another create got too, another app (one the
// replicate call's own check could not read), compose hash or node. Live
// instances are then not removed on its word. A vm_uuid that is not usable or
// is the source's was refused by the replicate call itself.
func checkCreates(plan *ReplicaSetPlan, creates []CreateOutcome) {
	known := map[string]bool{}
	for _, k := range plan.Keep {
		known[k.VMUUID] = true
	}
	for _, r := range plan.Removals {
		known[r.VMUUID] = true
	}
	seen := map[string]bool{}
	for i := range creates {
		o := &creates[i]
		if o.Err != nil || o.VM == nil {
			continue
		}
		in := o.VM.Instance()
		var what string
		switch u, ok := canonicalUUID(in.VMUUID); {
		case ok && known[u]:
			what = fmt.Sprintf("names %s, an instance that existed before the create", u)
		case ok && seen[u]:
			what = fmt.Sprintf("names %s, which another create's answer named too", u)
		default:
			if what = notAskedFor(in, plan.AppID, plan.ComposeHash, o.NodeID); what == "" {
				if ok {
					seen[u] = true
				}
				continue
			}
		}
		o.Err = fmt.Errorf("phala: replica set: the answer to the create on node %d %s: %w", o.NodeID, what, ErrUnexpectedBody)
	}
}

// notAskedFor says how a 2xx answer's instance differs from the replica asked
// for (app: 40 hex, compose hash, node), or "" when it names nothing else. A
// field the answer leaves empty differs from nothing.
func notAskedFor(in Instance, app, composeHash string, node int64) string {
	switch {
	case in.AppID != "" && !sameAppID(in.AppID, app):
		return fmt.Sprintf("names app %s, not app_%s", oneLine(in.AppID, 64), app)
	case in.ComposeHash != "" && !sameHash(in.ComposeHash, composeHash):
		return fmt.Sprintf("names compose hash %s, not %s", oneLine(in.ComposeHash, 80), composeHash)
	case in.NodeID != 0 && in.NodeID != node:
		return fmt.Sprintf("names node %d, not node %d", in.NodeID, node)
	}
	return ""
}

// sameAppID reports whether appID, in any form the API writes (app_, 0x or
// bare hex, any case), is app (40 lowercase hex). An app id that cannot be
// read is not the app.
func sameAppID(appID, app string) bool {
	got, ok := appHex(strings.TrimSpace(appID))
	return ok && got == app
}

// planRegistrar is the Registrar of an apply's creates: it registers the
// device of a 465 only when it is one the plan read for its target nodes (the
// node list may have changed since, in step with the 465).
type planRegistrar struct {
	reg     Registrar
	allowed map[common.Hash]bool
	devices []string
}

func newPlanRegistrar(reg Registrar, devices []string) *planRegistrar {
	pr := &planRegistrar{reg: reg, allowed: map[common.Hash]bool{}, devices: devices}
	for _, d := range devices {
		if h, err := onchain.ParseHash32(d); err == nil {
			pr.allowed[h] = true
		}
	}
	return pr
}

// EnsureRegistered implements Registrar.
func (pr *planRegistrar) EnsureRegistered(ctx context.Context, pre *onchain.ErrOnchainPrerequisite) (*onchain.Registration, error) {
	if err := pr.checkDevice(pre); err != nil {
		return nil, err
	}
	return pr.reg.EnsureRegistered(ctx, pre)
}

// EnsureRegisteredChecked keeps the SDK's check of the 465 beside the chain
// read when the wrapped Registrar can do so; the plan's device check, which
// needs no request, comes first.
func (pr *planRegistrar) EnsureRegisteredChecked(ctx context.Context, pre *onchain.ErrOnchainPrerequisite, check func(context.Context) error) (*onchain.Registration, error) {
	if err := pr.checkDevice(pre); err != nil {
		return nil, err
	}
	if cr, ok := pr.reg.(checkingRegistrar); ok {
		return cr.EnsureRegisteredChecked(ctx, pre, check)
	}
	if check != nil {
		if err := check(ctx); err != nil {
			return nil, err
		}
	}
	return pr.reg.EnsureRegistered(ctx, pre)
}

// checkDevice refuses a 465 device the plan did not read for its nodes.
func (pr *planRegistrar) checkDevice(pre *onchain.ErrOnchainPrerequisite) error {
	if pre != nil && pre.DeviceID != "" {
		if d, err := pre.DeviceIDBytes(); err != nil || !pr.allowed[d] {
			return &PayloadMismatchError{Field: "device_id", Payload: pre.DeviceID,
				From: "the devices the plan read for its target nodes", Candidates: pr.devices, Prerequisite: pre}
		}
	}
	return nil
}

func hasLiveRemoval(p *ReplicaSetPlan) bool {
	for _, r := range p.Removals {
		if r.Live {
			return true
		}
	}
	return false
}

// runAll runs f(0..n-1) with at most conc in flight; it stops launching when
// ctx ends (f still sees ctx and reports its error).
func runAll(ctx context.Context, n, conc int, f func(i int)) {
	sem := make(chan struct{}, max(conc, 1))
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			f(i)
		}(i)
	}
	wg.Wait()
}

// PreparedSet is the multisig state of a replica set: one prepared replica per
// target node (with its commit token) and how many more replicas each node
// gets once the Safe has executed the batch. It marshals to JSON with the commit
// tokens: store it with WritePreparedSet (mode 0600). CommitPreparedSet records
// its results in it, so an interrupted commit resumes where it stopped.
type PreparedSet struct {
	AppID       string            `json:"app_id"`
	ComposeHash string            `json:"compose_hash"`
	ChainID     uint64            `json:"chain_id"`
	ExpiresAt   time.Time         `json:"expires_at"` // the earliest token expiry
	Items       []PreparedSetItem `json:"items"`
}

// PreparedSetItem is one target node of a PreparedSet.
type PreparedSetItem struct {
	NodeID   int64            `json:"node_id"`
	NodeName string           `json:"node_name"`
	Prepared *PreparedReplica `json:"prepared,omitempty"`
	// Extra is how many more replicas go to this node after the commit (a
	// direct create each: the node is then allowed).
	Extra int `json:"extra"`
	// Results, filled in by CommitPreparedSet.
	Committed string   `json:"committed_vm_uuid,omitempty"`
	Created   []string `json:"created_vm_uuids,omitempty"`
	Error     string   `json:"error,omitempty"`
	// OutcomeUnknown: a direct create of Extra was sent and its answer lost
	// (or unreadable), so a replica may exist that Created does not name.
	// CommitPreparedSet then creates nothing more on this node: plan and
	// apply the set again, which counts what runs.
	OutcomeUnknown bool `json:"outcome_unknown,omitempty"`
}

// String describes the set without the commit tokens.
func (s PreparedSet) String() string {
	return fmt.Sprintf("phala.PreparedSet{app: %s, compose_hash: %s, nodes: %d, expires: %s}", s.AppID, s.ComposeHash, len(s.Items), s.ExpiresAt.Format(time.RFC3339))
}

// GoString is like String.
func (s PreparedSet) GoString() string { return s.String() }

// Format implements [fmt.Formatter]: no verb prints a commit token.
func (s PreparedSet) Format(f fmt.State, verb rune) { formatSafe(f, verb, s.String(), s.String()) }

// LogValue describes the set for log/slog without the commit tokens (slog's JSON
// handler would otherwise print its JSON form, which keeps them).
func (s PreparedSet) LogValue() slog.Value { return slog.StringValue(s.String()) }

// LogValue describes the item for log/slog; its PreparedReplica logs without the
// commit token.
func (it PreparedSetItem) LogValue() slog.Value {
	attrs := []slog.Attr{slog.Int64("node_id", it.NodeID), slog.String("node_name", it.NodeName)}
	if it.Prepared != nil {
		attrs = append(attrs, slog.Any("prepared", *it.Prepared))
	}
	return slog.GroupValue(attrs...)
}

func (c *Client) prepareSet(ctx context.Context, plan *ReplicaSetPlan, req ReplicateRequest, opts *ApplyOptions, res *ApplyResult) (*ApplyResult, error) {
	perNode := map[int64]*PreparedSetItem{}
	planned := map[int64]PlannedCreate{}
	var order []int64
	for _, cr := range plan.Creates {
		if it := perNode[cr.NodeID]; it != nil {
			it.Extra++
			continue
		}
		perNode[cr.NodeID] = &PreparedSetItem{NodeID: cr.NodeID, NodeName: cr.NodeName}
		planned[cr.NodeID] = cr
		order = append(order, cr.NodeID)
	}
	set := &PreparedSet{AppID: plan.AppID, ComposeHash: plan.ComposeHash}
	if plan.Onchain != nil {
		set.ChainID = plan.Onchain.ChainID
	}
	errs := make([]error, len(order))
	runAll(ctx, len(order), max(opts.Concurrency, DefaultScaleConcurrency), func(i int) {
		r := req
		r.NodeID = order[i]
		// As for the creates: the 465 is checked against the source the
		// re-plan read, not against a GET of it per node.
		var p *PreparedReplica
		rep, err := c.newReplication(ctx, sourceRef{kind: sourceUUID, id: plan.SourceVMUUID, uuid: plan.SourceVMUUID}, "", r)
		if err == nil {
			rep.cvm = plan.source
			p, err = rep.prepare(ctx)
		}
		if err == nil {
			err = checkPlannedDevice(planned[order[i]], p)
		}
		var created *ReplicaCreatedError
		switch {
		case errors.As(err, &created):
			perNode[order[i]].Committed = created.VM.Instance().VMUUID
		case err != nil:
			errs[i] = err
			perNode[order[i]].Error = err.Error()
		default:
			perNode[order[i]].Prepared = p
		}
	})
	pre := onchain.SetPrerequisite{}
	var err error
	if pre, err = plan.Onchain.prerequisite(); err != nil {
		return nil, err
	}
	pre.DeviceIDs = nil
	for _, id := range order {
		it := perNode[id]
		set.Items = append(set.Items, *it)
		if it.Prepared == nil {
			continue
		}
		if set.ExpiresAt.IsZero() || it.Prepared.ExpiresAt.Before(set.ExpiresAt) {
			set.ExpiresAt = it.Prepared.ExpiresAt
		}
		d, derr := it.Prepared.Prerequisite().DeviceIDBytes()
		if derr == nil {
			pre.DeviceIDs = append(pre.DeviceIDs, d)
		}
		if set.ChainID == 0 && it.Prepared.KMSInfo != nil {
			set.ChainID = it.Prepared.KMSInfo.ChainID
		}
	}
	pre.ChainID = set.ChainID
	res.Prepared = set
	var st *onchain.SetStatus
	if w := plan.Onchain; w.Known {
		st = &onchain.SetStatus{ComposeHashAllowed: !w.ComposeHashMissing, DevicesListed: map[common.Hash]bool{}}
		missing := map[string]bool{}
		for _, d := range w.MissingDevices {
			missing[d] = true
		}
		for _, d := range w.TargetDevices {
			h, _ := onchain.ParseHash32(d)
			st.DevicesListed[h] = !missing[d]
		}
	}
	batch, berr := onchain.SafeSetTransactions(pre, st, 0, opts.SafeOptions...)
	if berr != nil && !errors.Is(berr, onchain.ErrNothingToRegister) {
		return res, berr
	}
	res.SafeBatch = batch
	failed := 0
	var first error
	for _, e := range errs {
		if e != nil {
			failed++
			if first == nil {
				first = e
			}
		}
	}
	if failed > 0 {
		return res, &ApplyError{Failed: failed, First: first}
	}
	return res, nil
}

// checkCommitted refuses (wrapping ErrUnexpectedBody) a commit's answer that
// cannot be the item's new replica: another app (one the commit's own check
// could not read), compose hash or node. A vm_uuid that is not usable or is
// the source's was refused by the commit itself.
func checkCommitted(set *PreparedSet, app string, it *PreparedSetItem, vm *VM) error {
	what := notAskedFor(vm.Instance(), app, set.ComposeHash, it.NodeID)
	if what == "" {
		return nil
	}
	return fmt.Errorf("phala: prepared set: the answer to the commit for node %d %s; its outcome is unknown (plan and apply the set again): %w", it.NodeID, what, ErrUnexpectedBody)
}

// checkPlannedDevice refuses a prepared replica whose 465 names a device other
// than the one the plan read for its node (the node list may have changed
// since, in step with the 465): only the plan's device goes in a Safe batch.
func checkPlannedDevice(cr PlannedCreate, p *PreparedReplica) error {
	want, err := onchain.ParseHash32(cr.DeviceID)
	if err != nil {
		return nil // the plan knew no device: PrepareReplica's check stands
	}
	if got, gerr := onchain.ParseHash32(p.DeviceID); gerr == nil && got == want {
		return nil
	}
	return &PayloadMismatchError{Field: "device_id", Payload: p.DeviceID, Expected: cr.DeviceID,
		From: fmt.Sprintf("the plan's node list, node %d %q", cr.NodeID, oneLine(cr.NodeName, 64)), Prerequisite: p.Prerequisite()}
}

// CommitPreparedSet commits every prepared replica of set with txHash (the hash
// of the Safe transaction that executed the batch, or AlreadyRegistered), then
// creates each node's Extra replicas directly. Items already committed are
// skipped, so a second call resumes an interrupted one; results are recorded in
// set (store it again with WritePreparedSet). A commit refused because txHash
// does not name the item's device or compose hash (ERR-01-007, possible when
// the batch held several transactions) is sent again once with
// AlreadyRegistered, which the API checks against the contract's state.
//
// Before sending anything it refuses ([*InvalidArgumentError]) a set that
// cannot be what ApplyReplicaSet prepared: a node or commit token listed
// twice, a prepared replica of another app or compose hash, a vm_uuid
// recorded twice; and ([*WrongAppError]) a source or committed CVM that GET
// /cvms/{vm_uuid} says belongs to another app. An item whose direct create's
// outcome is unknown (OutcomeUnknown) gets no further create.
func (c *Client) CommitPreparedSet(ctx context.Context, set *PreparedSet, txHash string) error {
	if set == nil {
		return invalidArg("set", "", "must not be nil")
	}
	if _, err := normTxHash(txHash); err != nil {
		return err
	}
	if err := set.check(); err != nil {
		return err
	}
	app, _ := appHex(strings.TrimSpace(set.AppID))
	verified := map[string]bool{}
	for i := range set.Items {
		it := &set.Items[i]
		var uuids []string
		if it.Committed == "" && it.Prepared != nil {
			uuids = append(uuids, it.Prepared.SourceVMUUID)
		}
		if it.Committed != "" && len(it.Created) < it.Extra && !it.OutcomeUnknown {
			uuids = append(uuids, it.Committed)
		}
		for _, u := range uuids {
			cu, _ := canonicalUUID(strings.TrimSpace(u))
			if verified[cu] {
				continue
			}
			if err := c.checkOfApp(ctx, cu, app, "replicate"); err != nil {
				return err
			}
			verified[cu] = true
		}
	}
	var first error
	failed := 0
	for i := range set.Items {
		it := &set.Items[i]
		it.Error = ""
		if it.OutcomeUnknown && len(it.Created) < it.Extra {
			err := fmt.Errorf("phala: prepared set: node %d: an earlier create's answer was lost, so a replica may exist that the set does not name; nothing more is created there (plan and apply the set again): %w",
				it.NodeID, &OutcomeUnknownError{Method: http.MethodPost, Path: pathf("/cvms/%s/replicas", it.Committed), Attempts: 1,
					Err: errors.New("recorded by an earlier CommitPreparedSet")})
			it.Error = err.Error()
			failed++
			if first == nil {
				first = err
			}
			continue
		}
		if it.Committed == "" && it.Prepared != nil {
			vm, err := c.CommitPrepared(ctx, it.Prepared, txHash)
			if err != nil && errors.Is(err, ErrTxVerificationFailed) && txHash != AlreadyRegistered {
				vm, err = c.CommitPrepared(ctx, it.Prepared, AlreadyRegistered)
			}
			if err != nil {
				it.Error = err.Error()
				failed++
				if first == nil {
					first = err
				}
				continue
			}
			if err := checkCommitted(set, app, it, vm); err != nil {
				it.Error = err.Error()
				failed++
				if first == nil {
					first = err
				}
				continue
			}
			it.Committed = vm.Instance().VMUUID
		}
		if len(it.Created) < it.Extra && it.Committed != "" && !verified[it.Committed] {
			// The extras are copies of it: it must be the set's app's.
			if err := c.checkOfApp(ctx, it.Committed, app, "replicate"); err != nil {
				it.Error = err.Error()
				failed++
				if first == nil {
					first = err
				}
				continue
			}
			verified[it.Committed] = true
		}
		for len(it.Created) < it.Extra && it.Committed != "" {
			vm, err := c.Replicate(ctx, it.Committed, ReplicateRequest{NodeID: it.NodeID, ComposeHash: set.ComposeHash})
			if err != nil {
				var (
					unknown    *OutcomeUnknownError
					unreadable *UnreadableCreatedError
				)
				if errors.As(err, &unknown) || errors.As(err, &unreadable) {
					it.OutcomeUnknown = true // never sent again: it may have created
				}
				it.Error = err.Error()
				failed++
				if first == nil {
					first = err
				}
				break
			}
			it.Created = append(it.Created, vm.Instance().VMUUID)
		}
	}
	if failed > 0 {
		return &ApplyError{Failed: failed, First: first}
	}
	return nil
}

// check refuses a set that cannot be what ApplyReplicaSet prepared (a file
// edited by hand, or two merged): the errors never hold a commit token.
func (s *PreparedSet) check() error {
	app, ok := appHex(strings.TrimSpace(s.AppID))
	if !ok {
		return invalidArg("PreparedSet.AppID", s.AppID, "not an app id (40 hex digits)")
	}
	hash, err := normComposeHash("PreparedSet.ComposeHash", s.ComposeHash)
	if err != nil {
		return err
	}
	nodes := map[int64]int{}
	tokens := map[string]int{}
	vms := map[string]string{}
	seenVM := func(field, u string) error {
		cu, ok := canonicalUUID(strings.TrimSpace(u))
		if !ok {
			return invalidArg(field, u, "not a vm_uuid")
		}
		if other, dup := vms[cu]; dup {
			return invalidArg(field, u, "recorded twice (also %s)", other)
		}
		vms[cu] = field
		return nil
	}
	for i, it := range s.Items {
		field := fmt.Sprintf("PreparedSet.Items[%d]", i)
		if j, dup := nodes[it.NodeID]; dup {
			return invalidArg(field+".NodeID", fmt.Sprint(it.NodeID), "node listed twice (also Items[%d])", j)
		}
		nodes[it.NodeID] = i
		if it.Extra < 0 {
			return invalidArg(field+".Extra", fmt.Sprint(it.Extra), "must not be negative")
		}
		if len(it.Created) > it.Extra {
			return invalidArg(field+".Created", fmt.Sprint(len(it.Created)), "more created replicas than Extra (%d)", it.Extra)
		}
		if it.Committed != "" {
			if err := seenVM(field+".Committed", it.Committed); err != nil {
				return err
			}
		}
		for k, u := range it.Created {
			if err := seenVM(fmt.Sprintf("%s.Created[%d]", field, k), u); err != nil {
				return err
			}
		}
		p := it.Prepared
		if p == nil || it.Committed != "" {
			continue
		}
		switch {
		case strings.TrimSpace(p.CommitToken) == "":
			return invalidArg(field+".Prepared.CommitToken", "", "empty")
		case tokens[p.CommitToken] != 0:
			return invalidArg(field+".Prepared.CommitToken", "", "the same commit token as Items[%d]", tokens[p.CommitToken]-1)
		}
		tokens[p.CommitToken] = i + 1
		if got, ok := appHex(strings.TrimSpace(p.AppID)); strings.TrimSpace(p.AppID) != "" && (!ok || got != app) {
			return invalidArg(field+".Prepared.AppID", p.AppID, "not the set's app_%s", app)
		}
		if !sameHash(p.ComposeHash, hash) {
			return invalidArg(field+".Prepared.ComposeHash", p.ComposeHash, "not the set's compose hash %s", hash)
		}
		if _, ok := canonicalUUID(strings.TrimSpace(p.SourceVMUUID)); !ok {
			return invalidArg(field+".Prepared.SourceVMUUID", p.SourceVMUUID, "not a vm_uuid")
		}
	}
	return nil
}

// WritePreparedSet writes set to path as JSON, mode 0600, atomically (a
// temporary file in the same directory, then a rename).
func WritePreparedSet(path string, set *PreparedSet) error {
	data, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".prepared-*.json")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ReadPreparedSet reads a file written by WritePreparedSet. A set that
// cannot be what ApplyReplicaSet prepared (see [Client.CommitPreparedSet]) is
// refused with an [*InvalidArgumentError].
func ReadPreparedSet(path string) (*PreparedSet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var set PreparedSet
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("phala: prepared set %s: %w", filepath.Base(path), err)
	}
	if err := set.check(); err != nil {
		return nil, fmt.Errorf("phala: prepared set %s: %w", filepath.Base(path), err)
	}
	sort.SliceStable(set.Items, func(a, b int) bool { return set.Items[a].NodeID < set.Items[b].NodeID })
	return &set, nil
}
