package phala

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/onchain"
)

// CommitTokenTTL is how long a commit token stays valid after the prepare call that
// returned it (ERR-01-006 afterwards).
const CommitTokenTTL = 14 * 24 * time.Hour

// ErrReplicaCreated is matched by [*ReplicaCreatedError].
var ErrReplicaCreated = errors.New("phala: the replica was created, not prepared")

// ReplicaCreatedError is returned by PrepareReplica when the server answered the
// prepare-only request with 2xx: it created the replica at once (for example for a
// Cloud KMS source, which needs no on-chain approval). The replica exists; do not
// prepare or replicate again for it. It matches [ErrReplicaCreated].
type ReplicaCreatedError struct {
	VM *VM // the created replica
}

// Error names the created replica.
func (e *ReplicaCreatedError) Error() string {
	id := ""
	if e.VM != nil {
		id = e.VM.VMUUID
	}
	return fmt.Sprintf("phala: the server created replica %s right away instead of preparing it (no on-chain approval needed); it exists now, do not create it again", id)
}

// Is reports whether target is ErrReplicaCreated.
func (e *ReplicaCreatedError) Is(target error) bool { return target == ErrReplicaCreated }

// MarshalJSON encodes the error as an object: "error" is its message and "vm" the
// created replica.
func (e *ReplicaCreatedError) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Error string `json:"error"`
		VM    *VM    `json:"vm,omitempty"`
	}{e.Error(), e.VM})
}

// ReplicateRequest describes the replica to create. The zero value replicates the
// source as it is, on a node the platform chooses.
type ReplicateRequest struct {
	// Node is where the replica goes: decimal digits are a node (teepod) ID, sent
	// as is; anything else is a node name, matched case-insensitively against GET
	// /teepods/available (unknown or ambiguous names are errors naming the
	// candidates); empty lets the platform schedule.
	Node string
	// NodeID is where the replica goes, by node (teepod) ID, as in VM.TeepodID,
	// Node.ID or Instance.NodeID (0 = not set). Set Node or NodeID, not both.
	NodeID int64
	// ComposeHash selects the app configuration (64 hex digits, 0x optional). It is
	// needed for an app id source whose instances run several configurations; a
	// source naming one instance (vm_uuid or name) means that instance's own.
	ComposeHash string
	// Env replaces the source's environment variables. It is encrypted in the
	// process with EncryptEnv (the plaintext is never sent) and checked against the
	// compose file's allowed_envs when the API exposes them.
	Env []envcrypt.EnvVar
	// EncryptedEnv replaces the environment with an already encrypted blob (hex, as
	// returned by EncryptEnv). Set Env or EncryptedEnv, not both; with neither the
	// replica inherits the source's environment.
	EncryptedEnv string
	// Registrar, when set, makes Replicate handle an HTTP 465 answer itself:
	// after checking the payload against the source it registers what is missing
	// on chain (EnsureRegistered) and commits. *onchain.Registrar implements it.
	// Without one, Replicate returns the *ErrOnchainPrerequisite.
	Registrar Registrar
	// OnSource, when set, is called once with the source CVM if the workflow reads
	// it (a name or app id source, Env, or a 465 check), so a caller can show its
	// team or KMS without a request of its own. It is not called when the workflow
	// had no need to read the source, and never concurrently.
	OnSource func(*CVM)
}

// String describes the request without the values of Env.
func (r ReplicateRequest) String() string {
	names := make([]string, len(r.Env))
	for i, v := range r.Env {
		names[i] = v.Key
	}
	return fmt.Sprintf("phala.ReplicateRequest{Node: %q, NodeID: %d, ComposeHash: %q, Env: %v, EncryptedEnv: %d hex digits, Registrar: %t}",
		r.Node, r.NodeID, r.ComposeHash, names, len(r.EncryptedEnv), r.Registrar != nil)
}

