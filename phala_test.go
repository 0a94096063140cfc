package phala

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests using t.Setenv cannot run in parallel.

func TestNewClientEnvironment(t *testing.T) {
	tests := []struct {
		name     string
		envKey   string
		envURL   string
		opts     []Option
		wantErr  error
		wantBase string
		wantKey  string
	}{
		{name: "no key anywhere", wantErr: ErrMissingAPIKey},
		{name: "blank env key", envKey: "   ", wantErr: ErrMissingAPIKey},
		{name: "key from env, default URL", envKey: "env-key", wantBase: DefaultBaseURL, wantKey: "env-key"},
		{name: "option beats env", envKey: "env-key", opts: []Option{WithAPIKey("opt-key")}, wantBase: DefaultBaseURL, wantKey: "opt-key"},
		{name: "prefix from env", envKey: "key-0b9f", envURL: "https://eu.example.com/api/v1/", wantBase: "https://eu.example.com/api/v1", wantKey: "key-0b9f"},
		{name: "blank prefix ignored", envKey: "key-0b9f", envURL: "  ", wantBase: DefaultBaseURL, wantKey: "key-0b9f"},
		{name: "WithBaseURL beats env", envKey: "key-0b9f", envURL: "https://eu.example.com", opts: []Option{WithBaseURL("https://us.example.com/api")}, wantBase: "https://us.example.com/api", wantKey: "key-0b9f"},
		{name: "insecure env prefix refused", envKey: "key-0b9f", envURL: "http://api.example.com", wantErr: ErrInsecureBaseURL},
		{name: "env key with newline", envKey: "abc\ndef", wantErr: ErrInvalidOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvAPIKey, tt.envKey)
			t.Setenv(EnvAPIPrefix, tt.envURL)
			c, err := NewClient(tt.opts...)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Nil(t, c)
				if tt.envKey != "" {
					assert.NotContains(t, err.Error(), tt.envKey)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantBase, c.BaseURL())
			assert.Equal(t, tt.wantKey, string(c.cfg.apiKey))
			assert.Equal(t, DefaultAPIVersion, c.cfg.apiVersion)
			assert.Equal(t, "phala-go/"+Version, c.cfg.userAgent)
			assert.Equal(t, DefaultTimeout, c.hc.Timeout)
			assert.EqualValues(t, DefaultMaxResponseBytes, c.cfg.maxResponseBytes)
		})
	}
}

func TestMissingKeySendsNothing(t *testing.T) {
	t.Setenv(EnvAPIKey, "")
	var n counter
	c, mux, _ := setup(t) // a working client, to have a server
	mux.HandleFunc("/", n.wrap(func(http.ResponseWriter, *http.Request) {}))
	_, err := NewClient(WithBaseURL(c.BaseURL()))
	require.ErrorIs(t, err, ErrMissingAPIKey)
	assert.Contains(t, err.Error(), "PHALA_CLOUD_API_KEY")
	assert.Zero(t, n.get())
}

func TestOptionValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opt     Option
		wantErr error // nil: accepted
	}{
		{"empty key", WithAPIKey(""), ErrInvalidOption},
		{"blank key", WithAPIKey("  "), ErrInvalidOption},
		{"key with newline", WithAPIKey("sk-abc\r\nX-Evil: 1"), ErrInvalidOption},
		{"key with space", WithAPIKey("sk abc"), ErrInvalidOption},
		{"empty base URL", WithBaseURL(""), ErrInvalidOption},
		{"relative base URL", WithBaseURL("/api/v1"), ErrInvalidOption},
		{"ftp base URL", WithBaseURL("ftp://example.com"), ErrInvalidOption},
		{"base URL with credentials", WithBaseURL("https://user:pw@example.com"), ErrInvalidOption},
		{"base URL with query", WithBaseURL("https://example.com/api?x=1"), ErrInvalidOption},
		{"base URL with fragment", WithBaseURL("https://example.com/api#f"), ErrInvalidOption},
		{"unparsable base URL", WithBaseURL("https://exa mple.com:x/"), ErrInvalidOption},
		{"plain http remote", WithBaseURL("http://cloud-api.phala.com/api/v1"), ErrInsecureBaseURL},
		{"plain http private range", WithBaseURL("http://10.0.0.8/api"), ErrInsecureBaseURL},
		{"plain http localhost", WithBaseURL("http://localhost:8080/api/v1"), nil},
		{"plain http 127.0.0.5", WithBaseURL("http://127.0.0.5:1/api"), nil},
		{"plain http ::1", WithBaseURL("http://[::1]:9/api"), nil},
		{"https", WithBaseURL("https://cloud-api.phala.com/api/v1/"), nil},
		{"nil http client", WithHTTPClient(nil), ErrInvalidOption},
		{"version not a date", WithAPIVersion("latest"), ErrInvalidOption},
		{"version short", WithAPIVersion("2026-1-21"), ErrInvalidOption},
		{"version impossible date", WithAPIVersion("2026-13-40"), ErrInvalidOption},
		{"version with suffix", WithAPIVersion("2026-01-21\n"), ErrInvalidOption},
		{"version old", WithAPIVersion("2025-10-28"), nil},
		{"version future", WithAPIVersion("2027-06-30"), nil},
		{"empty user agent", WithUserAgent(" "), ErrInvalidOption},
		{"user agent with newline", WithUserAgent("a\nb"), ErrInvalidOption},
		{"zero timeout", WithTimeout(0), ErrInvalidOption},
		{"negative timeout", WithTimeout(-time.Second), ErrInvalidOption},
		{"zero body cap", WithMaxResponseBytes(0), ErrInvalidOption},
		{"nil logger discards", WithLogger(nil), nil},
		{"nil option ignored", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(WithAPIKey(testKey), tt.opt)
			if tt.wantErr == nil {
				require.NoError(t, err)
				require.NotNil(t, c)
				return
			}
			require.ErrorIs(t, err, tt.wantErr)
			assert.NotContains(t, err.Error(), testKey)
			assert.NotContains(t, err.Error(), "pw@", "credentials are not echoed")
		})
	}
}

func TestInsecureHTTPOptIn(t *testing.T) {
	t.Parallel()
	// The order of options does not matter.
	for _, opts := range [][]Option{
		{WithInsecureHTTP(), WithBaseURL("http://api.internal.example/api/v1")},
		{WithBaseURL("http://api.internal.example/api/v1"), WithInsecureHTTP()},
	} {
		c, err := NewClient(append(opts, WithAPIKey(testKey))...)
		require.NoError(t, err)
		assert.Equal(t, "http://api.internal.example/api/v1", c.BaseURL())
	}
}

func TestWithHTTPClientIsCopied(t *testing.T) {
	t.Parallel()
	rt := &countingTransport{}
	caller := &http.Client{Transport: rt}
	c, mux, _ := setup(t, WithHTTPClient(caller), WithTimeout(7*time.Second))
	mux.HandleFunc("/x", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{}`) })
	_, err := c.do(context.Background(), request{path: "/x"}, nil)
	require.NoError(t, err)
	assert.EqualValues(t, 1, rt.n.Load(), "the caller's transport is used")
	assert.Zero(t, caller.Timeout, "the caller's client is not modified")
	assert.Nil(t, caller.CheckRedirect)
	assert.NotSame(t, caller, c.hc)
	assert.Equal(t, 7*time.Second, c.hc.Timeout)

	// The caller's own timeout is kept when WithTimeout is not given.
	c2, err := NewClient(WithAPIKey(testKey), WithHTTPClient(&http.Client{Timeout: 3 * time.Second}))
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, c2.hc.Timeout)
	assert.NotSame(t, http.DefaultTransport, c2.hc.Transport, "never the process-wide transport")
}

func TestAPIKeyRedaction(t *testing.T) {
	t.Parallel()
	key := APIKey(testKey)
	c, err := NewClient(WithAPIKey(testKey), WithBaseURL("https://cloud-api.phala.com/api/v1"))
	require.NoError(t, err)

	outputs := []string{
		key.String(), fmt.Sprint(key), fmt.Sprintf("%v %s %q %x %X %#v %+v %d", key, key, key, key, key, key, key, key),
		fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c),
		fmt.Sprintf("%+v", struct{ K APIKey }{key}),
	}
	var logs bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&logs, nil))
	l.Info("client", "client", c, "key", key)
	l.Info("text", slog.Any("k", key))
	outputs = append(outputs, logs.String())
	for _, out := range outputs {
		assert.NotContains(t, out, testKey)
		assert.Contains(t, out, "[REDACTED]")
	}
	assert.Contains(t, c.String(), "https://cloud-api.phala.com/api/v1")
}
