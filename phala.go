package phala

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

// Version is the version of this SDK; it is part of the default User-Agent.
const Version = "0.1.0"

// Defaults used by NewClient.
const (
	// DefaultBaseURL is the Phala Cloud API base URL used when neither WithBaseURL nor
	// PHALA_CLOUD_API_PREFIX is set.
	DefaultBaseURL = "https://cloud-api.phala.com/api/v1"
	// DefaultAPIVersion is the X-Phala-Version sent unless WithAPIVersion is used.
	DefaultAPIVersion = "2026-01-21"
	// DefaultTimeout bounds each attempt (connect, send, answer and body) unless
	// WithTimeout is used or the *http.Client given to WithHTTPClient has a Timeout.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxResponseBytes caps the size of a response body the client reads.
	DefaultMaxResponseBytes = 8 << 20
)

// Environment variables read by NewClient.
const (
	EnvAPIKey    = "PHALA_CLOUD_API_KEY"    // API key, used when WithAPIKey is not given
	EnvAPIPrefix = "PHALA_CLOUD_API_PREFIX" // base URL, used when WithBaseURL is not given
)

// APIKey is a Phala Cloud API key. It formats as "[REDACTED]" with every fmt verb and
// in log/slog, so that logging a value holding it never leaks the key.
type APIKey string

const redacted = "[REDACTED]"

// String returns "[REDACTED]".
func (APIKey) String() string { return redacted }

// GoString returns "[REDACTED]", so %#v does not print the key either.
func (APIKey) GoString() string { return redacted }

// Format writes "[REDACTED]" for every verb (%s, %v, %q, %x, ...).
func (APIKey) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue returns "[REDACTED]" for log/slog.
func (APIKey) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON encodes "[REDACTED]": a configuration or report marshalled to JSON
// never holds the key.
func (APIKey) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText returns "[REDACTED]", for encoders that use [encoding.TextMarshaler].
// (encoding/json writes a map key of a string type as it is: do not key maps by
// APIKey.)
func (APIKey) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Client talks to the Phala Cloud API. Create one with NewClient; it is safe for
// concurrent use by several goroutines.
type Client struct {
	cfg     config
	baseURL string       // validated, without trailing slash
	hc      *http.Client // our copy of the caller's client, with redirect policy and timeout
}

// config collects what the options set. Options validate their argument and return an
// error wrapping ErrInvalidOption.
type config struct {
	apiKey           APIKey
	apiKeySet        bool
	baseURL          string
	baseURLSet       bool
	httpClient       *http.Client
	apiVersion       string
	userAgent        string
	timeout          time.Duration // 0: DefaultTimeout unless httpClient has its own
	retry            RetryPolicy
	logger           *slog.Logger
	maxResponseBytes int64
	insecureHTTP     bool

	// backoffHook, when set (tests only), is given each computed wait and returns the
	// wait actually used.
	backoffHook func(attempt int, wait time.Duration) time.Duration

	// Workflow options (replicas, commit, EncryptEnv) add their fields below.
	wf workflowConfig // see options_workflow.go
}

// Option configures a Client in NewClient.
type Option func(*config) error

func optionError(name, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidOption, name, fmt.Sprintf(format, args...))
}

// WithAPIKey sets the API key sent as X-API-Key. It overrides PHALA_CLOUD_API_KEY.
// The key must not be blank or contain control characters.
func WithAPIKey(key string) Option {
	return func(c *config) error {
		if err := validateAPIKey(key); err != nil {
			return optionError("WithAPIKey", "%v", err)
		}
		c.apiKey, c.apiKeySet = APIKey(key), true
		return nil
	}
}

func validateAPIKey(key string) error {
	if strings.TrimSpace(key) == "" {
		return fmt.Errorf("API key must not be empty")
	}
	for _, r := range key {
		if r < 0x21 || r > 0x7e {
			return fmt.Errorf("API key must be printable ASCII without spaces")
		}
	}
	return nil
}

