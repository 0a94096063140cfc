package phala

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/phalaforge/phala-go/onchain"
)

// ErrOnchainPrerequisite is the HTTP 465 answer of a replicate call for an app on an
// on-chain KMS: its DstackApp contract must allow the compose hash and the device
// before the replica can be committed. It is [onchain.ErrOnchainPrerequisite]; its
// Cause is the [*APIError], so errors.Is(err, ErrHashRegistrationRequired) holds too.
//
//	var pre *phala.ErrOnchainPrerequisite
//	if errors.As(err, &pre) { ... register pre.ComposeHash and pre.DeviceID, then CommitReplica ... }
//
// Replicate returns it only after checking it against the source (see
// [PayloadMismatchError]).
type ErrOnchainPrerequisite = onchain.ErrOnchainPrerequisite

// Registrar registers what a 465 answer says is missing on chain. *onchain.Registrar
// implements it. Put one in ReplicateRequest.Registrar for the automatic workflow.
type Registrar interface {
	EnsureRegistered(ctx context.Context, prereq *onchain.ErrOnchainPrerequisite) (*onchain.Registration, error)
}

var _ Registrar = (*onchain.Registrar)(nil)

// checkingRegistrar is a [Registrar] that can read the chain while the SDK
// checks the 465 payload, signing nothing until the check has passed (see
// [onchain.Registrar.EnsureRegisteredChecked]). *onchain.Registrar is one; a
// Registrar that is not has the payload checked first.
type checkingRegistrar interface {
	EnsureRegisteredChecked(ctx context.Context, prereq *onchain.ErrOnchainPrerequisite, check func(context.Context) error) (*onchain.Registration, error)
}

var _ checkingRegistrar = (*onchain.Registrar)(nil)

// ErrPayloadMismatch is matched by [*PayloadMismatchError].
var ErrPayloadMismatch = errors.New("phala: on-chain prerequisite does not match the source")

// PayloadMismatchError reports an HTTP 465 payload that does not describe the
// replica asked for: its app_id is not the source's app, its compose_hash is neither
// the source's nor the requested one, its KMS chain is not the source's, or its
// device_id is not the device of the node asked for (or, when the platform
// schedules the node, of any of the workspace's available nodes). The payload is
// not trusted and nothing was signed, registered or written into a Safe batch: a
// compromised API could otherwise get an arbitrary hash or device allow-listed with
// the owner's key. It matches [ErrPayloadMismatch]. It deliberately does not unwrap
// to Prerequisite.
type PayloadMismatchError struct {
	Field    string // "app_id", "compose_hash", "kms_info.chain_id" or "device_id"
	Payload  string // the value in the 465 payload
	Expected string // the value expected; "" when the source does not tell, or with Candidates
	From     string // where Expected comes from, e.g. "source CVM", "request" or "node 7 (GET /teepods/available)"
	// Candidates, for device_id when the platform schedules the node, are the
	// devices of the workspace's available nodes the payload was checked against;
	// it names none of them.
	Candidates []string
	// Prerequisite is the rejected payload, for inspection only.
	Prerequisite *ErrOnchainPrerequisite
}

// maxCandidatesShown bounds the devices a PayloadMismatchError message lists.
const maxCandidatesShown = 8

// Error names the field and both values (for a scheduled node, the devices checked).
func (e *PayloadMismatchError) Error() string {
	if len(e.Candidates) > 0 {
		shown := make([]string, 0, maxCandidatesShown+1)
		for i, c := range e.Candidates {
			if i == maxCandidatesShown {
				shown = append(shown, fmt.Sprintf("and %d more", len(e.Candidates)-i))
				break
			}
			shown = append(shown, oneLine(c, 80))
		}
		return fmt.Sprintf("phala: the on-chain prerequisite (HTTP 465) names %s %q, which is none of the %d devices of %s (%s); nothing was signed",
			e.Field, oneLine(e.Payload, 80), len(e.Candidates), e.From, strings.Join(shown, ", "))
	}
	if e.Expected == "" {
		return fmt.Sprintf("phala: the on-chain prerequisite (HTTP 465) names %s %q but the %s gives none to check it against; nothing was signed",
			e.Field, oneLine(e.Payload, 80), e.From)
	}
	return fmt.Sprintf("phala: the on-chain prerequisite (HTTP 465) names %s %q but the %s has %q; nothing was signed",
		e.Field, oneLine(e.Payload, 80), e.From, oneLine(e.Expected, 80))
}

// Is reports whether target is ErrPayloadMismatch.
func (e *PayloadMismatchError) Is(target error) bool { return target == ErrPayloadMismatch }