// LogValue describes the request for log/slog without the values of Env.
func (r ReplicateRequest) LogValue() slog.Value {
	names := make([]string, len(r.Env))
	for i, v := range r.Env {
		names[i] = v.Key
	}
	return slog.GroupValue(
		slog.String("node", r.Node),
		slog.Int64("node_id", r.NodeID),
		slog.String("compose_hash", r.ComposeHash),
		slog.Any("env", names),
		slog.Int("encrypted_env_len", len(r.EncryptedEnv)),
		slog.Bool("registrar", r.Registrar != nil),
	)
}

// GoString is like String, so %#v does not print the values of Env either.
func (r ReplicateRequest) GoString() string { return r.String() }

// Format implements [fmt.Formatter] so that no verb (%d, %x, …) prints the values
// of Env: every verb formats String.
func (r ReplicateRequest) Format(f fmt.State, verb rune) { formatSafe(f, verb, r.String(), r.String()) }

// MarshalJSON encodes the request with snake_case keys, every value of Env as
// "[REDACTED]" (see [envcrypt.EnvVar.MarshalJSON]) and Registrar as a boolean:
// whether one is set. The encrypted env is ciphertext and is kept.
func (r ReplicateRequest) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Node         string            `json:"node,omitempty"`
		NodeID       int64             `json:"node_id,omitempty"`
		ComposeHash  string            `json:"compose_hash,omitempty"`
		Env          []envcrypt.EnvVar `json:"env,omitempty"`
		EncryptedEnv string            `json:"encrypted_env,omitempty"`
		Registrar    bool              `json:"registrar"`
	}{r.Node, r.NodeID, r.ComposeHash, r.Env, r.EncryptedEnv, r.Registrar != nil})
}

// replicaBody is the body of POST .../replicas: only the fields set.
type replicaBody struct {
	NodeID       *int64 `json:"node_id,omitempty"`
	ComposeHash  string `json:"compose_hash,omitempty"`
	EncryptedEnv string `json:"encrypted_env,omitempty"`
}

// replication is one replicate call (or the n of a Scale): what it resolved once
// and what it learns along the way, so each fact is fetched at most once.
type replication struct {
	c      *Client
	src    sourceRef
	req    ReplicateRequest // ComposeHash normalised
	appArg string           // ReplicateAppInstance's app id (40 hex), else ""
	uuid   string           // canonical source vm_uuid
	nodeID *int64
	encEnv string

	mu        sync.Mutex
	cvm       *CVM   // the source CVM, once fetched
	recovered string // compose hash adopted after ERR-03-009

	regMu sync.Mutex // serialises Registrar calls (Scale): they compete for nonces

	nodesMu sync.Mutex // held while the node list is fetched, so Scale reads it once
	nodes   *NodeList  // GET /teepods/available, once read (or from resolving a node name)
}

