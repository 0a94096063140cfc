package phala

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// ErrorCode is a Phala Cloud error code of the form ERR-xx-yyy, as carried in the
// error_code field of the structured error envelope.
type ErrorCode string

// Error codes of the Phala Cloud API catalogue. The names follow the SDK constant
// names of @phala/cloud in Go casing; the last three are not in the SDK catalogue and
// are known from the public replication guide and the CLI.
const (
	CodeNodeNotFound              ErrorCode = "ERR-01-001"
	CodeComposeFileRequired       ErrorCode = "ERR-01-002"
	CodeInvalidComposeFile        ErrorCode = "ERR-01-003"
	CodeDuplicateCVMName          ErrorCode = "ERR-01-004" // HTTP 409
	CodeHashRegistrationRequired  ErrorCode = "ERR-01-005" // HTTP 465: on-chain registration needed
	CodeHashInvalidOrExpired      ErrorCode = "ERR-01-006" // HTTP 466: commit token unknown, expired or superseded
	CodeTxVerificationFailed      ErrorCode = "ERR-01-007" // HTTP 467: transaction hash could not be verified
	CodeHashNotAllowed            ErrorCode = "ERR-01-008" // HTTP 468: compose hash not allowed by the contract
	CodeInstanceTypeNotFound      ErrorCode = "ERR-02-001"
	CodeResourceNotAvailable      ErrorCode = "ERR-02-002"
	CodeInsufficientVCPU          ErrorCode = "ERR-02-003"
	CodeInsufficientMemory        ErrorCode = "ERR-02-004"
	CodeInsufficientSlots         ErrorCode = "ERR-02-005"
	CodeGPUAllocationError        ErrorCode = "ERR-02-006"
	CodeInsufficientGPU           ErrorCode = "ERR-02-007"
	CodeInvalidRequest            ErrorCode = "ERR-02-008"
	CodeIncompatibleConfig        ErrorCode = "ERR-02-009"
	CodeImageNotFound             ErrorCode = "ERR-02-010"
	CodeKMSNotFound               ErrorCode = "ERR-02-011"
	CodeTeepodNotAccessible       ErrorCode = "ERR-02-012"
	CodeOSImageNotCompatible      ErrorCode = "ERR-02-013"
	CodeNodeCapacityNotConfigured ErrorCode = "ERR-02-014"
	CodeQuotaExceeded             ErrorCode = "ERR-02-015"
	CodeCVMNotFound               ErrorCode = "ERR-03-001"
	CodeMultipleCVMsSameName      ErrorCode = "ERR-03-002"
	CodeCVMNotInWorkspace         ErrorCode = "ERR-03-003"
	CodeCVMAccessDenied           ErrorCode = "ERR-03-005"
	CodeReplicaImageNotAvailable  ErrorCode = "ERR-03-006" // source OS image not on the target node
	CodeCVMAppIDConflict          ErrorCode = "ERR-03-007" // HTTP 409
	CodeSourceNotInWorkspace      ErrorCode = "ERR-03-008" // source instance not visible in the current workspace
	CodeMultipleLiveComposeHashes ErrorCode = "ERR-03-009" // app has several live configurations: pass a compose hash
	CodeMultipleCVMsMatch         ErrorCode = "ERR-03-010" // the identifier matches several CVMs
	CodeInsufficientBalance       ErrorCode = "ERR-04-001"
	CodeMaxCVMLimit               ErrorCode = "ERR-04-002"
	CodeResourceLimitExceeded     ErrorCode = "ERR-04-003"
	CodeTokenLimitExceeded        ErrorCode = "ERR-05-001"
	CodeTokenRateLimit            ErrorCode = "ERR-05-002"
	CodeOAuthEmailInvalid         ErrorCode = "ERR-06-001"
)

// codeError is the type of the Err… sentinels: one comparable value per error code.
// An *APIError matches it under errors.Is when the codes are equal.
type codeError struct {
	code ErrorCode
	text string
}

func (e codeError) Error() string { return "phala: " + string(e.code) + " " + e.text }

