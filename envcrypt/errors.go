package envcrypt

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Sentinel errors. Every error returned by this package matches one of them with
// [errors.Is]; the typed errors below carry the details.
var (
	// ErrInvalidName means a variable name does not match ^[A-Za-z_][A-Za-z0-9_]*$,
	// which a CVM refuses at boot.
	ErrInvalidName = errors.New("envcrypt: invalid variable name")
	// ErrDuplicateName means a name occurs more than once; a CVM would silently keep
	// only the last one.
	ErrDuplicateName = errors.New("envcrypt: duplicate variable name")
	// ErrInvalidValue means a value is not valid UTF-8, which a CVM cannot decode.
	ErrInvalidValue = errors.New("envcrypt: invalid variable value")
	// ErrLimitExceeded is matched by every [*LimitError].
	ErrLimitExceeded = errors.New("envcrypt: limit exceeded")
	// ErrNotAllowed is matched by [*NotAllowedError].
	ErrNotAllowed = errors.New("envcrypt: variable not in allowed_envs")

	// ErrInvalidPublicKey means the recipient X25519 public key is not 32 bytes of hex,
	// or is a low-order point (then the error also matches [ErrLowOrderPoint]).
	ErrInvalidPublicKey = errors.New("envcrypt: invalid X25519 public key")
	// ErrLowOrderPoint means an X25519 exchange produced the all-zero shared secret,
	// which dstack-util rejects.
	ErrLowOrderPoint = errors.New("envcrypt: low-order X25519 point")
	// ErrInvalidPrivateKey means an X25519 private key is not 32 bytes.
	ErrInvalidPrivateKey = errors.New("envcrypt: invalid X25519 private key")
	// ErrMalformedBlob means an encrypted blob is not hex or too short to hold a
	// public key, an IV and a tag.
	ErrMalformedBlob = errors.New("envcrypt: malformed encrypted blob")
	// ErrDecrypt means AES-GCM authentication failed: wrong key or tampered blob.
	ErrDecrypt = errors.New("envcrypt: decryption failed")
	// ErrInvalidPlaintext means decrypted data is not the {"env":[{"key","value"}]}
	// document a CVM accepts.
	ErrInvalidPlaintext = errors.New("envcrypt: invalid plaintext document")
	// ErrInvalidOption means an [Option] was given an unusable argument.
	ErrInvalidOption = errors.New("envcrypt: invalid option")

	// ErrInvalidAppID means an app id is not 20 bytes of hex (optionally prefixed with
	// 0x or app_).
	ErrInvalidAppID = errors.New("envcrypt: invalid app id")
	// ErrNoTrustedKey means [VerifyPublicKey] was given no trusted root key, so nothing
	// can be verified.
	ErrNoTrustedKey = errors.New("envcrypt: no trusted KMS root key to verify the public key against")
	// ErrInvalidTrustedKey means a trusted root key is not a valid secp256k1 public key.
	ErrInvalidTrustedKey = errors.New("envcrypt: invalid trusted KMS root key")
	// ErrSignatureInvalid means a signature is malformed or no key can be recovered
	// from it.
	ErrSignatureInvalid = errors.New("envcrypt: invalid public key signature")
	// ErrSignatureMismatch means the signature recovers to a key that is not trusted:
	// the public key was not signed by the KMS root key.
	ErrSignatureMismatch = errors.New("envcrypt: public key not signed by a trusted KMS root key")
	// ErrSignatureStale is matched by a [*FreshnessError] for a timestamp older than
	// [MaxSignatureAge].
	ErrSignatureStale = errors.New("envcrypt: public key signature is stale")
	// ErrSignatureFromFuture is matched by a [*FreshnessError] for a timestamp more than
	// [MaxSignatureFutureSkew] ahead of the clock.
	ErrSignatureFromFuture = errors.New("envcrypt: public key signature is from the future")
)

// Limit names one of the limits a CVM enforces.
type Limit string

// The limits a [*LimitError] can report.
const (
	LimitEntries   Limit = "number of variables" // more than MaxEntries
	LimitKeySize   Limit = "name size"           // a name longer than MaxKeySize bytes
	LimitValueSize Limit = "value size"          // a value longer than MaxValueSize bytes
	LimitTotalSize Limit = "total size"          // names plus values above MaxTotalSize bytes
	LimitBlobSize  Limit = "encrypted blob size" // an encrypted blob above MaxBlobSize bytes
)

// LimitError reports a size or count above what a CVM accepts. When it concerns one
// variable it is wrapped in a [*VarError] naming it.
type LimitError struct {
	Limit Limit // which limit
	Size  int   // the offending size in bytes, or count of variables
	Max   int   // the largest accepted value
}

// Error implements error.
func (e *LimitError) Error() string {
	unit := " bytes"
	if e.Limit == LimitEntries {
		unit = ""
	}
	return fmt.Sprintf("envcrypt: %s %d%s exceeds the limit of %d%s", e.Limit, e.Size, unit, e.Max, unit)
}

// Is reports whether target is [ErrLimitExceeded].
func (e *LimitError) Is(target error) bool { return target == ErrLimitExceeded }

// VarError reports a problem with one variable. Err is [ErrInvalidName],
// [ErrDuplicateName], [ErrInvalidValue] or a [*LimitError]. The message names the
// variable (an invalid name only up to its first bad character) and never contains its
// value.
type VarError struct {
	Index  int    // position of the variable in the input
	Name   string // the variable's name as given
	Err    error  // what is wrong
	Detail string // extra explanation, possibly empty
}

