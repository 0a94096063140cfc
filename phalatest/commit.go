package phalatest

import (
	"context"
	"net/http"
	"time"

	"github.com/phalaforge/phala-go/onchain"
)

// TokenTTL is how long a commit token stays valid after the prepare call.
const TokenTTL = 14 * 24 * time.Hour

// maxTokens bounds the tokens kept; the oldest finished ones go first.
const maxTokens = 10000

type tokenState int

const (
	tokenActive tokenState = iota
	tokenUsed
	tokenSuperseded
)

// commitToken is what a prepare call bound to its opaque token.
type commitToken struct {
	value        string
	ws           *workspace
	source       *cvm
	node         *node
	compose      Compose
	composeHash  string
	encryptedEnv string
	inherited    bool
	issued       time.Time
	expires      time.Time
	cloud        bool // Cloud KMS / no KMS: nothing to verify on chain
	state        tokenState
}

// issueTokenLocked stores tok and supersedes the active tokens of the same
// source and node.
func (s *Server) issueTokenLocked(tok *commitToken) {
	for _, t := range s.tokens {
		if t.state == tokenActive && t.source == tok.source && t.node == tok.node {
			t.state = tokenSuperseded
		}
	}
	if len(s.tokens) >= maxTokens {
		var oldest *commitToken
		for _, t := range s.tokens {
			if oldest == nil || t.issued.Before(oldest.issued) {
				oldest = t
			}
		}
		delete(s.tokens, oldest.value)
	}
	s.tokens[tok.value] = tok
}

func tokenError(format string, args ...any) *apiError {
	return newError(StatusTokenInvalid, CodeHashInvalidOrExpired, format, args...).
		suggest("Run the replicate call again with X-Prepare-Only: true to get a new commit token")
}

// postCommit serves POST /cvms/{vm_uuid}/commit-replica: it checks the
// token, verifies the transaction and the contract state on chain (on-chain
// KMS), and creates the prepared replica.
func (s *Server) postCommit(req *apiRequest) (int, any, error) {
	cr, err := parseCommitRequest(req.body)
	if err != nil {
		return 0, nil, err
	}

	s.mu.Lock()
	tok, aerr := s.checkTokenLocked(req.ws, req.segs[1], cr)
	s.mu.Unlock()
	if aerr != nil {
		return 0, nil, aerr
	}

	if !tok.cloud {
		if aerr := s.verifyOnchain(req.r.Context(), tok, cr.txHash); aerr != nil {
			return 0, nil, aerr
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	switch { // the lock was released: another commit may have won
	case tok.state == tokenUsed:
		return 0, nil, tokenError("The commit token has already been used")
	case tok.state == tokenSuperseded:
		return 0, nil, tokenError("The commit token was superseded by a newer prepare call")
	}
	p := &plan{ws: tok.ws, source: tok.source, node: tok.node, compose: tok.compose,
		composeHash: tok.composeHash, encryptedEnv: tok.encryptedEnv, inherited: tok.inherited}
	c, aerr := s.createReplicaLocked(p, true)
	if aerr != nil {
		return 0, nil, aerr
	}
	tok.state = tokenUsed
	return http.StatusOK, s.vmObjectLocked(c), nil
}

// checkTokenLocked validates the token against the path's CVM and the body.
func (s *Server) checkTokenLocked(ws *workspace, cvmID string, cr *commitRequest) (*commitToken, *apiError) {
	src, aerr := s.lookupCVMLocked(ws, cvmID, CodeSourceNotInWorkspace)
	if aerr != nil {
		return nil, aerr
	}
	tok, ok := s.tokens[cr.token]
	switch {
	case !ok || tok.ws != ws:
		return nil, tokenError("Unknown commit token")
	case tok.source != src:
		return nil, tokenError("The commit token was issued for another CVM").with("vm_uuid", src.uuid)
	case tok.state == tokenUsed:
		return nil, tokenError("The commit token has already been used")
	case tok.state == tokenSuperseded:
		return nil, tokenError("The commit token was superseded by a newer prepare call")
	case !s.nowLocked().Before(tok.expires):
		return nil, tokenError("The commit token expired at %s", tok.expires.UTC().Format(time.RFC3339))
	}
	if h, ok := normHash(cr.composeHash); !ok || h != tok.composeHash {
		return nil, tokenError("The compose hash does not match the one the commit token was issued for").
			with("compose_hash", tok.composeHash)
	}
	return tok, nil
}

// verifyOnchain checks the commit's transaction_hash (unless it is
// already-registered or absent) and then that the contract allows the
// compose hash and the device.
func (s *Server) verifyOnchain(ctx context.Context, tok *commitToken, txHash string) *apiError {
	a := tok.source.app
	backend := s.cfg.chains[a.ChainID]
	if backend == nil {
		return newError(StatusTxVerificationFailed, CodeTxVerificationFailed, "Cannot verify on chain %d: the server has no RPC for it", a.ChainID).
			with("chain_id", a.ChainID)
	}
	var txBlock uint64
	if txHash != "" && txHash != onchain.AlreadyRegistered {
		var aerr *apiError
		if txBlock, aerr = s.verifyTx(ctx, backend, a, txHash, tok.node.DeviceID, tok.composeHash); aerr != nil {
			return aerr
		}
	}
	st, err := s.readStatus(ctx, a, tok.node.DeviceID, tok.composeHash, txBlock)
	if err != nil {
		return newError(StatusTxVerificationFailed, CodeTxVerificationFailed, "Cannot read the DstackApp contract %s on chain %d", a.address().Hex(), a.ChainID).
			with("app_id", a.ID).with("error", errorText(err))
	}
	if !st.ComposeHashAllowed {
		return newError(StatusHashNotAllowed, CodeHashNotAllowed, "The DstackApp contract %s does not allow compose hash %s", a.address().Hex(), tok.composeHash).
			with("compose_hash", tok.composeHash).with("onchain_status", statusMap(st)).
			suggest("Call addComposeHash on the app's contract, then commit again with the same token")
	}
	if !st.DeviceIDAllowed {
		return newError(StatusHashNotAllowed, CodeHashNotAllowed, "The DstackApp contract %s does not allow device %s", a.address().Hex(), tok.node.DeviceID).
			with("device_id", tok.node.DeviceID).with("onchain_status", statusMap(st)).
			suggest("Call addDevice (or setAllowAnyDevice) on the app's contract, then commit again with the same token")
	}
	return nil
}

func statusMap(st *onchain.AppStatus) map[string]any {
	return map[string]any{
		"compose_hash_allowed": st.ComposeHashAllowed,
		"device_id_allowed":    st.DeviceIDAllowed,
		"is_allowed":           st.IsAllowed,
		"allow_any_device":     st.AllowAnyDevice,
	}
}

// errorText shortens an error for a detail value (chain errors carry no
// secrets: addresses, selectors, RPC messages).
func errorText(err error) string {
	msg := err.Error()
	const maxLen = 300
	if len(msg) > maxLen {
		msg = msg[:maxLen] + "…"
	}
	return msg
}
