package reliability_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/stretchr/testify/require"
)

type rpcMsg struct {
	JSONRPC string            `json:"jsonrpc"`
	ID      json.RawMessage   `json:"id,omitempty"`
	Method  string            `json:"method,omitempty"`
	Params  []json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage   `json:"result,omitempty"`
	Error   json.RawMessage   `json:"error,omitempty"`
}

func newRPCProxy(t *testing.T, target string) *rpcProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &rpcProxy{target: target, url: "http://" + ln.Addr().String()}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve)}
	go func() { _ = p.srv.Serve(ln) }()
	t.Cleanup(func() { _ = p.srv.Close() })
	return p
}

func (p *rpcProxy) URL() string { return p.url }

func (p *rpcProxy) setMode(f faultKind) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = f
}

func (p *rpcProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var msgs []rpcMsg
	batch := len(bytes.TrimSpace(body)) > 0 && bytes.TrimSpace(body)[0] == '['
	if batch {
		_ = json.Unmarshal(body, &msgs)
	} else {
		var m rpcMsg
		_ = json.Unmarshal(body, &m)
		msgs = []rpcMsg{m}
	}
	p.calls.Add(int64(len(msgs)))
	p.mu.Lock()
	mode := p.mode
	for _, m := range msgs {
		if m.Method == "eth_sendRawTransaction" && len(m.Params) > 0 {
			var raw string
			_ = json.Unmarshal(m.Params[0], &raw)
			p.rawTxs = append(p.rawTxs, raw)
		}
	}
	p.mu.Unlock()

	if mode == fRPCDown {
		// The node is gone: the connection closes without an answer.
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		http.Error(w, "bad gateway", http.StatusBadGateway)
		return
	}
	resp, err := http.Post(p.target, "application/json", bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if mode == fNoReceipt {
		out = nullReceipts(out, msgs, batch)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(out)
}

// nullReceipts answers every eth_getTransactionReceipt with null, as a node
// does for a transaction it has not seen mined.
func nullReceipts(out []byte, req []rpcMsg, batch bool) []byte {
	receiptIDs := map[string]bool{}
	for _, m := range req {
		if m.Method == "eth_getTransactionReceipt" {
			receiptIDs[string(m.ID)] = true
		}
	}
	if len(receiptIDs) == 0 {
		return out
	}
	var resps []rpcMsg
	if batch {
		if json.Unmarshal(out, &resps) != nil {
			return out
		}
	} else {
		var m rpcMsg
		if json.Unmarshal(out, &m) != nil {
			return out
		}
		resps = []rpcMsg{m}
	}
	for i := range resps {
		if receiptIDs[string(resps[i].ID)] {
			resps[i].Result = json.RawMessage("null")
			resps[i].Error = nil
		}
	}
	var b []byte
	if batch {
		b, _ = json.Marshal(resps)
	} else {
		b, _ = json.Marshal(resps[0])
	}
	return b
}

// foreignTxs returns a description of every transaction sent that is not a
// call to app whose one bytes32 argument is in allowed.
func (p *rpcProxy) foreignTxs(app common.Address, allowed []string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[strings.ToLower(strings.TrimPrefix(a, "0x"))] = true
	}
	var bad []string
	for _, raw := range p.rawTxs {
		b, err := hexutil.Decode(raw)
		var tx types.Transaction
		if err != nil || tx.UnmarshalBinary(b) != nil {
			bad = append(bad, "undecodable "+raw)
			continue
		}
		data := tx.Data()
		if tx.To() == nil || *tx.To() != app || len(data) != 4+32 || !ok[common.Bytes2Hex(data[4:])] {
			bad = append(bad, tx.Hash().Hex())
		}
	}
	return bad
}
