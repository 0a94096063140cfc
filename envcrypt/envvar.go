package envcrypt

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"unicode/utf8"

	"github.com/phalaforge/phala-go/internal/redact"
)

// Limits a CVM enforces on its environment (dstack-util parse_env and the size of the
// .encrypted-env file).
const (
	MaxEntries   = 1024         // variables per blob
	MaxKeySize   = 255          // bytes per name
	MaxValueSize = 128 << 10    // bytes per value
	MaxTotalSize = 1 << 20      // bytes of names plus values
	MaxBlobSize  = 256 << 10    // bytes of the binary blob (public key, IV, ciphertext, tag)
	BlobOverhead = 32 + 12 + 16 // bytes the blob adds to the plaintext
)

// EnvVar is one environment variable. Its String, GoString, Format, LogValue and
// MarshalJSON methods hide Value, so it can be printed with any fmt verb, logged
// with either slog handler or marshalled to JSON without leaking the secret. The
// plaintext only ever leaves the process encrypted (see [Encrypt]); JSON input is
// still decoded in full, so a {"key":…,"value":…} document unmarshals into it.
type EnvVar struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

const redacted = "[REDACTED]"

// String returns the name with the value redacted.
func (v EnvVar) String() string { return v.Key + "=" + redacted }

// LogValue implements [slog.LogValuer]; the value is redacted.
func (v EnvVar) LogValue() slog.Value {
	return slog.GroupValue(slog.String("key", v.Key), slog.String("value", redacted))
}

// GoString hides the value from the %#v verb too.
func (v EnvVar) GoString() string {
	return fmt.Sprintf("envcrypt.EnvVar{Key:%q, Value:%q}", v.Key, redacted)
}

// Format implements [fmt.Formatter]: %v, %s, %q, %x and %X format String, %#v
// formats GoString, and any other verb (%d, …) writes String as %s would, so no
// verb prints the value.
func (v EnvVar) Format(f fmt.State, verb rune) { redact.Format(f, verb, v.String(), v.GoString()) }

// MarshalJSON encodes {"key": Key, "value": "[REDACTED]"}. Encrypt builds the
// plaintext it encrypts itself, so it is not affected.
func (v EnvVar) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}{v.Key, redacted})
}

// Option configures [Encrypt] and [Validate].
type Option func(*options) error

type options struct {
	rand       io.Reader
	allowed    map[string]struct{}
	checkAllow bool
}

func buildOptions(opts []Option) (*options, error) {
	o := &options{rand: rand.Reader}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithAllowedEnvs checks every name against names, the allowed_envs list of the
// target's compose file. Any name outside it makes [Encrypt] fail with a
// [*NotAllowedError] listing them all, because the CVM would silently skip them.
//
// The list is taken as complete: an empty or nil list allows no name at all, which is
// what a CVM does with an empty allowed_envs. Leave the option out when allowed_envs is
// unknown.
func WithAllowedEnvs(names []string) Option {
	return func(o *options) error {
		o.checkAllow = true
		o.allowed = make(map[string]struct{}, len(names))
		for _, n := range names {
			o.allowed[n] = struct{}{}
		}
		return nil
	}
}

// WithRand sets the source of the ephemeral key and IV (default crypto/rand.Reader).
// Use it only to make output reproducible in tests: a predictable source exposes every
// encrypted value.
func WithRand(r io.Reader) Option {
	return func(o *options) error {
		if r == nil {
			return fmt.Errorf("%w: WithRand: reader must not be nil", ErrInvalidOption)
		}
		o.rand = r
		return nil
	}
}

// Validate checks env against everything that would make a CVM refuse it or silently
// drop a variable, exactly as [Encrypt] does before encrypting: at most [MaxEntries]
// variables; names matching ^[A-Za-z_][A-Za-z0-9_]*$ and at most [MaxKeySize] bytes;
// values of valid UTF-8 and at most [MaxValueSize] bytes; no duplicate names; names in
// allowed_envs when [WithAllowedEnvs] is given; names plus values at most
// [MaxTotalSize] bytes; and the encrypted blob at most [MaxBlobSize] bytes.
//
// The first problem found is returned, except that all names outside allowed_envs are
// reported together in one [*NotAllowedError].
func Validate(env []EnvVar, opts ...Option) error {
	o, err := buildOptions(opts)
	if err != nil {
		return err
	}
	_, err = validate(env, o)
	return err
}

// validate runs the checks and returns the length of the JSON plaintext.
func validate(env []EnvVar, o *options) (int, error) {
	if len(env) > MaxEntries {
		return 0, &LimitError{Limit: LimitEntries, Size: len(env), Max: MaxEntries}
	}
	seen := make(map[string]int, len(env))
	total := 0
	for i, v := range env {
		if len(v.Key) > MaxKeySize {
			return 0, &VarError{Index: i, Name: v.Key, Err: &LimitError{Limit: LimitKeySize, Size: len(v.Key), Max: MaxKeySize}}
		}
		if len(v.Value) > MaxValueSize {
			return 0, &VarError{Index: i, Name: v.Key, Err: &LimitError{Limit: LimitValueSize, Size: len(v.Value), Max: MaxValueSize}}
		}
		if !ValidName(v.Key) {
			return 0, &VarError{Index: i, Name: v.Key, Err: ErrInvalidName, Detail: describeBadByte(v.Key)}
		}
		if !utf8.ValidString(v.Value) {
			return 0, &VarError{Index: i, Name: v.Key, Err: ErrInvalidValue, Detail: "value is not valid UTF-8"}
		}
		if first, dup := seen[v.Key]; dup {
			return 0, &VarError{Index: i, Name: v.Key, Err: ErrDuplicateName,
				Detail: fmt.Sprintf("also at entry %d; a CVM would keep only the last", first)}
		}
		seen[v.Key] = i
		total += len(v.Key) + len(v.Value)
	}
	if o.checkAllow {
		var missing []string
		for _, v := range env {
			if _, ok := o.allowed[v.Key]; !ok {
				missing = append(missing, v.Key) // names are unique by now
			}
		}
		if len(missing) > 0 {
			return 0, &NotAllowedError{Names: missing}
		}
	}
	if total > MaxTotalSize {
		return 0, &LimitError{Limit: LimitTotalSize, Size: total, Max: MaxTotalSize}
	}
	n := plaintextLen(env)
	if n+BlobOverhead > MaxBlobSize {
		return 0, &LimitError{Limit: LimitBlobSize, Size: n + BlobOverhead, Max: MaxBlobSize}
	}
	return n, nil
}

// ValidName reports whether name matches ^[A-Za-z_][A-Za-z0-9_]*$, the only names a
// CVM accepts.
func ValidName(name string) bool { return invalidNameByte(name) < 0 && name != "" }

// invalidNameByte returns the offset of the first byte of name that breaks the
// charset, or -1. An empty name returns -1 too; callers check emptiness.
func invalidNameByte(name string) int {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isNameByte(c) || (i == 0 && c >= '0' && c <= '9') {
			return i
		}
	}
	return -1
}

func isNameByte(c byte) bool {
	return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
}