// Sentinel errors, one per catalogue code. errors.Is(err, ErrInsufficientSlots) is true
// for any *APIError (wrapped or not) whose Code is CodeInsufficientSlots.
var (
	ErrNodeNotFound              error = codeError{CodeNodeNotFound, "node not found"}
	ErrComposeFileRequired       error = codeError{CodeComposeFileRequired, "compose file required"}
	ErrInvalidComposeFile        error = codeError{CodeInvalidComposeFile, "invalid compose file"}
	ErrDuplicateCVMName          error = codeError{CodeDuplicateCVMName, "duplicate CVM name"}
	ErrHashRegistrationRequired  error = codeError{CodeHashRegistrationRequired, "compose hash registration required on-chain"}
	ErrHashInvalidOrExpired      error = codeError{CodeHashInvalidOrExpired, "commit token invalid or expired"}
	ErrTxVerificationFailed      error = codeError{CodeTxVerificationFailed, "transaction verification failed"}
	ErrHashNotAllowed            error = codeError{CodeHashNotAllowed, "compose hash not allowed by the contract"}
	ErrInstanceTypeNotFound      error = codeError{CodeInstanceTypeNotFound, "instance type not found"}
	ErrResourceNotAvailable      error = codeError{CodeResourceNotAvailable, "resource not available"}
	ErrInsufficientVCPU          error = codeError{CodeInsufficientVCPU, "insufficient vCPU"}
	ErrInsufficientMemory        error = codeError{CodeInsufficientMemory, "insufficient memory"}
	ErrInsufficientSlots         error = codeError{CodeInsufficientSlots, "insufficient slots"}
	ErrGPUAllocationError        error = codeError{CodeGPUAllocationError, "GPU allocation error"}
	ErrInsufficientGPU           error = codeError{CodeInsufficientGPU, "insufficient GPU"}
	ErrInvalidRequest            error = codeError{CodeInvalidRequest, "invalid request"}
	ErrIncompatibleConfig        error = codeError{CodeIncompatibleConfig, "incompatible configuration"}
	ErrImageNotFound             error = codeError{CodeImageNotFound, "image not found"}
	ErrKMSNotFound               error = codeError{CodeKMSNotFound, "KMS not found"}
	ErrTeepodNotAccessible       error = codeError{CodeTeepodNotAccessible, "node not accessible"}
	ErrOSImageNotCompatible      error = codeError{CodeOSImageNotCompatible, "OS image not compatible"}
	ErrNodeCapacityNotConfigured error = codeError{CodeNodeCapacityNotConfigured, "node capacity not configured"}
	ErrQuotaExceeded             error = codeError{CodeQuotaExceeded, "quota exceeded"}
	ErrCVMNotFound               error = codeError{CodeCVMNotFound, "CVM not found"}
	ErrMultipleCVMsSameName      error = codeError{CodeMultipleCVMsSameName, "several CVMs have that name"}
	ErrCVMNotInWorkspace         error = codeError{CodeCVMNotInWorkspace, "CVM not in workspace"}
	ErrCVMAccessDenied           error = codeError{CodeCVMAccessDenied, "CVM access denied"}
	ErrReplicaImageNotAvailable  error = codeError{CodeReplicaImageNotAvailable, "source OS image not available on the target node"}
	ErrCVMAppIDConflict          error = codeError{CodeCVMAppIDConflict, "CVM app ID conflict"}
	ErrSourceNotInWorkspace      error = codeError{CodeSourceNotInWorkspace, "source instance not visible in the current workspace"}
	ErrMultipleLiveComposeHashes error = codeError{CodeMultipleLiveComposeHashes, "app has several live compose hashes"}
	ErrMultipleCVMsMatch         error = codeError{CodeMultipleCVMsMatch, "identifier matches several CVMs"}
	ErrInsufficientBalance       error = codeError{CodeInsufficientBalance, "insufficient balance"}
	ErrMaxCVMLimit               error = codeError{CodeMaxCVMLimit, "CVM limit reached"}
	ErrResourceLimitExceeded     error = codeError{CodeResourceLimitExceeded, "resource limit exceeded"}
	ErrTokenLimitExceeded        error = codeError{CodeTokenLimitExceeded, "token limit exceeded"}
	ErrTokenRateLimit            error = codeError{CodeTokenRateLimit, "token rate limit"}
	ErrOAuthEmailInvalid         error = codeError{CodeOAuthEmailInvalid, "OAuth e-mail invalid"}
)