// WithBaseURL sets the API base URL, for example "https://cloud-api.phala.com/api/v1"
// or an emulator's URL. It overrides PHALA_CLOUD_API_PREFIX. Request paths are
// appended to it, so a path prefix such as /api/v1 is kept. The URL must be absolute
// http or https without credentials, query or fragment; plain http is accepted only
// for loopback hosts unless WithInsecureHTTP is also given.
func WithBaseURL(rawURL string) Option {
	return func(c *config) error {
		if strings.TrimSpace(rawURL) == "" {
			return optionError("WithBaseURL", "base URL must not be empty")
		}
		c.baseURL, c.baseURLSet = rawURL, true
		return nil
	}
}

// WithInsecureHTTP allows a plain http:// base URL on a non-loopback host. The API
// key then travels in clear text; use it only on a network you trust.
func WithInsecureHTTP() Option {
	return func(c *config) error {
		c.insecureHTTP = true
		return nil
	}
}

// WithHTTPClient sets the *http.Client used for requests. The client is copied, never
// modified: the copy gets the redirect policy (same host only; the caller's
// CheckRedirect still runs after it) and, when hc.Timeout is 0, the per-attempt
// timeout. Its Transport, when set, is used as it is: by default an
// *http.Transport keeps 2 idle connections per host, so Scale and
// ApplyReplicaSet above concurrency 2 open new ones for every wave of requests
// unless its MaxIdleConnsPerHost is at least their Concurrency. Without a
// Transport the client uses a copy of http.DefaultTransport that keeps every
// connection in use at once for reuse.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return optionError("WithHTTPClient", "http client must not be nil")
		}
		c.httpClient = hc
		return nil
	}
}

var apiVersionRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)

// WithAPIVersion sets the X-Phala-Version header (default DefaultAPIVersion). Any
// valid YYYY-MM-DD date is accepted, so newer API versions can be used without a new
// SDK release; the response types of this package follow DefaultAPIVersion.
func WithAPIVersion(version string) Option {
	return func(c *config) error {
		if !apiVersionRE.MatchString(version) {
			return optionError("WithAPIVersion", "version %q is not of the form YYYY-MM-DD", oneLine(version, 32))
		}
		if _, err := time.Parse(time.DateOnly, version); err != nil {
			return optionError("WithAPIVersion", "version %q is not a valid date", version)
		}
		c.apiVersion = version
		return nil
	}
}

// WithUserAgent replaces the User-Agent header (default "phala-go/" + Version).
func WithUserAgent(ua string) Option {
	return func(c *config) error {
		if strings.TrimSpace(ua) == "" {
			return optionError("WithUserAgent", "user agent must not be empty")
		}
		if strings.ContainsFunc(ua, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return optionError("WithUserAgent", "user agent must not contain control characters")
		}
		c.userAgent = ua
		return nil
	}
}

// WithTimeout bounds each attempt of a request (connecting, sending, waiting for the
// answer and reading its body). The default is DefaultTimeout. The context given to a
// call still bounds the call as a whole.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return optionError("WithTimeout", "timeout must be positive, got %v", d)
		}
		c.timeout = d
		return nil
	}
}

// WithRetryPolicy replaces the retry policy (default DefaultRetryPolicy). See the
// package documentation, section Retries, for what is retried.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *config) error {
		if err := p.validate(); err != nil {
			return optionError("WithRetryPolicy", "%v", err)
		}
		c.retry = p
		return nil
	}
}

// WithLogger sets the logger for debug lines about each attempt (method, path,
// attempt, status, duration, request id). The API key and request or response bodies
// are never logged. A nil logger discards, as does the default.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			l = slog.New(slog.DiscardHandler)
		}
		c.logger = l
		return nil
	}
}

