package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain"
)

// fastTiming keeps subprocess tests quick: replicas run at once.
var fastTiming = sandboxTiming{autoCommit: 10 * time.Millisecond}

func newTestSandbox(t *testing.T) *sandbox {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sb, err := newSandbox(ctx, fastTiming)
	require.NoError(t, err)
	t.Cleanup(sb.Close)
	return sb
}

func TestSandboxSeedsThreeKindsOfApp(t *testing.T) {
	sb := newTestSandbox(t)
	ctx := context.Background()

	get := func(vm string) map[string]any {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, sb.srv.URL()+"/cvms/"+vm, nil)
		require.NoError(t, err)
		req.Header.Set("X-API-Key", sb.srv.APIKey())
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var obj map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&obj))
		return obj
	}
	assert.Equal(t, "phala", get(sb.cloudCVM.VMUUID)["kms_type"])
	assert.Equal(t, "base", get(sb.autoCVM.VMUUID)["kms_type"])
	assert.Equal(t, "base", get(sb.safeCVM.VMUUID)["kms_type"])

	owner := func(app string) common.Address {
		addr := common.HexToAddress(app)
		d := onchain.NewDstackApp()
		out, err := bind.Call(d.Instance(sb.chain.Client, addr), &bind.CallOpts{Context: ctx}, d.PackOwner(), d.UnpackOwner)
		require.NoError(t, err)
		return out
	}
	assert.Equal(t, sb.owner.Address, owner(sb.autoApp.ID))
	assert.Equal(t, sb.approver.Address, owner(sb.safeApp.ID))

	// node-a is allowed, node-b and the compose hash are not: a replica on
	// node-b needs both writes.
	for _, app := range []string{sb.autoApp.ID, sb.safeApp.ID} {
		ch, err := onchain.ParseHash32(sb.autoApp.ComposeHash)
		require.NoError(t, err)
		devA, err := onchain.ParseHash32(sb.nodeA.DeviceID)
		require.NoError(t, err)
		devB, err := onchain.ParseHash32(sb.nodeB.DeviceID)
		require.NoError(t, err)
		st, err := onchain.Status(ctx, sb.chain.Client, common.HexToAddress(app), devA, ch)
		require.NoError(t, err)
		assert.True(t, st.DeviceIDAllowed)
		assert.False(t, st.ComposeHashAllowed)
		st, err = onchain.Status(ctx, sb.chain.Client, common.HexToAddress(app), devB, ch)
		require.NoError(t, err)
		assert.False(t, st.DeviceIDAllowed)
	}

	root, err := onchain.KMSRootKey(ctx, sb.chain.Client, sb.kms)
	require.NoError(t, err)
	assert.Equal(t, sb.srv.KMSRootPublicKey(), root)
	assert.NotEmpty(t, sb.chain.URL())
}
