package onchain

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseAppAddress checks that ParseAppAddress never panics, fails only with
// a *HexError, and accepts only app_/0x/bare forms of exactly 40 hex digits
// naming the address it returns.
func FuzzParseAppAddress(f *testing.F) {
	f.Add("app_" + strings.Repeat("ab", 20))
	f.Add("0x" + strings.Repeat("Cd", 20))
	f.Add("0X" + strings.Repeat("0", 40))
	f.Add(strings.Repeat("f", 40))
	f.Add("app_0x" + strings.Repeat("1", 40))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAppAddress(s)
		if err != nil {
			var he *HexError
			if !errors.As(err, &he) && !errors.Is(err, ErrInvalidHex) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		norm := strings.ToLower(strings.TrimSpace(s))
		for _, p := range []string{"app_", "0x"} {
			if strings.HasPrefix(norm, p) {
				norm = norm[len(p):]
				break
			}
		}
		if norm != strings.ToLower(strings.TrimPrefix(a.Hex(), "0x")) {
			t.Fatalf("ParseAppAddress(%q) = %s", s, a.Hex())
		}
	})
}