// newReplication validates req, then resolves what must be known before the POST:
// the source (only when it is not a vm_uuid), the node (only when given by name) and
// the encrypted env (only with Env).
func (c *Client) newReplication(ctx context.Context, src sourceRef, appArg string, req ReplicateRequest) (*replication, error) {
	if ctx == nil {
		return nil, errors.New("phala: nil context")
	}
	if req.ComposeHash != "" {
		h, err := normComposeHash("ComposeHash", req.ComposeHash)
		if err != nil {
			return nil, err
		}
		req.ComposeHash = h
	}
	node, err := parseNode(req.Node)
	if err != nil {
		return nil, err
	}
	switch {
	case req.NodeID < 0:
		return nil, invalidArg("NodeID", fmt.Sprint(req.NodeID), "must be a positive node ID (0 = not set)")
	case req.NodeID > 0 && node.set:
		return nil, invalidArg("NodeID", fmt.Sprint(req.NodeID), "set Node or NodeID, not both")
	case req.NodeID > 0:
		node = nodeRef{set: true, id: req.NodeID}
	}
	r := &replication{c: c, src: src, req: req, appArg: appArg}
	switch {
	case len(req.Env) > 0 && req.EncryptedEnv != "":
		return nil, invalidArg("EncryptedEnv", "", "set Env or EncryptedEnv, not both")
	case len(req.Env) > 0:
		if err := envcrypt.Validate(req.Env); err != nil {
			return nil, err
		}
	case req.EncryptedEnv != "":
		if r.encEnv, err = normEncryptedEnv(req.EncryptedEnv); err != nil {
			return nil, err
		}
	}

	if src.kind == sourceUUID {
		r.uuid = src.uuid
	} else {
		cvm, err := c.resolveSource(ctx, src, req.ComposeHash)
		if err != nil {
			return nil, err
		}
		r.cvm = cvm
		r.uuid, _ = canonicalUUID(cvm.VMUUID)
		if req.OnSource != nil {
			req.OnSource(cvm)
		}
	}
	if r.nodeID, r.nodes, err = c.resolveNode(ctx, node); err != nil {
		return nil, err
	}
	if len(req.Env) > 0 {
		cvm, err := r.sourceCVM(ctx)
		if err != nil {
			return nil, err
		}
		if r.encEnv, err = c.encryptEnvFor(ctx, cvm, req.Env); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// normEncryptedEnv validates a pre-encrypted blob and returns it as lowercase hex
// without 0x.
func normEncryptedEnv(s string) (string, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	switch {
	case !isHex(s):
		return "", invalidArg("EncryptedEnv", "", "not hex")
	case len(s)/2 < envcrypt.BlobOverhead:
		return "", invalidArg("EncryptedEnv", "", "%d bytes, shorter than a key, an IV and a tag (%d)", len(s)/2, envcrypt.BlobOverhead)
	case len(s)/2 > envcrypt.MaxBlobSize:
		return "", invalidArg("EncryptedEnv", "", "%d bytes, above the %d a CVM accepts", len(s)/2, envcrypt.MaxBlobSize)
	}
	return strings.ToLower(s), nil
}

func (r *replication) vmUUID() string { return r.uuid }

func (r *replication) cachedCVM() *CVM {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cvm
}

// sourceCVM returns the source CVM, fetching it (GET /cvms/{vm_uuid}) on first use.
func (r *replication) sourceCVM(ctx context.Context) (*CVM, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cvm != nil {
		return r.cvm, nil
	}
	cvm, err := r.c.getCVM(ctx, r.uuid)
	if err != nil {
		return nil, err
	}
	if r.appArg != "" {
		if got, ok := appHex(strings.TrimSpace(cvm.AppID)); ok && got != r.appArg {
			return nil, invalidArg("vmUUID", r.uuid, "the CVM belongs to app %s, not app %s", got, r.appArg)
		}
	}
	r.cvm = cvm
	if r.req.OnSource != nil {
		r.req.OnSource(cvm) // under r.mu: never concurrently
	}
	return cvm, nil
}

// nodeList returns the workspace's nodes, reading GET /teepods/available on first
// use (at most once per replication, whatever the number of Scale attempts; never
// when the node was resolved by name, which already read it). A failed read is not
// kept: the next 465 tries again.
func (r *replication) nodeList(ctx context.Context) (*NodeList, error) {
	r.nodesMu.Lock()
	defer r.nodesMu.Unlock()
	if r.nodes != nil {
		return r.nodes, nil
	}
	list, err := r.c.ListNodes(ctx)
	if err != nil {
		return nil, err
	}
	r.nodes = list
	return list, nil
}

// expectedApp returns the app id a 465 payload must name, and where it comes from.
func (r *replication) expectedApp(ctx context.Context) (app, from string, err error) {
	switch {
	case r.appArg != "":
		return r.appArg, "app id argument", nil
	case r.src.kind == sourceApp:
		return r.src.app, "source app id", nil
	}
	cvm, err := r.sourceCVM(ctx)
	if err != nil {
		return "", "", fmt.Errorf("phala: reading the source CVM to check the HTTP 465 payload: %w", err)
	}
	return strings.TrimSpace(cvm.AppID), "source CVM", nil
}

// expectedComposeHash returns the compose hash a 465 payload must name.
func (r *replication) expectedComposeHash(ctx context.Context) (hash, from string, err error) {
	if r.req.ComposeHash != "" {
		return r.req.ComposeHash, "request", nil
	}
	r.mu.Lock()
	recovered := r.recovered
	r.mu.Unlock()
	if recovered != "" {
		return recovered, "source CVM", nil
	}
	cvm, err := r.sourceCVM(ctx)
	if err != nil {
		return "", "", fmt.Errorf("phala: reading the source CVM to check the HTTP 465 payload: %w", err)
	}
	return strings.TrimSpace(cvm.ComposeHash), "source CVM", nil
}

func (r *replication) body() replicaBody {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := replicaBody{NodeID: r.nodeID, ComposeHash: r.req.ComposeHash, EncryptedEnv: r.encEnv}
	if b.ComposeHash == "" {
		b.ComposeHash = r.recovered
	}
	return b
}

func (r *replication) postPath() string {
	if r.appArg != "" {
		return pathf("/apps/%s/cvms/%s/replicas", r.appArg, r.uuid)
	}
	return pathf("/cvms/%s/replicas", r.uuid)
}

// knownAppID is the source's app id as far as it is known without a request,
// for the advice of an error; "" when unknown.
func (r *replication) knownAppID() string {
	switch {
	case r.appArg != "":
		return "app_" + r.appArg
	case r.src.kind == sourceApp:
		return "app_" + r.src.app
	}
	if cvm := r.cachedCVM(); cvm != nil {
		return cvm.AppID
	}
	return ""
}

// send POSTs the replicate request. It returns the created VM, or the
// prerequisite of a 465 answer (checked by crossCheck unless uncheckedOK: then
// the caller checks it), or an error. An ERR-03-009 answer (several live
// compose hashes, nothing created) is recovered once for a source naming one
// instance by resending with that instance's compose hash.
func (r *replication) send(ctx context.Context, prepareOnly, uncheckedOK bool) (*VM, *ErrOnchainPrerequisite, error) {
	var header http.Header
	if prepareOnly {
		header = http.Header{"X-Prepare-Only": {"true"}}
	}
	for recoveredOnce := false; ; recoveredOnce = true {
		var vm VM
		res, err := r.c.do(ctx, request{method: http.MethodPost, path: r.postPath(), body: r.body(), header: header}, &vm)
		if err == nil {
			if err := checkNewReplica(http.MethodPost, r.postPath(), res, &vm, r.uuid, r.knownAppID()); err != nil {
				return nil, nil, err
			}
			return &vm, nil, nil
		}
		// The error names the source and says once how to find the replica.
		var unknown *OutcomeUnknownError // before *APIError: it may wrap a 5xx
		if errors.As(err, &unknown) {
			unknown.SourceVMUUID, unknown.AppID = r.uuid, r.knownAppID()
			return nil, nil, err
		}
		var unreadable *UnreadableCreatedError
		if errors.As(err, &unreadable) {
			unreadable.SourceVMUUID, unreadable.AppID = r.uuid, r.knownAppID()
			return nil, nil, err
		}
		var apiErr *APIError
		if !errors.As(err, &apiErr) {
			return nil, nil, err
		}
		if is465(apiErr) {
			pre, err := prerequisiteFrom(apiErr)
			if err != nil {
				return nil, nil, err
			}
			if !uncheckedOK {
				if err := r.crossCheck(ctx, pre); err != nil {
					return nil, nil, err
				}
			}
			return nil, pre, nil
		}
		if apiErr.Code != CodeMultipleLiveComposeHashes || recoveredOnce {
			return nil, nil, err
		}
		if err := r.recoverComposeHash(ctx, apiErr); err != nil {
			return nil, nil, err
		}
	}
}

// recoverComposeHash handles ERR-03-009. For a source naming one instance it adopts
// that instance's compose hash; for an app id it lists the live compose hashes.
func (r *replication) recoverComposeHash(ctx context.Context, apiErr *APIError) error {
	if r.body().ComposeHash != "" {
		return apiErr // a compose hash was sent: nothing to learn
	}
	if r.src.kind == sourceApp {
		list, err := r.c.listAppCVMs(ctx, r.src.app)
		if err != nil {
			return apiErr
		}
		var live []*CVM
		for _, c := range list {
			if isLiveStatus(c.Status) {
				live = append(live, c)
			}
		}
		if hashes := distinctHashes(live); len(hashes) > 1 {
			return &MultipleComposeHashesError{AppID: "app_" + r.src.app, ComposeHashes: hashes, Cause: apiErr}
		}
		return apiErr
	}
	cvm, err := r.sourceCVM(ctx)
	if err != nil {
		return fmt.Errorf("phala: reading the source CVM's compose hash after %v: %w", apiErr, err)
	}
	h, err := normComposeHash("compose_hash", cvm.ComposeHash)
	if err != nil {
		return apiErr
	}
	r.mu.Lock()
	r.recovered = h
	r.mu.Unlock()
	return nil
}

// replicate runs the whole workflow once: POST, then on a 465 either return the
// prerequisite or, with a Registrar, register and commit.
func (r *replication) replicate(ctx context.Context) (*VM, error) {
	// With a Registrar, registerAndCommit checks the 465 while the chain is read.
	vm, pre, err := r.send(ctx, false, r.req.Registrar != nil)
	if err != nil {
		return nil, err
	}
	if pre == nil {
		return vm, nil
	}
	at := r.c.now()
	if r.req.Registrar == nil {
		return nil, &ApprovalRequiredError{SourceVMUUID: r.vmUUID(), PreparedAt: at, Prerequisite: pre}
	}
	vm, err = r.registerAndCommit(ctx, pre)
	var auto *AutoRegistrationError
	if errors.As(err, &auto) && auto.PreparedAt.IsZero() {
		auto.PreparedAt = at
	}
	return vm, err
}

// Replicate creates a replica of source: POST /cvms/{vm_uuid}/replicas with
// node_id, compose_hash and encrypted_env, each only when set.
//
// source is what a user types: a vm_uuid (32 hex digits, dashes optional, any UUID
// version), an app id (app_<40 hex>, 0x<40 hex> or 40 hex digits) or a unique CVM
// name. A vm_uuid is used without a lookup; the others are resolved with GET
// /cvms/{id}. An app id with several instances (ERR-03-010) is resolved by listing
// them and picking one with req.ComposeHash; without it, several live compose
// hashes give a [*MultipleComposeHashesError] listing them. If the server answers
// ERR-03-009 for a source naming one instance, Replicate resends once with that
// instance's compose hash (the refused request created nothing).
//
// For a source on an on-chain KMS the server answers HTTP 465. Replicate first
// checks the payload's app_id, compose_hash and KMS chain against the source, and
// its device_id against the node asked for (or the workspace's available nodes when
// none was): a mismatch is a [*PayloadMismatchError], a device the node list cannot
// confirm a [*DeviceUnverifiedError]; nothing is signed. Then, without req.Registrar, it
// returns the [*ErrOnchainPrerequisite] (register, then CommitReplica); with one, it
// registers what is missing and commits, returning the committed replica or an
// [*AutoRegistrationError].
//
// A POST is never resent after it may have reached the server: if its answer is
// lost the error wraps [*OutcomeUnknownError] and says how to check with
// ListReplicas. See the package documentation for the requests each case sends.
func (c *Client) Replicate(ctx context.Context, source string, req ReplicateRequest) (*VM, error) {
	src, err := parseSource(source)
	if err != nil {
		return nil, err
	}
	r, err := c.newReplication(ctx, src, "", req)
	if err != nil {
		return nil, err
	}
	return r.replicate(ctx)
}

// ReplicateAppInstance creates a replica of the instance vmUUID of app appID
// through the app-scoped endpoint POST /apps/{app_id}/cvms/{vm_uuid}/replicas, with
// the same body, checks and 465 handling as Replicate. appID is app_<40 hex>,
// 0x<40 hex> or 40 hex digits (sent as 40 lowercase hex digits); a 465 payload must
// name that app.
func (c *Client) ReplicateAppInstance(ctx context.Context, appID, vmUUID string, req ReplicateRequest) (*VM, error) {
	app, err := parseAppID("appID", appID)
	if err != nil {
		return nil, err
	}
	uuid, err := parseVMUUID("vmUUID", vmUUID)
	if err != nil {
		return nil, err
	}
	r, err := c.newReplication(ctx, sourceRef{kind: sourceUUID, id: uuid, uuid: uuid}, app, req)
	if err != nil {
		return nil, err
	}
	return r.replicate(ctx)
}

// PreparedReplica is the result of PrepareReplica: everything the approvers of the
// on-chain registration and the later commit need. It marshals to and from JSON
// (stable snake_case keys), so a multisig flow can be resumed days later in another
// process: store it, register ComposeHash and DeviceID on the DstackApp contract
// (for example with onchain.SafeTransactions(p.Prerequisite(), ...)), then call
// CommitPrepared. String, Format (every fmt verb) and LogValue hide the commit
// token; the JSON form keeps it, because storing it for the commit is what it is
// for: write it with [WriteFileAtomic] and mode 0o600, and store it as carefully
// as the token itself. Log a PreparedReplica itself, not a slice or a struct
// holding one: slog's JSON handler prints those in their JSON form.
type PreparedReplica struct {
	SourceVMUUID  string                 `json:"source_vm_uuid"`
	CommitToken   string                 `json:"commit_token"`
	ComposeHash   string                 `json:"compose_hash"`
	AppID         string                 `json:"app_id"`
	DeviceID      string                 `json:"device_id,omitempty"`
	KMSInfo       *onchain.KMSInfo       `json:"kms_info,omitempty"`
	OnchainStatus *onchain.OnchainStatus `json:"onchain_status,omitempty"`
	CommitURL     string                 `json:"commit_url,omitempty"`     // dashboard page to approve and commit
	APICommitURL  string                 `json:"api_commit_url,omitempty"` // API URL of the commit
	PreparedAt    time.Time              `json:"prepared_at"`
	ExpiresAt     time.Time              `json:"expires_at"` // PreparedAt + CommitTokenTTL
}

// Prerequisite returns the prepared payload as an *ErrOnchainPrerequisite, the form
// onchain.Registrar and onchain.SafeTransactions take (Cause is nil).
func (p *PreparedReplica) Prerequisite() *ErrOnchainPrerequisite {
	return &ErrOnchainPrerequisite{
		CommitToken: p.CommitToken, ComposeHash: p.ComposeHash, AppID: p.AppID, DeviceID: p.DeviceID,
		CommitURL: p.CommitURL, APICommitURL: p.APICommitURL, OnchainStatus: p.OnchainStatus, KMSInfo: p.KMSInfo,
	}
}

// Expired reports whether the commit token has expired at now.
func (p *PreparedReplica) Expired(now time.Time) bool {
	return !p.ExpiresAt.IsZero() && !now.Before(p.ExpiresAt)
}

// String describes the prepared replica without the commit token.
func (p PreparedReplica) String() string {
	return fmt.Sprintf("phala.PreparedReplica{source: %s, app: %s, compose_hash: %s, device: %s, commit_token: %s, expires: %s}",
		p.SourceVMUUID, p.AppID, p.ComposeHash, p.DeviceID, redacted, p.ExpiresAt.Format(time.RFC3339))
}

// GoString is like String, so %#v does not print the commit token either.
func (p PreparedReplica) GoString() string { return p.String() }

// Format implements [fmt.Formatter] so that no verb (%d, %x, …) prints the commit
// token: every verb formats String. Only the JSON form holds the token.
func (p PreparedReplica) Format(f fmt.State, verb rune) { formatSafe(f, verb, p.String(), p.String()) }

// LogValue describes the prepared replica for log/slog without the commit token.
func (p PreparedReplica) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("source_vm_uuid", p.SourceVMUUID),
		slog.String("app_id", p.AppID),
		slog.String("compose_hash", p.ComposeHash),
		slog.String("device_id", p.DeviceID),
		slog.String("commit_token", redacted),
		slog.Time("expires_at", p.ExpiresAt),
	)
}