// Errors of the client itself (not sent by the API).
var (
	// ErrMissingAPIKey is returned by NewClient when no API key was given with
	// WithAPIKey and PHALA_CLOUD_API_KEY is unset or blank.
	ErrMissingAPIKey = errors.New("phala: missing API key (use WithAPIKey or set PHALA_CLOUD_API_KEY)")
	// ErrInvalidOption is wrapped by every error an Option or NewClient returns for a
	// bad argument.
	ErrInvalidOption = errors.New("phala: invalid option")
	// ErrInsecureBaseURL is returned by NewClient for a plain http:// base URL whose
	// host is not a loopback address, unless WithInsecureHTTP was given.
	ErrInsecureBaseURL = errors.New("phala: refusing plain http:// base URL for a non-loopback host (the API key would travel in clear text); use https or WithInsecureHTTP")
	// ErrResponseTooLarge is wrapped when a response body exceeds the size cap set by
	// WithMaxResponseBytes.
	ErrResponseTooLarge = errors.New("phala: response body too large")
	// ErrUnexpectedBody is wrapped when a response body is not the JSON the call
	// expects (for example an HTML error page from a proxy).
	ErrUnexpectedBody = errors.New("phala: unexpected response body")
)

// ErrorDetail is one item of the details array of an error envelope: a field name
// with a value and/or a message. For HTTP 465 the details carry the prepare payload
// (commit_token, compose_hash, ...); Value stays raw JSON so objects, strings and
// booleans decode losslessly. For a 422 validation error Field is the dotted path of
// the invalid input (for example "node_id" or "items.0.name"), Value the rejected
// input when the server echoes it, and Message the validation message.
//
// The value of a secret field (commit_token, or token as a 422 on a commit may
// echo it) stays in Value for the caller's use, but String, GoString, Format,
// LogValue and MarshalJSON show it as "[REDACTED]". A copy of the token inside
// another field's value (a commit URL carrying it, say) is hidden when the details
// are printed as part of their *APIError, not when printed on their own.
type ErrorDetail struct {
	Field   string
	Value   json.RawMessage
	Message string
}

// redactedJSON is Value as raw JSON, the string "[REDACTED]" in place of a secret.
var redactedJSON = json.RawMessage(`"` + redacted + `"`)

// secretField reports whether a detail's field names a secret: its last dotted
// segment is commit_token or token, in any case.
func secretField(field string) bool {
	if i := strings.LastIndexAny(field, "./"); i >= 0 {
		field = field[i+1:]
	}
	return strings.EqualFold(field, "commit_token") || strings.EqualFold(field, "token")
}

// safeValue returns Value with a secret replaced by "[REDACTED]" and with every
// occurrence of token (the commit token of the error the detail is part of) hidden.
func (d ErrorDetail) safeValue(token string) json.RawMessage {
	if len(d.Value) == 0 || string(d.Value) == "null" {
		return d.Value
	}
	if secretField(d.Field) {
		return redactedJSON
	}
	v := hideInJSON(d.Value, token)
	if !json.Valid(v) {
		return nil
	}
	return v
}

// hideInJSON replaces secret, raw or as escaped inside a JSON string, in the raw
// JSON v; if that breaks v, the whole value becomes "[REDACTED]".
func hideInJSON(v json.RawMessage, secret string) json.RawMessage {
	if len(secret) < 4 {
		return v
	}
	out := []byte(hideSecret(string(v), secret))
	if esc, err := json.Marshal(secret); err == nil && len(esc) > 2 {
		out = []byte(hideSecret(string(out), string(esc[1:len(esc)-1])))
	}
	if len(out) == len(v) && string(out) == string(v) {
		return v
	}
	if !json.Valid(out) {
		return redactedJSON
	}
	return out
}

// String formats the detail like %v of the struct, with the value as JSON text
// and a secret value redacted.
func (d ErrorDetail) String() string {
	return fmt.Sprintf("{%s %s %s}", d.Field, d.safeValue(""), d.Message)
}

// GoString is the %#v form, with a secret value redacted.
func (d ErrorDetail) GoString() string {
	return fmt.Sprintf("phala.ErrorDetail{Field:%q, Value:json.RawMessage(%q), Message:%q}", d.Field, d.safeValue(""), d.Message)
}

// Format implements [fmt.Formatter]: every verb formats String (%#v GoString), so
// no verb prints a secret value, as bytes or otherwise.
func (d ErrorDetail) Format(f fmt.State, verb rune) { formatSafe(f, verb, d.String(), d.GoString()) }

// LogValue describes the detail for log/slog, a secret value redacted.
func (d ErrorDetail) LogValue() slog.Value {
	return slog.GroupValue(slog.String("field", d.Field), slog.String("value", string(d.safeValue(""))),
		slog.String("message", d.Message))
}

