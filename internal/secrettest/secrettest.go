// Package secrettest checks that values holding a secret never print it. Tests
// of the root, onchain and envcrypt packages give it values built with marker
// secrets; it renders each value every way a user or a library may print it
// (every fmt verb, json.Marshal, slog's text and JSON handlers, wrapped in an
// error) and reports every rendering that holds a marker in any encoding.
package secrettest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Verbs are the fmt verbs every secret-holding value is printed with.
var Verbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X"}

// Case is one value to check.
type Case struct {
	Name  string
	Value any
	// JSONKeepsSecret exempts json.Marshal: the value's JSON form is where the
	// caller asked for the secret (a PreparedReplica).
	JSONKeepsSecret bool
}

// Renderings returns v printed every way the SDK promises is free of secrets,
// keyed by how it was printed. An error of json.Marshal is a rendering too.
func Renderings(v any, withJSON bool) map[string]string {
	out := make(map[string]string)
	for _, verb := range Verbs {
		out["fmt "+verb] = fmt.Sprintf(verb, v)
	}
	if err, ok := v.(error); ok {
		out["Error()"] = err.Error()
	}
	if withJSON {
		b, err := json.Marshal(v)
		if err != nil {
			out["json.Marshal error"] = err.Error()
		} else {
			out["json.Marshal"] = string(b)
		}
	}
	for name, h := range map[string]func(*bytes.Buffer) slog.Handler{
		"slog text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"slog json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var b bytes.Buffer
		l := slog.New(h(&b))
		l.Info("value", "v", v)
		l.Info("value", slog.Group("g", slog.Any("v", v)))
		if err, ok := v.(error); ok {
			l.Error("failed", "err", err)
		}
		out[name] = b.String()
	}
	return out
}

// Encodings returns the forms in which a marker may show up in printed output:
// itself, hex (lower and upper case, as %x and %X print a string or bytes), the
// decimal bytes %d and %v print for a []byte, the Go syntax %#v prints for a
// []byte or json.RawMessage, and base64, as JSON encodes a []byte.
func Encodings(marker string) []string {
	b := []byte(marker)
	dec := strings.Trim(fmt.Sprint(b), "[]")
	gob := strings.TrimSuffix(strings.TrimPrefix(fmt.Sprintf("%#v", b), "[]byte{"), "}")
	n := len(b) / 3 * 3
	return []string{
		marker,
		fmt.Sprintf("%x", b),
		fmt.Sprintf("%X", b),
		dec,
		gob,
		base64.StdEncoding.EncodeToString(b[:n]),
	}
}

// Leaks returns, for each rendering of v, the encodings of markers it contains,
// as "rendering: encoding" lines; empty when nothing leaks.
func Leaks(c Case, markers ...string) []string {
	var leaks []string
	for how, s := range Renderings(c.Value, !c.JSONKeepsSecret) {
		for _, m := range markers {
			for _, enc := range Encodings(m) {
				if strings.Contains(s, enc) {
					leaks = append(leaks, fmt.Sprintf("%s holds %q in %s", how, enc, s))
				}
			}
		}
	}
	return leaks
}

// Wrapped returns c and the errors wrapping it (fmt.Errorf with %w, twice, and
// errors.Join), when c's value is an error; otherwise c alone.
func Wrapped(c Case) []Case {
	err, ok := c.Value.(error)
	if !ok {
		return []Case{c}
	}
	once := fmt.Errorf("step: %w", err)
	return []Case{
		c,
		{Name: c.Name + " wrapped", Value: once},
		{Name: c.Name + " wrapped twice", Value: fmt.Errorf("outer: %w", once)},
		{Name: c.Name + " joined", Value: errors.Join(errors.New("other"), err)},
	}
}
