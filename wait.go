package phala

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// DefaultPollInterval is how often WaitForReplica polls unless WaitOptions says
// otherwise.
const DefaultPollInterval = 5 * time.Second

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

// WaitOptions tunes WaitForReplica. The zero value (or nil) uses the defaults.
type WaitOptions struct {
	// PollInterval is the time between two reads of the CVM (0 = DefaultPollInterval).
	PollInterval time.Duration
	// OnProgress, when set, is called with the CVM after every read, from the
	// goroutine of WaitForReplica, before deciding whether to wait further.
	OnProgress func(*CVM)
}

// WaitForReplica polls GET /cvms/{vm_uuid} until the replica is running, and
// returns it then. When the replica reaches a failure status ("error", "failed",
// "boot_failed", "exited", "stopped", "terminated", "deleted", and their -ing
// forms) it returns a [*ReplicaFailedError] carrying the status and the boot error.
// Any other status (for example "creating" or "starting") means it is still on its
// way. It stops when ctx ends, with ctx's error. Errors of a read are returned as
// they are; reads are retried by the client's retry policy first.
func (c *Client) WaitForReplica(ctx context.Context, vmUUID string, opts *WaitOptions) (*CVM, error) {
	uuid, err := parseVMUUID("vmUUID", vmUUID)
	if err != nil {
		return nil, err
	}
	interval := DefaultPollInterval
	var progress func(*CVM)
	if opts != nil {
		if opts.PollInterval < 0 {
			return nil, invalidArg("PollInterval", opts.PollInterval.String(), "must not be negative")
		}
		if opts.PollInterval > 0 {
			interval = opts.PollInterval
		}
		progress = opts.OnProgress
	}
	for {
		cvm, err := c.getCVM(ctx, uuid)
		if err != nil {
			return nil, fmt.Errorf("phala: waiting for replica %s: %w", uuid, err)
		}
		if progress != nil {
			progress(cvm)
		}
		switch {
		case strings.EqualFold(cvm.Status, StatusRunning):
			return cvm, nil
		case !isLiveStatus(cvm.Status):
			return nil, &ReplicaFailedError{VMUUID: uuid, Status: cvm.Status, BootError: cvm.BootError, CVM: cvm}
		}
		if err := sleep(ctx, interval); err != nil {
			return nil, fmt.Errorf("phala: waiting for replica %s (last status %q): %w", uuid, oneLine(cvm.Status, 64), err)
		}
	}
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