// WithMaxResponseBytes caps the size of a response body the client reads (default
// DefaultMaxResponseBytes). A larger body yields an error wrapping
// ErrResponseTooLarge.
func WithMaxResponseBytes(n int64) Option {
	return func(c *config) error {
		if n <= 0 {
			return optionError("WithMaxResponseBytes", "limit must be positive, got %d", n)
		}
		c.maxResponseBytes = n
		return nil
	}
}

// NewClient returns a Client configured by opts.
//
// Without WithAPIKey the key is read from PHALA_CLOUD_API_KEY; when neither gives a
// key, NewClient returns an error wrapping ErrMissingAPIKey, so no request is ever
// sent without one. Without WithBaseURL the base URL is PHALA_CLOUD_API_PREFIX when
// non-blank, else DefaultBaseURL. A plain http:// base URL on a non-loopback host
// yields an error wrapping ErrInsecureBaseURL unless WithInsecureHTTP is given.
// Invalid options yield an error wrapping ErrInvalidOption.
func NewClient(opts ...Option) (*Client, error) {
	cfg := config{
		apiVersion:       DefaultAPIVersion,
		userAgent:        "phala-go/" + Version,
		retry:            DefaultRetryPolicy(),
		logger:           slog.New(slog.DiscardHandler),
		maxResponseBytes: DefaultMaxResponseBytes,
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}

	if !cfg.apiKeySet {
		key := os.Getenv(EnvAPIKey)
		if strings.TrimSpace(key) == "" {
			return nil, ErrMissingAPIKey
		}
		if err := validateAPIKey(key); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalidOption, EnvAPIKey, err)
		}
		cfg.apiKey = APIKey(key)
	}
	if !cfg.baseURLSet {
		cfg.baseURL = DefaultBaseURL
		if p := strings.TrimSpace(os.Getenv(EnvAPIPrefix)); p != "" {
			cfg.baseURL = p
		}
	}
	base, err := parseBaseURL(cfg.baseURL, cfg.insecureHTTP)
	if err != nil {
		return nil, err
	}

	c := &Client{cfg: cfg, baseURL: base}
	c.hc = c.newHTTPClient()
	return c, nil
}

// parseBaseURL validates a base URL and returns it without trailing slash.
func parseBaseURL(raw string, insecureOK bool) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("%w: base URL: cannot parse it", ErrInvalidOption)
	}
	if u.User != nil {
		return "", fmt.Errorf("%w: base URL must not contain credentials", ErrInvalidOption)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return "", fmt.Errorf("%w: base URL %q: scheme must be https or http", ErrInvalidOption, oneLine(u.Redacted(), 200))
	}
	if u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("%w: base URL %q: must be absolute with a host", ErrInvalidOption, oneLine(u.Redacted(), 200))
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", fmt.Errorf("%w: base URL %q: must not have a query or fragment", ErrInvalidOption, oneLine(u.Redacted(), 200))
	}
	if u.Scheme == "http" && !insecureOK && !isLoopback(u.Hostname()) {
		return "", ErrInsecureBaseURL
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// BaseURL returns the base URL requests are sent to, without trailing slash.
func (c *Client) BaseURL() string { return c.baseURL }

// String describes the client without its API key.
func (c *Client) String() string {
	return fmt.Sprintf("phala.Client{base: %s, version: %s, key: %s}", c.baseURL, c.cfg.apiVersion, redacted)
}

// GoString is like String, so %#v does not print the API key either.
func (c *Client) GoString() string { return c.String() }

// Format implements [fmt.Formatter] so that no verb (%d, %x, …) prints the
// client's fields, the API key among them: every verb formats String.
func (c *Client) Format(f fmt.State, verb rune) { formatSafe(f, verb, c.String(), c.String()) }

// LogValue describes the client for log/slog without its API key.
func (c *Client) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", c.baseURL),
		slog.String("api_version", c.cfg.apiVersion),
		slog.Any("api_key", c.cfg.apiKey),
	)
}
