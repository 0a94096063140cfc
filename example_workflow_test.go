package phala_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	phala "github.com/phalaforge/phala-go"
)

const (
	exSource  = "0f8e7d6c-5b4a-7392-8170-6f5e4d3c2b1a"
	exReplica = "9c8b7a69-5847-4362-a150-f1e2d3c4b5a6"
	exApp     = "7d2f0c4e9a1b3c5d7e9f0a1b2c3d4e5f6a7b8c9d"
	exHash    = "3a1f5c7e9b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d2f4a"
	exDevice  = "4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f"
)

// exampleAPI is a small stand-in for the Phala Cloud API speaking its wire format.
// With onchain set, the source's app is on an on-chain KMS: a replicate call is
// answered with HTTP 465 and the prepare payload. Each request is printed.
func exampleAPI(onchain bool) *httptest.Server {
	reply := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	vm := map[string]any{"id": 4711, "name": "web-replica", "status": "creating", "teepod_id": 7,
		"vm_uuid": exReplica, "app_id": exApp, "vcpu": 2, "memory": 4096, "disk_size": 40}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("API: %s %s %s (prepare-only: %q)\n", r.Method, r.URL.Path, body, r.Header.Get("X-Prepare-Only"))
		if !onchain {
			reply(w, http.StatusOK, vm)
			return
		}
		detail := func(f string, v any) map[string]any { return map[string]any{"field": f, "value": v} }
		reply(w, 465, map[string]any{"detail": map[string]any{
			"error_code": "ERR-01-005", "message": "Compose hash registration required on-chain",
			"details": []any{
				detail("compose_hash", exHash), detail("app_id", exApp), detail("device_id", exDevice),
				detail("kms_info", map[string]any{"chain_id": 8453, "dstack_app_address": "0x" + exApp}),
				detail("commit_token", "ct_6d1f0a9e8b7c"),
				detail("commit_url", "https://cloud.phala.com/commit/ct_6d1f0a9e8b7c"),
				detail("onchain_status", map[string]any{"compose_hash_allowed": false, "device_id_allowed": true, "is_allowed": false}),
			}}})
	})
	mux.HandleFunc("GET /api/v1/cvms/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("API: %s %s\n", r.Method, r.URL.Path)
		reply(w, http.StatusOK, map[string]any{"id": "cvm_1", "name": "web", "status": "running",
			"vm_uuid": exSource, "app_id": exApp, "compose_hash": exHash, "kms_type": "base",
			"kms_info": map[string]any{"chain_id": 8453, "dstack_app_address": "0x" + exApp}})
	})
	mux.HandleFunc("GET /api/v1/teepods/available", func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("API: %s %s\n", r.Method, r.URL.Path)
		reply(w, http.StatusOK, map[string]any{"tier": "pro", "nodes": []any{
			map[string]any{"teepod_id": 7, "name": "prod-7", "device_id": exDevice, "listed": true, "support_onchain_kms": true},
		}})
	})
	mux.HandleFunc("POST /api/v1/cvms/{uuid}/commit-replica", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("API: %s %s %s\n", r.Method, r.URL.Path, body)
		reply(w, http.StatusOK, vm)
	})
	return httptest.NewServer(mux)
}

func exampleClient(srv *httptest.Server, opts ...phala.Option) *phala.Client {
	c, err := phala.NewClient(append([]phala.Option{
		phala.WithBaseURL(srv.URL + "/api/v1"),
		phala.WithAPIKey("sk-example"),
	}, opts...)...)
	if err != nil {
		log.Fatal(err)
	}
	return c
}

