// Package phalatest runs an in-process emulator of the Phala Cloud CVM
// replication API, like net/http/httptest does for HTTP: tests, examples and
// demos exercise replication without an account or real money.
//
//	srv := phalatest.NewServer()
//	defer srv.Close()
//	node := srv.AddNode(phalatest.Node{Name: "tdx-1"})
//	app := srv.AddApp(phalatest.App{Name: "web", KMS: phalatest.KMSCloud})
//	src := srv.AddCVM(phalatest.CVM{AppID: app.ID, NodeID: node.ID})
//	// point a client at srv.URL() with srv.APIKey(), or use srv.Client()
//
// Package [github.com/phalaforge/phala-go/phalatest/sandbox] starts one
// wired to a simulated chain, seeded for the on-chain workflows.
//
// # Wire format
//
// The server speaks the wire format of API version 2026-01-21 (and accepts
// 2025-10-28, for which GET /cvms/{id} has the older shape) under the /api/v1
// prefix:
//
//	GET  /cvms/{id}                                CVM object; the id may be a vm_uuid (dashes optional),
//	                                               app id (app_<hex>, <hex>, 0x<hex>), hashed id, instance id or name
//	GET  /apps/{app_id}/cvms                       bare array of the app's CVM objects
//	GET  /cvms/{id}/attestation                    TDX quote (test PCK chain, see AttestationRoots),
//	                                               event log and app_compose; is_online false unless running
//	GET  /apps/{app_id}/attestations               the same for every instance of the app
//	GET  /teepods/available                        nodes with their remaining capacity, images and KMS list
//	GET  /kms/{kms}/pubkey/{app_id}                the app's X25519 env key signed by the KMS root key
//	POST /cvms/{vm_uuid}/replicas                  {node_id?, encrypted_env?, compose_hash?}; X-Prepare-Only: true
//	POST /apps/{app_id}/cvms/{vm_uuid}/replicas    the same for a vm_uuid of app_id (also takes teepod_id)
//	POST /cvms/{vm_uuid}/commit-replica            {token, compose_hash, transaction_hash}
//
// Every request needs the X-API-Key of a workspace (401 otherwise, with the
// emulator's own code [CodeUnauthorized]); an X-Phala-Version other than
// the two known versions gets 400. Errors use the structured envelope
// {"detail": {"error_code", "message", "details", "suggestions", "links"}},
// with the statuses listed at the Code constants; bodies that do not match
// the request model get FastAPI's 422 {"detail": [{loc, msg, type}]}.
// Unknown paths get FastAPI's 404 {"detail": "Not Found"}. Every answer,
// injected faults included, carries an X-Request-ID unique to its request
// ([RequestIDHeader], recorded as [Request].RequestID).
//
// # Replication
//
// A replicate call on a source on Cloud KMS or without KMS creates the
// replica and answers the VM object (200). For an on-chain KMS app
// ([KMSBase], [KMSEthereum]) the server reads the app's DstackApp contract
// through the backend given with [WithChain]: when the contract already
// allows the compose hash and the target node's device, and X-Prepare-Only
// is not set, it creates the replica; otherwise it answers 465 with the
// prepare payload (compose_hash, app_id, device_id, kms_info, commit_token,
// commit_url, api_commit_url, onchain_status). Its kms_info is a KMS entry
// (id, slug, url, version, chain_id, kms_contract_address, gateway_app_id),
// as the official SDK types it and as /teepods/available lists KMSs, not
// the CVM object's kms_info. X-Prepare-Only on a Cloud KMS
// or no-KMS source creates the replica by default, since there is nothing
// to approve; [WithPrepareOnlyCommitToken] makes it answer 465 instead.
//
// A commit token is opaque, bound to the source, the node, the compose
// hash and the encrypted_env of its prepare call, valid for [TokenTTL] on
// the server's clock, used at most once, and superseded by a newer prepare
// for the same source and node (466 in every such case, and when
// compose_hash differs). The commit then verifies transaction_hash on chain:
// a successful transaction in which the app's contract emitted
// ComposeHashAdded or DeviceAdded for the prepared values (467 otherwise);
// "already-registered" skips that proof. Finally the contract must allow the
// compose hash and the device (468). Only then is the replica created;
// capacity and credit are checked again at that point.
//
// An app with several live compose hashes needs compose_hash in the
// replicate body (409 ERR-03-009 otherwise, creating nothing); GET
// /cvms/{app_id} of an app with several live CVMs is 409 ERR-03-010. Node
// capacity (vCPU, memory, slots), the source's OS image on the node and the
// workspace's credit are checked before anything is created; each replica
// is charged its first hour.
//
// # Keys and env
//
// Each app has an X25519 env key derived from its KMS and app id, as dstack
// derives it, so every replica of an app shares it. GET
// /kms/{kms}/pubkey/{app_id} signs it with the KMS root secp256k1 key
// ([Server.KMSRootPublicKey], settable with [WithKMSRootKey] so that a
// DstackKms contract can hold the same key). Cloud KMS CVMs carry the key
// in kms_info.encrypted_env_pubkey.
//
// Every encrypted_env received is decrypted with the rules of dstack-util
// (envcrypt.DecryptEnv with the compose revision's allowed_envs) and the
// result recorded on the replica: [Server.Replica] returns what the
// application would see, the names dropped, or the error that fails the
// boot. A replica without encrypted_env inherits its source's env.
//
// # Time
//
// A new replica is "creating", then "starting", then "running" (or "error"
// with boot_error when its boot fails: see [Server.FailNextBoot] and env
// errors), on the clock given with [WithClock] plus every [Server.Advance].
// Token expiry follows the same time. Nothing runs in the background.
//
// # Faults and recording
//
// [Server.FailNext] injects a status (429 with Retry-After, 5xx, HTML pages
// of a proxy), latency, a connection dropped after the request was
// processed, or a truncated answer into the next matching requests;
// [Server.SetLatency] delays all of them. [Server.Requests] returns every
// request received, [Server.Replicas] every replica created.
//
// # Assumptions
//
// The emulator follows Phala Cloud's documentation and what the official
// TypeScript SDK (0.2.9) and CLI (1.1.18) send and accept. Where those are
// silent it does what a careful client should expect; these behaviours are
// assumptions, not observed service behaviour:
//
//   - the HTTP status of codes the documentation gives none for: 409 for
//     ERR-03-010 (the identifier matches several CVMs), ERR-03-009,
//     ERR-03-002 and the capacity codes ERR-02-002 to ERR-02-005; 403 for
//     ERR-03-003 and ERR-03-008; 422 for ERR-03-006; 402 for ERR-04-001;
//     404 for ERR-01-001, ERR-03-001 and ERR-02-011; 401 with the
//     emulator's own [CodeUnauthorized] for a bad API key;
//   - a new 465 for the same source and node supersedes every earlier
//     commit token of that pair (the documentation says tokens can be
//     superseded, not by what), and a token commits at most once;
//   - X-Prepare-Only on a Cloud KMS or no-KMS source creates the replica
//     (see [WithPrepareOnlyCommitToken] for the other reading);
//   - the 465's kms_info is a KMS entry, and onchain_status has exactly
//     compose_hash_allowed, device_id_allowed, is_allowed and
//     allow_any_device: the service's exact objects are not documented;
//   - GET /kms/{kms}/pubkey/{app_id} accepts the kms_type values (base,
//     ethereum) as well as KMS slugs;
//   - compose hashes are answered as bare lowercase hex, and accepted with
//     or without 0x;
//   - X-Request-ID is sent on every answer, in the format of
//     [RequestIDHeader];
//   - a commit accepts a transaction whose logs show the app's contract
//     adding the compose hash or the device, whoever sent it (a Safe), and
//     checks capacity and credit again before creating the replica;
//   - provisioning times ([DefaultCreatingDelay], [DefaultStartingDelay])
//     and the first hour charged at creation.
package phalatest
