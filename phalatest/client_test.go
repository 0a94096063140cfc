package phalatest_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	phala "github.com/phalaforge/phala-go"
	"github.com/phalaforge/phala-go/phalatest"
)

func TestClient(t *testing.T) {
	f := newFixture(t, phalatest.KMSCloud, phalatest.WithProvisioningDelays(time.Second, time.Second))
	c, err := f.srv.Client()
	require.NoError(t, err)
	assert.Equal(t, f.srv.URL(), c.BaseURL())
	assert.NotContains(t, c.String(), f.srv.APIKey())

	ctx := context.Background()
	list, err := c.ListReplicas(ctx, f.app.ID)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, f.cvm.VMUUID, list[0].VMUUID)
	reqs := f.srv.Requests()
	assert.Equal(t, f.srv.APIKey(), reqs[len(reqs)-1].Header.Get("X-API-Key"))

	// WaitForReplica follows the status progression; each poll moves the
	// server's time on by one second.
	u := post(t, f.srv, replicasPath(f.cvm.VMUUID), map[string]any{}).obj(t)["vm_uuid"].(string)
	var seen []string
	cvm, err := c.WaitForReplica(ctx, u, phala.WaitOptions{PollInterval: time.Millisecond, OnProgress: func(c *phala.CVM) {
		seen = append(seen, c.Status)
		f.srv.Advance(time.Second)
	}})
	require.NoError(t, err)
	assert.Equal(t, phalatest.StatusRunning, cvm.Status)
	assert.Equal(t, []string{"creating", "starting", "running"}, seen)

	// A boot failure surfaces as the client's typed error with the reason.
	f.srv.FailNextBoot("image pull failed")
	u = post(t, f.srv, replicasPath(f.cvm.VMUUID), map[string]any{}).obj(t)["vm_uuid"].(string)
	_, err = c.WaitForReplica(ctx, u, phala.WaitOptions{PollInterval: time.Millisecond, OnProgress: func(*phala.CVM) { f.srv.Advance(time.Second) }})
	var failed *phala.ReplicaFailedError
	require.True(t, errors.As(err, &failed), "%v", err)
	assert.Equal(t, phalatest.StatusError, failed.Status)
	assert.Equal(t, "image pull failed", failed.BootError)

	// Options given to Client override the defaults.
	other, err := f.srv.Client(phala.WithAPIKey("phak_not_a_workspace"))
	require.NoError(t, err)
	_, err = other.ListReplicas(ctx, f.app.ID)
	var apiErr *phala.APIError
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
}
