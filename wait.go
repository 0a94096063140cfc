package phala

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/phalaforge/phala-go/attest"
)

// Default poll schedule of WaitForReplica and WaitForReplicas: the first read at
// once, the second after DefaultPollInterval, and each later wait 1.5 times the
// one before, up to DefaultMaxPollInterval. A replica that boots in 2 s is seen
// running about 2.4 s after it was created; a slow one is read every 5 s.
const (
	DefaultPollInterval    = 500 * time.Millisecond
	DefaultMaxPollInterval = 5 * time.Second
)

// ErrReplicaFailed is matched by [*ReplicaFailedError].
var ErrReplicaFailed = errors.New("phala: replica failed")

// ReplicaFailedError reports a replica that reached a failure status instead of
// running. It matches [ErrReplicaFailed].
type ReplicaFailedError struct {
	VMUUID    string
	Status    string // e.g. "error", "exited" or "stopped"
	BootError string // the boot error the API reported, if any
	CVM       *CVM   // the last state read
}

// Error gives the status and the boot error.
func (e *ReplicaFailedError) Error() string {
	msg := fmt.Sprintf("phala: replica %s failed: status %q", e.VMUUID, oneLine(e.Status, 64))
	if e.BootError != "" {
		msg += ": " + oneLine(e.BootError, 512)
	}
	return msg
}

// Is reports whether target is ErrReplicaFailed.
func (e *ReplicaFailedError) Is(target error) bool { return target == ErrReplicaFailed }

// WaitOptions tunes WaitForReplica and WaitForReplicas. It is passed by value;
// the zero value uses the defaults.
type WaitOptions struct {
	// PollInterval is the wait between the first and the second read of the CVM
	// (0 = DefaultPollInterval); each later wait is 1.5 times the one before, up
	// to MaxPollInterval.
	PollInterval time.Duration
	// MaxPollInterval caps the growing wait (0 = DefaultMaxPollInterval, or
	// PollInterval when that is longer). Set it equal to PollInterval to poll at
	// a fixed interval.
	MaxPollInterval time.Duration
	// OnProgress, when set, is called with the CVM after every read, before
	// deciding whether to wait further. WaitForReplicas serialises the calls.
	OnProgress func(*CVM)
	// Verify, when set, verifies each replica's attestation once it runs, as
	// [Client.VerifyReplica] does with these options (the running CVM read by the
	// wait stands in for VerifyOptions.CVM, which must be left nil). A running
	// replica whose attestation is not available yet is polled further on the same
	// schedule, until it is or ctx ends. A failed check is a [*VerificationError];
	// WaitForReplicas reports a passing verification in WaitResult.Verification.
	Verify *VerifyOptions

	// sleep replaces the timer in tests; nil = wait for real.
	sleep func(ctx context.Context, d time.Duration) error
}

// poller is a validated WaitOptions.
type poller struct {
	first, max time.Duration
	progress   func(*CVM)
	verify     *VerifyOptions
	sleep      func(ctx context.Context, d time.Duration) error
}

func newPoller(opts *WaitOptions) (*poller, error) {
	p := &poller{first: DefaultPollInterval, max: DefaultMaxPollInterval, sleep: sleep}
	switch {
	case opts.PollInterval < 0:
		return nil, invalidArg("PollInterval", opts.PollInterval.String(), "must not be negative")
	case opts.MaxPollInterval < 0:
		return nil, invalidArg("MaxPollInterval", opts.MaxPollInterval.String(), "must not be negative")
	case opts.MaxPollInterval > 0 && opts.MaxPollInterval < opts.PollInterval:
		return nil, invalidArg("MaxPollInterval", opts.MaxPollInterval.String(), "shorter than PollInterval %s", opts.PollInterval)
	}
	if opts.PollInterval > 0 {
		p.first = opts.PollInterval
	}
	switch {
	case opts.MaxPollInterval > 0:
		p.max = opts.MaxPollInterval
	case p.first > p.max:
		p.max = p.first
	}
	if p.first > p.max { // MaxPollInterval alone, below DefaultPollInterval
		p.first = p.max
	}
	p.progress = opts.OnProgress
	if v := opts.Verify; v != nil {
		if err := checkVerifyOptions(v); err != nil {
			return nil, err
		}
		p.verify = v
	}
	if opts.sleep != nil {
		p.sleep = opts.sleep
	}
	return p, nil
}

