package phala

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/phalaforge/phala-go/internal/redact"
)

// How secrets are kept out of output
//
// Every exported type that can hold an API key, an env value or a commit token
// has String/GoString (or Error), Format, LogValue and MarshalJSON methods that
// redact it, so that no fmt verb, neither slog handler and no json.Marshal call
// prints it. The one exception is [PreparedReplica]'s JSON form, which keeps the
// commit token because storing it to commit later is what it is for.

// formatSafe is [redact.Format]: every verb prints s, %#v prints goSyntax.
func formatSafe(f fmt.State, verb rune, s, goSyntax string) { redact.Format(f, verb, s, goSyntax) }

// formatError is formatSafe for an error: every verb prints its message, %#v its
// Go syntax.
func formatError(f fmt.State, verb rune, err error, goSyntax func() string) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, goSyntax())
		return
	}
	formatSafe(f, verb, err.Error(), "")
}

// errorText is the JSON form of an error held in a field of a result or an
// error: its message, or "" for nil (left out with omitempty).
func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// hideSecret replaces every occurrence of secret in s. Secrets shorter than four
// bytes are left alone: replacing them would mangle unrelated text and they
// protect nothing.
func hideSecret(s, secret string) string {
	if len(secret) < 4 || !strings.Contains(s, secret) {
		return s
	}
	return strings.ReplaceAll(s, secret, redacted)
}

// hideInAPIError removes secret (a commit token the request carried) from the
// texts of the *APIError or *ResponseError in err's chain, as redactAPIError does
// for the API key: a server may echo what it refused.
func hideInAPIError(err error, secret string) {
	if len(secret) < 4 {
		return
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		apiErr.Message = hideSecret(apiErr.Message, secret)
		for i := range apiErr.Details {
			d := &apiErr.Details[i]
			d.Message = hideSecret(d.Message, secret)
			d.Value = hideInJSON(d.Value, secret)
		}
		for i := range apiErr.Suggestions {
			apiErr.Suggestions[i] = hideSecret(apiErr.Suggestions[i], secret)
		}
		for i := range apiErr.Links {
			apiErr.Links[i].Label = hideSecret(apiErr.Links[i].Label, secret)
			apiErr.Links[i].URL = hideSecret(apiErr.Links[i].URL, secret)
		}
	}
	var respErr *ResponseError
	if errors.As(err, &respErr) {
		respErr.Excerpt = hideSecret(respErr.Excerpt, secret)
	}
}
