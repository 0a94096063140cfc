package envcrypt_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/internal/secrettest"
)

// envMark stands for an env value: it must never be printed.
const envMark = "ENVMARK-plaintext-5d2f9"

// TestEnvValueNeverPrinted renders every exported type of the package that holds
// an env value with every fmt verb, json.Marshal and both slog handlers, alone and
// wrapped, and finds the value in none of them.
func TestEnvValueNeverPrinted(t *testing.T) {
	v := envcrypt.EnvVar{Key: "DB_PASSWORD", Value: envMark}
	cases := []secrettest.Case{
		{Name: "EnvVar", Value: v},
		{Name: "*EnvVar", Value: &v},
		{Name: "[]EnvVar", Value: []envcrypt.EnvVar{{Key: "A", Value: "a"}, v}},
		{Name: "*CVMEnv", Value: &envcrypt.CVMEnv{Vars: []envcrypt.EnvVar{v}, Skipped: []string{"X"}}},
		{Name: "struct holding EnvVar", Value: struct {
			Env []envcrypt.EnvVar
			One envcrypt.EnvVar
		}{[]envcrypt.EnvVar{v}, v}},
	}
	for _, c := range cases {
		for _, c := range secrettest.Wrapped(c) {
			t.Run(c.Name, func(t *testing.T) {
				assert.Empty(t, secrettest.Leaks(c, envMark))
			})
		}
	}
}

// TestEnvVarJSON pins the JSON form: the name is kept, the value redacted, and a
// document with a value still decodes.
func TestEnvVarJSON(t *testing.T) {
	b, err := json.Marshal([]envcrypt.EnvVar{{Key: "TOKEN", Value: envMark}})
	require.NoError(t, err)
	assert.JSONEq(t, `[{"key":"TOKEN","value":"[REDACTED]"}]`, string(b))

	var got envcrypt.EnvVar
	require.NoError(t, json.Unmarshal([]byte(`{"key":"K","value":"v1"}`), &got))
	assert.Equal(t, envcrypt.EnvVar{Key: "K", Value: "v1"}, got)
}