// next returns the wait after cur.
func (p *poller) next(cur time.Duration) time.Duration {
	if cur >= p.max-p.max/3 {
		return p.max
	}
	return min(cur+cur/2, p.max)
}

// WaitForReplica polls GET /cvms/{vm_uuid} until the replica is running, and
// returns it then. When the replica reaches a failure status ("error", "failed",
// "boot_failed", "exited", "stopped", "terminated", "deleted", and their -ing
// forms) it returns a [*ReplicaFailedError] carrying the status and the boot error.
// Any other status (for example "creating" or "starting") means it is still on its
// way. It stops when ctx ends, with ctx's error. Errors of a read are returned as
// they are; reads are retried by the client's retry policy first.
//
// With opts.Verify, the replica is returned only once its attestation verified
// (see [WaitOptions].Verify); a failed check gives a [*VerificationError]
// (errors.Is [ErrVerificationFailed]) whose CVM is the running replica. To keep
// the [Verification], use WaitForReplicas (WaitResult.Verification).
//
// The first read is at once, the next after opts.PollInterval (default 500 ms),
// and the waits grow by half each time up to opts.MaxPollInterval (default 5 s).
// To wait for several replicas at once, use [Client.WaitForReplicas].
func (c *Client) WaitForReplica(ctx context.Context, vmUUID string, opts WaitOptions) (*CVM, error) {
	uuid, err := parseVMUUID("vmUUID", vmUUID)
	if err != nil {
		return nil, err
	}
	p, err := newPoller(&opts)
	if err != nil {
		return nil, err
	}
	cvm, _, err := c.waitOne(ctx, uuid, p)
	return cvm, err
}

// waitOne is WaitForReplica for a canonical vm_uuid; with p.verify it also returns
// the passing verification.
func (c *Client) waitOne(ctx context.Context, uuid string, p *poller) (*CVM, *Verification, error) {
	interval := p.first
	var unavailable error // the last "attestation unavailable" of a running replica
	for {
		cvm, err := c.getCVM(ctx, uuid)
		if err != nil {
			return nil, nil, fmt.Errorf("phala: waiting for replica %s: %w", uuid, err)
		}
		if p.progress != nil {
			p.progress(cvm)
		}
		switch {
		case strings.EqualFold(cvm.Status, StatusRunning):
			if p.verify == nil {
				return cvm, nil, nil
			}
			v, err := c.verifyRunning(ctx, uuid, cvm, *p.verify)
			switch {
			case err == nil:
				return cvm, v, nil
			case !errors.Is(err, ErrAttestationUnavailable):
				return nil, nil, err
			}
			unavailable = err
		case !isLiveStatus(cvm.Status):
			return nil, nil, &ReplicaFailedError{VMUUID: uuid, Status: cvm.Status, BootError: cvm.BootError, CVM: cvm}
		}
		if err := p.sleep(ctx, interval); err != nil {
			if unavailable != nil && strings.EqualFold(cvm.Status, StatusRunning) {
				return nil, nil, fmt.Errorf("phala: waiting for the attestation of replica %s: %w (%w)", uuid, err, unavailable)
			}
			return nil, nil, fmt.Errorf("phala: waiting for replica %s (last status %q): %w", uuid, oneLine(cvm.Status, 64), err)
		}
		interval = p.next(interval)
	}
}

// verifyRunning verifies the running replica cvm. A failed check becomes a
// *VerificationError; an unavailable attestation and other errors (a read that
// failed) are returned as they are.
func (c *Client) verifyRunning(ctx context.Context, uuid string, cvm *CVM, opts VerifyOptions) (*Verification, error) {
	opts.CVM = cvm
	v, err := c.VerifyReplica(ctx, uuid, opts)
	if err == nil {
		return v, nil
	}
	var ce *attest.CheckError
	if errors.As(err, &ce) {
		return nil, &VerificationError{VMUUID: uuid, CVM: cvm, Err: err}
	}
	return nil, fmt.Errorf("phala: verifying replica %s: %w", uuid, err)
}

