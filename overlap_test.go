package phala

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain"
	"github.com/phalaforge/phala-go/onchain/onchaintest"
)

// After a 465, the check of the payload against the source (GET /cvms/{id})
// and the node list runs while the Registrar reads the chain: the source's
// GET is answered only once the chain has been read, which would deadlock (and
// fail) if they ran one after the other. A payload that fails the check still
// sends nothing, though the chain was read meanwhile.
func TestCrossCheckOverlapsChainRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	chain := onchaintest.NewChain(onchaintest.WithHTTP(), onchaintest.WithAutoCommit(5*time.Millisecond))
	t.Cleanup(func() { chain.Close() })
	kms := "0x" + strings.Repeat("5", 40)

	// A JSON-RPC proxy that reports the contract's state read.
	var (
		mu       sync.Mutex
		readSeen chan struct{}
	)
	proxy := onchaintest.NewRPCProxy(chain.URL(), func(methods []string) {
		if slices.Contains(methods, "eth_call") {
			mu.Lock()
			select {
			case <-readSeen:
			default:
				close(readSeen)
			}
			mu.Unlock()
		}
	})
	t.Cleanup(proxy.Close)
	ec, rc, err := onchain.Dial(ctx, onchain.ChainConfig{ID: onchaintest.ChainID, RPCURL: proxy.URL})
	require.NoError(t, err)
	t.Cleanup(ec.Close)
	registrar, err := onchain.NewRegistrar(ec, chain.Transactor(0), onchain.WithRPCClient(rc),
		onchain.WithCheckedChainID(onchaintest.ChainID), onchain.WithPollInterval(10*time.Millisecond))
	require.NoError(t, err)

	tests := []struct {
		name   string
		device string
		field  string // "": replicated
	}{
		{"the node's own device", deviceHex, ""},
		{"a foreign device", foreignDevice, "device_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, err := chain.DeployDstackApp(ctx, chain.Transactor(0), onchaintest.AppConfig{})
			require.NoError(t, err)
			appHex := strings.ToLower(app.Hex()[2:])
			mu.Lock()
			readSeen = make(chan struct{})
			seen := readSeen
			mu.Unlock()

			c, mux, rec := setupRec(t)
			rec.handle(mux, "POST /cvms/{uuid}/replicas", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, 465, prepareBody(appHex, hashA, tt.device, token, onchaintest.ChainID, false, false))
			})
			rec.handle(mux, "GET /cvms/{id}", func(w http.ResponseWriter, r *http.Request, _ string) {
				select {
				case <-seen:
				case <-time.After(2 * time.Second):
					writeJSON(w, http.StatusInternalServerError, `{"detail": "test: the chain was not read while the source was"}`)
					return
				}
				writeJSON(w, http.StatusOK, mustJSONString(cvmObject(srcUUID, appHex, hashA, onchainKMS(onchaintest.ChainID, kms))))
			})
			rec.handle(mux, "POST /cvms/{uuid}/commit-replica", func(w http.ResponseWriter, r *http.Request, _ string) {
				writeJSON(w, http.StatusOK, mustJSONString(vmObject(newUUID, appHex, hashA)))
			})
			serveNodes(rec, mux, workspaceNodes...)
			nonce, err := chain.Client.PendingNonceAt(ctx, chain.Accounts[0].Address)
			require.NoError(t, err)

			vm, err := c.Replicate(ctx, srcUUID, ReplicateRequest{NodeID: 7, Registrar: registrar})

			after, nerr := chain.Client.PendingNonceAt(ctx, chain.Accounts[0].Address)
			require.NoError(t, nerr)
			if tt.field != "" {
				var mm *PayloadMismatchError
				require.ErrorAs(t, err, &mm)
				assert.Equal(t, tt.field, mm.Field)
				assert.Equal(t, nonce, after, "no transaction was sent")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, newUUID, vm.VMUUID)
			assert.Equal(t, nonce+2, after, "addDevice and addComposeHash")
			assert.Equal(t, []string{"POST /cvms/" + srcUUID + "/replicas", "GET /cvms/" + srcUUID,
				"GET /teepods/available", "POST /cvms/" + srcUUID + "/commit-replica"}, rec.lines())
		})
	}
}
