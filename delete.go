package phala

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrWrongApp is matched by [*WrongAppError].
var ErrWrongApp = errors.New("phala: the CVM belongs to another app")

// WrongAppError is returned by DeleteCVM when the CVM is not an instance of the
// app the caller expects. Nothing was deleted.
type WrongAppError struct {
	VMUUID   string `json:"vm_uuid"`
	AppID    string `json:"app_id"`   // the CVM's app, as the API reports it
	Expected string `json:"expected"` // 40 hex digits
	// Op is what was refused: "" (delete) or "replicate" (CommitPreparedSet).
	Op string `json:"op,omitempty"`
}

// Error names both apps.
func (e *WrongAppError) Error() string {
	if e.Op != "" {
		return fmt.Sprintf("phala: refusing to %s from CVM %s: it belongs to app %s, not app_%s; nothing was sent",
			e.Op, e.VMUUID, oneLine(e.AppID, 64), e.Expected)
	}
	return fmt.Sprintf("phala: refusing to delete CVM %s: it belongs to app %s, not app_%s; nothing was deleted",
		e.VMUUID, oneLine(e.AppID, 64), e.Expected)
}

// Is reports whether target is ErrWrongApp.
func (e *WrongAppError) Is(target error) bool { return target == ErrWrongApp }

// DeleteOutcome says what DeleteCVM knows happened.
type DeleteOutcome string

// The outcomes of a DeleteCVM call that returned no error.
const (
	// DeleteAccepted: the API answered the DELETE with 2xx. The CVM is being
	// deleted; it may still be listed, with a terminating status, for a while.
	DeleteAccepted DeleteOutcome = "deleted"
	// DeleteAlreadyGone: the CVM was not found, before or in answer to the
	// DELETE (also when an earlier attempt whose answer was lost deleted it).
	DeleteAlreadyGone DeleteOutcome = "already-gone"
)

// ErrDeleteContradicted is wrapped by a [*DeleteError] when the API answered
// the DELETE with 404 (not found) yet GET /cvms/{vm_uuid} still serves the CVM,
// not on its way out: nothing says it was deleted.
var ErrDeleteContradicted = errors.New("phala: the API answered the DELETE with 404 but still serves the CVM")

// DeleteError is returned by DeleteCVM when the DELETE was sent but did not
// succeed. Err is the cause: an *APIError when the API refused (nothing was
// deleted), or an error wrapping *OutcomeUnknownError when the answer was lost
// twice (the CVM may or may not be deleted; GetCVM tells).
type DeleteError struct {
	VMUUID string
	Err    error
}

// Error describes the failure.
func (e *DeleteError) Error() string {
	return fmt.Sprintf("phala: deleting CVM %s: %v", e.VMUUID, e.Err)
}

// Unwrap returns Err.
func (e *DeleteError) Unwrap() error { return e.Err }

// MarshalJSON encodes {"error","vm_uuid","outcome_unknown"}.
func (e *DeleteError) MarshalJSON() ([]byte, error) {
	var unknown *OutcomeUnknownError
	return json.Marshal(struct {
		Error          string `json:"error"`
		VMUUID         string `json:"vm_uuid"`
		OutcomeUnknown bool   `json:"outcome_unknown"`
	}{e.Error(), e.VMUUID, errors.As(e.Err, &unknown)})
}

