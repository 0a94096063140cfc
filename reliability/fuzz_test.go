package reliability_test

import (
	"strings"
	"testing"

	"github.com/phalaforge/phala-go/envcrypt"
	"github.com/phalaforge/phala-go/onchain"
)

// FuzzAppIDParsersAgree checks that the two parsers of an app id, the one
// verifying env keys (envcrypt.ParseAppID) and the one addressing the DstackApp
// contract (onchain.ParseAppAddress), never read different 20 bytes from the
// same input: otherwise an env could be encrypted for one app and its
// registration sent to another. They also accept exactly the same inputs, so
// an app id the user typed is never good for one step and refused by the next.
func FuzzAppIDParsersAgree(f *testing.F) {
	f.Add("app_" + strings.Repeat("ab", 20))
	f.Add("0x" + strings.Repeat("Cd", 20))
	f.Add("0X" + strings.Repeat("0", 40))
	f.Add(strings.Repeat("f", 40))
	f.Add(" " + strings.Repeat("f", 40) + "\n")
	f.Add("app_0x" + strings.Repeat("1", 40))
	f.Add("app_ " + strings.Repeat("1", 40))
	f.Fuzz(func(t *testing.T, s string) {
		a, errA := onchain.ParseAppAddress(s)
		b, errB := envcrypt.ParseAppID(s)
		if (errA == nil) != (errB == nil) {
			t.Fatalf("%q: onchain.ParseAppAddress err=%v, envcrypt.ParseAppID err=%v", s, errA, errB)
		}
		if errA == nil && errB == nil && a != b {
			t.Fatalf("%q: onchain %x, envcrypt %x", s, a, b)
		}
	})
}
