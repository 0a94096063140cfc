package onchain

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"
)

// ErrInvalidHex is matched (with errors.Is) by every [*HexError].
var ErrInvalidHex = errors.New("onchain: invalid hex identifier")

// HexError reports a hex identifier (bytes32 hash, device id, app address) that
// is malformed. The offending input is public data (hashes and addresses, never
// keys); it is quoted in Error, shortened when long.
type HexError struct {
	What   string // what was being parsed, e.g. "compose_hash"
	Input  string // the rejected input
	Reason string // why it was rejected
}

// Error implements error.
func (e *HexError) Error() string {
	return fmt.Sprintf("onchain: invalid %s %s: %s", e.What, quoteShort(e.Input), e.Reason)
}

// Is reports whether target is [ErrInvalidHex].
func (e *HexError) Is(target error) bool { return target == ErrInvalidHex }

// quoteShort quotes s for an error message, keeping at most 80 bytes of it.
func quoteShort(s string) string {
	const maxLen = 80
	if len(s) > maxLen {
		return fmt.Sprintf("%q... (%d bytes)", s[:maxLen], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// ParseHash32 parses a 32-byte value such as a compose hash or a device id:
// exactly 64 hex digits, with an optional 0x or 0X prefix, surrounding
// whitespace ignored. It never pads: an empty string, a bare "0x", or a value
// of the wrong length is a [*HexError].
func ParseHash32(s string) (common.Hash, error) {
	return parseHash32("bytes32 value", s)
}

func parseHash32(what, s string) (common.Hash, error) {
	b, err := parseFixedHex(what, s, common.HashLength)
	if err != nil {
		return common.Hash{}, err
	}
	return common.BytesToHash(b), nil
}

// ParseAppAddress parses a dstack app id, which on an on-chain KMS is the
// address of the app's DstackApp contract. Accepted forms: app_<40 hex>
// (the CVM id form), 0x<40 hex> (0X also), and bare <40 hex>. Case is
// ignored; EIP-55 checksums are not enforced.
func ParseAppAddress(s string) (common.Address, error) {
	t := strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(t, "app_"); ok {
		if has0x(rest) || strings.TrimSpace(rest) != rest {
			return common.Address{}, &HexError{What: "app id", Input: s, Reason: "app_ must be followed by 40 hex digits without 0x"}
		}
		t = rest
	}
	b, err := parseFixedHex("app id", t, common.AddressLength)
	if err != nil {
		var he *HexError
		if errors.As(err, &he) {
			he.Input = s
		}
		return common.Address{}, err
	}
	return common.BytesToAddress(b), nil
}

func has0x(s string) bool {
	return len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')
}

// parseFixedHex decodes exactly n bytes of hex with an optional 0x/0X prefix.
func parseFixedHex(what, s string, n int) ([]byte, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return nil, &HexError{What: what, Input: s, Reason: "empty"}
	}
	if has0x(t) {
		t = t[2:]
	}
	if t == "" {
		return nil, &HexError{What: what, Input: s, Reason: fmt.Sprintf("no hex digits after 0x, want %d", 2*n)}
	}
	for i := 0; i < len(t); i++ {
		if !isHexDigit(t[i]) {
			return nil, &HexError{What: what, Input: s, Reason: fmt.Sprintf("non-hex character at position %d", i)}
		}
	}
	if len(t) != 2*n {
		return nil, &HexError{What: what, Input: s, Reason: fmt.Sprintf("got %d hex digits, want %d (%d bytes)", len(t), 2*n, n)}
	}
	b, err := hex.DecodeString(t)
	if err != nil { // unreachable after the checks above; kept for safety
		return nil, &HexError{What: what, Input: s, Reason: "not hex"}
	}
	return b, nil
}

func isHexDigit(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}