// errorDetailJSON is the JSON form of an ErrorDetail.
type errorDetailJSON struct {
	Field   string          `json:"field,omitempty"`
	Value   json.RawMessage `json:"value,omitempty"`
	Message string          `json:"message,omitempty"`
}

// MarshalJSON encodes {"field", "value", "message"}, a secret value as
// "[REDACTED]".
func (d ErrorDetail) MarshalJSON() ([]byte, error) {
	return json.Marshal(errorDetailJSON{Field: d.Field, Value: d.safeValue(""), Message: d.Message})
}

// Link is a documentation link attached to an error.
type Link struct {
	Label string
	URL   string
}

// APIError is a non-2xx answer of the Phala Cloud API. It is built from every error
// envelope shape the API uses (see the package documentation, section Errors).
//
// Use errors.Is with the Err… sentinels to test the code, errors.As to get the
// details:
//
//	var apiErr *phala.APIError
//	if errors.As(err, &apiErr) && apiErr.StatusCode == 465 { ... }
type APIError struct {
	StatusCode  int           // HTTP status of the answer
	Code        ErrorCode     // ERR-xx-yyy, empty when the body carried none
	Message     string        // human-readable message, never empty
	Details     []ErrorDetail // structured details or validation items, in body order
	Suggestions []string      // what the user may do
	Links       []Link        // documentation links
	RequestID   string        // X-Request-ID of the answer, empty when absent
	RetryAfter  time.Duration // the answer's Retry-After, 0 when absent or unparsable

	// cause is ErrUnexpectedBody or ErrResponseTooLarge when the body was not a JSON
	// envelope; Unwrap returns it.
	cause error
}

// Error formats the error like the first line of the phala CLI, for example
// "phala: ERR-02-005 (HTTP 409): Insufficient slots [request 7f3a]". Parts that are
// absent are left out. It never contains the API key or a commit token.
func (e *APIError) Error() string {
	if e == nil {
		return "phala: <nil APIError>"
	}
	return hideSecret(e.message(), e.commitToken())
}

func (e *APIError) message() string {
	var b strings.Builder
	b.WriteString("phala: ")
	if e.Code != "" {
		b.WriteString(oneLine(string(e.Code), 32))
		b.WriteString(" (HTTP ")
		fmt.Fprint(&b, e.StatusCode)
		b.WriteString(")")
	} else {
		b.WriteString("HTTP ")
		fmt.Fprint(&b, e.StatusCode)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(oneLine(e.Message, 1024))
	}
	if e.RequestID != "" {
		b.WriteString(" [request ")
		b.WriteString(oneLine(e.RequestID, 128))
		b.WriteString("]")
	}
	return b.String()
}

// commitToken returns the commit token the details carry (the 465 payload's
// commit_token, or a token a 422 or 466 echoes), or "".
func (e *APIError) commitToken() string {
	if e == nil {
		return ""
	}
	for i := len(e.Details) - 1; i >= 0; i-- {
		raw := e.Details[i].Value
		if !secretField(e.Details[i].Field) || len(raw) == 0 {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return string(raw)
		}
		return s
	}
	return ""
}

// GoString is the %#v form: every field, with the commit token (and any secret
// detail) shown as "[REDACTED]" and detail values as JSON text, not bytes.
func (e *APIError) GoString() string {
	if e == nil {
		return "(*phala.APIError)(nil)"
	}
	token := e.commitToken()
	var b strings.Builder
	fmt.Fprintf(&b, "&phala.APIError{StatusCode:%d, Code:%q, Message:%q, Details:[]phala.ErrorDetail{",
		e.StatusCode, e.Code, hideSecret(e.Message, token))
	for i, d := range e.Details {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "{Field:%q, Value:json.RawMessage(%q), Message:%q}",
			d.Field, d.safeValue(token), hideSecret(d.Message, token))
	}
	b.WriteString("}, Suggestions:[]string{")
	for i, s := range e.Suggestions {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", hideSecret(s, token))
	}
	b.WriteString("}, Links:[]phala.Link{")
	for i, l := range e.Links {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "{Label:%q, URL:%q}", hideSecret(l.Label, token), hideSecret(l.URL, token))
	}
	fmt.Fprintf(&b, "}, RequestID:%q, RetryAfter:%d}", e.RequestID, int64(e.RetryAfter))
	return b.String()
}