// GoString is the %#v form; the Prerequisite shows without its commit token.
func (e *PayloadMismatchError) GoString() string {
	return fmt.Sprintf("&phala.PayloadMismatchError{Field:%q, Payload:%q, Expected:%q, From:%q, Prerequisite:%#v}",
		e.Field, e.Payload, e.Expected, e.From, e.Prerequisite)
}

// Format implements [fmt.Formatter]: every verb formats Error (%#v GoString), so
// no verb prints the rejected payload's commit token.
func (e *PayloadMismatchError) Format(f fmt.State, verb rune) { formatError(f, verb, e, e.GoString) }

// LogValue describes the mismatch for log/slog, without the commit token.
func (e *PayloadMismatchError) LogValue() slog.Value {
	return slog.GroupValue(slog.String("error", e.Error()), slog.String("field", e.Field),
		slog.String("payload", e.Payload), slog.String("expected", e.Expected), slog.String("from", e.From))
}

// MarshalJSON encodes the error as an object: "error" is its message, then
// field, payload, expected, from, and the rejected prerequisite with its commit
// token as "[REDACTED]".
func (e *PayloadMismatchError) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Error        string                  `json:"error"`
		Field        string                  `json:"field"`
		Payload      string                  `json:"payload"`
		Expected     string                  `json:"expected"`
		From         string                  `json:"from"`
		Prerequisite *ErrOnchainPrerequisite `json:"prerequisite,omitempty"`
	}{e.Error(), e.Field, e.Payload, e.Expected, e.From, e.Prerequisite})
}

// ErrDeviceUnverified is matched by [*DeviceUnverifiedError].
var ErrDeviceUnverified = errors.New("phala: the device of the on-chain prerequisite could not be verified")

// DeviceUnverifiedError reports an HTTP 465 payload whose device_id could not be
// checked against the workspace's node list (GET /teepods/available): the list
// could not be read, the node asked for is not in it, or it names no device for
// that node (or for any node, when the platform schedules one). The payload is not
// trusted: nothing was signed, registered or written into a Safe batch. Nothing
// was created either, so the call can be tried again once the node list answers.
// It matches [ErrDeviceUnverified]; Unwrap returns Err, the error of reading the
// list (nil otherwise).
type DeviceUnverifiedError struct {
	DeviceID string // the device_id of the 465 payload
	NodeID   int64  // the node asked for; 0 when the platform schedules it
	Reason   string // why the device could not be checked
	Err      error  // the error reading the node list, if that is the reason
}

// Error names the device and why it could not be checked.
func (e *DeviceUnverifiedError) Error() string {
	msg := fmt.Sprintf("phala: the on-chain prerequisite (HTTP 465) names device_id %q, which could not be verified: %s; nothing was signed",
		oneLine(e.DeviceID, 80), e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is reports whether target is ErrDeviceUnverified.
func (e *DeviceUnverifiedError) Is(target error) bool { return target == ErrDeviceUnverified }

// Unwrap returns Err.
func (e *DeviceUnverifiedError) Unwrap() error { return e.Err }

// AutoRegistrationError reports that the automatic workflow (Replicate with a
// Registrar) failed after the 465 answer: in EnsureRegistered, or in the commit
// that followed it. Prerequisite holds the commit token and Registration the
// transactions sent so far (nil if none), so the registration can be checked and the
// replica committed later with CommitReplica instead of starting again. Err is the
// underlying error; Unwrap returns it.
type AutoRegistrationError struct {
	VMUUID       string
	PreparedAt   time.Time // when the 465 was received (client's clock); see Prepared
	Prerequisite *ErrOnchainPrerequisite
	Registration *onchain.Registration
	Committing   bool // false: EnsureRegistered failed; true: the commit failed
	Err          error
}

// Error says which step failed.
func (e *AutoRegistrationError) Error() string {
	if e.Committing {
		return fmt.Sprintf("phala: replica of %s: registered on chain (%s) but the commit failed: %v",
			e.VMUUID, e.Registration.CommitTransactionHash(), e.Err)
	}
	return fmt.Sprintf("phala: replica of %s: on-chain registration failed: %v", e.VMUUID, e.Err)
}

// Unwrap returns Err.
func (e *AutoRegistrationError) Unwrap() error { return e.Err }

// GoString is the %#v form; the Prerequisite shows without its commit token.
func (e *AutoRegistrationError) GoString() string {
	return fmt.Sprintf("&phala.AutoRegistrationError{VMUUID:%q, Prerequisite:%#v, Registration:%#v, Committing:%t, Err:%#v}",
		e.VMUUID, e.Prerequisite, e.Registration, e.Committing, e.Err)
}

// Format implements [fmt.Formatter]: every verb formats Error (%#v GoString), so
// no verb prints the commit token of Prerequisite.
func (e *AutoRegistrationError) Format(f fmt.State, verb rune) { formatError(f, verb, e, e.GoString) }

// LogValue describes the failure for log/slog, without the commit token.
func (e *AutoRegistrationError) LogValue() slog.Value {
	return slog.GroupValue(slog.String("error", e.Error()), slog.String("vm_uuid", e.VMUUID),
		slog.Bool("committing", e.Committing))
}

// MarshalJSON encodes the error as an object: "error" is its message, then
// vm_uuid, committing, the registration, the prerequisite with its commit token
// as "[REDACTED]", and "cause", the message of Err. Marshal the PreparedReplica
// made from Prerequisite instead to store the token for a later commit.
func (e *AutoRegistrationError) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Error        string                  `json:"error"`
		VMUUID       string                  `json:"vm_uuid"`
		Committing   bool                    `json:"committing"`
		Registration *onchain.Registration   `json:"registration,omitempty"`
		Prerequisite *ErrOnchainPrerequisite `json:"prerequisite,omitempty"`
		Cause        string                  `json:"cause,omitempty"`
	}{e.Error(), e.VMUUID, e.Committing, e.Registration, e.Prerequisite, errorText(e.Err)})
}

