package onchain

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ethereum/go-ethereum/rpc"
)

// heads is a newHeads subscription that paces receipt polls: one poll right
// after sending, then one on every new block, with the pacer's slowest wait
// as a fallback in case the subscription stalls. A nil *heads (no JSON-RPC
// client, a transport without subscriptions, or a failed subscribe) leaves
// the pacer in charge; every method is safe on nil.
type heads struct {
	// ch receives each new header; only its arrival matters, so it is not
	// decoded (some nodes send headers go-ethereum's types.Header rejects).
	ch  chan json.RawMessage
	sub *rpc.ClientSubscription
}

// subscribeHeads subscribes to newHeads when the Registrar's JSON-RPC client
// supports subscriptions (websocket or IPC). It returns nil otherwise, and
// when the node refuses: polling works everywhere.
func (r *Registrar) subscribeHeads(ctx context.Context) *heads {
	rc := r.opts.rpcClient
	if rc == nil || !rc.SupportsSubscriptions() {
		return nil
	}
	h := &heads{ch: make(chan json.RawMessage, 16)}
	sub, err := rc.EthSubscribe(ctx, h.ch, "newHeads")
	if err != nil {
		r.log.DebugContext(ctx, "onchain: no newHeads subscription, polling for receipts", "err", redactURLs(err))
		return nil
	}
	h.sub = sub
	return h
}

// first is the wait before the first poll: none with a subscription (a
// block mined before it started would not be announced), else the pacer's.
func (h *heads) first(p *pacer) time.Duration {
	if h == nil {
		return p.wait()
	}
	return 0
}

// next is the wait before the next poll unless a head arrives first.
func (h *heads) next(p *pacer) time.Duration {
	if h == nil {
		return p.wait()
	}
	return p.slow
}

// C delivers new heads (nil, never ready, without a subscription).
func (h *heads) C() <-chan json.RawMessage {
	if h == nil {
		return nil
	}
	return h.ch
}

// Err reports the subscription's end (nil, never ready, without one).
func (h *heads) Err() <-chan error {
	if h == nil {
		return nil
	}
	return h.sub.Err()
}

// stop unsubscribes.
func (h *heads) stop() {
	if h != nil {
		h.sub.Unsubscribe()
	}
}
