// Package reliability holds the fault matrix test of the SDK: every workflow
// (simple, with env, auto-registered, prepare + commit, scale) run against the
// phalatest emulator and a simulated chain while one fault is injected (latency
// spike, 429 with Retry-After, 502 HTML, 503, connection reset before or after
// the server processed the request, truncated JSON, oversized body, wrong
// content type, RPC node down, reverted transaction, receipt timeout, context
// cancelled mid-way).
//
// The package has no API; run it with
//
//	go test -race -run TestFaultMatrix -v ./reliability
//
// The results are described in docs/reliability.md.
package reliability
