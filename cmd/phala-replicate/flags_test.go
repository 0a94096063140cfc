package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testKey = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseArgs(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, o *options)
	}{
		{
			name: "positional before flags",
			args: []string{"app_0123", "--node-id", "7", "--json"},
			check: func(t *testing.T, o *options) {
				assert.Equal(t, "app_0123", o.source)
				assert.Equal(t, "7", o.nodeID)
				assert.True(t, o.jsonOut)
				assert.Equal(t, 1, o.count)
			},
		},
		{
			name: "positional after flags and between them",
			args: []string{"--node-id=node-a", "my-cvm", "-j", "--compose-hash", hash},
			check: func(t *testing.T, o *options) {
				assert.Equal(t, "my-cvm", o.source)
				assert.Equal(t, "node-a", o.nodeID)
				assert.Equal(t, hash, o.composeHash)
				assert.True(t, o.jsonOut)
			},
		},
		{
			name: "teepod-id alias and -e short flag",
			args: []string{"-teepod-id", " 12 ", "x", "-e", "prod.env"},
			check: func(t *testing.T, o *options) {
				assert.Equal(t, "12", o.nodeID)
				assert.Equal(t, "prod.env", o.envFile)
			},
		},
		{
			name: "double dash ends flags",
			args: []string{"--json", "--", "-odd-name"},
			check: func(t *testing.T, o *options) {
				assert.Equal(t, "-odd-name", o.source)
				assert.True(t, o.jsonOut)
			},
		},
		{
			name: "environment variables",
			args: []string{"x"},
			env:  map[string]string{envAPIKey: "k-env", envAPIPrefix: " http://127.0.0.1:1/api/v1 ", envPrivateKey: "0x" + testKey, envRPCURL: "http://rpc", envCloudURL: "https://dash.example/"},
			check: func(t *testing.T, o *options) {
				assert.Equal(t, secret("k-env"), o.apiKey)
				assert.Equal(t, "http://127.0.0.1:1/api/v1", o.apiPrefix)
				assert.Equal(t, secret("0x"+testKey), o.privateKey)
				assert.False(t, o.keyFromFlag)
				assert.Equal(t, "http://rpc", o.rpcURL)
				assert.Equal(t, "https://dash.example", o.cloudURL)
			},
		},
		{
			name: "flags override environment",
			args: []string{"x", "--api-key", "k-flag", "--private-key", testKey, "--rpc-url", "http://flag"},
			env:  map[string]string{envAPIKey: "k-env", envPrivateKey: "0x" + strings.Repeat("1", 64), envRPCURL: "http://env"},
			check: func(t *testing.T, o *options) {
				assert.Equal(t, secret("k-flag"), o.apiKey)
				assert.Equal(t, secret(testKey), o.privateKey, "a key without 0x is accepted as is")
				assert.True(t, o.keyFromFlag)
				assert.Equal(t, "http://flag", o.rpcURL)
				assert.Equal(t, "https://cloud.phala.com", o.cloudURL)
			},
		},
		{
			name: "api-token is the official alias of api-key",
			args: []string{"x", "--api-token", "k2"},
			check: func(t *testing.T, o *options) {
				assert.Equal(t, secret("k2"), o.apiKey)
			},
		},
		{
			name: "commit with token and compose hash",
			args: []string{"--commit", "vm", "--token", "ct_1", "--compose-hash", "0x" + hash, "--transaction-hash", "already-registered"},
			check: func(t *testing.T, o *options) {
				assert.True(t, o.commit)
				assert.Equal(t, secret("ct_1"), o.token)
				assert.Equal(t, "already-registered", o.txHash)
			},
		},
		{
			name: "commit from a prepared file needs no cvm-id",
			args: []string{"--commit", "--prepared-file", "p.json"},
			check: func(t *testing.T, o *options) {
				assert.Equal(t, "", o.source)
				assert.Equal(t, "p.json", o.preparedFile)
			},
		},
		{
			name: "prepare-only with safe and prepared files",
			args: []string{"vm", "--prepare-only", "--safe-file", "s.json", "--prepared-file", "p.json"},
			check: func(t *testing.T, o *options) {
				assert.True(t, o.prepareOnly)
				assert.Equal(t, "s.json", o.safeFile)
				assert.Equal(t, "p.json", o.preparedFile)
			},
		},
		{
			name: "prepare-only ignores PRIVATE_KEY from the environment",
			args: []string{"vm", "--prepare-only"},
			env:  map[string]string{envPrivateKey: testKey},
			check: func(t *testing.T, o *options) {
				assert.True(t, o.prepareOnly)
			},
		},
		{
			name: "count and wait",
			args: []string{"vm", "--count", "3", "--wait"},
			check: func(t *testing.T, o *options) {
				assert.Equal(t, 3, o.count)
				assert.True(t, o.wait)
			},
		},
		{
			name: "kms contract is checksummed",
			args: []string{"vm", "--kms-contract", " 0x" + strings.Repeat("ab", 20) + " "},
			check: func(t *testing.T, o *options) {
				assert.Equal(t, common.HexToAddress(strings.Repeat("ab", 20)).Hex(), o.kmsContract)
				assert.NotEqual(t, strings.ToLower(o.kmsContract), o.kmsContract, "EIP-55 mixed case")
			},
		},
		{
			name: "kms contract without 0x",
			args: []string{"vm", "--kms-contract", strings.Repeat("12", 20)},
			check: func(t *testing.T, o *options) {
				assert.Equal(t, strings.ToLower(o.kmsContract), "0x"+strings.Repeat("12", 20))
			},
		},
		{
			name: "kms roots repeat",
			args: []string{"vm", "--kms-root", "0x02" + strings.Repeat("11", 32), "--kms-root", "04" + strings.Repeat("22", 64)},
			check: func(t *testing.T, o *options) {
				require.Len(t, o.kmsRoots, 2)
				assert.Len(t, o.kmsRoots[0], 33)
				assert.Len(t, o.kmsRoots[1], 65)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseArgs(tt.args, envOf(tt.env))
			require.NoError(t, err)
			tt.check(t, o)
		})
	}
}