// Format implements [fmt.Formatter]: every verb formats Error (%#v GoString), so
// no verb prints the details' commit token, as text or as bytes.
func (e *APIError) Format(f fmt.State, verb rune) { formatError(f, verb, e, e.GoString) }

// LogValue describes the error for log/slog: status, code, message, request id.
func (e *APIError) LogValue() slog.Value {
	if e == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(
		slog.String("error", e.Error()),
		slog.Int("status", e.StatusCode),
		slog.String("code", string(e.Code)),
		slog.String("request_id", e.RequestID),
	)
}

// apiErrorJSON is the JSON form of an APIError.
type apiErrorJSON struct {
	Error       string            `json:"error"`
	StatusCode  int               `json:"status_code"`
	Code        ErrorCode         `json:"code,omitempty"`
	Message     string            `json:"message,omitempty"`
	Details     []errorDetailJSON `json:"details,omitempty"`
	Suggestions []string          `json:"suggestions,omitempty"`
	Links       []linkJSON        `json:"links,omitempty"`
	RequestID   string            `json:"request_id,omitempty"`
	RetryAfter  string            `json:"retry_after,omitempty"` // a Go duration, e.g. "30s"
}

type linkJSON struct {
	Label string `json:"label,omitempty"`
	URL   string `json:"url,omitempty"`
}

// MarshalJSON encodes the error as an object: "error" is its message, then its
// fields in snake_case. The commit token of a 465 (and any secret detail) is
// "[REDACTED]"; keep a [PreparedReplica] to store a 465 for a
// later commit.
func (e *APIError) MarshalJSON() ([]byte, error) {
	if e == nil {
		return []byte("null"), nil
	}
	token := e.commitToken()
	out := apiErrorJSON{
		Error:      e.Error(),
		StatusCode: e.StatusCode,
		Code:       e.Code,
		Message:    hideSecret(e.Message, token),
		RequestID:  e.RequestID,
	}
	for _, d := range e.Details {
		out.Details = append(out.Details, errorDetailJSON{Field: d.Field, Value: d.safeValue(token), Message: hideSecret(d.Message, token)})
	}
	for _, s := range e.Suggestions {
		out.Suggestions = append(out.Suggestions, hideSecret(s, token))
	}
	for _, l := range e.Links {
		out.Links = append(out.Links, linkJSON{Label: hideSecret(l.Label, token), URL: hideSecret(l.URL, token)})
	}
	if e.RetryAfter > 0 {
		out.RetryAfter = e.RetryAfter.String()
	}
	return json.Marshal(out)
}

// Is reports whether target is the Err… sentinel of e's code, so that
// errors.Is(err, ErrInsufficientSlots) works on any error chain holding e.
func (e *APIError) Is(target error) bool {
	t, ok := target.(codeError)
	return ok && e != nil && e.Code != "" && t.code == e.Code
}

// Unwrap returns ErrUnexpectedBody or ErrResponseTooLarge (wrapped) when the error
// body could not be read as a JSON envelope, and nil otherwise.
func (e *APIError) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.cause
}

// Detail returns the raw JSON value of the last detail item with the given field
// (later duplicates win, as the CLI does) and whether one was found. An item that has
// the field but no value yields a nil RawMessage and true.
func (e *APIError) Detail(field string) (json.RawMessage, bool) {
	if e == nil {
		return nil, false
	}
	for i := len(e.Details) - 1; i >= 0; i-- {
		if e.Details[i].Field == field {
			return e.Details[i].Value, true
		}
	}
	return nil, false
}

// IsAuthError reports whether the answer was 401 or 403: the API key is missing,
// invalid, or lacks access.
func (e *APIError) IsAuthError() bool {
	return e != nil && (e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden)
}

// IsValidationError reports whether the answer was 422: the request body was rejected
// by the server's schema validation. Details then hold one item per invalid field.
func (e *APIError) IsValidationError() bool {
	return e != nil && e.StatusCode == http.StatusUnprocessableEntity
}

// IsBusinessError reports whether the answer was any other 4xx (400-499 except 401,
// 403 and 422), including 409 conflicts and the 465-468 on-chain family: the request
// was understood and refused. Resending it unchanged will not help.
func (e *APIError) IsBusinessError() bool {
	return e != nil && e.StatusCode >= 400 && e.StatusCode <= 499 &&
		!e.IsAuthError() && !e.IsValidationError()
}