// PrepareReplica sends the same request as Replicate with the header
// X-Prepare-Only: true, so nothing is created, and returns the prepare payload of
// the server's HTTP 465 answer, checked against the source like Replicate's. The
// commit token expires after CommitTokenTTL (ExpiresAt, from the client's clock).
//
// If the server answers 2xx instead, it created the replica: PrepareReplica returns
// a [*ReplicaCreatedError] holding it, never a prepared replica. req.Registrar must
// be nil: registration is the approvers' job in this workflow.
func (c *Client) PrepareReplica(ctx context.Context, source string, req ReplicateRequest) (*PreparedReplica, error) {
	if req.Registrar != nil {
		return nil, invalidArg("Registrar", "", "PrepareReplica does not register; use Replicate for the automatic workflow")
	}
	src, err := parseSource(source)
	if err != nil {
		return nil, err
	}
	r, err := c.newReplication(ctx, src, "", req)
	if err != nil {
		return nil, err
	}
	return r.prepare(ctx)
}

// prepare is PrepareReplica for a resolved replication: the replicate request
// with X-Prepare-Only, its 465 checked and turned into a PreparedReplica.
func (r *replication) prepare(ctx context.Context) (*PreparedReplica, error) {
	vm, pre, err := r.send(ctx, true, false)
	switch {
	case err != nil:
		return nil, err
	case vm != nil:
		return nil, &ReplicaCreatedError{VM: vm}
	case pre.CommitToken == "":
		return nil, fmt.Errorf("phala: prepare of %s: the HTTP 465 answer has no commit_token: %w (%w)",
			r.uuid, onchain.ErrMalformedPrerequisite, pre)
	}
	now := r.c.now()
	return &PreparedReplica{
		SourceVMUUID: r.uuid, CommitToken: pre.CommitToken, ComposeHash: pre.ComposeHash, AppID: pre.AppID,
		DeviceID: pre.DeviceID, KMSInfo: pre.KMSInfo, OnchainStatus: pre.OnchainStatus,
		CommitURL: pre.CommitURL, APICommitURL: pre.APICommitURL,
		PreparedAt: now, ExpiresAt: now.Add(CommitTokenTTL),
	}, nil
}

