package envcrypt_test

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/envcrypt"
)

const secret = "s3cr3t-VALUE-do-not-leak"

func TestValidName(t *testing.T) {
	cases := []struct {
		name string
		ok   bool
	}{
		{"A", true}, {"_", true}, {"a", true}, {"_1", true}, {"ABC_def_123", true}, {"z9", true},
		{"", false}, {"1A", false}, {"9", false}, {"A-B", false}, {"A.B", false}, {"A B", false},
		{"A=B", false}, {"É", false}, {"A\x00", false}, {"$A", false}, {"A\n", false}, {" A", false},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.ok, envcrypt.ValidName(tc.name), "%q", tc.name)
		err := envcrypt.Validate([]envcrypt.EnvVar{{Key: tc.name, Value: secret}})
		if tc.ok {
			assert.NoError(t, err, "%q", tc.name)
			continue
		}
		require.ErrorIs(t, err, envcrypt.ErrInvalidName, "%q", tc.name)
		var ve *envcrypt.VarError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, tc.name, ve.Name)
		assert.Equal(t, 0, ve.Index)
		assert.NotContains(t, err.Error(), secret)
	}
}

func TestInvalidNameNotEchoedPastBadChar(t *testing.T) {
	// A "name" that is really a pasted NAME=value line must not leak the value.
	err := envcrypt.Validate([]envcrypt.EnvVar{{Key: "API_KEY=" + secret, Value: ""}})
	require.ErrorIs(t, err, envcrypt.ErrInvalidName)
	assert.NotContains(t, err.Error(), secret)
	assert.Contains(t, err.Error(), `"API_KEY"…`)
	assert.Contains(t, err.Error(), "'='")
}

func repeatVars(n int, value string) []envcrypt.EnvVar {
	env := make([]envcrypt.EnvVar, n)
	for i := range env {
		env[i] = envcrypt.EnvVar{Key: fmt.Sprintf("V%d", i), Value: value}
	}
	return env
}

func TestValidateLimits(t *testing.T) {
	long := func(n int) string { return strings.Repeat("K", n) }
	value := func(n int) string { return strings.Repeat("v", n) }
	// Values just under the blob limit: (256 KiB - overhead) split across entries.
	cases := []struct {
		name    string
		env     []envcrypt.EnvVar
		limit   envcrypt.Limit // "" = valid
		size    int
		varName string // the variable a *VarError must name
	}{
		{"1024 entries", repeatVars(1024, ""), "", 0, ""},
		{"1025 entries", repeatVars(1025, ""), envcrypt.LimitEntries, 1025, ""},
		{"key 255 bytes", []envcrypt.EnvVar{{Key: long(255)}}, "", 0, ""},
		{"key 256 bytes", []envcrypt.EnvVar{{Key: "A"}, {Key: long(256)}}, envcrypt.LimitKeySize, 256, long(256)},
		{"value 128 KiB", []envcrypt.EnvVar{{Key: "A", Value: value(128 << 10)}}, "", 0, ""},
		{"value 128 KiB + 1", []envcrypt.EnvVar{{Key: "A", Value: value(128<<10 + 1)}}, envcrypt.LimitValueSize, 128<<10 + 1, "A"},
		{"total above 1 MiB", repeatVars(9, value(128<<10)), envcrypt.LimitTotalSize, 9*(128<<10) + 9*2, ""},
		{"blob above 256 KiB", []envcrypt.EnvVar{{Key: "A", Value: value(128 << 10)}, {Key: "B", Value: value(128 << 10)}},
			envcrypt.LimitBlobSize, 2*(128<<10) + 2 + 2*len(`{"key":"","value":""}`) + len(`{"env":[,]}`) + envcrypt.BlobOverhead, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := envcrypt.Validate(tc.env)
			if tc.limit == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, envcrypt.ErrLimitExceeded)
			var le *envcrypt.LimitError
			require.ErrorAs(t, err, &le)
			assert.Equal(t, tc.limit, le.Limit)
			assert.Equal(t, tc.size, le.Size)
			var ve *envcrypt.VarError
			if tc.varName != "" {
				require.ErrorAs(t, err, &ve)
				assert.Equal(t, tc.varName, ve.Name)
			} else {
				assert.False(t, errors.As(err, &ve))
			}
			assert.NotContains(t, err.Error(), "vvvv")
		})
	}
}

