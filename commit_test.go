package phala

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCommitReplicaValidatesBeforeSending(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	good := CommitRequest{Token: token, ComposeHash: hashA, TransactionHash: AlreadyRegistered}
	tests := []struct {
		name string
		uuid string
		mod  func(*CommitRequest)
		arg  string
	}{
		{"bad vm_uuid", "../cvms", func(*CommitRequest) {}, "vmUUID"},
		{"empty token", srcUUID, func(r *CommitRequest) { r.Token = " " }, "Token"},
		{"token with newline", srcUUID, func(r *CommitRequest) { r.Token = "a\nb" }, "Token"},
		{"huge token", srcUUID, func(r *CommitRequest) { r.Token = strings.Repeat("t", 9000) }, "Token"},
		{"bad compose hash", srcUUID, func(r *CommitRequest) { r.ComposeHash = "0x1234" }, "ComposeHash"},
		{"empty transaction hash", srcUUID, func(r *CommitRequest) { r.TransactionHash = "" }, "TransactionHash"},
		{"transaction hash without 0x", srcUUID, func(r *CommitRequest) { r.TransactionHash = strings.Repeat("ab", 32) }, "TransactionHash"},
		{"short transaction hash", srcUUID, func(r *CommitRequest) { r.TransactionHash = "0xabcd" }, "TransactionHash"},
		{"sentinel misspelt", srcUUID, func(r *CommitRequest) { r.TransactionHash = "already_registered" }, "TransactionHash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, rec := setupRec(t, WithClock(func() time.Time { return now }))
			rec.handle(mux, "/", func(w http.ResponseWriter, r *http.Request, _ string) {
				t.Errorf("unexpected request %s %s", r.Method, r.URL)
			})
			req := good
			tt.mod(&req)
			_, err := c.CommitReplica(context.Background(), tt.uuid, req)
			var ia *InvalidArgumentError
			require.ErrorAs(t, err, &ia)
			assert.Equal(t, tt.arg, ia.Arg)
			assert.NotContains(t, err.Error(), token, "the token is never quoted")
			assert.Empty(t, rec.lines())
		})
	}

	t.Run("expired token", func(t *testing.T) {
		t.Parallel()
		c, mux, rec := setupRec(t, WithClock(func() time.Time { return now }))
		rec.handle(mux, "/", func(w http.ResponseWriter, r *http.Request, _ string) {
			t.Errorf("unexpected request %s %s", r.Method, r.URL)
		})
		req := good
		req.ExpiresAt = now.Add(-time.Second)
		_, err := c.CommitReplica(context.Background(), srcUUID, req)
		var exp *CommitTokenExpiredError
		require.ErrorAs(t, err, &exp)
		assert.Equal(t, now, exp.Now)
		assert.ErrorIs(t, err, ErrHashInvalidOrExpired)
		assert.Empty(t, rec.lines())
	})
}

func TestCommitReplicaErrorsSayWhatToDo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		code     string
		sentinel error
		hint     string
	}{
		{"466", 466, "ERR-01-006", ErrHashInvalidOrExpired, "run PrepareReplica again"},
		{"467", 467, "ERR-01-007", ErrTxVerificationFailed, "check that the transaction is mined"},
		{"468", 468, "ERR-01-008", ErrHashNotAllowed, "register them with addComposeHash"},
		{"466 without a code", 466, "", ErrHashInvalidOrExpired, "run PrepareReplica again"},
		{"468 without a code", 468, "", ErrHashNotAllowed, "addComposeHash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux, rec := setupRec(t)
			rec.handle(mux, "POST /cvms/{uuid}/commit-replica", func(w http.ResponseWriter, r *http.Request, _ string) {
				if tt.code == "" {
					writeJSON(w, tt.status, `{"detail":"refused"}`)
					return
				}
				apiError(w, tt.status, tt.code, "refused")
			})
			_, err := c.CommitReplica(context.Background(), strings.ReplaceAll(srcUUID, "-", ""),
				CommitRequest{Token: token, ComposeHash: "0x" + hashA, TransactionHash: "0X" + strings.Repeat("AB", 32)})
			require.ErrorIs(t, err, tt.sentinel)
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.status, apiErr.StatusCode)
			assert.Contains(t, err.Error(), tt.hint)
			require.Len(t, rec.all(), 1)
			assertCall(t, rec.all()[0], "POST /cvms/"+srcUUID+"/commit-replica", "",
				`{"token":"`+token+`","compose_hash":"0x`+hashA+`","transaction_hash":"0x`+strings.Repeat("ab", 32)+`"}`)
		})
	}
}

func TestCommitPreparedNil(t *testing.T) {
	t.Parallel()
	c, _, _ := setupRec(t)
	_, err := c.CommitPrepared(context.Background(), nil, AlreadyRegistered)
	require.ErrorIs(t, err, ErrInvalidArgument)
}
