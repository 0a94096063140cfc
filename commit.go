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

// AlreadyRegistered is the transaction_hash to commit with when nothing had to be
// written on chain (the compose hash and the device were already allowed): the
// server then checks the contract state itself.
const AlreadyRegistered = onchain.AlreadyRegistered

// maxTokenLen bounds a commit token; real tokens are far shorter.
const maxTokenLen = 8 << 10

// CommitTokenExpiredError reports a commit token whose known expiry has passed; no
// request was sent. Run PrepareReplica again. It matches [ErrHashInvalidOrExpired].
type CommitTokenExpiredError struct {
	ExpiresAt time.Time
	Now       time.Time
}

// Error says when the token expired and what to do.
func (e *CommitTokenExpiredError) Error() string {
	return fmt.Sprintf("phala: the commit token expired at %s (now %s); run PrepareReplica again and approve the new payload",
		e.ExpiresAt.Format(time.RFC3339), e.Now.Format(time.RFC3339))
}

// Is reports whether target is ErrHashInvalidOrExpired.
func (e *CommitTokenExpiredError) Is(target error) bool { return target == ErrHashInvalidOrExpired }

// CommitRequest is the body of a commit: the token and compose hash of the prepare
// payload and the proof of registration.
type CommitRequest struct {
	Token       string // commit_token of the 465 payload
	ComposeHash string // compose_hash of the 465 payload (64 hex digits, 0x optional)
	// TransactionHash is the hash of the addComposeHash (or addDevice) transaction,
	// 0x and 64 hex digits, or AlreadyRegistered when nothing had to be sent.
	TransactionHash string
	// ExpiresAt, when set, is the token's expiry: a commit at or after it fails
	// before any request with a *CommitTokenExpiredError.
	ExpiresAt time.Time
}

// String describes the request without the token.
func (r CommitRequest) String() string {
	return fmt.Sprintf("phala.CommitRequest{Token: %s, ComposeHash: %q, TransactionHash: %q}", redacted, r.ComposeHash, r.TransactionHash)
}

// GoString is like String, so %#v does not print the token either.
func (r CommitRequest) GoString() string { return r.String() }

// Format implements [fmt.Formatter] so that no verb (%d, %x, …) prints the token:
// every verb formats String.
func (r CommitRequest) Format(f fmt.State, verb rune) { formatSafe(f, verb, r.String(), r.String()) }