// is465 reports whether an API error is the prepare answer (HTTP 465, or its code).
func is465(e *APIError) bool {
	return e.StatusCode == 465 || e.Code == CodeHashRegistrationRequired
}

// prerequisiteFrom builds the *ErrOnchainPrerequisite of a 465 answer, with Cause
// set to it.
func prerequisiteFrom(apiErr *APIError) (*ErrOnchainPrerequisite, error) {
	if apiErr.cause != nil {
		// Truncated, oversized or not JSON: nothing in it can be checked or signed.
		return nil, fmt.Errorf("phala: unusable HTTP 465 answer, nothing was signed: %w", apiErr)
	}
	details := make(map[string]json.RawMessage, len(apiErr.Details))
	for _, d := range apiErr.Details {
		if d.Field == "" {
			continue
		}
		v := d.Value
		if len(v) == 0 {
			v = json.RawMessage("null")
		}
		details[d.Field] = v // later duplicates win, as with the CLI
	}
	pre, err := onchain.PrerequisiteFromDetails(details)
	if err != nil {
		return nil, fmt.Errorf("phala: unusable HTTP 465 payload: %w (%w)", err, apiErr)
	}
	if pre.CommitToken == "" {
		return nil, fmt.Errorf("phala: unusable HTTP 465 payload: %w: no commit_token, so the prepared replica could never be committed (%w)",
			onchain.ErrMalformedPrerequisite, apiErr)
	}
	pre.Cause = apiErr
	return pre, nil
}

// crossCheck compares a 465 payload with what the replication knows about its
// source before anyone is asked to sign it.
func (r *replication) crossCheck(ctx context.Context, pre *ErrOnchainPrerequisite) error {
	wantApp, appFrom, err := r.expectedApp(ctx)
	if err != nil {
		return err
	}
	mismatch := func(field, payload, expected, from string) error {
		return &PayloadMismatchError{Field: field, Payload: payload, Expected: expected, From: from, Prerequisite: pre}
	}
	payloadApp := pre.AppID
	if payloadApp == "" && pre.KMSInfo != nil {
		payloadApp = pre.KMSInfo.DstackAppAddress
	}
	gotApp, err := pre.AppAddress()
	if err != nil {
		return mismatch("app_id", payloadApp, wantApp, appFrom)
	}
	if wantApp == "" {
		return mismatch("app_id", payloadApp, "", appFrom)
	}
	want, err := onchain.ParseAppAddress(wantApp)
	if err != nil || want != gotApp {
		return mismatch("app_id", payloadApp, wantApp, appFrom)
	}

	wantHash, hashFrom, err := r.expectedComposeHash(ctx)
	if err != nil {
		return err
	}
	if wantHash == "" || !sameHash(pre.ComposeHash, wantHash) {
		return mismatch("compose_hash", pre.ComposeHash, wantHash, hashFrom)
	}

	// The chain: always from the source CVM (read once if nothing read it yet, e.g.
	// for ReplicateAppInstance with a compose hash), as the official CLI takes it.
	cvm, err := r.sourceCVM(ctx)
	if err != nil {
		return fmt.Errorf("phala: reading the source CVM to check the HTTP 465 payload: %w", err)
	}
	var srcChain, payChain uint64
	if cvm.KMSInfo != nil {
		srcChain = cvm.KMSInfo.ChainID
	}
	if pre.KMSInfo != nil {
		payChain = pre.KMSInfo.ChainID
	}
	switch {
	case srcChain != 0 && payChain != 0 && srcChain != payChain:
		return mismatch("kms_info.chain_id", fmt.Sprint(payChain), fmt.Sprint(srcChain), "source CVM")
	case srcChain != 0 && payChain == 0:
		// A payload naming no chain gets the source's, so a Registrar checks
		// its backend against the chain the app really lives on.
		var ki onchain.KMSInfo
		if pre.KMSInfo != nil {
			ki = *pre.KMSInfo
		}
		ki.ChainID = srcChain
		pre.KMSInfo = &ki
	}
	return r.checkDevice(ctx, pre)
}

