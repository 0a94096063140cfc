package onchaintest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
)

// RPCProxy relays JSON-RPC over HTTP to an endpoint (a [Chain]'s URL, say) and
// records each round trip: the methods of its entries, in order. Tests use it
// to count round trips and calls, or, with OnAnswer, to act when a call has
// been answered (mine a block, release a waiting request). Create it with
// [NewRPCProxy] and Close it when done.
type RPCProxy struct {
	// URL is the proxy's endpoint, to dial instead of the target's.
	URL string

	srv      *httptest.Server
	target   string
	onAnswer func(methods []string)

	mu    sync.Mutex
	trips [][]string
}

// NewRPCProxy starts a proxy in front of the JSON-RPC endpoint target. When
// onAnswer is not nil it is called with each round trip's methods once the
// target has answered it, before the answer is relayed.
func NewRPCProxy(target string, onAnswer func(methods []string)) *RPCProxy {
	p := &RPCProxy{target: target, onAnswer: onAnswer}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.srv.URL
	return p
}

// Close stops the proxy.
func (p *RPCProxy) Close() { p.srv.Close() }

// Trips returns the round trips so far, each as the methods of its entries.
func (p *RPCProxy) Trips() [][]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return cloneTrips(p.trips)
}

// Count returns how many entries of the round trips so far call method.
func (p *RPCProxy) Count(method string) int { return countMethod(p.Trips(), method) }

func cloneTrips(trips [][]string) [][]string {
	out := make([][]string, len(trips))
	for i, t := range trips {
		out[i] = slices.Clone(t)
	}
	return out
}

func countMethod(trips [][]string, method string) int {
	n := 0
	for _, t := range trips {
		for _, m := range t {
			if m == method {
				n++
			}
		}
	}
	return n
}

// Reset forgets the round trips so far.
func (p *RPCProxy) Reset() {
	p.mu.Lock()
	p.trips = nil
	p.mu.Unlock()
}

func (p *RPCProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	methods := methodsOf(body)
	p.mu.Lock()
	p.trips = append(p.trips, methods)
	p.mu.Unlock()
	resp, err := http.Post(p.target, "application/json", bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if p.onAnswer != nil {
		p.onAnswer(methods)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(out)
}

// methodsOf returns the methods of a JSON-RPC request or batch.
func methodsOf(body []byte) []string {
	type call struct {
		Method string `json:"method"`
	}
	var calls []call
	if b := bytes.TrimSpace(body); len(b) > 0 && b[0] == '[' {
		_ = json.Unmarshal(b, &calls)
	} else {
		var c call
		_ = json.Unmarshal(b, &c)
		calls = append(calls, c)
	}
	methods := make([]string, len(calls))
	for i, c := range calls {
		methods[i] = c.Method
	}
	return methods
}