// Error implements error.
func (e *VarError) Error() string {
	var b strings.Builder
	b.WriteString("envcrypt: ")
	b.WriteString(strings.TrimPrefix(errString(e.Err), "envcrypt: "))
	b.WriteString(": variable ")
	b.WriteString(displayName(e.Name))
	if e.Index >= 0 {
		b.WriteString(" (entry ")
		b.WriteString(strconv.Itoa(e.Index))
		b.WriteString(")")
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Unwrap returns Err.
func (e *VarError) Unwrap() error { return e.Err }

// NotAllowedError lists the variables whose names are not in the compose file's
// allowed_envs: a CVM would skip them without a word.
type NotAllowedError struct {
	Names []string // every offending name, in input order, each once
}

// Error implements error.
func (e *NotAllowedError) Error() string {
	quoted := make([]string, len(e.Names))
	for i, n := range e.Names {
		quoted[i] = displayName(n)
	}
	return fmt.Sprintf("envcrypt: %d variable(s) not in allowed_envs, a CVM would silently drop them: %s",
		len(e.Names), strings.Join(quoted, ", "))
}

// Is reports whether target is [ErrNotAllowed].
func (e *NotAllowedError) Is(target error) bool { return target == ErrNotAllowed }

// ParseError reports a dotenv syntax error. Msg never contains a value.
type ParseError struct {
	Line int    // 1-based line number where the problem is
	Msg  string // what is wrong
	Err  error  // an underlying sentinel such as ErrInvalidName or ErrDuplicateName, or nil
}

// Error implements error.
func (e *ParseError) Error() string {
	return fmt.Sprintf("envcrypt: dotenv line %d: %s", e.Line, e.Msg)
}

// Unwrap returns Err.
func (e *ParseError) Unwrap() error { return e.Err }

// FreshnessError reports a timestamped signature outside the accepted window. It
// matches [ErrSignatureStale] or [ErrSignatureFromFuture] with [errors.Is].
type FreshnessError struct {
	Timestamp uint64    // the signed timestamp, Unix seconds
	Now       time.Time // the clock it was compared with
}

// Future reports whether the timestamp is ahead of Now.
func (e *FreshnessError) Future() bool {
	now := e.Now.Unix()
	return now < 0 || e.Timestamp > uint64(now)
}

// Error implements error.
func (e *FreshnessError) Error() string {
	now := e.Now.Unix()
	if e.Future() {
		return fmt.Sprintf("%s: signed at %d, clock is %d (more than %s ahead)",
			ErrSignatureFromFuture, e.Timestamp, now, MaxSignatureFutureSkew)
	}
	return fmt.Sprintf("%s: signed at %d, clock is %d (older than %s)",
		ErrSignatureStale, e.Timestamp, now, MaxSignatureAge)
}

// Is reports whether target is the sentinel for this direction.
func (e *FreshnessError) Is(target error) bool {
	if e.Future() {
		return target == ErrSignatureFromFuture
	}
	return target == ErrSignatureStale
}

func errString(err error) string {
	if err == nil {
		return "error"
	}
	return err.Error()
}

// maxDisplayName bounds how much of a name an error message shows.
const maxDisplayName = 64

// displayName quotes a variable name for an error message. A name that breaks the
// charset is cut at its first bad character: a malformed "name" may be a pasted line
// holding a secret, and only the part that looks like a name is shown.
func displayName(name string) string {
	cut := len(name)
	for i := 0; i < len(name); i++ {
		if !isNameByte(name[i]) {
			cut = i
			break
		}
	}
	if cut > maxDisplayName {
		cut = maxDisplayName
	}
	if cut < len(name) {
		return strconv.Quote(name[:cut]) + "…"
	}
	return strconv.Quote(name)
}

// describeBadByte explains which character of name breaks the charset, without showing
// anything beyond it.
func describeBadByte(name string) string {
	if name == "" {
		return "name is empty"
	}
	i := invalidNameByte(name)
	if i < 0 {
		return ""
	}
	if i == 0 && name[0] >= '0' && name[0] <= '9' {
		return "must not start with a digit (want ^[A-Za-z_][A-Za-z0-9_]*$)"
	}
	r, size := utf8.DecodeRuneInString(name[i:])
	what := "character " + strconv.QuoteRune(r)
	if r == utf8.RuneError && size <= 1 {
		what = fmt.Sprintf("byte 0x%02x", name[i])
	}
	return fmt.Sprintf("%s at offset %d is not allowed (want ^[A-Za-z_][A-Za-z0-9_]*$)", what, i)
}

// multiError is an error with its own message that matches several sentinels.
type multiError struct {
	msg  string
	errs []error
}

func (e *multiError) Error() string   { return e.msg }
func (e *multiError) Unwrap() []error { return e.errs }

// lowOrder reports an all-zero X25519 shared secret; it matches kind (the key or blob
// sentinel) and ErrLowOrderPoint.
func lowOrder(kind error, what string) error {
	return &multiError{
		msg:  kind.Error() + ": " + what + " is a low-order point (the X25519 shared secret is all zeros)",
		errs: []error{kind, ErrLowOrderPoint},
	}
}
