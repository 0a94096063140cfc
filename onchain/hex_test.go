package onchain

import (
	"errors"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseHash32(t *testing.T) {
	const digits = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF"
	want := common.HexToHash(digits)
	tests := []struct {
		name    string
		in      string
		wantErr string // substring of the error; empty = success
	}{
		{"bare", digits, ""},
		{"0x", "0x" + digits, ""},
		{"0X", "0X" + digits, ""},
		{"surrounding space", "  0x" + digits + "\n", ""},
		{"empty", "", "empty"},
		{"only 0x", "0x", "no hex digits"},
		{"too short", "0x" + digits[:62], "got 62 hex digits, want 64"},
		{"odd length", digits[:63], "got 63 hex digits"},
		{"too long", digits + "00", "got 66 hex digits"},
		{"non hex", "0x" + strings.Repeat("g", 64), "non-hex character at position 0"},
		{"double prefix", "0x0x" + digits[:60], "non-hex character at position 1"},
		{"inner space", digits[:32] + " " + digits[33:], "non-hex character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHash32(tt.in)
			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.Equal(t, want, got)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.ErrorIs(t, err, ErrInvalidHex)
			var he *HexError
			require.ErrorAs(t, err, &he)
			assert.Equal(t, tt.in, he.Input)
			assert.Equal(t, common.Hash{}, got)
		})
	}
}

func TestParseAppAddress(t *testing.T) {
	const digits = "aBcdef0123456789abcdef0123456789abcdef01"
	want := common.HexToAddress(digits)
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"bare", digits, ""},
		{"0x", "0x" + digits, ""},
		{"0X", "0X" + digits, ""},
		{"app_ prefix", "app_" + digits, ""},
		{"app_ with 0x", "app_0x" + digits, "without 0x"},
		{"app_ then white space", "app_ " + digits, "without 0x"},
		{"empty", "", "empty"},
		{"app_ only", "app_", "empty"},
		{"hash length", "0x" + digits + "000000000000000000000000", "want 40"},
		{"short", digits[:39], "got 39 hex digits"},
		{"uuid", "550e8400-e29b-41d4-a716-446655440000", "non-hex character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAppAddress(tt.in)
			if tt.wantErr == "" {
				require.NoError(t, err)
				assert.Equal(t, want, got)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.True(t, errors.Is(err, ErrInvalidHex))
			var he *HexError
			require.ErrorAs(t, err, &he)
			assert.Equal(t, tt.in, he.Input, "the error reports the caller's input")
		})
	}
}

func TestHexErrorShortensLongInput(t *testing.T) {
	_, err := ParseHash32(strings.Repeat("a", 10_000))
	require.Error(t, err)
	assert.Less(t, len(err.Error()), 250)
	assert.Contains(t, err.Error(), "(10000 bytes)")
}

func FuzzParseHash32(f *testing.F) {
	f.Add("0x" + strings.Repeat("ab", 32))
	f.Add("")
	f.Add("0x")
	f.Add("0X" + strings.Repeat("0", 63))
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHash32(s)
		if err != nil {
			var he *HexError
			if !errors.As(err, &he) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		// A success means the input was exactly these 32 bytes.
		norm := strings.ToLower(strings.TrimSpace(s))
		norm = strings.TrimPrefix(norm, "0x")
		if norm != strings.TrimPrefix(h.Hex(), "0x") {
			t.Fatalf("ParseHash32(%q) = %s", s, h.Hex())
		}
	})
}