// IsServerError reports whether the answer was 5xx.
func (e *APIError) IsServerError() bool {
	return e != nil && e.StatusCode >= 500 && e.StatusCode <= 599
}

// IsAuthError reports whether err holds an *APIError with status 401 or 403.
func IsAuthError(err error) bool { return asAPIError(err).IsAuthError() }

// IsValidationError reports whether err holds an *APIError with status 422.
func IsValidationError(err error) bool { return asAPIError(err).IsValidationError() }

// IsBusinessError reports whether err holds an *APIError with another 4xx status
// (see [APIError.IsBusinessError]).
func IsBusinessError(err error) bool { return asAPIError(err).IsBusinessError() }

// IsServerError reports whether err holds an *APIError with a 5xx status.
func IsServerError(err error) bool { return asAPIError(err).IsServerError() }

func asAPIError(err error) *APIError {
	var e *APIError
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// OutcomeUnknownError reports a non-idempotent request (POST) that may have reached
// the server but whose outcome is unknown: the connection broke or timed out after
// the request was sent, the context ended while waiting for the answer, or the
// answer does not tell (StatusCode set): a 5xx (a gateway's 502, 503 or 504, or a
// 500 the API may send after writing), which can come after the API acted on the
// request; a redirect (Err is then the *RedirectError
// naming the Location's origin; no redirect of a POST is followed); or a 466 to a
// commit resent with the same token, which an earlier attempt may have used. The
// server may or may not have acted on it, so the client did not resend it. Check the
// state before trying again: a replica, if created, is a new instance of the
// source's app. SourceVMUUID names the source for a replicate or commit request:
// [Client.GetCVM] with it gives the source's AppID, and [Client.ListReplicas] with
// that lists the app's instances. Error gives this advice once.
type OutcomeUnknownError struct {
	Method   string // HTTP method, e.g. POST
	Path     string // path relative to the base URL
	Attempts int    // attempts made, the last of which has the unknown outcome
	// StatusCode is the status of an answer that does not tell the outcome
	// (a 5xx, a 3xx redirect, or 466 after a resent commit); 0 when no
	// answer arrived. Err then holds the *APIError (or *RedirectError), so
	// errors.As reaches it too.
	StatusCode int
	Err        error // the transport or context error, or the inconclusive answer
	// SourceVMUUID is the vm_uuid of the source CVM of a replicate or commit
	// request; empty for other requests.
	SourceVMUUID string
	// AppID is the source's app id when the client knew it without a request;
	// empty otherwise (GetCVM(ctx, SourceVMUUID) gives it).
	AppID string
}

// Error describes the lost request and how to check its outcome.
func (e *OutcomeUnknownError) Error() string {
	if e == nil {
		return "phala: <nil OutcomeUnknownError>"
	}
	what := fmt.Sprintf("the request was sent but no answer arrived (%v)", e.Err)
	if e.StatusCode != 0 {
		what = fmt.Sprintf("the request was sent and the answer (HTTP %d) does not tell whether the server acted on it (%v)", e.StatusCode, e.Err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "phala: %s %s: outcome unknown: %s; it was not resent because the server may have acted on it", e.Method, e.Path, what)
	if isCommitPath(e.Path) {
		b.WriteString(", so the commit token may have been used: do not commit or prepare again before checking")
	}
	b.WriteString("; check whether the replica was created before trying again: ")
	b.WriteString(findReplicaAdvice(e.SourceVMUUID, e.AppID))
	return b.String()
}

// isCommitPath reports whether path is a commit-replica request.
func isCommitPath(path string) bool { return strings.HasSuffix(path, "/commit-replica") }

// findReplicaAdvice says how to find a replica of source (a vm_uuid, may be
// empty) with what the caller has: the app id when known, else the source.
func findReplicaAdvice(source, app string) string {
	const list = "lists the app's instances (GET /apps/{app_id}/cvms); a new instance is the replica"
	switch {
	case app != "":
		return fmt.Sprintf("ListReplicas(ctx, %q) %s", oneLine(app, 80), list)
	case source != "":
		return fmt.Sprintf("GetCVM(ctx, %q) reads the source and its AppID, then ListReplicas(ctx, cvm.AppID) %s", oneLine(source, 80), list)
	}
	return "ListReplicas(ctx, appID) with the source's app id (GetCVM gives it) " + list
}

// Unwrap returns the underlying transport or context error, so that
// errors.Is(err, context.DeadlineExceeded) works.
func (e *OutcomeUnknownError) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Err
}

// ResponseError reports a 2xx answer whose body could not be used: larger than the
// size cap, or not the JSON the call expects. The request itself succeeded: for a POST
// the server acted on it.
type ResponseError struct {
	StatusCode  int
	ContentType string
	RequestID   string
	Excerpt     string // a short sanitized excerpt of the body's start
	Err         error  // wraps ErrResponseTooLarge or ErrUnexpectedBody
}

// Error describes the unusable body, quoting a short excerpt.
func (e *ResponseError) Error() string {
	if e == nil {
		return "phala: <nil ResponseError>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "phala: HTTP %d", e.StatusCode)
	if e.ContentType != "" {
		fmt.Fprintf(&b, " (%s)", oneLine(e.ContentType, 64))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(e.Err.Error(), "phala: "))
	}
	if e.Excerpt != "" {
		fmt.Fprintf(&b, ": %q", e.Excerpt)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " [request %s]", oneLine(e.RequestID, 128))
	}
	return b.String()
}