// LogValue describes the request for log/slog without the token.
func (r CommitRequest) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("compose_hash", r.ComposeHash),
		slog.String("transaction_hash", r.TransactionHash),
		slog.String("token", redacted),
	}
	if !r.ExpiresAt.IsZero() {
		attrs = append(attrs, slog.Time("expires_at", r.ExpiresAt))
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON encodes the request with the token as "[REDACTED]" (snake_case
// keys: token, compose_hash, transaction_hash, expires_at). To store a prepared
// replica so as to commit it later, marshal the [PreparedReplica] instead: its JSON
// form keeps the token.
func (r CommitRequest) MarshalJSON() ([]byte, error) {
	out := struct {
		Token           string     `json:"token,omitempty"`
		ComposeHash     string     `json:"compose_hash"`
		TransactionHash string     `json:"transaction_hash"`
		ExpiresAt       *time.Time `json:"expires_at,omitempty"`
	}{ComposeHash: r.ComposeHash, TransactionHash: r.TransactionHash}
	if r.Token != "" {
		out.Token = redacted
	}
	if !r.ExpiresAt.IsZero() {
		out.ExpiresAt = &r.ExpiresAt
	}
	return json.Marshal(out)
}

type commitBody struct {
	Token           string `json:"token"`
	ComposeHash     string `json:"compose_hash"`
	TransactionHash string `json:"transaction_hash"`
}

// hintError adds what to do to an API error. It matches sentinel (so a 466/467/468
// answer without an error code still matches its Err… sentinel) and unwraps to the
// *APIError.
type hintError struct {
	err      error
	hint     string
	sentinel error
}

func (e *hintError) Error() string        { return e.err.Error() + "; " + e.hint }
func (e *hintError) Unwrap() error        { return e.err }
func (e *hintError) Is(target error) bool { return e.sentinel != nil && target == e.sentinel }

// commitHint explains the commit errors 466, 467 and 468.
func commitHint(apiErr *APIError) *hintError {
	switch {
	case apiErr.Code == CodeHashInvalidOrExpired || apiErr.Code == "" && apiErr.StatusCode == 466:
		return &hintError{err: apiErr, sentinel: ErrHashInvalidOrExpired,
			hint: "the commit token is unknown, expired (14 days) or superseded: run PrepareReplica again and approve the new payload"}
	case apiErr.Code == CodeTxVerificationFailed || apiErr.Code == "" && apiErr.StatusCode == 467:
		return &hintError{err: apiErr, sentinel: ErrTxVerificationFailed,
			hint: "the server could not verify transaction_hash: check that the transaction is mined on the app's chain (kms_info.chain_id) and is the addComposeHash or addDevice call of this app; if the compose hash and device are already allowed, commit with AlreadyRegistered"}
	case apiErr.Code == CodeHashNotAllowed || apiErr.Code == "" && apiErr.StatusCode == 468:
		return &hintError{err: apiErr, sentinel: ErrHashNotAllowed,
			hint: "the app's DstackApp contract does not allow the compose hash (or the device): register them with addComposeHash and addDevice, wait for the transaction to be mined, then commit again"}
	}
	return nil
}

// CommitReplica creates the replica prepared earlier (PrepareReplica, or an
// *ErrOnchainPrerequisite from Replicate) once its compose hash and device are
// allowed on chain: POST /cvms/{vm_uuid}/commit-replica with token, compose_hash and
// transaction_hash. vmUUID is the source's vm_uuid.
//
// Everything is validated before the request: the vm_uuid, the compose hash (64 hex
// digits), the transaction hash (0x and 64 hex digits, or AlreadyRegistered) and,
// when req.ExpiresAt is set, the token's expiry (*CommitTokenExpiredError). The
// answers 466, 467 and 468 come back as *APIError wrapped with what to do, matching
// ErrHashInvalidOrExpired, ErrTxVerificationFailed and ErrHashNotAllowed. A commit
// is never resent once it may have reached the server (the token may have been
// consumed): a lost answer, a 5xx, or a redirect gives an error wrapping
// *OutcomeUnknownError; a 2xx whose body cannot be read gives one wrapping
// *UnreadableCreatedError (the replica exists: find it with ListReplicas).
func (c *Client) CommitReplica(ctx context.Context, vmUUID string, req CommitRequest) (*VM, error) {
	return c.commit(ctx, vmUUID, req, "")
}

// commit is CommitReplica; appID, when known (a PreparedReplica's), is the
// source's app, which the answer's VM must not contradict.
func (c *Client) commit(ctx context.Context, vmUUID string, req CommitRequest, appID string) (*VM, error) {
	uuid, err := parseVMUUID("vmUUID", vmUUID)
	if err != nil {
		return nil, err
	}
	token := strings.TrimSpace(req.Token)
	switch {
	case token == "":
		return nil, invalidArg("Token", "", "must not be empty")
	case len(token) > maxTokenLen:
		return nil, invalidArg("Token", "", "longer than %d bytes", maxTokenLen)
	case strings.ContainsFunc(token, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return nil, invalidArg("Token", "", "must not contain control characters")
	}
	hash, err := normComposeHash("ComposeHash", req.ComposeHash)
	if err != nil {
		return nil, err
	}
	tx, err := normTxHash(req.TransactionHash)
	if err != nil {
		return nil, err
	}
	if !req.ExpiresAt.IsZero() {
		if now := c.now(); !now.Before(req.ExpiresAt) {
			return nil, &CommitTokenExpiredError{ExpiresAt: req.ExpiresAt, Now: now}
		}
	}

	var vm VM
	body := commitBody{Token: token, ComposeHash: hash, TransactionHash: tx}
	res, err := c.do(ctx, request{method: http.MethodPost, path: pathf("/cvms/%s/commit-replica", uuid), body: body}, &vm)
	if err != nil {
		hideInAPIError(err, token) // a 422 or 466 may echo the token it refused
		return nil, commitError(uuid, err)
	}
	if err := checkNewReplica(http.MethodPost, pathf("/cvms/%s/commit-replica", uuid), res, &vm, uuid, appID); err != nil {
		return nil, err
	}
	return &vm, nil
}

// commitError maps the error of a commit request. An outcome unknown (a lost
// answer, a 5xx, a redirect) comes first, even when it wraps an *APIError:
// the token may have been used, so the advice is to list replicas, never to
// commit or prepare again blindly.
func commitError(uuid string, err error) error {
	// Both errors name the source and say once what to do and how to find
	// the replica.
	var unknown *OutcomeUnknownError
	if errors.As(err, &unknown) {
		unknown.SourceVMUUID = uuid
		return err
	}
	var unreadable *UnreadableCreatedError
	if errors.As(err, &unreadable) {
		unreadable.SourceVMUUID = uuid
		return err
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		if h := commitHint(apiErr); h != nil {
			return h
		}
	}
	return err
}

// CommitPrepared commits a PreparedReplica (see CommitReplica) with txHash, the
// registration transaction or AlreadyRegistered. Its expiry is checked first,
// and an answer naming an app other than its AppID is refused like one naming
// no valid vm_uuid (*UnreadableCreatedError).
func (c *Client) CommitPrepared(ctx context.Context, p *PreparedReplica, txHash string) (*VM, error) {
	if p == nil {
		return nil, invalidArg("PreparedReplica", "", "must not be nil")
	}
	return c.commit(ctx, p.SourceVMUUID, CommitRequest{
		Token: p.CommitToken, ComposeHash: p.ComposeHash, TransactionHash: txHash, ExpiresAt: p.ExpiresAt,
	}, p.AppID)
}

// normTxHash validates a transaction_hash: AlreadyRegistered, or 0x (0X accepted)
// and 64 hex digits, returned as 0x and lowercase hex.
func normTxHash(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == AlreadyRegistered:
		return s, nil
	case s == "":
		return "", invalidArg("TransactionHash", s, "must not be empty; use AlreadyRegistered when nothing had to be registered")
	case !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X"):
		return "", invalidArg("TransactionHash", s, "must be 0x and 64 hex digits, or %q", AlreadyRegistered)
	}
	h, err := onchain.ParseHash32(s)
	if err != nil {
		return "", invalidArg("TransactionHash", s, "must be 0x and 64 hex digits, or %q", AlreadyRegistered)
	}
	return h.Hex(), nil
}
