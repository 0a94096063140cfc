// Package redact holds what the module's packages share to keep secrets out of
// printed output. It imports nothing of the module, so envcrypt and onchain can use
// it without importing the root package.
package redact

import (
	"fmt"
	"io"
)

// Format writes s, the redacted form of a value, for any fmt verb: %v, %+v, %s, %q,
// %x and %X format s with their flags, %#v writes goSyntax, and the other verbs (%d,
// %f, …), which do not apply to a string, write s as %s would. A type's Format
// method calls it so that no verb reaches the secret-bearing fields.
func Format(f fmt.State, verb rune, s, goSyntax string) {
	switch verb {
	case 'v':
		if f.Flag('#') {
			_, _ = io.WriteString(f, goSyntax)
			return
		}
		fmt.Fprintf(f, fmt.FormatString(f, verb), s)
	case 's', 'q', 'x', 'X':
		fmt.Fprintf(f, fmt.FormatString(f, verb), s)
	default:
		fmt.Fprintf(f, fmt.FormatString(f, 's'), s)
	}
}