// checkVerifyOptions refuses VerifyOptions that no replica could pass, before any
// request.
func checkVerifyOptions(v *VerifyOptions) error {
	if v.CVM != nil {
		return invalidArg("Verify.CVM", v.CVM.VMUUID, "leave it nil: the wait verifies each replica with the CVM it read")
	}
	_, _, err := v.expectations("Verify.")
	return err
}

// ErrVerificationFailed is matched by [*VerificationError].
var ErrVerificationFailed = errors.New("phala: replica verification failed")

// VerificationError reports a replica that runs but whose attestation failed a
// check (WaitOptions.Verify, ApplyOptions.Verify). Err wraps the
// [*attest.CheckError] that names the check and the two values compared. It
// matches [ErrVerificationFailed] and, through Err, the CheckError.
type VerificationError struct {
	VMUUID string
	CVM    *CVM // the running replica as last read
	Err    error
}

// Error names the replica and the failed check.
func (e *VerificationError) Error() string {
	return fmt.Sprintf("phala: replica %s runs but its attestation did not verify: %v", e.VMUUID, e.Err)
}

// Is reports whether target is ErrVerificationFailed.
func (e *VerificationError) Is(target error) bool { return target == ErrVerificationFailed }

// Unwrap returns Err.
func (e *VerificationError) Unwrap() error { return e.Err }

// CheckError returns the failed check, or nil when Err holds none.
func (e *VerificationError) CheckError() *attest.CheckError {
	var ce *attest.CheckError
	if errors.As(e.Err, &ce) {
		return ce
	}
	return nil
}

// MarshalJSON encodes {"vm_uuid", "check", "event", "want", "got", "error"}: the
// failed check, the two values compared, and the message.
func (e *VerificationError) MarshalJSON() ([]byte, error) {
	out := struct {
		VMUUID string `json:"vm_uuid"`
		Check  string `json:"check,omitempty"`
		Event  string `json:"event,omitempty"`
		Want   string `json:"want,omitempty"`
		Got    string `json:"got,omitempty"`
		Error  string `json:"error"`
	}{VMUUID: e.VMUUID, Error: e.Error()}
	if ce := e.CheckError(); ce != nil {
		out.Check, out.Event, out.Want, out.Got = string(ce.Check), ce.Event, ce.Want, ce.Got
	}
	return json.Marshal(out)
}

// asVerificationError returns the *VerificationError in err's chain, or nil.
func asVerificationError(err error) *VerificationError {
	var ve *VerificationError
	if errors.As(err, &ve) {
		return ve
	}
	return nil
}

// WaitResult is the outcome of waiting for one replica in WaitForReplicas: CVM
// when it runs, Err otherwise (a [*ReplicaFailedError] when it failed to boot,
// a [*VerificationError] when it runs but failed WaitOptions.Verify, ctx's
// error when the wait was cut short, or the error of a read).
type WaitResult struct {
	VMUUID string // as canonical vm_uuid
	CVM    *CVM   // also set when the replica runs but failed verification
	Err    error
	// Verification is the passing verification, with WaitOptions.Verify.
	Verification *Verification
}

// MarshalJSON encodes {"vm_uuid", "cvm", "verification", "verification_failure",
// "error"}: error is Err's message, verification_failure the failed check of a
// [*VerificationError] with the two values compared; each is left out when
// empty.
func (r WaitResult) MarshalJSON() ([]byte, error) {
	out := struct {
		VMUUID       string             `json:"vm_uuid"`
		CVM          *CVM               `json:"cvm,omitempty"`
		Verification *Verification      `json:"verification,omitempty"`
		Failure      *VerificationError `json:"verification_failure,omitempty"`
		Error        string             `json:"error,omitempty"`
	}{VMUUID: r.VMUUID, CVM: r.CVM, Verification: r.Verification, Failure: asVerificationError(r.Err)}
	if r.Err != nil {
		out.Error = r.Err.Error()
	}
	return json.Marshal(out)
}

