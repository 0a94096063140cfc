package phala

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReplicateWithOnchainRegistrar runs the automatic workflow with the real
// *onchain.Registrar against a DstackApp contract on a simulated chain: the commit
// must carry the hash of a mined addComposeHash transaction, after which the
// contract allows the compose hash and the device.
func TestReplicateWithOnchainRegistrar(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	chain := onchaintest.NewChain(onchaintest.WithAutoCommit(10 * time.Millisecond))
	t.Cleanup(func() { chain.Close() })
	app, err := chain.DeployDstackApp(ctx, chain.Transactor(0), onchaintest.AppConfig{})
	require.NoError(t, err)
	appHex := strings.ToLower(app.Hex()[2:])
	registrar, err := onchain.NewRegistrar(chain.Client, chain.Transactor(0), onchain.WithPollInterval(10*time.Millisecond))
	require.NoError(t, err)

	t.Run("registers, then commits with the mined transaction", func(t *testing.T) {
		c, mux, rec := setupRec(t)
		rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, 465, prepareBody(appHex, hashA, deviceHex, token, onchaintest.ChainID, false, false))
		})
		rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHex, hashA, onchainKMS(onchaintest.ChainID, "0x"+strings.Repeat("5", 40)))))
		})
		rec.handle(mux, "POST /cvms/{uuid}/commit-replica", func(w http.ResponseWriter, r *http.Request, body string) {
			// Verify as the server does: the transaction is mined and the contract
			// now allows the compose hash and the device.
			var req commitBody
			require.NoError(t, json.Unmarshal([]byte(body), &req))
			receipt, err := chain.Client.TransactionReceipt(r.Context(), common.HexToHash(req.TransactionHash))
			if !assert.NoError(t, err) || !assert.Equal(t, uint64(1), receipt.Status) {
				apiError(w, 467, "ERR-01-007", "transaction not found")
				return
			}
			st, err := onchain.Status(r.Context(), chain.Client, app, common.HexToHash(deviceHex), common.HexToHash(hashA))
			require.NoError(t, err)
			if !st.IsAllowed {
				apiError(w, 468, "ERR-01-008", "not allowed")
				return
			}
			writeJSON(w, http.StatusOK, mustJSONString(vmObject(newUUID, appHex, hashA)))
		})
		serveNodes(rec, mux, workspaceNodes...)

		vm, err := c.Replicate(ctx, srcUUID, ReplicateRequest{Node: "7", Registrar: registrar})
		require.NoError(t, err)
		assert.Equal(t, newUUID, vm.VMUUID)
		assert.Equal(t, []string{"POST /cvms/" + srcUUID + "/replicas", "GET /cvms/" + srcUUID, "GET /teepods/available", "POST /cvms/" + srcUUID + "/commit-replica"}, rec.lines())
		var body commitBody
		require.NoError(t, json.Unmarshal([]byte(rec.all()[3].Body), &body))
		assert.Equal(t, token, body.Token)
		assert.Equal(t, hashA, body.ComposeHash)
		assert.NotEqual(t, AlreadyRegistered, body.TransactionHash)
	})

	t.Run("a payload for another contract sends no transaction", func(t *testing.T) {
		other, err := chain.DeployDstackApp(ctx, chain.Transactor(1), onchaintest.AppConfig{})
		require.NoError(t, err)
		c, mux, rec := setupRec(t)
		rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, 465, prepareBody(strings.ToLower(other.Hex()[2:]), hashB, deviceHex, token, onchaintest.ChainID, false, false))
		})
		rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
			writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHex, hashA, onchainKMS(onchaintest.ChainID, "0x"+strings.Repeat("5", 40)))))
		})
		nonce, err := chain.Client.PendingNonceAt(ctx, chain.Accounts[0].Address)
		require.NoError(t, err)

		_, err = c.Replicate(ctx, srcUUID, ReplicateRequest{Registrar: registrar})
		require.ErrorIs(t, err, ErrPayloadMismatch)
		after, err := chain.Client.PendingNonceAt(ctx, chain.Accounts[0].Address)
		require.NoError(t, err)
		assert.Equal(t, nonce, after, "no transaction was sent")
		st, err := onchain.Status(ctx, chain.Client, other, common.HexToHash(deviceHex), common.HexToHash(hashB))
		require.NoError(t, err)
		assert.False(t, st.ComposeHashAllowed)
		assert.Len(t, rec.lines(), 2)
	})
}

func TestPrerequisiteFromAPIError(t *testing.T) {
	t.Parallel()
	apiErr := &APIError{StatusCode: 465, Code: CodeHashRegistrationRequired, Details: []ErrorDetail{
		{Field: "commit_token", Value: json.RawMessage(`"first"`)},
		{Field: "compose_hash", Value: json.RawMessage(`"` + hashA + `"`)},
		{Field: "commit_token", Value: json.RawMessage(`"second"`)},
		{Field: "device_id"},
		{Field: "", Value: json.RawMessage(`"ignored"`)},
	}}
	pre, err := prerequisiteFrom(apiErr)
	require.NoError(t, err)
	assert.Equal(t, "second", pre.CommitToken, "later duplicates win")
	assert.Equal(t, hashA, pre.ComposeHash)
	assert.Empty(t, pre.DeviceID)
	assert.Same(t, apiErr, pre.Cause)

	_, err = prerequisiteFrom(&APIError{StatusCode: 465, Details: []ErrorDetail{
		{Field: "commit_token", Value: json.RawMessage(`"t"`)}, {Field: "kms_info", Value: json.RawMessage(`"text"`)},
	}})
	require.ErrorIs(t, err, onchain.ErrMalformedPrerequisite)
}

// A 465 answer that cannot be read or names no commit token is an error that
// says so, never a prerequisite to sign or a mismatch with the source.
func TestPrerequisiteFromUnusable465(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		apiErr  *APIError
		wantIs  error
		wantMsg string
	}{
		{"truncated body", &APIError{StatusCode: 465, Message: "HTTP 465", cause: ErrUnexpectedBody}, ErrUnexpectedBody, "unusable HTTP 465 answer"},
		{"oversized body", &APIError{StatusCode: 465, Message: "HTTP 465", cause: ErrResponseTooLarge}, ErrResponseTooLarge, "unusable HTTP 465 answer"},
		{"no commit token", &APIError{StatusCode: 465, Code: CodeHashRegistrationRequired, Details: []ErrorDetail{
			{Field: "compose_hash", Value: json.RawMessage(`"` + hashA + `"`)},
		}}, onchain.ErrMalformedPrerequisite, "no commit_token"},
		{"empty commit token", &APIError{StatusCode: 465, Details: []ErrorDetail{
			{Field: "commit_token", Value: json.RawMessage(`"  "`)},
		}}, onchain.ErrMalformedPrerequisite, "no commit_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pre, err := prerequisiteFrom(tt.apiErr)
			require.Nil(t, pre)
			require.ErrorIs(t, err, tt.wantIs)
			assert.ErrorContains(t, err, tt.wantMsg)
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr, "the answer stays reachable")
			assert.NotErrorIs(t, err, ErrPayloadMismatch)
		})
	}
}
