package envcrypt_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/envcrypt"
)

// sealDoc encrypts a raw plaintext document to the key pair with the given seed.
func sealDoc(t *testing.T, seed byte, doc string) ([]byte, string) {
	t.Helper()
	priv, pub := testKey(t, seed)
	return priv, envcrypt.SealRaw(mustHex(t, pub), []byte(doc), detRand(seed))
}

func entries(pairs ...string) string {
	var b strings.Builder
	b.WriteString(`{"env":[`)
	for i := 0; i < len(pairs); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"key":%q,"value":%q}`, pairs[i], pairs[i+1])
	}
	b.WriteString(`]}`)
	return b.String()
}

func TestDecryptEnvRoundTrip(t *testing.T) {
	priv, pub := testKey(t, 7)
	env := []envcrypt.EnvVar{{Key: "ZETA", Value: "z"}, {Key: "ALPHA", Value: "a\nb"}, {Key: "MID", Value: ""}}
	blob, err := envcrypt.Encrypt(pub, env, envcrypt.WithAllowedEnvs([]string{"ALPHA", "MID", "ZETA"}))
	require.NoError(t, err)

	got, err := envcrypt.DecryptEnv(priv, "0x"+blob, []string{"ALPHA", "MID", "ZETA", "UNUSED"})
	require.NoError(t, err)
	assert.Equal(t, []envcrypt.EnvVar{{Key: "ALPHA", Value: "a\nb"}, {Key: "MID", Value: ""}, {Key: "ZETA", Value: "z"}}, got.Vars,
		"sorted by name, as dstack-util's BTreeMap")
	assert.Empty(t, got.Skipped)
	v, ok := got.Lookup("ALPHA")
	assert.True(t, ok)
	assert.Equal(t, "a\nb", v)
	_, ok = got.Lookup("UNUSED")
	assert.False(t, ok)
	assert.Equal(t, map[string]string{"ALPHA": "a\nb", "MID": "", "ZETA": "z"}, got.Map())
	assert.Equal(t, []string{"ALPHA", "MID", "ZETA"}, got.Names())
}

func TestDecryptEnvNothingToDecrypt(t *testing.T) {
	priv, pub := testKey(t, 7)
	blob, err := envcrypt.Encrypt(pub, []envcrypt.EnvVar{{Key: "A", Value: "1"}})
	require.NoError(t, err)
	// dstack-util skips decryption silently without a key (no KMS) or without a blob.
	for _, tc := range []struct {
		name string
		key  []byte
		blob string
	}{{"no key", nil, blob}, {"no blob", priv, ""}, {"0x only", priv, "0x"}} {
		got, err := envcrypt.DecryptEnv(tc.key, tc.blob, []string{"A"})
		require.NoError(t, err, tc.name)
		assert.Empty(t, got.Vars, tc.name)
		assert.Empty(t, got.Skipped, tc.name)
	}
}

func TestDecryptEnvRules(t *testing.T) {
	long := strings.Repeat("K", 256)
	big := strings.Repeat("v", 128<<10+1)
	manyDisallowed := make([]string, 0, 2*1025)
	for i := 0; i < 1024; i++ {
		manyDisallowed = append(manyDisallowed, fmt.Sprintf("X%d", i), "")
	}
	cases := []struct {
		name    string
		doc     string
		allowed []string
		vars    map[string]string
		skipped []string
		err     error
		limit   envcrypt.Limit
		errName string // name a *VarError must carry
	}{
		{name: "disallowed skipped, not fatal", doc: entries("A", "1", "B", "2", "C", "3", "B", "4"),
			allowed: []string{"A", "C"}, vars: map[string]string{"A": "1", "C": "3"}, skipped: []string{"B"}},
		{name: "empty allowed list drops everything", doc: entries("A", "1", "B", "2"),
			allowed: nil, vars: map[string]string{}, skipped: []string{"A", "B"}},
		{name: "allowed check is case-sensitive", doc: entries("a", "1"),
			allowed: []string{"A"}, vars: map[string]string{}, skipped: []string{"a"}},
		{name: "duplicates: last wins", doc: entries("A", "first", "A", "second"),
			allowed: []string{"A"}, vars: map[string]string{"A": "second"}, skipped: []string{}},
		{name: "disallowed invalid name is only skipped", doc: entries("bad-name", "x", "A", "1"),
			allowed: []string{"A"}, vars: map[string]string{"A": "1"}, skipped: []string{"bad-name"}},
		{name: "allowed invalid name is fatal", doc: entries("bad-name", "x"),
			allowed: []string{"bad-name"}, err: envcrypt.ErrInvalidName, errName: "bad-name"},
		{name: "allowed empty name is fatal", doc: entries("", "x"),
			allowed: []string{""}, err: envcrypt.ErrInvalidName, errName: ""},
		{name: "1024 entries", doc: entries(manyDisallowed...), allowed: []string{"X5"},
			vars: map[string]string{"X5": ""}, skipped: nil},
		{name: "1025 entries, disallowed ones count", doc: entries(append(manyDisallowed, "A", "")...),
			allowed: []string{"A"}, err: envcrypt.ErrLimitExceeded, limit: envcrypt.LimitEntries},
		{name: "long disallowed key is only skipped", doc: entries(long, "x"),
			allowed: nil, vars: map[string]string{}, skipped: []string{long}},
		{name: "long allowed key is fatal", doc: entries(long, "x"),
			allowed: []string{long}, err: envcrypt.ErrLimitExceeded, limit: envcrypt.LimitKeySize, errName: long},
		{name: "big allowed value is fatal", doc: entries("A", big),
			allowed: []string{"A"}, err: envcrypt.ErrLimitExceeded, limit: envcrypt.LimitValueSize, errName: "A"},
		{name: "big disallowed value is only skipped", doc: entries("A", big),
			allowed: nil, vars: map[string]string{}, skipped: []string{"A"}},
		{name: "unknown fields ignored", doc: `{"v":1,"env":[{"key":"A","x":[{"y":null}],"value":"1"}],"z":"\u00e9"}`,
			allowed: []string{"A"}, vars: map[string]string{"A": "1"}, skipped: []string{}},
		{name: "whitespace and escapes", doc: " {\n\"env\" : [ {\"value\":\"\\u00e9\\n\\ud83d\\ude00\", \"key\":\"\\u0041\"} ] }\n",
			allowed: []string{"A"}, vars: map[string]string{"A": "é\n😀"}, skipped: []string{}},
		{name: "key must be a string", doc: `{"env":[{"key":1,"value":"1"}]}`, err: envcrypt.ErrInvalidPlaintext},
		{name: "value must be a string", doc: `{"env":[{"key":"A","value":null}]}`, err: envcrypt.ErrInvalidPlaintext},
		{name: "map form refused", doc: `{"env":{"A":"1"}}`, err: envcrypt.ErrInvalidPlaintext},
		{name: "bare array refused", doc: `[{"key":"A","value":"1"}]`, err: envcrypt.ErrInvalidPlaintext},
		{name: "not JSON", doc: `env=1`, err: envcrypt.ErrInvalidPlaintext},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			priv, blob := sealDoc(t, byte(i), tc.doc)
			got, err := envcrypt.DecryptEnv(priv, blob, tc.allowed)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				assert.Nil(t, got)
				if tc.limit != "" {
					var le *envcrypt.LimitError
					require.ErrorAs(t, err, &le)
					assert.Equal(t, tc.limit, le.Limit)
				}
				if tc.errName != "" || tc.err == envcrypt.ErrInvalidName {
					var ve *envcrypt.VarError
					require.ErrorAs(t, err, &ve)
					assert.Equal(t, tc.errName, ve.Name)
				}
				assert.NotContains(t, err.Error(), "vvvv")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.vars, got.Map())
			if tc.skipped != nil {
				assert.Equal(t, tc.skipped, got.Skipped)
			}
		})
	}
}

func TestCVMRulesTotalSize(t *testing.T) {
	// No blob within 256 KiB can carry 1 MiB, so the rule is checked on its own.
	v := strings.Repeat("v", 128<<10)
	var pairs []envcrypt.EnvVar
	for i := 0; i < 8; i++ {
		pairs = append(pairs, envcrypt.EnvVar{Key: fmt.Sprintf("K%d", i), Value: v[:len(v)-2]}) // 128 KiB per entry
	}
	allowed := []string{"K0", "K1", "K2", "K3", "K4", "K5", "K6", "K7", "K8", "D"}
	got, err := envcrypt.ApplyCVMRules(pairs, allowed)
	require.NoError(t, err, "exactly 1 MiB is accepted")
	assert.Len(t, got.Vars, 8)

	_, err = envcrypt.ApplyCVMRules(append(pairs, envcrypt.EnvVar{Key: "D"}), allowed)
	var le *envcrypt.LimitError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, envcrypt.LimitTotalSize, le.Limit)
	assert.Equal(t, 1<<20+1, le.Size)

	// Disallowed entries do not count towards the total.
	got, err = envcrypt.ApplyCVMRules(append(pairs, envcrypt.EnvVar{Key: "SKIP", Value: v}), allowed)
	require.NoError(t, err)
	assert.Equal(t, []string{"SKIP"}, got.Skipped)

	// Duplicates count each time they appear.
	_, err = envcrypt.ApplyCVMRules(append(pairs, envcrypt.EnvVar{Key: "K0", Value: "x"}), allowed)
	require.ErrorIs(t, err, envcrypt.ErrLimitExceeded)
}

func TestParsePlaintextLikeSerde(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		want []envcrypt.EnvVar // nil = error
	}{
		{"canonical", `{"env":[{"key":"A","value":"1"}]}`, []envcrypt.EnvVar{{Key: "A", Value: "1"}}},
		{"empty env", `{"env":[]}`, []envcrypt.EnvVar{}},
		{"struct as array", `[[["A","1"],{"key":"B","value":"2"}]]`, []envcrypt.EnvVar{{Key: "A", Value: "1"}, {Key: "B", Value: "2"}}},
		{"escaped field name", `{"\u0065nv":[{"k\u0065y":"A","value":"1"}]}`, []envcrypt.EnvVar{{Key: "A", Value: "1"}}},
		{"bad UTF-8 inside an ignored value", "{\"x\":\"\xff\",\"env\":[]}", []envcrypt.EnvVar{}},
		{"lone surrogate inside an ignored value", `{"x":"\ud800","env":[]}`, []envcrypt.EnvVar{}},
		{"127 levels deep", `{"x":` + strings.Repeat("[", 126) + strings.Repeat("]", 126) + `,"env":[]}`, []envcrypt.EnvVar{}},
		{"field names are case-sensitive", `{"Env":[]}`, nil},
		{"missing env", `{}`, nil},
		{"env twice", `{"env":[],"env":[]}`, nil},
		{"env null", `{"env":null}`, nil},
		{"key twice", `{"env":[{"key":"A","key":"B","value":"1"}]}`, nil},
		{"missing value", `{"env":[{"key":"A"}]}`, nil},
		{"Key instead of key", `{"env":[{"Key":"A","value":"1"}]}`, nil},
		{"value is a number", `{"env":[{"key":"A","value":1}]}`, nil},
		{"value is a bool", `{"env":[{"key":"A","value":true}]}`, nil},
		{"array form too short", `{"env":[["A"]]}`, nil},
		{"array form too long", `{"env":[["A","1","x"]]}`, nil},
		{"trailing data", `{"env":[]} x`, nil},
		{"second document", `{"env":[]}{"env":[]}`, nil},
		{"trailing comma", `{"env":[],}`, nil},
		{"bad UTF-8 in a value", "{\"env\":[{\"key\":\"A\",\"value\":\"\xff\"}]}", nil},
		{"bad UTF-8 in a field name", "{\"env\":[],\"\xff\":1}", nil},
		{"lone high surrogate", `{"env":[{"key":"A","value":"\ud800"}]}`, nil},
		{"lone low surrogate", `{"env":[{"key":"A","value":"\udc00"}]}`, nil},
		{"reversed surrogates", `{"env":[{"key":"A","value":"\udc00\ud800"}]}`, nil},
		{"high surrogate then letter", `{"env":[{"key":"A","value":"\ud800x"}]}`, nil},
		{"128 levels deep", `{"x":` + strings.Repeat("[", 127) + strings.Repeat("]", 127) + `,"env":[]}`, nil},
		{"empty", ``, nil},
		{"raw control character", "{\"env\":[{\"key\":\"A\",\"value\":\"\n\"}]}", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := envcrypt.ParsePlaintext([]byte(tc.doc))
			if tc.want == nil {
				require.ErrorIs(t, err, envcrypt.ErrInvalidPlaintext)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestCVMEnvRedaction(t *testing.T) {
	priv, blob := sealDoc(t, 3, entries("TOKEN", secret, "OTHER", secret))
	got, err := envcrypt.DecryptEnv(priv, blob, []string{"TOKEN"})
	require.NoError(t, err)
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("env", "env", got)
	for _, s := range []string{got.String(), fmt.Sprint(got), fmt.Sprintf("%v", got), buf.String()} {
		assert.NotContains(t, s, secret)
		assert.Contains(t, s, "TOKEN")
		assert.Contains(t, s, "OTHER")
	}
	var nilEnv *envcrypt.CVMEnv
	_, ok := nilEnv.Lookup("A")
	assert.False(t, ok)
	assert.Empty(t, nilEnv.Map())
}