// WaitError is returned by WaitForReplicas when not every replica runs. The
// results still list every outcome; Err is the first failure in the order of the
// vm_uuids (Unwrap returns it, so errors.Is(err, ErrReplicaFailed) works).
type WaitError struct {
	Waited  int // how many replicas were waited for
	Running int // how many run
	Err     error
}

// Error gives the counts and the first failure.
func (e *WaitError) Error() string {
	return fmt.Sprintf("phala: wait: %d of %d replicas running: %v", e.Running, e.Waited, e.Err)
}

// Unwrap returns Err.
func (e *WaitError) Unwrap() error { return e.Err }

// WaitForReplicas waits for every replica of vmUUIDs at once, each as
// WaitForReplica does (same schedule, one GET /cvms/{vm_uuid} per poll), and
// reports each: the results are in the order of vmUUIDs, and one failing replica
// does not stop the wait for the others. The error is nil when all run, a
// [*WaitError] otherwise, or an [*InvalidArgumentError] (and no results) when a
// vm_uuid is malformed or listed twice; then nothing is sent.
//
// The vm_uuids of a Scale are those of its results' VMs:
//
//	results, _ := c.Scale(ctx, source, 3, req, phala.ScaleOptions{})
//	var uuids []string
//	for _, r := range results {
//		if r.VM != nil {
//			uuids = append(uuids, r.VM.VMUUID)
//		}
//	}
//	waited, err := c.WaitForReplicas(ctx, uuids, phala.WaitOptions{})
func (c *Client) WaitForReplicas(ctx context.Context, vmUUIDs []string, opts WaitOptions) ([]WaitResult, error) {
	p, err := newPoller(&opts)
	if err != nil {
		return nil, err
	}
	uuids := make([]string, len(vmUUIDs))
	seen := make(map[string]bool, len(vmUUIDs))
	for i, s := range vmUUIDs {
		u, err := parseVMUUID(fmt.Sprintf("vmUUIDs[%d]", i), s)
		if err != nil {
			return nil, err
		}
		if seen[u] {
			return nil, invalidArg(fmt.Sprintf("vmUUIDs[%d]", i), s, "listed twice")
		}
		seen[u] = true
		uuids[i] = u
	}
	if p.progress != nil {
		var mu sync.Mutex
		progress := p.progress
		p.progress = func(cvm *CVM) {
			mu.Lock()
			defer mu.Unlock()
			progress(cvm)
		}
	}

	results := make([]WaitResult, len(uuids))
	var wg sync.WaitGroup
	for i, u := range uuids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cvm, v, err := c.waitOne(ctx, u, p)
			if ve := asVerificationError(err); ve != nil {
				cvm = ve.CVM
			}
			results[i] = WaitResult{VMUUID: u, CVM: cvm, Err: err, Verification: v}
		}()
	}
	wg.Wait()

	werr := &WaitError{Waited: len(results)}
	for _, r := range results {
		switch {
		case r.Err == nil:
			werr.Running++
		case werr.Err == nil:
			werr.Err = r.Err
		}
	}
	if werr.Err == nil {
		return results, nil
	}
	return results, werr
}

// ListReplicas returns the instances of an app (GET /apps/{app_id}/cvms), all of
// them as the API lists them, live or not. appID is app_<40 hex>, 0x<40 hex> or 40
// hex digits. After an *OutcomeUnknownError from Replicate, compare this list with
// an earlier one to learn whether the replica was created.
func (c *Client) ListReplicas(ctx context.Context, appID string) ([]*CVM, error) {
	app, err := parseAppID("appID", appID)
	if err != nil {
		return nil, err
	}
	return c.listAppCVMs(ctx, app)
}

// listAppCVMs lists GET /apps/{app}/cvms, app being 40 lowercase hex digits.
func (c *Client) listAppCVMs(ctx context.Context, app string) ([]*CVM, error) {
	var list []*CVM
	if _, err := c.do(ctx, request{method: http.MethodGet, path: pathf("/apps/%s/cvms", app)}, &list); err != nil {
		return nil, err
	}
	out := list[:0]
	for _, cvm := range list {
		if cvm != nil {
			out = append(out, cvm)
		}
	}
	return out, nil
}

// sleep waits for d or until ctx ends, whichever comes first, and returns ctx's
// error in the latter case.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
