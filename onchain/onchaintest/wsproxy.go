package onchaintest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/gorilla/websocket"
)

// WSProxy relays JSON-RPC over websocket to an endpoint (a [Chain]'s
// WSURL, say) and records each message the client sends as one round trip:
// the methods of its entries. It is [RPCProxy]'s counterpart for tests of
// subscriptions. Create it with [NewWSProxy] and Close it when done.
type WSProxy struct {
	// URL is the proxy's ws:// endpoint, to dial instead of the target's.
	URL string

	srv    *httptest.Server
	target string
	up     websocket.Upgrader

	mu     sync.Mutex
	trips  [][]string
	conns  map[*websocket.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// NewWSProxy starts a proxy in front of the websocket JSON-RPC endpoint
// target (a ws:// URL).
func NewWSProxy(target string) *WSProxy {
	p := &WSProxy{
		target: target,
		up:     websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }},
		conns:  map[*websocket.Conn]struct{}{},
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = "ws" + strings.TrimPrefix(p.srv.URL, "http")
	return p
}

// Close stops the proxy, ends the connections it relays and waits for them.
func (p *WSProxy) Close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.srv.Close()
	p.wg.Wait()
}

// Trips returns the messages so far, each as the methods of its entries.
func (p *WSProxy) Trips() [][]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return cloneTrips(p.trips)
}

// Count returns how many entries of the messages so far call method.
func (p *WSProxy) Count(method string) int { return countMethod(p.Trips(), method) }

// track registers a relayed pair of connections, or reports false once the
// proxy is closed.
func (p *WSProxy) track(conns ...*websocket.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	p.wg.Add(1)
	return true
}

func (p *WSProxy) untrack(conns ...*websocket.Conn) {
	p.mu.Lock()
	for _, c := range conns {
		delete(p.conns, c)
	}
	p.mu.Unlock()
	p.wg.Done()
}

func (p *WSProxy) serve(w http.ResponseWriter, r *http.Request) {
	client, err := p.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	node, _, err := websocket.DefaultDialer.Dial(p.target, nil)
	if err != nil {
		_ = client.Close()
		return
	}
	if !p.track(client, node) {
		_ = client.Close()
		_ = node.Close()
		return
	}
	defer p.untrack(client, node)
	done := make(chan struct{})
	go func() { // node to client
		defer close(done)
		defer client.Close()
		for {
			kind, msg, err := node.ReadMessage()
			if err != nil || client.WriteMessage(kind, msg) != nil {
				return
			}
		}
	}()
	for { // client to node
		kind, msg, err := client.ReadMessage()
		if err != nil {
			break
		}
		methods := methodsOf(msg)
		p.mu.Lock()
		p.trips = append(p.trips, methods)
		p.mu.Unlock()
		if node.WriteMessage(kind, msg) != nil {
			break
		}
	}
	_ = node.Close()
	<-done
}