// Unwrap returns Err.
func (e *ResponseError) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Err
}

// ErrUnreadableCreated is matched by [*UnreadableCreatedError].
var ErrUnreadableCreated = errors.New("phala: the server acted on the request but its answer could not be read")

// UnreadableCreatedError reports a POST answered 2xx whose body could not be read or
// decoded: cut short, not JSON, empty, or larger than the size cap. The 2xx says the
// server acted on the request: the replica was created (or committed). Do not send
// the request again, which could create a second replica; find the result instead:
// [Client.GetCVM] with SourceVMUUID gives the source's AppID, and
// [Client.ListReplicas] with that lists the app's instances. Error gives this
// advice once. It matches [ErrUnreadableCreated]; Unwrap returns the
// [*ResponseError] describing the body.
type UnreadableCreatedError struct {
	Method     string // HTTP method, e.g. POST
	Path       string // path relative to the base URL
	StatusCode int    // the 2xx status of the answer
	RequestID  string // X-Request-ID of the answer, empty when absent
	Err        error  // the *ResponseError describing the unusable body
	// SourceVMUUID is the vm_uuid of the source CVM of a replicate or commit
	// request; empty for other requests.
	SourceVMUUID string
	// AppID is the source's app id when the client knew it without a request;
	// empty otherwise (GetCVM(ctx, SourceVMUUID) gives it).
	AppID string
	// VM is the answer as decoded when it was JSON but does not identify the
	// new replica (no valid vm_uuid, the source's own, another app's), so a
	// caller can show what the server said; nil for a body that could not be
	// decoded. Never take it for the replica.
	VM *VM
}

// Error says that the action happened and how to find its result.
func (e *UnreadableCreatedError) Error() string {
	if e == nil {
		return "phala: <nil UnreadableCreatedError>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "phala: %s %s: the server answered HTTP %d, so it acted on the request (the replica was created or committed), "+
		"but its answer could not be read", e.Method, e.Path, e.StatusCode)
	if e.Err != nil {
		fmt.Fprintf(&b, " (%s)", strings.TrimPrefix(e.Err.Error(), "phala: "))
	}
	if isCommitPath(e.Path) {
		b.WriteString("; the commit token is used: do not send it again; find the replica: ")
	} else {
		b.WriteString("; do not send it again, which could create a second replica; find the new one: ")
	}
	b.WriteString(findReplicaAdvice(e.SourceVMUUID, e.AppID))
	if e.RequestID != "" && e.Err == nil { // the *ResponseError names it otherwise
		fmt.Fprintf(&b, " [request %s]", oneLine(e.RequestID, 128))
	}
	return b.String()
}

// Is reports whether target is ErrUnreadableCreated.
func (e *UnreadableCreatedError) Is(target error) bool { return target == ErrUnreadableCreated }

// Unwrap returns Err.
func (e *UnreadableCreatedError) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Err
}

// RedirectError reports a redirect the client refused to follow: to another host or
// scheme (the API key is never sent there), or past the redirect limit.
type RedirectError struct {
	From   string // scheme://host of the original request
	To     string // scheme://host of the redirect target
	Reason string
}

// Error describes the refused redirect.
func (e *RedirectError) Error() string {
	if e == nil {
		return "phala: <nil RedirectError>"
	}
	return fmt.Sprintf("phala: refused redirect from %s to %s: %s", e.From, e.To, e.Reason)
}
