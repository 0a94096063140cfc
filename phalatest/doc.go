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
// # Wire format
//
// The server speaks the wire format of API version 2026-01-21 (and accepts
// 2025-10-28, for which GET /cvms/{id} has the older shape) under the /api/v1
// prefix:
//
//	GET  /cvms/{id}                                CVM object; the id may be a vm_uuid (dashes optional),
//	                                               app id (app_<hex>, <hex>, 0x<hex>), hashed id, instance id or name
//	GET  /apps/{app_id}/cvms                       bare array of the app's CVM objects
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
// Unknown paths get FastAPI's 404 {"detail": "Not Found"}.
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
// commit_url, api_commit_url, onchain_status). X-Prepare-Only on a Cloud KMS
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
package phalatest
