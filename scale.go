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
// Err otherwise.
type ScaleResult struct {
	VM  *VM
	Err error
}

// ScaleError is returned by Scale when not every replica was created. The results
// still list every outcome. Err is the first failure of an attempt that was sent
// (the cause of the attempts not sent only when none failed; Unwrap returns it).
// The counts tell the attempts apart: Unknown ones were sent and may have created a
// replica (their error wraps *OutcomeUnknownError: check with ListReplicas before
// trying again), Unreadable ones created a replica whose answer could not be read
// (*UnreadableCreatedError), NotAttempted ones were never sent.
type ScaleError struct {
	Requested    int
	Created      int // created, with the replica in the result
	Unreadable   int // created, but the answer could not be read
	Unknown      int // sent, outcome unknown
	NotAttempted int // never sent
	Err          error
}

// Error gives the counts and the first failure.
func (e *ScaleError) Error() string {
	var parts []string
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
// "error" (the message of Err) when not. No secret is printed: an error's message
// never holds one.
func (r ScaleResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		VM  *VM    `json:"vm,omitempty"`
		Err string `json:"error,omitempty"`
	}{r.VM, errorText(r.Err)})
}

// MarshalJSON encodes the error as an object: "error" is its message, the counts
// follow, and "cause" is the message of Err.
func (e *ScaleError) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Message      string `json:"error"`
		Requested    int    `json:"requested"`
		Created      int    `json:"created"`
		Unreadable   int    `json:"unreadable"`
		Unknown      int    `json:"unknown"`
		NotAttempted int    `json:"not_attempted"`
		Err          string `json:"cause,omitempty"`
	}{e.Error(), e.Requested, e.Created, e.Unreadable, e.Unknown, e.NotAttempted, errorText(e.Err)})
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
// The results always have n entries in order. The error is nil only when all n
// replicas were created; it is a [*ScaleError] when some were not, or the error of
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
	report := func(i int, res ScaleResult) {
		mu.Lock()
		results[i] = res
		if res.Err != nil && firstErr == nil {
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
			defer func() { <-sem }()
			vm, err := r.replicate(ctx)
			report(i, ScaleResult{VM: vm, Err: err})
		}(i)
		if i == 0 && firstAlone {
			wg.Wait()
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
		case errors.As(res.Err, &skipped): // first: its cause may be an unknown outcome
			se.NotAttempted++
		case errors.As(res.Err, &unreadable):
			se.Unreadable++
		case errors.As(res.Err, &unknown):
			se.Unknown++
		}
	}
	if se.Created == n {
		return results, nil
	}
	return results, se
}