// checkNewReplica refuses, as an *UnreadableCreatedError (the server acted: the
// replica exists but this answer does not identify it), a 2xx answer to a
// replicate or commit whose VM names no valid vm_uuid, the source's own
// vm_uuid, or, when the source's app is known (appID, any accepted form), another
// app. A caller would otherwise wait for, verify or report the wrong CVM.
func checkNewReplica(method, path string, res *response, vm *VM, sourceUUID, appID string) error {
	var problem string
	got, ok := canonicalUUID(vm.VMUUID)
	switch {
	case !ok:
		problem = fmt.Sprintf("names no valid vm_uuid (%q)", oneLine(vm.VMUUID, 64))
	case got == sourceUUID:
		problem = "names the source CVM itself as the replica"
	default:
		want, known := appHex(strings.TrimSpace(appID))
		if known && namesOtherApp(vm.AppID, want) {
			problem = fmt.Sprintf("names app %s, not the source's app_%s", oneLine(vm.AppID, 64), want)
		}
	}
	if problem == "" {
		return nil
	}
	e := &UnreadableCreatedError{Method: method, Path: path, SourceVMUUID: sourceUUID, AppID: appID, VM: vm,
		Err: &ResponseError{Err: fmt.Errorf("the answer %s: %w", problem, ErrUnexpectedBody)}}
	if res != nil {
		e.StatusCode, e.RequestID = res.StatusCode, res.RequestID
		e.Err.(*ResponseError).StatusCode, e.Err.(*ResponseError).RequestID = res.StatusCode, res.RequestID
	}
	return e
}
