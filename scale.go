package phala

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// DefaultScaleConcurrency is how many replicas Scale creates at once unless
// ScaleOptions says otherwise.
const DefaultScaleConcurrency = 4

// ErrNotAttempted is matched by [*NotAttemptedError].
var ErrNotAttempted = errors.New("phala: replica not attempted")

// NotAttemptedError is the result of a Scale attempt that was never sent, because
// an earlier attempt failed or the context ended. Cause is that failure; Unwrap
// returns it, so errors.Is(err, ErrInsufficientSlots) holds for the attempts
// skipped after a node ran out of slots. Test errors.Is(err, ErrNotAttempted) to
// tell them from attempts that were sent.
type NotAttemptedError struct {
	Cause error
}

// Error says why the attempt was skipped.
func (e *NotAttemptedError) Error() string {
	return fmt.Sprintf("phala: replica not attempted: %v", e.Cause)
}

// Is reports whether target is ErrNotAttempted.
func (e *NotAttemptedError) Is(target error) bool { return target == ErrNotAttempted }

// Unwrap returns Cause.
func (e *NotAttemptedError) Unwrap() error { return e.Cause }

// ScaleResult is the outcome of one replica of a Scale call: VM when it was created,
// Err otherwise. With ScaleOptions.Verify, a created replica that did not run and
// verify has both VM and Err (a [*VerificationError] for a failed check, a
// [*ReplicaFailedError] for a failed boot, or ctx's error), and Verification is
// set when it passed.
type ScaleResult struct {
	VM  *VM
	Err error
	// Verification is the passing verification of the replica, with
	// ScaleOptions.Verify.
	Verification *Verification
}

// ScaleError is returned by Scale when not every replica was created (or, with
// ScaleOptions.Verify, did not run and verify). The results still list every outcome. Err is the first failure of an attempt that was sent
// (the cause of the attempts not sent only when none failed; Unwrap returns it).
// The counts tell the attempts apart: Unknown ones were sent and may have created a
// replica (their error wraps *OutcomeUnknownError: check with ListReplicas before
// trying again), Unreadable ones created a replica whose answer could not be read
// (*UnreadableCreatedError), NotAttempted ones were never sent.
type ScaleError struct {
	Requested    int
	Created      int // created, with the replica in the result
	Unverified   int // of Created, with ScaleOptions.Verify: did not run and verify
	Unreadable   int // created, but the answer could not be read
	Unknown      int // sent, outcome unknown
	NotAttempted int // never sent
	Err          error
}

// Error gives the counts and the first failure.
func (e *ScaleError) Error() string {
	var parts []string
	if e.Unverified > 0 {
		parts = append(parts, fmt.Sprintf("%d of them not running and verified", e.Unverified))
	}
	if e.Unreadable > 0 {
		parts = append(parts, fmt.Sprintf("%d more created but the answer could not be read", e.Unreadable))
	}
	if e.Unknown > 0 {
		parts = append(parts, fmt.Sprintf("%d with unknown outcome", e.Unknown))
	}
	if e.NotAttempted > 0 {
		parts = append(parts, fmt.Sprintf("%d not attempted", e.NotAttempted))
	}
	counts := ""
	if len(parts) > 0 {
		counts = " (" + strings.Join(parts, ", ") + ")"
	}
	return fmt.Sprintf("phala: scale: created %d of %d replicas%s: %v", e.Created, e.Requested, counts, e.Err)
}

// Unwrap returns Err.
func (e *ScaleError) Unwrap() error { return e.Err }

// MarshalJSON encodes the result as an object: "vm" when the replica was created,
// "error" (the message of Err) when it was not or did not run and verify,
// "verification" when it passed ScaleOptions.Verify and "verification_failure"
// (the failed check and the two values compared) when Err is a
// [*VerificationError]. No secret is printed: an error's message never holds one.
func (r ScaleResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		VM           *VM                `json:"vm,omitempty"`
		Verification *Verification      `json:"verification,omitempty"`
		Failure      *VerificationError `json:"verification_failure,omitempty"`
		Err          string             `json:"error,omitempty"`
	}{r.VM, r.Verification, asVerificationError(r.Err), errorText(r.Err)})
}

