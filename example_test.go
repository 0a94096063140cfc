package phala_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	phala "github.com/phalaforge/phala-go"
)

func ExampleNewClient() {
	// Without WithAPIKey the key comes from PHALA_CLOUD_API_KEY, and NewClient fails
	// with ErrMissingAPIKey when neither is set.
	c, err := phala.NewClient(
		phala.WithAPIKey("sk-example-key"),
		phala.WithBaseURL("https://cloud-api.phala.com/api/v1"),
		phala.WithRetryPolicy(phala.RetryPolicy{
			MaxAttempts:   3,
			MinBackoff:    500 * time.Millisecond,
			MaxBackoff:    4 * time.Second,
			MaxRetryAfter: 30 * time.Second,
		}),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.BaseURL())
	fmt.Println(c) // the key is never printed
	// Output:
	// https://cloud-api.phala.com/api/v1
	// phala.Client{base: https://cloud-api.phala.com/api/v1, version: 2026-01-21, key: [REDACTED]}
}

func ExampleNewClient_insecureHTTP() {
	// Plain http is refused for a remote host: the API key would travel in clear text.
	_, err := phala.NewClient(phala.WithAPIKey("sk-example-key"), phala.WithBaseURL("http://api.example.com/api/v1"))
	fmt.Println(errors.Is(err, phala.ErrInsecureBaseURL))
	// Output:
	// true
}

func ExampleAPIError() {
	// A stand-in for the API that answers the replicate call with a structured error.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-ID", "req-5b1e0c")
		w.WriteHeader(http.StatusConflict)
		fmt.Fprint(w, `{"detail": {"error_code": "ERR-02-005", "message": "Insufficient slots on node 7",
			"details": [{"field": "node_id", "value": 7}],
			"suggestions": ["Pick another node or let the scheduler choose"]}}`)
	}))
	defer srv.Close()

	c, err := phala.NewClient(phala.WithAPIKey("sk-example-key"), phala.WithBaseURL(srv.URL+"/api/v1"))
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.Replicate(context.Background(), "550e8400-e29b-41d4-a716-446655440000", phala.ReplicateRequest{})

	// Test the code with errors.Is and the Err… sentinels.
	if errors.Is(err, phala.ErrInsufficientSlots) {
		fmt.Println("no free slot on that node")
	}
	// Reach the details with errors.As.
	var apiErr *phala.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Code, apiErr.RequestID)
		node, _ := apiErr.Detail("node_id")
		fmt.Println("node:", string(node))
		fmt.Println("suggestion:", apiErr.Suggestions[0])
		fmt.Println("business error:", apiErr.IsBusinessError())
		fmt.Println(apiErr)
	}
	// Output:
	// no free slot on that node
	// 409 ERR-02-005 req-5b1e0c
	// node: 7
	// suggestion: Pick another node or let the scheduler choose
	// business error: true
	// phala: ERR-02-005 (HTTP 409): Insufficient slots on node 7 [request req-5b1e0c]
}