func TestParseArgsUsageErrors(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string // substring of the message
	}{
		{"no cvm-id", []string{"--json"}, nil, "missing <cvm-id>"},
		{"two cvm-ids", []string{"a", "b"}, nil, "expected one <cvm-id> argument, got 2"},
		{"unknown flag", []string{"a", "--nope"}, nil, "flag provided but not defined: -nope"},
		{"flag without value", []string{"a", "--node-id"}, nil, "flag needs an argument: -node-id"},
		{"commit without token", []string{"a", "--commit", "--compose-hash", hash}, nil, "--token is required"},
		{"commit without compose hash", []string{"a", "--commit", "--token", "t"}, nil, "--compose-hash is required"},
		{"commit without cvm-id", []string{"--commit", "--token", "t", "--compose-hash", hash}, nil, "missing <cvm-id>"},
		{"commit and prepare-only", []string{"a", "--commit", "--prepare-only"}, nil, "cannot be used together"},
		{"commit with node", []string{"a", "--commit", "--token", "t", "--compose-hash", hash, "--teepod-id", "1"}, nil, "--teepod-id cannot be used with --commit"},
		{"commit with env file", []string{"a", "--commit", "--token", "t", "--compose-hash", hash, "-e", "x"}, nil, "-e cannot be used with --commit"},
		{"commit with private key", []string{"a", "--commit", "--token", "t", "--compose-hash", hash, "--private-key", testKey}, nil, "--private-key cannot be used with --commit"},
		{"commit with prepared file and token", []string{"--commit", "--prepared-file", "p", "--token", "t"}, nil, "--token cannot be used with --prepared-file"},
		{"token without commit", []string{"a", "--token", "t"}, nil, "--token is only used with --commit"},
		{"tx hash without commit", []string{"a", "--transaction-hash", "x"}, nil, "--transaction-hash is only used with --commit"},
		{"prepare-only with wait", []string{"a", "--prepare-only", "--wait"}, nil, "--wait cannot be used with --prepare-only"},
		{"prepare-only with count", []string{"a", "--prepare-only", "--count", "2"}, nil, "--count cannot be used with --prepare-only"},
		{"prepare-only with private key flag", []string{"a", "--prepare-only", "--private-key", testKey}, nil, "--private-key cannot be used with --prepare-only"},
		{"prepared file without mode", []string{"a", "--prepared-file", "p"}, nil, "--prepared-file is only used with"},
		{"count zero", []string{"a", "--count", "0"}, nil, "--count must be a whole number"},
		{"count not a number", []string{"a", "--count", "two"}, nil, "--count must be a whole number"},
		{"count too large", []string{"a", "--count", "101"}, nil, "--count must be at most 100"},
		{"count with safe file", []string{"a", "--count", "2", "--safe-file", "s"}, nil, "--safe-file cannot be used with --count"},
		{"bad private key flag", []string{"a", "--private-key", "0x1234"}, nil, "--private-key must be 64 hex digits"},
		{"bad private key env", []string{"a"}, map[string]string{envPrivateKey: "zz" + testKey[2:]}, "PRIVATE_KEY must be 64 hex digits"},
		{"bad kms contract", []string{"a", "--kms-contract", "0x1234"}, nil, "--kms-contract must be a contract address"},
		{"zero kms contract", []string{"a", "--kms-contract", "0x" + strings.Repeat("00", 20)}, nil, "--kms-contract must be a contract address"},
		{"app id as kms contract", []string{"a", "--kms-contract", "app_" + strings.Repeat("12", 20)}, nil, "--kms-contract must be a contract address"},
		{"empty kms contract", []string{"a", "--kms-contract", ""}, nil, "--kms-contract must be a contract address"},
		{"bad kms root", []string{"a", "--kms-root", "0x1234"}, nil, "--kms-root must be a secp256k1 public key"},
		{"empty api key flag", []string{"a", "--api-key", " "}, nil, "--api-key is empty"},
		{"empty cvm id", []string{" "}, nil, "the <cvm-id> argument is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseArgs(tt.args, envOf(tt.env))
			require.Error(t, err)
			var ue *usageError
			require.ErrorAs(t, err, &ue)
			assert.Contains(t, err.Error(), tt.want)
			assert.Equal(t, exitUsage, exitCode(err))
		})
	}
}