func TestValidateBlobBoundary(t *testing.T) {
	// Exactly MaxBlobSize is accepted, one byte more is not.
	fixed := len(`{"env":[{"key":"A","value":""}]}`) + envcrypt.BlobOverhead
	room := envcrypt.MaxBlobSize - fixed
	// Two values so neither exceeds the per-value limit.
	env := []envcrypt.EnvVar{{Key: "A", Value: strings.Repeat("v", 128<<10)}}
	env = append(env, envcrypt.EnvVar{Key: "B", Value: strings.Repeat("v", room-(128<<10)-len(`,{"key":"B","value":""}`))})
	require.NoError(t, envcrypt.Validate(env))
	_, pub := testKey(t, 1)
	blob, err := envcrypt.Encrypt(pub, env)
	require.NoError(t, err)
	assert.Len(t, blob, 2*envcrypt.MaxBlobSize)

	env[1].Value += "v"
	require.ErrorIs(t, envcrypt.Validate(env), envcrypt.ErrLimitExceeded)
	// Escaping counts: a newline takes two bytes in the plaintext.
	env[1].Value = env[1].Value[:len(env[1].Value)-2] + "\n"
	require.ErrorIs(t, envcrypt.Validate(env), envcrypt.ErrLimitExceeded)
}

func TestValidateDuplicates(t *testing.T) {
	env := []envcrypt.EnvVar{{Key: "A", Value: secret}, {Key: "B"}, {Key: "A", Value: secret + "2"}}
	err := envcrypt.Validate(env)
	require.ErrorIs(t, err, envcrypt.ErrDuplicateName)
	var ve *envcrypt.VarError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, 2, ve.Index)
	assert.Equal(t, "A", ve.Name)
	assert.Contains(t, err.Error(), `"A"`)
	assert.Contains(t, err.Error(), "entry 0")
	assert.NotContains(t, err.Error(), secret)

	// Names are case-sensitive, as in a CVM.
	require.NoError(t, envcrypt.Validate([]envcrypt.EnvVar{{Key: "a"}, {Key: "A"}}))
}

func TestValidateInvalidUTF8Value(t *testing.T) {
	err := envcrypt.Validate([]envcrypt.EnvVar{{Key: "A", Value: "ok\xff" + secret}})
	require.ErrorIs(t, err, envcrypt.ErrInvalidValue)
	assert.NotContains(t, err.Error(), secret)
}

func TestValidateAllowedEnvs(t *testing.T) {
	env := []envcrypt.EnvVar{{Key: "DB_URL", Value: secret}, {Key: "TOKEN"}, {Key: "EXTRA"}, {Key: "db_url"}}
	cases := []struct {
		name    string
		allowed []string
		missing []string
	}{
		{"all allowed", []string{"DB_URL", "TOKEN", "EXTRA", "db_url", "OTHER"}, nil},
		{"case-sensitive, every missing name listed in order", []string{"DB_URL"}, []string{"TOKEN", "EXTRA", "db_url"}},
		{"empty list allows nothing", []string{}, []string{"DB_URL", "TOKEN", "EXTRA", "db_url"}},
		{"nil list allows nothing", nil, []string{"DB_URL", "TOKEN", "EXTRA", "db_url"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := envcrypt.Validate(env, envcrypt.WithAllowedEnvs(tc.allowed))
			if tc.missing == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, envcrypt.ErrNotAllowed)
			var na *envcrypt.NotAllowedError
			require.ErrorAs(t, err, &na)
			assert.Equal(t, tc.missing, na.Names)
			for _, n := range tc.missing {
				assert.Contains(t, err.Error(), fmt.Sprintf("%q", n))
			}
			assert.NotContains(t, err.Error(), secret)
		})
	}
	// Without the option nothing is checked.
	require.NoError(t, envcrypt.Validate(env))
}

func TestEnvVarRedaction(t *testing.T) {
	v := envcrypt.EnvVar{Key: "TOKEN", Value: secret}
	for _, s := range []string{
		v.String(), fmt.Sprint(v), fmt.Sprintf("%v %+v %s %#v", v, v, v, v), fmt.Sprint([]envcrypt.EnvVar{v}),
	} {
		assert.NotContains(t, s, secret)
		assert.Contains(t, s, "TOKEN")
	}
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "var", v)
	assert.NotContains(t, buf.String(), secret)
	assert.Contains(t, buf.String(), "TOKEN")
}
