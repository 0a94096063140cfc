// Package phala is a Go client for the Phala Cloud API, focused on replicating
// confidential VMs (CVMs): creating replicas, the prepare / on-chain registration /
// commit protocol of on-chain KMS apps, and encrypted environment variables.
//
// Create a client with [NewClient] and pass a [context.Context] to every call:
//
//	c, err := phala.NewClient(phala.WithAPIKey(key))
//
// # Authentication
//
// Every request carries the API key in the X-API-Key header, the API version in
// X-Phala-Version (default [DefaultAPIVersion]; see [WithAPIVersion]) and
// Accept: application/json; requests with a body also carry
// Content-Type: application/json. The key comes from [WithAPIKey], else from the
// PHALA_CLOUD_API_KEY environment variable; without either, [NewClient] fails with
// [ErrMissingAPIKey] and nothing is sent. The base URL comes from [WithBaseURL], else
// PHALA_CLOUD_API_PREFIX, else [DefaultBaseURL].
//
// The key is protected from leaking: a plain http:// base URL is refused unless its
// host is a loopback address or [WithInsecureHTTP] is given; redirects are followed
// only to the same scheme and host, and any other redirect fails with a
// [*RedirectError] without contacting the other host; the key is held in an [APIKey],
// which prints and logs as "[REDACTED]", and is removed from error messages.
//
// # Errors
//
// A non-2xx answer is returned as an [*APIError] holding the HTTP status, the
// ERR-xx-yyy code, the message, the details (field/value/message items), suggestions,
// documentation links, the X-Request-ID of the answer and its Retry-After. Its Error
// method reads like the phala CLI:
//
//	phala: ERR-02-005 (HTTP 409): Insufficient slots on the node [request 5b1e0c]
//
// All envelope shapes the API uses are understood: the structured object under
// "detail" or at the top level, a plain "detail" string, and 422 validation arrays,
// whose items become details with dotted field paths (for example "node_id"). Other
// bodies, such as an HTML page from a proxy, give an *APIError whose message quotes a
// short sanitized excerpt and which wraps [ErrUnexpectedBody].
//
// Test codes with errors.Is and the Err… sentinels, one per catalogue code, and reach
// the details with errors.As:
//
//	if errors.Is(err, phala.ErrInsufficientSlots) { ... }
//	var apiErr *phala.APIError
//	if errors.As(err, &apiErr) {
//		hash, _ := apiErr.Detail("compose_hash")
//	}
//
// [IsAuthError] (401, 403), [IsValidationError] (422), [IsBusinessError] (other 4xx,
// including 409 and the 465-468 on-chain family) and [IsServerError] (5xx) classify an
// error by status family.
//
// Other errors are typed too: [*OutcomeUnknownError] when a POST may have reached the
// server but its answer was lost (see Retries), [*ResponseError] when a 2xx body is too
// large or not the expected JSON, [*RedirectError] for a refused redirect. Bad options
// wrap [ErrInvalidOption]. Context errors stay visible to errors.Is
// (context.Canceled, context.DeadlineExceeded).
//
// # Retries
//
// Correctness comes first: a retried request must never create a second replica or
// consume a commit token twice. The API has no idempotency keys, so:
//
//   - GET (and HEAD, OPTIONS) are retried after network errors and on HTTP 408, 429,
//     500, 502, 503 and 504. Reading twice is harmless.
//   - POST, and every other method, is retried only when the server provably did not
//     act on it: the connection could not be established (DNS failure, connection
//     refused; no connection was obtained for the attempt), or the answer was 429 or
//     503 with a Retry-After header (the server refused the request before doing any
//     work and said when to come back).
//   - A POST that may have reached the server without an answer coming back (the
//     connection broke or the per-attempt timeout expired after sending, or the
//     context ended while waiting) is never resent: the call returns an
//     [*OutcomeUnknownError] saying how to check the outcome (list the app's CVMs).
//   - An answer carrying an error code (a 409 conflict, a 465 prepare result, ...) is
//     never retried for any method, and neither are certificate errors and refused
//     redirects.
//
// Waits grow exponentially from [RetryPolicy] MinBackoff up to MaxBackoff, with
// jitter (each wait is drawn from [d/2, d]). A Retry-After header, in seconds or as an
// HTTP date, replaces the computed wait; one longer than MaxRetryAfter is not waited
// for and the call returns the answer's error, whose RetryAfter field tells when to try
// again. The number of attempts, first included, is MaxAttempts (default 4; see
// [DefaultRetryPolicy] and [WithRetryPolicy]). Cancelling the context stops a wait at
// once. Each attempt is bounded by [WithTimeout] (default 30 s); the context bounds the
// whole call.
//
// # Logging
//
// With [WithLogger], each attempt writes one debug line with the method, the path
// relative to the base URL, the attempt number, the duration, and the status and
// X-Request-ID of the answer or the error. The API key, request bodies (which may hold
// encrypted_env or other secrets) and response bodies are never logged. Without a
// logger nothing is logged.
//
// # Workflows and request counts
//
// TODO(workflows): describe Replicate, PrepareReplica, CommitReplica, Scale and the
// exact requests each sends.
package phala