// Replicating by vm_uuid onto node 7 takes exactly one request.
func ExampleClient_Replicate() {
	srv := exampleAPI(false)
	defer srv.Close()
	c := exampleClient(srv)

	vm, err := c.Replicate(context.Background(), exSource, phala.ReplicateRequest{Node: "7"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("replica %s is %s on node %d\n", vm.VMUUID, vm.Status, vm.TeepodID)
	// Output:
	// API: POST /api/v1/cvms/0f8e7d6c-5b4a-7392-8170-6f5e4d3c2b1a/replicas {"node_id":7} (prepare-only: "")
	// replica 9c8b7a69-5847-4362-a150-f1e2d3c4b5a6 is creating on node 7
}

// The multisig workflow: prepare, store the payload for the approvers, and commit
// once the compose hash is registered on chain, possibly days later in another
// process.
func ExampleClient_PrepareReplica() {
	srv := exampleAPI(true)
	defer srv.Close()
	ctx := context.Background()
	prepared := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := exampleClient(srv, phala.WithClock(func() time.Time { return prepared }))

	p, err := c.PrepareReplica(ctx, exSource, phala.ReplicateRequest{Node: "7"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("register compose hash", p.ComposeHash, "on app", p.AppID)
	fmt.Println("compose hash allowed:", p.OnchainStatus.ComposeHashAllowed, "device allowed:", p.OnchainStatus.DeviceIDAllowed)
	fmt.Println("commit before", p.ExpiresAt.Format(time.DateOnly))
	saved, err := json.Marshal(p)
	if err != nil {
		log.Fatal(err)
	}

	// Later, after the Safe executed addComposeHash in transaction txHash:
	var resumed phala.PreparedReplica
	if err := json.Unmarshal(saved, &resumed); err != nil {
		log.Fatal(err)
	}
	txHash := "0x" + exHash // the addComposeHash transaction
	later := exampleClient(srv, phala.WithClock(func() time.Time { return prepared.Add(72 * time.Hour) }))
	vm, err := later.CommitPrepared(ctx, &resumed, txHash)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created", vm.VMUUID)
	// Output:
	// API: POST /api/v1/cvms/0f8e7d6c-5b4a-7392-8170-6f5e4d3c2b1a/replicas {"node_id":7} (prepare-only: "true")
	// API: GET /api/v1/cvms/0f8e7d6c-5b4a-7392-8170-6f5e4d3c2b1a
	// API: GET /api/v1/teepods/available
	// register compose hash 3a1f5c7e9b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d2f4a on app 7d2f0c4e9a1b3c5d7e9f0a1b2c3d4e5f6a7b8c9d
	// compose hash allowed: false device allowed: true
	// commit before 2026-03-15
	// API: POST /api/v1/cvms/0f8e7d6c-5b4a-7392-8170-6f5e4d3c2b1a/commit-replica {"token":"ct_6d1f0a9e8b7c","compose_hash":"3a1f5c7e9b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d2f4a","transaction_hash":"0x3a1f5c7e9b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d2f4a"}
	// created 9c8b7a69-5847-4362-a150-f1e2d3c4b5a6
}

// Without a Registrar, Replicate returns the on-chain prerequisite of an app on an
// on-chain KMS, already checked against the source CVM and the node list (the
// device must be a node's of the workspace). Register what it names, then commit.
func ExampleErrOnchainPrerequisite() {
	srv := exampleAPI(true)
	defer srv.Close()
	ctx := context.Background()
	c := exampleClient(srv)

	_, err := c.Replicate(ctx, exSource, phala.ReplicateRequest{})
	var pre *phala.ErrOnchainPrerequisite
	if !errors.As(err, &pre) {
		log.Fatal(err)
	}
	fmt.Println(errors.Is(err, phala.ErrHashRegistrationRequired))
	fmt.Println(pre) // says what is missing; never shows the commit token
	// ... addComposeHash(pre.ComposeHash) on the DstackApp at pre.AppID, e.g. with
	// onchain.Registrar or a Safe batch from onchain.SafeTransactions ...
	vm, err := c.CommitReplica(ctx, exSource, phala.CommitRequest{
		Token:           pre.CommitToken,
		ComposeHash:     pre.ComposeHash,
		TransactionHash: phala.AlreadyRegistered,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created", vm.VMUUID)
	// Output:
	// API: POST /api/v1/cvms/0f8e7d6c-5b4a-7392-8170-6f5e4d3c2b1a/replicas {} (prepare-only: "")
	// API: GET /api/v1/cvms/0f8e7d6c-5b4a-7392-8170-6f5e4d3c2b1a
	// API: GET /api/v1/teepods/available
	// true
	// onchain: registration required on the DstackApp contract 0x7d2f0c4e9a1b3c5d7e9f0a1b2c3d4e5f6a7b8c9d: compose hash 0x3a1f5c7e9b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d2f4a not allowed
	// API: POST /api/v1/cvms/0f8e7d6c-5b4a-7392-8170-6f5e4d3c2b1a/commit-replica {"token":"ct_6d1f0a9e8b7c","compose_hash":"3a1f5c7e9b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d2f4a","transaction_hash":"already-registered"}
	// created 9c8b7a69-5847-4362-a150-f1e2d3c4b5a6
}

// Scale reports every outcome, in order.
func ExampleClient_Scale() {
	srv := exampleAPI(false)
	defer srv.Close()
	c := exampleClient(srv)

	results, err := c.Scale(context.Background(), exSource, 2, phala.ReplicateRequest{Node: "7"},
		phala.ScaleOptions{Concurrency: 1})
	for i, r := range results {
		if r.Err != nil {
			fmt.Printf("replica %d failed: %v\n", i, r.Err)
			continue
		}
		fmt.Printf("replica %d: %s\n", i, r.VM.VMUUID)
	}
	fmt.Println("all created:", err == nil)
	// Output:
	// API: POST /api/v1/cvms/0f8e7d6c-5b4a-7392-8170-6f5e4d3c2b1a/replicas {"node_id":7} (prepare-only: "")
	// API: POST /api/v1/cvms/0f8e7d6c-5b4a-7392-8170-6f5e4d3c2b1a/replicas {"node_id":7} (prepare-only: "")
	// replica 0: 9c8b7a69-5847-4362-a150-f1e2d3c4b5a6
	// replica 1: 9c8b7a69-5847-4362-a150-f1e2d3c4b5a6
	// all created: true
}