// checkDevice checks the 465's device_id against the node list: it must be the
// device of the node asked for, or, when the platform schedules the node, of one of
// the workspace's available nodes. A payload naming no device is left to the
// Registrar, which refuses to add a device it cannot name.
func (r *replication) checkDevice(ctx context.Context, pre *ErrOnchainPrerequisite) error {
	if strings.TrimSpace(pre.DeviceID) == "" {
		return nil
	}
	var nodeID int64
	if r.nodeID != nil {
		nodeID = *r.nodeID
	}
	unverified := func(reason string, err error) error {
		return &DeviceUnverifiedError{DeviceID: pre.DeviceID, NodeID: nodeID, Reason: reason, Err: err}
	}
	got, gotErr := pre.DeviceIDBytes()
	list, err := r.nodeList(ctx)
	if err != nil {
		return unverified("the workspace's node list (GET /teepods/available) could not be read", err)
	}
	if r.nodeID != nil {
		n := list.ByID(nodeID)
		if n == nil {
			return unverified(fmt.Sprintf("node %d is not in the workspace's node list (GET /teepods/available)", nodeID), nil)
		}
		want, err := onchain.ParseHash32(n.DeviceID)
		if err != nil {
			return unverified(fmt.Sprintf("the node list names no usable device_id for node %d", nodeID), nil)
		}
		if gotErr != nil || got != want {
			return &PayloadMismatchError{Field: "device_id", Payload: pre.DeviceID, Expected: n.DeviceID,
				From: fmt.Sprintf("node %d %q (GET /teepods/available)", nodeID, oneLine(n.Name, 64)), Prerequisite: pre}
		}
		return nil
	}
	var devices []string
	for _, n := range list.Nodes {
		want, err := onchain.ParseHash32(n.DeviceID)
		if err != nil {
			continue
		}
		if gotErr == nil && got == want {
			return nil
		}
		devices = append(devices, n.DeviceID)
	}
	if len(devices) == 0 {
		return unverified(fmt.Sprintf("none of the workspace's %d available nodes (GET /teepods/available) names a usable device_id", len(list.Nodes)), nil)
	}
	return &PayloadMismatchError{Field: "device_id", Payload: pre.DeviceID,
		From: "the workspace's available nodes (GET /teepods/available)", Candidates: devices, Prerequisite: pre}
}