// MarshalJSON encodes the error as an object: "error" is its message, the counts
// follow, and "cause" is the message of Err.
func (e *ScaleError) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Message      string `json:"error"`
		Requested    int    `json:"requested"`
		Created      int    `json:"created"`
		Unverified   int    `json:"unverified"`
		Unreadable   int    `json:"unreadable"`
		Unknown      int    `json:"unknown"`
		NotAttempted int    `json:"not_attempted"`
		Err          string `json:"cause,omitempty"`
	}{e.Error(), e.Requested, e.Created, e.Unverified, e.Unreadable, e.Unknown, e.NotAttempted, errorText(e.Err)})
}

// ScaleOptions tunes Scale. It is passed by value; the zero value uses the
// defaults.
type ScaleOptions struct {
	// Concurrency is the largest number of replicas being created at once
	// (0 = DefaultScaleConcurrency).
	Concurrency int
	// OnResult, when set, is called as each attempt finishes (or is skipped), with
	// its index; calls are serialised.
	OnResult func(index int, res ScaleResult)
	// Verify, when set, waits for each created replica to run and verifies its
	// attestation then, as [WaitOptions].Verify does (an empty AppID or
	// ComposeHash means the replica's own, as GET /cvms/{id} reports it; pass
	// them to take the API's word out of the check). An attempt finishes, and
	// OnResult is called, once its replica verified or failed to. Wait.Verify
	// may be given instead; setting both is refused.
	Verify *VerifyOptions
	// Wait is the poll schedule of Verify; the zero value uses WaitForReplica's
	// defaults. Without Verify (or Wait.Verify) Scale does not wait.
	Wait WaitOptions
}