// DeleteCVM deletes the CVM vmUUID (DELETE /cvms/{vm_uuid}) after checking, with
// GET /cvms/{vm_uuid}, that it is an instance of expectAppID (app_<40 hex>,
// 0x<40 hex> or 40 hex digits). A CVM of another app is never deleted: the call
// fails with a [*WrongAppError] before the DELETE is sent.
//
// What each result means:
//
//   - DeleteAccepted, nil: the API accepted the DELETE (any 2xx, with or without a
//     body). Certain.
//   - DeleteAlreadyGone, nil: GET answered 404, or DELETE did and a GET after it
//     agrees (404, or a terminating status). The CVM no longer exists (certain),
//     whether or not this call deleted it.
//   - *WrongAppError, *InvalidArgumentError, or an error of the GET: nothing was
//     sent that deletes.
//   - *DeleteError wrapping an *APIError: the API refused the DELETE; nothing was
//     deleted. When the refusal is a 404 contradicted by a GET that still finds
//     the CVM, it wraps [ErrDeleteContradicted] too.
//   - *DeleteError wrapping *OutcomeUnknownError: the answer was lost. DELETE is
//     idempotent in effect (a vm_uuid names one CVM forever), so after a lost
//     answer DeleteCVM reads the CVM again and, if it still exists, sends the
//     DELETE once more; only when that answer is lost too is the outcome
//     reported as unknown. Check with GetCVM before deciding anything.
func (c *Client) DeleteCVM(ctx context.Context, vmUUID, expectAppID string) (DeleteOutcome, error) {
	uuid, err := parseVMUUID("vmUUID", vmUUID)
	if err != nil {
		return "", err
	}
	app, err := parseAppID("expectAppID", expectAppID)
	if err != nil {
		return "", err
	}
	gone, err := c.checkDeletable(ctx, uuid, app)
	switch {
	case err != nil:
		return "", err
	case gone:
		return DeleteAlreadyGone, nil
	}
	return c.deleteOfApp(ctx, uuid, app)
}

// deleteOfApp sends the DELETE of uuid (canonical), known to be an instance
// of app (40 hex) from a listing just read: DeleteCVM after its check. After a
// lost answer it reads the CVM again (checked against app) before sending the
// DELETE once more.
func (c *Client) deleteOfApp(ctx context.Context, uuid, app string) (DeleteOutcome, error) {
	for attempt := 0; ; attempt++ {
		_, err := c.do(ctx, request{method: http.MethodDelete, path: pathf("/cvms/%s", uuid)}, nil)
		var (
			apiErr     *APIError
			unknown    *OutcomeUnknownError
			unreadable *UnreadableCreatedError
		)
		switch {
		case err == nil, errors.As(err, &unreadable): // 2xx: a body we cannot read does not matter
			return DeleteAccepted, nil
		case errors.As(err, &unknown) && attempt == 0:
			// Read again: a 404 settles it; otherwise the DELETE is sent once
			// more, which cannot touch any other CVM.
			gone, gerr := c.checkDeletable(ctx, uuid, app)
			if gerr != nil {
				return "", &DeleteError{VMUUID: uuid, Err: fmt.Errorf("%w (and reading it again failed: %v)", err, gerr)}
			}
			if gone {
				return DeleteAlreadyGone, nil
			}
			continue
		case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound:
			// A 404 to the DELETE of a CVM a read has just found: believe it
			// only when a second read agrees.
			return c.confirmGone(ctx, uuid, err)
		}
		return "", &DeleteError{VMUUID: uuid, Err: err}
	}
}

// confirmGone reads the CVM after a DELETE answered 404 (notFound): gone
// when the read answers 404 or a terminating status; otherwise a *DeleteError
// wrapping ErrDeleteContradicted and notFound.
func (c *Client) confirmGone(ctx context.Context, uuid string, notFound error) (DeleteOutcome, error) {
	cvm, err := c.getCVM(ctx, uuid)
	var apiErr *APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound:
		return DeleteAlreadyGone, nil
	case err != nil:
		return "", &DeleteError{VMUUID: uuid, Err: fmt.Errorf("%w (and reading it again to confirm failed: %v)", notFound, err)}
	case goneStatus(cvm.Status):
		return DeleteAlreadyGone, nil
	}
	return "", &DeleteError{VMUUID: uuid, Err: fmt.Errorf("%w (status %q): %w", ErrDeleteContradicted, oneLine(cvm.Status, 40), notFound)}
}

// checkOfApp reads the CVM uuid and refuses, with a *WrongAppError naming op,
// one that is not of app (40 hex).
func (c *Client) checkOfApp(ctx context.Context, uuid, app, op string) error {
	cvm, err := c.getCVM(ctx, uuid)
	if err != nil {
		return err
	}
	if got, ok := appHex(strings.TrimSpace(cvm.AppID)); !ok || got != app {
		return &WrongAppError{VMUUID: uuid, AppID: cvm.AppID, Expected: app, Op: op}
	}
	return nil
}

// checkDeletable reads the CVM: gone on 404, *WrongAppError for another app.
func (c *Client) checkDeletable(ctx context.Context, uuid, app string) (gone bool, err error) {
	err = c.checkOfApp(ctx, uuid, app, "")
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound {
		return true, nil
	}
	return false, err
}