// registerAndCommit runs the automatic workflow after a 465: check the payload
// (crossCheck, alongside the Registrar's first chain read when it can), register
// what is missing, then commit with the transaction hash (resending the commit after
// ERR-01-007/008 while the server's chain node catches up). A commit whose outcome
// is unknown is never resent, and a 466 to a resent commit is reported as outcome
// unknown: the earlier attempt may have used the token.
func (r *replication) registerAndCommit(ctx context.Context, pre *ErrOnchainPrerequisite) (*VM, error) {
	if pre.CommitToken == "" {
		return nil, fmt.Errorf("phala: replica of %s: the HTTP 465 answer has no commit_token, so it cannot be committed: %w (%w)",
			r.vmUUID(), onchain.ErrMalformedPrerequisite, pre)
	}
	reg, err := r.checkAndRegister(ctx, pre)
	if cf, ok := err.(*checkFailedError); ok {
		return nil, cf.err // the payload is refused; nothing was signed
	}
	if err != nil {
		return nil, &AutoRegistrationError{VMUUID: r.vmUUID(), Prerequisite: pre, Registration: reg, Err: err}
	}
	if reg == nil {
		return nil, &AutoRegistrationError{VMUUID: r.vmUUID(), Prerequisite: pre,
			Err: errors.New("the registrar returned no registration")}
	}
	txHash := reg.CommitTransactionHash()
	creq := CommitRequest{Token: pre.CommitToken, ComposeHash: pre.ComposeHash, TransactionHash: txHash}
	retries, wait := r.c.commitRetry()
	if txHash == AlreadyRegistered {
		retries = 0 // nothing was just mined: no lag to wait for
	}
	for attempt := 0; ; attempt++ {
		vm, err := r.c.commit(ctx, r.vmUUID(), creq, r.knownAppID())
		if err == nil {
			return vm, nil
		}
		var (
			unknown    *OutcomeUnknownError
			unreadable *UnreadableCreatedError
			apiErr     *APIError
		)
		switch {
		case errors.As(err, &unknown), errors.As(err, &unreadable):
			// The commit may have (or has) consumed the token: never resend it.
			// The error's advice can name the app when it is known.
			if unknown != nil && unknown.AppID == "" {
				unknown.AppID = r.knownAppID()
			}
			if unreadable != nil && unreadable.AppID == "" {
				unreadable.AppID = r.knownAppID()
			}
			return nil, &AutoRegistrationError{VMUUID: r.vmUUID(), Prerequisite: pre, Registration: reg, Committing: true, Err: err}
		case attempt > 0 && errors.Is(err, ErrHashInvalidOrExpired) && errors.As(err, &apiErr):
			// The token is unknown after an earlier commit of it was refused as
			// lagging: that earlier attempt may have used it and created the
			// replica. Preparing again could create a second one.
			lost := &OutcomeUnknownError{Method: http.MethodPost, Path: pathf("/cvms/%s/commit-replica", r.vmUUID()),
				Attempts: attempt + 1, StatusCode: apiErr.StatusCode,
				Err:          fmt.Errorf("the token was refused after an earlier commit attempt of it, which may have used it: %w", apiErr),
				SourceVMUUID: r.vmUUID(), AppID: r.knownAppID()}
			return nil, &AutoRegistrationError{VMUUID: r.vmUUID(), Prerequisite: pre, Registration: reg, Committing: true, Err: lost}
		}
		lag := errors.Is(err, ErrTxVerificationFailed) || errors.Is(err, ErrHashNotAllowed)
		if !lag || attempt >= retries {
			return nil, &AutoRegistrationError{VMUUID: r.vmUUID(), Prerequisite: pre, Registration: reg, Committing: true, Err: err}
		}
		r.c.cfg.logger.LogAttrs(ctx, slog.LevelInfo, "phala: commit refused right after registration; retrying",
			slog.String("vm_uuid", r.vmUUID()), slog.Int("attempt", attempt+1))
		if serr := sleep(ctx, wait); serr != nil {
			return nil, &AutoRegistrationError{VMUUID: r.vmUUID(), Prerequisite: pre, Registration: reg, Committing: true,
				Err: fmt.Errorf("%w (after %v)", serr, err)}
		}
	}
}

// checkFailedError is checkAndRegister's error for a failed crossCheck: the
// payload is refused and nothing was signed. It never leaves the package.
type checkFailedError struct{ err error }

func (e *checkFailedError) Error() string { return e.err.Error() }
func (e *checkFailedError) Unwrap() error { return e.err }

// checkAndRegister checks pre with crossCheck and has the Registrar register
// what is missing. The check's GETs (the source CVM, the node list) overlap the
// Registrar's first chain read when the Registrar can do so and the payload
// names its chain (crossCheck gives a payload without one the source's chain,
// which the Registrar needs before it reads); otherwise the check runs first.
// A failed check is returned as a *checkFailedError.
func (r *replication) checkAndRegister(ctx context.Context, pre *ErrOnchainPrerequisite) (*onchain.Registration, error) {
	r.regMu.Lock()
	defer r.regMu.Unlock()
	var checkErr error
	check := func(ctx context.Context) error {
		checkErr = r.crossCheck(ctx, pre)
		return checkErr
	}
	cr, ok := r.req.Registrar.(checkingRegistrar)
	if !ok || pre.KMSInfo == nil || pre.KMSInfo.ChainID == 0 {
		if err := check(ctx); err != nil {
			return nil, &checkFailedError{err}
		}
		return r.req.Registrar.EnsureRegistered(ctx, pre)
	}
	reg, err := cr.EnsureRegisteredChecked(ctx, pre, check)
	if checkErr != nil {
		return nil, &checkFailedError{checkErr}
	}
	return reg, err
}
