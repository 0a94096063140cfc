package phala

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/onchain"
)

// recRegistrar records how an apply's planRegistrar calls it.
type recRegistrar struct{ plain, checked int }

func (r *recRegistrar) EnsureRegistered(context.Context, *onchain.ErrOnchainPrerequisite) (*onchain.Registration, error) {
	r.plain++
	return &onchain.Registration{}, nil
}

type recCheckingRegistrar struct{ recRegistrar }

func (r *recCheckingRegistrar) EnsureRegisteredChecked(ctx context.Context, _ *onchain.ErrOnchainPrerequisite, check func(context.Context) error) (*onchain.Registration, error) {
	r.checked++
	if err := check(ctx); err != nil {
		return nil, err
	}
	return &onchain.Registration{}, nil
}

// The apply's Registrar refuses a device the plan did not read before
// anything else, and otherwise keeps the SDK's check beside the chain read
// when the Registrar it wraps can (else it runs the check first).
func TestPlanRegistrarKeepsTheCheckedRead(t *testing.T) {
	var _ checkingRegistrar = (*planRegistrar)(nil)
	ctx := context.Background()
	planned := "0x" + deviceHex
	errLie := errors.New("the 465 is not the source's")
	pre := func(device string) *onchain.ErrOnchainPrerequisite {
		return &onchain.ErrOnchainPrerequisite{DeviceID: device}
	}

	t.Run("checking Registrar: check and read together", func(t *testing.T) {
		inner := &recCheckingRegistrar{}
		checks := 0
		_, err := newPlanRegistrar(inner, []string{planned}).EnsureRegisteredChecked(ctx, pre(deviceHex),
			func(context.Context) error { checks++; return nil })
		require.NoError(t, err)
		assert.Equal(t, 1, inner.checked)
		assert.Equal(t, 1, checks)
	})
	t.Run("a device the plan did not read: nothing called", func(t *testing.T) {
		inner := &recCheckingRegistrar{}
		checks := 0
		_, err := newPlanRegistrar(inner, []string{planned}).EnsureRegisteredChecked(ctx, pre(foreignDevice),
			func(context.Context) error { checks++; return nil })
		var mm *PayloadMismatchError
		require.ErrorAs(t, err, &mm)
		assert.Equal(t, "device_id", mm.Field)
		assert.Zero(t, inner.checked+inner.plain+checks)
	})
	t.Run("plain Registrar: a failed check registers nothing", func(t *testing.T) {
		inner := &recRegistrar{}
		_, err := newPlanRegistrar(inner, []string{planned}).EnsureRegisteredChecked(ctx, pre(deviceHex),
			func(context.Context) error { return errLie })
		assert.Same(t, errLie, err)
		assert.Zero(t, inner.plain)
		_, err = newPlanRegistrar(inner, []string{planned}).EnsureRegisteredChecked(ctx, pre(deviceHex),
			func(context.Context) error { return nil })
		require.NoError(t, err)
		assert.Equal(t, 1, inner.plain)
	})
}

// An answer is the replica asked for whatever form its app id takes (the API
// writes app_<hex>, 0x<hex> or bare hex); another app, an unreadable app id,
// another compose hash or node is not.
func TestNotAskedFor(t *testing.T) {
	tests := []struct {
		name string
		in   Instance
		want string // "" = the replica asked for
	}{
		{"bare hex", Instance{AppID: appHexID, ComposeHash: hashA, NodeID: 7}, ""},
		{"app_ prefix", Instance{AppID: "app_" + appHexID, ComposeHash: "0x" + hashA, NodeID: 7}, ""},
		{"0x, upper case", Instance{AppID: "0x" + strings.ToUpper(appHexID)}, ""},
		{"nothing named", Instance{}, ""},
		{"another app", Instance{AppID: "app_" + otherApp}, "names app"},
		{"unreadable app id", Instance{AppID: "app_zz"}, "names app"},
		{"another compose hash", Instance{ComposeHash: hashB}, "names compose hash"},
		{"another node", Instance{NodeID: 8}, "names node 8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := notAskedFor(tt.in, appHexID, hashA, 7)
			if tt.want == "" {
				assert.Empty(t, got)
				return
			}
			assert.Contains(t, got, tt.want)
		})
	}
}