func TestParseArgsNeverEchoesSecrets(t *testing.T) {
	bad := "0x" + testKey[:60] + "zzzz"
	_, err := parseArgs([]string{"a", "--private-key", bad}, envOf(nil))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), testKey[:60])

	o, err := parseArgs([]string{"a", "--private-key", testKey, "--api-key", "sk-very-secret"}, envOf(nil))
	require.NoError(t, err)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		s := fmt.Sprintf(verb, *o)
		assert.NotContains(t, s, testKey, verb)
		assert.NotContains(t, s, "sk-very-secret", verb)
	}
}

func TestParseArgsHelp(t *testing.T) {
	for _, a := range []string{"-h", "--help", "-help"} {
		_, err := parseArgs([]string{a}, envOf(nil))
		assert.ErrorIs(t, err, errHelp, a)
	}
}

// hex64 finds 64 hex digits: what a private key typed in an argument holds.
var hex64 = regexp.MustCompile(`[0-9a-fA-F]{64}`)

func TestParseErrorsNeverQuoteAKey(t *testing.T) {
	key := strings.TrimPrefix(testKey, "0x")
	tests := [][]string{
		{"--private-key\x1f0x" + key},         // found by FuzzParseArgs: a separator that is not '='
		{"--private-key0x" + key},             // no separator at all
		{"src", "0x" + key},                   // the flag name forgotten
		{"src", key + "ff", "--node-id", "1"}, // a longer paste
	}
	for _, args := range tests {
		_, err := parseArgs(args, envOf(nil))
		var ue *usageError
		require.ErrorAs(t, err, &ue, "%q", args)
		assert.NotContains(t, err.Error(), key)
		assert.Contains(t, err.Error(), "hex digits redacted")
	}
	assert.Equal(t, "app "+strings.Repeat("a", 40)+" [48 hex digits redacted]!", redactLongHex("app "+strings.Repeat("a", 40)+" "+strings.Repeat("b", 48)+"!"))
}

// FuzzParseArgs checks that no command line makes the parser panic, and
// that every rejection is a usage error that never echoes the private key.
func FuzzParseArgs(f *testing.F) {
	for _, seed := range []string{
		"app_x\n--node-id\n7", "--commit\n--token\nt\n--compose-hash\n" + strings.Repeat("a", 64) + "\nvm",
		"--\n-x", "-e\n\n--count\n-1", "--private-key\n0x" + testKey, "--kms-root\n02", "--poll-interval\n1ns",
		"x\n--json=maybe", "--prepared-file\np\n--commit\n--token\nt",
	} {
		f.Add(seed, testKey)
	}
	f.Fuzz(func(t *testing.T, line, envKey string) {
		args := strings.Split(line, "\n")
		o, err := parseArgs(args, envOf(map[string]string{envPrivateKey: envKey}))
		if err == nil {
			require.NotNil(t, o)
			assert.GreaterOrEqual(t, o.count, 1)
			return
		}
		if err == errHelp {
			return
		}
		var ue *usageError
		require.ErrorAs(t, err, &ue)
		if len(envKey) >= 16 && validPrivateKey(envKey) {
			assert.NotContains(t, err.Error(), strings.TrimPrefix(envKey, "0x"))
		}
		// Nor a key typed on the command line, however it was mangled.
		for _, m := range hex64.FindAllString(line, -1) {
			assert.NotContains(t, err.Error(), m)
		}
	})
}

// plan and apply read --kms-root and --kms-contract as replicate does: decoded,
// checksummed, and a bad value refused with the same message.
func TestSetArgsKMSFlags(t *testing.T) {
	root33, root65 := "0x02"+strings.Repeat("11", 32), "04"+strings.Repeat("22", 64)
	contract := strings.Repeat("ab", 20)
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"decoded", []string{"--kms-root", root33, "--kms-root", root65, "--kms-contract", " 0x" + contract + " "}, ""},
		{"bad root", []string{"--kms-root", "0x1234"}, "--kms-root must be a secp256k1 public key"},
		{"bad contract", []string{"--kms-contract", "app_" + contract}, "--kms-contract must be a contract address"},
		{"empty contract", []string{"--kms-contract", ""}, "--kms-contract must be a contract address"},
	}
	for _, verb := range []string{"plan", "apply"} {
		for _, tt := range tests {
			t.Run(verb+" "+tt.name, func(t *testing.T) {
				so, err := parseSetArgs(verb, append([]string{"-f", "set.json"}, tt.args...), envOf(nil))
				if tt.wantErr != "" {
					require.Error(t, err)
					assert.Contains(t, err.Error(), tt.wantErr)
					return
				}
				require.NoError(t, err)
				require.Len(t, so.kmsRoots, 2)
				assert.Len(t, so.kmsRoots[0], 33)
				assert.Len(t, so.kmsRoots[1], 65)
				assert.Equal(t, common.HexToAddress(contract).Hex(), so.kmsContract)
			})
		}
	}
}