// Scale creates n replicas of source, as the dashboard's "Scale" action does. The
// source, the node and the encrypted env are resolved once, then each replica is
// one Replicate workflow (POST, and with req.Registrar the on-chain registration
// and commit; Registrar calls are serialised because they share a signer's nonces).
// With a Registrar the first replica runs alone, so the on-chain registration and
// its commit token are not raced by the other prepares; with a Registrar and no
// fixed node, replicas are created one at a time.
//
// At most Concurrency replicas are in flight. At the first failure, or when ctx
// ends, Scale stops launching: attempts in flight finish, the others report a
// [*NotAttemptedError] wrapping the cause (so when a node runs out of slots half
// way, the remaining results match ErrInsufficientSlots without a request). No
// request is ever resent, so nothing is duplicated.
//
// With opts.Verify each created replica is then waited for and verified as
// [Client.WaitForReplicas] does (the same polling, GET /cvms/{id} and GET
// /cvms/{id}/attestation); its result carries the [Verification] or the error (a
// [*VerificationError] for a failed check), and it is counted in
// ScaleError.Unverified. A replica that fails to verify does not stop the
// launches. Bad Verify or Wait options are refused before any request.
//
// The results always have n entries in order. The error is nil only when all n
// replicas were created (and, with opts.Verify, run and verified); it is a [*ScaleError] when some were not, or the error of
// the resolution step when none was attempted (results are then nil).
func (c *Client) Scale(ctx context.Context, source string, n int, req ReplicateRequest, opts ScaleOptions) ([]ScaleResult, error) {
	if n < 1 {
		return nil, invalidArg("n", fmt.Sprint(n), "must be at least 1")
	}
	if opts.Concurrency < 0 {
		return nil, invalidArg("Concurrency", fmt.Sprint(opts.Concurrency), "must not be negative")
	}
	conc := DefaultScaleConcurrency
	if opts.Concurrency > 0 {
		conc = opts.Concurrency
	}
	if opts.Verify != nil && opts.Wait.Verify != nil {
		return nil, invalidArg("Verify", "", "set Verify or Wait.Verify, not both")
	}
	wait, err := newPoller(&opts.Wait)
	if err != nil {
		return nil, err
	}
	if opts.Verify != nil {
		if err := checkVerifyOptions(opts.Verify); err != nil {
			return nil, err
		}
		wait.verify = opts.Verify
	}
	if wait.verify == nil {
		wait = nil // Scale waits only to verify
	} else if wait.progress != nil {
		var mu sync.Mutex
		progress := wait.progress
		wait.progress = func(cvm *CVM) {
			mu.Lock()
			defer mu.Unlock()
			progress(cvm)
		}
	}
	onResult := opts.OnResult
	src, err := parseSource(source)
	if err != nil {
		return nil, err
	}
	r, err := c.newReplication(ctx, src, "", req)
	if err != nil {
		return nil, err
	}

	results := make([]ScaleResult, n)
	var (
		mu        sync.Mutex
		firstErr  error // first failure, the stop cause
		firstSent error // first failure of an attempt that was sent
		wg        sync.WaitGroup
		reportMu  sync.Mutex
	)
	// report records res; a replica that was created (VM set) but did not run
	// and verify does not stop the launches (they are made long before any
	// replica boots).
	report := func(i int, res ScaleResult) {
		mu.Lock()
		results[i] = res
		if res.Err != nil && res.VM == nil && firstErr == nil {
			firstErr = res.Err
		}
		var skipped *NotAttemptedError
		if res.Err != nil && firstSent == nil && !errors.As(res.Err, &skipped) {
			firstSent = res.Err
		}
		mu.Unlock()
		if onResult != nil {
			reportMu.Lock()
			onResult(i, res)
			reportMu.Unlock()
		}
	}
	stopCause := func() error {
		mu.Lock()
		defer mu.Unlock()
		if firstErr != nil {
			return firstErr
		}
		return ctx.Err()
	}

	// With a Registrar the first replica runs alone. Every concurrent prepare
	// would get its own commit token and the service keeps only the newest per
	// source, so all commits but one would fail with ERR-01-006. The first
	// replica registers whatever the app lacks, once; on a fixed node the
	// others then find the device and compose hash allowed and are created by
	// their POST alone. Without a fixed node each replica may land on a node
	// whose device needs registering, so they all run one at a time.
	firstAlone := req.Registrar != nil
	if req.Registrar != nil && r.nodeID == nil {
		conc = 1
	}

	firstDone := make(chan struct{}) // closed once the first create is reported or verifying
	sem := make(chan struct{}, conc)
	for i := 0; i < n; i++ {
		acquired := false
		select {
		case sem <- struct{}{}:
			acquired = true
		case <-ctx.Done():
		}
		if cause := stopCause(); cause != nil {
			if acquired {
				<-sem
			}
			for j := i; j < n; j++ {
				report(j, ScaleResult{Err: &NotAttemptedError{Cause: cause}})
			}
			break
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			vm, err := r.replicate(ctx)
			<-sem
			if err != nil || wait == nil {
				report(i, ScaleResult{VM: vm, Err: err})
				if i == 0 {
					close(firstDone)
				}
				return
			}
			if i == 0 {
				close(firstDone)
			}
			res := ScaleResult{VM: vm}
			uuid, err := parseVMUUID("vm_uuid", vm.Instance().VMUUID)
			if err == nil {
				_, res.Verification, err = c.waitOne(ctx, uuid, wait)
			}
			res.Err = err
			report(i, res)
		}(i)
		if i == 0 && firstAlone {
			<-firstDone
		}
	}
	wg.Wait()

	se := &ScaleError{Requested: n, Err: firstSent}
	if se.Err == nil {
		se.Err = firstErr // nothing sent failed: the cause of the skipped attempts
	}
	for _, res := range results {
		var (
			skipped    *NotAttemptedError
			unreadable *UnreadableCreatedError
			unknown    *OutcomeUnknownError
		)
		switch {
		case res.Err == nil && res.VM != nil:
			se.Created++
		case res.VM != nil: // created, but did not run and verify
			se.Created++
			se.Unverified++
		case errors.As(res.Err, &skipped): // first: its cause may be an unknown outcome
			se.NotAttempted++
		case errors.As(res.Err, &unreadable):
			se.Unreadable++
		case errors.As(res.Err, &unknown):
			se.Unknown++
		}
	}
	if se.Created == n && se.Unverified == 0 {
		return results, nil
	}
	return results, se
}
