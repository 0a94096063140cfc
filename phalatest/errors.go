package phalatest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Error codes the emulator answers with, from the error catalogue of
// replication-wire.md §2.4. The HTTP status each one is sent with is given in
// the comment; statuses the catalogue does not fix were chosen to fit the
// condition and are part of the emulator's contract.
const (
	CodeNodeNotFound              = "ERR-01-001" // 404: node_id names no node
	CodeHashRegistrationRequired  = "ERR-01-005" // 465: on-chain approval needed; carries the prepare payload
	CodeHashInvalidOrExpired      = "ERR-01-006" // 466: commit token unknown, expired, used, superseded, or for another compose hash
	CodeTxVerificationFailed      = "ERR-01-007" // 467: transaction_hash cannot be verified on chain
	CodeHashNotAllowed            = "ERR-01-008" // 468: the contract does not allow the compose hash (or the device)
	CodeResourceNotAvailable      = "ERR-02-002" // 409: no node can take the replica (node_id not given)
	CodeInsufficientVCPU          = "ERR-02-003" // 409: target node out of vCPU
	CodeInsufficientMemory        = "ERR-02-004" // 409: target node out of memory
	CodeInsufficientSlots         = "ERR-02-005" // 409: target node out of CVM slots
	CodeInvalidRequest            = "ERR-02-008" // 400 unknown X-Phala-Version; 422 malformed values (hex, compose_hash)
	CodeKMSNotFound               = "ERR-02-011" // 404: unknown KMS in /kms/{kms}/pubkey/{app_id}
	CodeCVMNotFound               = "ERR-03-001" // 404: no CVM (or app) with that identifier
	CodeMultipleCVMsSameName      = "ERR-03-002" // 409: a name matches several CVMs
	CodeCVMNotInWorkspace         = "ERR-03-003" // 403: GET of a CVM of another workspace
	CodeReplicaImageNotAvailable  = "ERR-03-006" // 422: the source's OS image is not on the target node
	CodeSourceNotInWorkspace      = "ERR-03-008" // 403: replicate/commit of a CVM of another workspace
	CodeMultipleLiveComposeHashes = "ERR-03-009" // 409: several live compose hashes and no compose_hash in the body
	CodeMultipleCVMsMatch         = "ERR-03-010" // 409: the identifier matches several CVMs
	CodeInsufficientBalance       = "ERR-04-001" // 402: workspace credit below the replica's hourly price
	CodeTokenRateLimit            = "ERR-05-002" // 429: sent with Retry-After by rate-limit faults

	// CodeUnauthorized is the emulator's own code for a missing or wrong
	// X-API-Key (401). The public catalogue has no authentication code; the
	// emulator sends a structured envelope anyway so clients see one shape.
	CodeUnauthorized = "ERR-00-001"
)

// StatusPrepare, StatusTokenInvalid, StatusTxVerificationFailed and
// StatusHashNotAllowed are Phala Cloud's non-standard HTTP statuses for the
// prepare/commit protocol.
const (
	StatusPrepare              = 465
	StatusTokenInvalid         = 466
	StatusTxVerificationFailed = 467
	StatusHashNotAllowed       = 468
)

// detailItem is one entry of detail.details[]: {field, value, message?}.
type detailItem struct {
	Field   string `json:"field"`
	Value   any    `json:"value"`
	Message string `json:"message,omitempty"`
}

type link struct {
	Label string `json:"label"`
	URL   string `json:"url"`
}

// apiError is a structured error answer: HTTP status plus the "ERR-" envelope.
type apiError struct {
	status      int
	code        string
	message     string
	details     []detailItem
	suggestions []string
	links       []link
	retryAfter  time.Duration
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message) }

func newError(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func (e *apiError) with(field string, value any) *apiError {
	e.details = append(e.details, detailItem{Field: field, Value: value})
	return e
}

func (e *apiError) suggest(s ...string) *apiError {
	e.suggestions = append(e.suggestions, s...)
	return e
}

// envelope is {"detail": {...}} exactly as replication-wire.md §2.1 shape 1.
func (e *apiError) envelope() any {
	details := e.details
	if details == nil {
		details = []detailItem{}
	}
	suggestions := e.suggestions
	if suggestions == nil {
		suggestions = []string{}
	}
	links := e.links
	if links == nil {
		links = []link{{Label: "Error codes", URL: "https://docs.phala.com/phala-cloud/references/error-codes"}}
	}
	return map[string]any{"detail": map[string]any{
		"error_code":  e.code,
		"message":     e.message,
		"details":     details,
		"suggestions": suggestions,
		"links":       links,
	}}
}

func writeAPIError(w http.ResponseWriter, e *apiError) {
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.retryAfter+time.Second-1)/time.Second)))
	}
	writeJSON(w, e.status, e.envelope())
}

// validationItem is one FastAPI validation error (replication-wire.md §2.1 shape b).
type validationItem struct {
	Loc   []any  `json:"loc"`
	Msg   string `json:"msg"`
	Type  string `json:"type"`
	Input any    `json:"input,omitempty"`
}

// validationError is a 422 with an array detail, as FastAPI sends for a body
// that does not match the request model.
type validationError struct{ items []validationItem }

func (v *validationError) Error() string { return "422 validation error" }

func writeValidation(w http.ResponseWriter, v *validationError) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": v.items})
}

// writeDetailString answers FastAPI's plain {"detail": "..."} shape.
func writeDetailString(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"detail": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshalJSON(v)
	if err != nil {
		// Only our own types are encoded: a failure is a bug in the emulator.
		http.Error(w, "phalatest: encoding response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// marshalJSON encodes v without HTML escaping, like the Python server does.
func marshalJSON(v any) ([]byte, error) {
	var buf jsonBuffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b := buf.b
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	return b, nil
}

type jsonBuffer struct{ b []byte }

func (j *jsonBuffer) Write(p []byte) (int, error) { j.b = append(j.b, p...); return len(p), nil }
