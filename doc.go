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
// server but its outcome is unknown (see Retries), [*ResponseError] when a 2xx body is
// too large or not the expected JSON ([*UnreadableCreatedError] wrapping it for a
// POST, which the server acted on), [*RedirectError] for a refused redirect. Bad options
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
//   - POST, and every other method, is resent only when the server provably did not
//     see it: the connection could not be established (DNS failure, connection
//     refused; no connection was obtained for the attempt). After any answer it is
//     never resent: a gateway can answer 502, 503 (even with Retry-After) or 504
//     after the API acted on the request.
//   - A POST whose outcome is unknown is never resent: the call returns an
//     [*OutcomeUnknownError] saying how to check the outcome (list the app's CVMs).
//     That is the case when no answer came back (the connection broke or the
//     per-attempt timeout expired after sending, or the context ended while
//     waiting), when the answer was any 5xx (a gateway's 502, 503 or 504, or a 500
//     the API may send after it wrote; the error also wraps the
//     [*APIError]), and when it was a redirect: no redirect of a POST is followed,
//     and the [*RedirectError] it wraps names only the Location's origin. A 429 is
//     a refusal: an [*APIError] whose RetryAfter says when to try again.
//   - A POST answered 2xx whose body cannot be read (cut short, not JSON, empty,
//     too large) is an [*UnreadableCreatedError]: the server acted, so the replica
//     exists; find it with [Client.ListReplicas] or [Client.GetCVM].
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
// The replication guide's three workflows map to these calls:
//
//   - Simple (Cloud KMS, or an on-chain app whose prerequisites are met):
//     [Client.Replicate].
//   - Automatic on-chain: [Client.Replicate] with [ReplicateRequest].Registrar (an
//     *onchain.Registrar). On HTTP 465 it checks the payload against the source,
//     registers what is missing and commits, in one call.
//   - Manual (multisig): [Client.PrepareReplica] returns a [PreparedReplica], which
//     marshals to JSON; the owners register its compose hash and device (for
//     example from a Safe); [Client.CommitPrepared] or [Client.CommitReplica]
//     finishes. Without a Registrar, Replicate returns an [*ApprovalRequiredError]
//     (an [*ErrOnchainPrerequisite] for errors.As) for the same purpose:
//     [AsPrepared] turns it, or an [*AutoRegistrationError], into the
//     PreparedReplica to store and commit.
//
// [Client.Scale] creates several replicas with bounded concurrency and reports each
// outcome; [Client.WaitForReplica] polls a replica until it runs or fails, and
// [Client.WaitForReplicas] waits for several at once; [Client.ListReplicas] lists
// an app's instances; [Client.GetCVM] reads the CVM a
// source names; [Client.EncryptEnv] encrypts variables to an app's verified env key;
// [Client.VerifyReplica] checks a replica's TDX attestation with package attest (see
// "Verifying replicas" below).
//
// # Verifying replicas
//
// [Client.VerifyReplica] verifies one CVM; [WaitOptions].Verify verifies each replica
// once it runs (WaitForReplica, WaitForReplicas), and [ApplyOptions].Verify every new
// replica of a set before any removal. A failed check is an [*attest.CheckError]
// naming the check and the two values compared (in the workflows wrapped in a
// [*VerificationError], one per replica, marshalled as "verification_failure").
//
// A pass proves: the TDX quote was signed by a platform whose PCK chain verifies up to
// Intel's SGX Root CA (never the emulator's test root unless a caller passes it with
// attest.WithTrustedRoots); the event log replays to the quote's RTMR3; and the CVM
// measured at boot the expected app id and compose hash (SHA-256 of the app_compose
// served), and, when GET /cvms/{id} reports one, the same instance id.
//
// It does not prove: that the platform is patched (without collateral, attest.WithCollateral
// or attest.WithPCCS, the TCB status is Unknown; with it the status is reported, and
// judged only with attest.WithAcceptedTCBStatuses); that the OS image is one you
// trust (MRTD and RTMR0-2 are reported, judged only against attest.WithAllowedMRTD and
// attest.WithAllowedRTMR pins); that the quote is fresh (report data is not checked);
// anything measured after boot but missing from the log, nor the env values the
// replica was given. By default the expected compose hash is the one the API reports
// for the replica (WaitOptions, VerifyReplica) or the plan's (ApplyOptions): pass the
// source's, or the one approved on chain, in [VerifyOptions].ComposeHash to take the
// API's word out of the check.
//
// A source is a vm_uuid (dashes optional, any UUID version; normalised to the
// lowercase dashed form, which is what the API returns in vm_uuid and what is sent
// in every path), an app id (app_<40 hex>, 0x<40 hex> or 40 hex digits) or a CVM
// name. Identifiers and hashes are validated, and path segments escaped, before
// anything is sent; bad input is an [*InvalidArgumentError].
//
// Each workflow sends only the requests it needs. The source CVM is read (GET
// /cvms/{id}) only when something needs it, and at most once per call:
//
//	Replicate, vm_uuid source, node by ID or none,  POST /cvms/{vm_uuid}/replicas     1 request
//	no env, answered 2xx
//	+ source given by name or app id                 GET /cvms/{id}                   +1
//	+ app id with several CVMs (ERR-03-010)          GET /apps/{app_id}/cvms          +1
//	+ node given by name                             GET /teepods/available           +1
//	+ Env (Cloud KMS)                                GET /cvms/{vm_uuid} if not read  +0 or 1
//	+ Env (on-chain KMS)                             ... and GET /kms/{type}/pubkey/{app_id},
//	                                                 plus one eth_call of kmsInfo() when
//	                                                 a chain backend is configured    +1 or 2
//	+ ERR-03-009 for a vm_uuid or name source        GET /cvms/{vm_uuid} if not read,
//	                                                 then the POST once more          +1 or 2
//	+ HTTP 465                                       GET /cvms/{vm_uuid} if not read,
//	                                                 to check the payload             +0 or 1
//	+ HTTP 465 naming a device, node not by name     GET /teepods/available, once per
//	                                                 call (Scale: once for all n)     +1
//	+ HTTP 465 with a Registrar                      the Registrar's chain reads and
//	                                                 writes, then POST .../commit-replica +1
//	PrepareReplica                                   as Replicate up to the 465, with
//	                                                 X-Prepare-Only: true
//	CommitReplica, CommitPrepared                    POST /cvms/{vm_uuid}/commit-replica   1
//	Scale(n)                                         the resolution above once, then n
//	                                                 replicate workflows
//	WaitForReplica(s)                                GET /cvms/{vm_uuid} per poll and replica
//	ListReplicas                                     GET /apps/{app_id}/cvms              1
//	GetCVM                                           GET /cvms/{id}                       1
//	VerifyReplica                                    GET /cvms/{id}/attestation, and
//	                                                 GET /cvms/{id} unless opts give the
//	                                                 CVM or both expectations         1 or 2
//	EncryptEnv                                       GET /cvms/{id} (+ the Env lines above)
//
// No POST is ever resent once it may have reached the server: a lost answer gives an
// error wrapping [*OutcomeUnknownError] that says to compare [Client.ListReplicas]
// before trying again. The two exceptions are answers that prove nothing was
// created: ERR-03-009 (resent once with the source's compose hash) and, right after
// an automatic registration, ERR-01-007/ERR-01-008 while the server's chain node
// catches up (see [WithCommitRetry]). A commit whose outcome is unknown ends that
// loop, and a 466 to such a resent commit is an outcome unknown too (the earlier
// attempt may have used the token): list the replicas, do not prepare again.
//
// An HTTP 465 payload is never handed out or signed unchecked: its app_id must be
// the source's app, its compose_hash the source's (or the requested one), its KMS
// chain the source's (the source is read for it on every path; a payload naming no
// chain gets the source's) and its device_id the device of the node asked for, or
// of one of the workspace's available nodes when the platform schedules it;
// otherwise the call fails with a [*PayloadMismatchError] and nothing is registered
// or handed out for a Safe batch. A device that cannot be checked (node list
// unreadable, node not listed or listed without a device_id) is a
// [*DeviceUnverifiedError], with the same effect. With a Registrar that has
// EnsureRegisteredChecked (an *onchain.Registrar does), the check's GETs run beside
// its first chain read, which only reads; nothing is signed until the check has
// passed. A 465 whose body cannot be read (truncated, oversized,
// not JSON) or that names no commit token fails the same way before anything is
// signed, with the [*APIError] (wrapping [ErrUnexpectedBody] or
// [ErrResponseTooLarge]) or [onchain.ErrMalformedPrerequisite].
//
// An on-chain KMS's env encryption key is used only after its signature verifies
// against a KMS root key the API cannot forge: one pinned with
// [WithTrustedKMSRootKeys], or the DstackKms contract's, read through
// [WithKMSChainBackend], [WithKMSChainRPC] or [WithKMSChains]. Without any, the call
// fails with [*NoKMSTrustRootError] unless [WithoutKMSSignatureVerification] is
// given. Cloud KMS keys carry no signature; they are as trustworthy as the API.
//
// # Replica sets
//
// A [ReplicaSet] declares how many replicas of an app's configuration run where:
// placements of Count replicas on a node, on a region's nodes, or anywhere, plus
// vm_uuids that must never be removed. [ParseReplicaSet] reads it from JSON or YAML
// (the file phala-replicate plan and apply take); a bad spec is a [*SpecError]
// naming the field, before any request that writes.
//
// [Client.PlanReplicaSet] is read-only: the app's instances (GET
// /apps/{app_id}/cvms, after GET /cvms/{id} for a vm_uuid or name source), the nodes
// (GET /teepods/available) and, for an Onchain KMS app given [PlanOptions], the
// DstackApp contract's state for the compose hash and every target device in one
// JSON-RPC batch. The [ReplicaSetPlan] lists the creates (a region placement spreads
// over its nodes), the removals (failed and stopped instances first, then the newest;
// never a protected one) and the on-chain work: the compose hash and the union of the
// devices not yet allowed. It prints as a diff, marshals to JSON and carries the
// fingerprint of the state it was computed from.
//
// [Client.ApplyReplicaSet] refuses a plan whose state changed ([*StalePlanError],
// nothing written), registers the whole set's on-chain work with one send and one
// confirmation wait ([ApplyOptions].Registrar), or, without a key, prepares one
// replica per target node and returns ONE Safe batch and a [PreparedSet] (store it
// with [WritePreparedSet], commit it with [Client.CommitPreparedSet] once the Safe
// has executed the batch; a rerun resumes). Creates run concurrently; removals of
// live instances run only once every new replica runs, so a move never drops below
// the declared count; each removal is a [Client.DeleteCVM] checked against the app.
// A failed item does not stop the others ([*ApplyError]); applying a new plan
// converges without creating anything twice.
//
// Pruning is opt-in ([PlanOptions].PruneDevices, [ApplyOptions].PruneDevices):
// after the removals, the devices of listed nodes that no longer host any
// instance of the app, and that the DstackApp contract still allows, are taken
// off its allow-list, with the Registrar in one send and one wait (a
// [DeviceRemover]) or as ONE Safe batch of removeDevice calls. The device of a
// node that keeps or gets an instance (protected, stopped or of another compose
// hash included), or where a removal did not succeed, is never removed, and
// nothing is pruned while the device of such a node is unknown.
package phala
