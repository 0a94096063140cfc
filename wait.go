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

// WaitOptions tunes WaitForReplica and WaitForReplicas. The zero value (or nil)
// uses the defaults.
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

	// sleep replaces the timer in tests; nil = wait for real.
	sleep func(ctx context.Context, d time.Duration) error
}

// poller is a validated WaitOptions.
type poller struct {
	first, max time.Duration
	progress   func(*CVM)
	sleep      func(ctx context.Context, d time.Duration) error
}

func newPoller(opts *WaitOptions) (*poller, error) {
	p := &poller{first: DefaultPollInterval, max: DefaultMaxPollInterval, sleep: sleep}
	if opts == nil {
		return p, nil
	}
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
// The first read is at once, the next after opts.PollInterval (default 500 ms),
// and the waits grow by half each time up to opts.MaxPollInterval (default 5 s).
// To wait for several replicas at once, use [Client.WaitForReplicas].
func (c *Client) WaitForReplica(ctx context.Context, vmUUID string, opts *WaitOptions) (*CVM, error) {
	uuid, err := parseVMUUID("vmUUID", vmUUID)
	if err != nil {
		return nil, err
	}
	p, err := newPoller(opts)
	if err != nil {
		return nil, err
	}
	return c.waitOne(ctx, uuid, p)
}

// waitOne is WaitForReplica for a canonical vm_uuid.
func (c *Client) waitOne(ctx context.Context, uuid string, p *poller) (*CVM, error) {
	interval := p.first
	for {
		cvm, err := c.getCVM(ctx, uuid)
		if err != nil {
			return nil, fmt.Errorf("phala: waiting for replica %s: %w", uuid, err)
		}
		if p.progress != nil {
			p.progress(cvm)
		}
		switch {
		case strings.EqualFold(cvm.Status, StatusRunning):
			return cvm, nil
		case !isLiveStatus(cvm.Status):
			return nil, &ReplicaFailedError{VMUUID: uuid, Status: cvm.Status, BootError: cvm.BootError, CVM: cvm}
		}
		if err := p.sleep(ctx, interval); err != nil {
			return nil, fmt.Errorf("phala: waiting for replica %s (last status %q): %w", uuid, oneLine(cvm.Status, 64), err)
		}
		interval = p.next(interval)
	}
}

// WaitResult is the outcome of waiting for one replica in WaitForReplicas: CVM
// when it runs, Err otherwise (a [*ReplicaFailedError] when it failed to boot,
// ctx's error when the wait was cut short, or the error of a read).
type WaitResult struct {
	VMUUID string // as canonical vm_uuid
	CVM    *CVM
	Err    error
}

// MarshalJSON encodes {"vm_uuid", "cvm", "error"}: error is Err's message, and
// cvm and error are left out when nil.
func (r WaitResult) MarshalJSON() ([]byte, error) {
	out := struct {
		VMUUID string `json:"vm_uuid"`
		CVM    *CVM   `json:"cvm,omitempty"`
		Error  string `json:"error,omitempty"`
	}{VMUUID: r.VMUUID, CVM: r.CVM}
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
//	results, _ := c.Scale(ctx, source, 3, req, nil)
//	var uuids []string
//	for _, r := range results {
//		if r.VM != nil {
//			uuids = append(uuids, r.VM.VMUUID)
//		}
//	}
//	waited, err := c.WaitForReplicas(ctx, uuids, nil)
func (c *Client) WaitForReplicas(ctx context.Context, vmUUIDs []string, opts *WaitOptions) ([]WaitResult, error) {
	p, err := newPoller(opts)
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
			cvm, err := c.waitOne(ctx, u, p)
			results[i] = WaitResult{VMUUID: u, CVM: cvm, Err: err}
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
