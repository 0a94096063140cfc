package envcrypt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"unicode/utf8"
)

// CVMEnv is the environment a CVM's application would see after dstack-util decrypted
// and filtered an encrypted_env blob. Its String and LogValue methods show names only.
type CVMEnv struct {
	// Vars are the variables set, sorted by name (the order dstack-util writes them);
	// for duplicate names the last one in the blob won.
	Vars []EnvVar
	// Skipped lists, in blob order and each once, the names dropped because they are
	// not in allowed_envs. A CVM drops them without failing the boot.
	Skipped []string
}

// Lookup returns the value of the variable name and whether it is set.
func (e *CVMEnv) Lookup(name string) (string, bool) {
	if e == nil {
		return "", false
	}
	i := sort.Search(len(e.Vars), func(i int) bool { return e.Vars[i].Key >= name })
	if i < len(e.Vars) && e.Vars[i].Key == name {
		return e.Vars[i].Value, true
	}
	return "", false
}

// Map returns the variables as a map from name to value.
func (e *CVMEnv) Map() map[string]string {
	if e == nil {
		return map[string]string{}
	}
	m := make(map[string]string, len(e.Vars))
	for _, v := range e.Vars {
		m[v.Key] = v.Value
	}
	return m
}

// Names returns the names of the variables set, sorted.
func (e *CVMEnv) Names() []string {
	if e == nil {
		return []string{}
	}
	names := make([]string, len(e.Vars))
	for i, v := range e.Vars {
		names[i] = v.Key
	}
	return names
}

// String lists the names set and skipped; values are never shown.
func (e *CVMEnv) String() string {
	if e == nil {
		return "CVMEnv<nil>"
	}
	return fmt.Sprintf("CVMEnv{set: [%s], skipped: [%s]}", strings.Join(e.Names(), " "), strings.Join(e.Skipped, " "))
}

// LogValue implements [slog.LogValuer] with names only.
func (e *CVMEnv) LogValue() slog.Value {
	if e == nil {
		return slog.StringValue("<nil>")
	}
	return slog.GroupValue(slog.Any("set", e.Names()), slog.Any("skipped", e.Skipped))
}

// DecryptEnv decrypts blob with the CVM's X25519 private key and applies the rules of
// dstack-util's parse_env, returning what the application would see or the error that
// would fail the boot. allowed is the compose file's allowed_envs; as in a CVM, a nil
// or empty list allows nothing.
//
// The rules, in dstack-util's order:
//   - an empty private key (no KMS) or an empty blob yields no variables and no error;
//   - a blob above [MaxBlobSize] bytes, a wrong key or a tampered blob is an error;
//   - the plaintext must be a JSON document {"env":[{"key":K,"value":V},...]} with
//     string keys and values (unknown fields are ignored, as serde does);
//   - more than [MaxEntries] entries, counting disallowed ones, is an error;
//   - then, entry by entry: a name outside allowed is skipped and recorded in Skipped;
//     a name above [MaxKeySize] bytes, a value above [MaxValueSize] bytes or a name not
//     matching ^[A-Za-z_][A-Za-z0-9_]*$ is an error; the running total of name and
//     value sizes above [MaxTotalSize] is an error; a later duplicate replaces an
//     earlier one.
func DecryptEnv(privateKey []byte, blob string, allowed []string) (*CVMEnv, error) {
	if len(privateKey) == 0 || trim0x(blob) == "" {
		return &CVMEnv{Vars: []EnvVar{}}, nil
	}
	pt, err := Decrypt(privateKey, blob)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	pairs, err := parsePlaintext(pt)
	if err != nil {
		return nil, err
	}
	return applyCVMRules(pairs, allowed)
}

func applyCVMRules(pairs []EnvVar, allowed []string) (*CVMEnv, error) {
	if len(pairs) > MaxEntries {
		return nil, &LimitError{Limit: LimitEntries, Size: len(pairs), Max: MaxEntries}
	}
	allow := make(map[string]struct{}, len(allowed))
	for _, a := range allowed {
		allow[a] = struct{}{}
	}
	vars := make(map[string]string, len(pairs))
	skipped := []string{}
	seenSkip := map[string]struct{}{}
	total := 0
	for i, p := range pairs {
		if _, ok := allow[p.Key]; !ok {
			if _, dup := seenSkip[p.Key]; !dup {
				seenSkip[p.Key] = struct{}{}
				skipped = append(skipped, p.Key)
			}
			continue
		}
		if len(p.Key) > MaxKeySize {
			return nil, &VarError{Index: i, Name: p.Key, Err: &LimitError{Limit: LimitKeySize, Size: len(p.Key), Max: MaxKeySize}}
		}
		if len(p.Value) > MaxValueSize {
			return nil, &VarError{Index: i, Name: p.Key, Err: &LimitError{Limit: LimitValueSize, Size: len(p.Value), Max: MaxValueSize}}
		}
		if !ValidName(p.Key) {
			return nil, &VarError{Index: i, Name: p.Key, Err: ErrInvalidName, Detail: describeBadByte(p.Key)}
		}
		total += len(p.Key) + len(p.Value)
		if total > MaxTotalSize {
			return nil, &LimitError{Limit: LimitTotalSize, Size: total, Max: MaxTotalSize}
		}
		vars[p.Key] = p.Value
	}
	env := &CVMEnv{Vars: make([]EnvVar, 0, len(vars)), Skipped: skipped}
	for k, v := range vars {
		env.Vars = append(env.Vars, EnvVar{Key: k, Value: v})
	}
	sort.Slice(env.Vars, func(i, j int) bool { return env.Vars[i].Key < env.Vars[j].Key })
	return env, nil
}

// maxJSONDepth is serde_json's recursion limit: the 128th nested array or object fails.
const maxJSONDepth = 127

// parsePlaintext decodes the plaintext the way dstack-util's serde_json does for
// struct Data { env: Vec<Pair { key: String, value: String }> }: field names match
// exactly, a repeated field is an error, unknown fields are ignored, a struct may also
// be written as an array of its fields in order, strings that are decoded must be
// valid UTF-8 without lone surrogate escapes, and nothing may follow the document.
func parsePlaintext(pt []byte) ([]EnvVar, error) {
	if jsonDepth(pt) > maxJSONDepth {
		return nil, fmt.Errorf("%w: nested more than %d levels deep", ErrInvalidPlaintext, maxJSONDepth)
	}
	p := &plainParser{src: pt, dec: json.NewDecoder(bytes.NewReader(pt))}
	p.dec.UseNumber()
	var env []EnvVar
	err := p.structure("document", []string{"env"}, func(string) error {
		var err error
		env, err = p.pairs()
		return err
	})
	if err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after the document", ErrInvalidPlaintext)
	}
	return env, nil
}

type plainParser struct {
	src []byte
	dec *json.Decoder
}

func (p *plainParser) fail(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidPlaintext}, args...)...)
}

// token reads the next token; a string token has its raw text checked as serde_json
// checks strings it decodes.
func (p *plainParser) token() (json.Token, error) {
	start := p.dec.InputOffset()
	tok, err := p.dec.Token()
	if err != nil {
		return nil, p.fail("not valid JSON")
	}
	if _, ok := tok.(string); ok {
		end := p.dec.InputOffset()
		i := bytes.IndexByte(p.src[start:end], '"')
		if i < 0 || !validRawString(p.src[int(start)+i+1:end-1]) {
			return nil, p.fail("string is not valid UTF-8")
		}
	}
	return tok, nil
}

// structure reads a struct with the given fields, in object or array form, calling
// field for each known field; the callback must consume the field's value.
func (p *plainParser) structure(what string, fields []string, field func(name string) error) error {
	tok, err := p.token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := make(map[string]bool, len(fields))
		for p.dec.More() {
			tok, err := p.token()
			if err != nil {
				return err
			}
			name, _ := tok.(string)
			known := false
			for _, f := range fields {
				known = known || f == name
			}
			if !known {
				var skip json.RawMessage
				if err := p.dec.Decode(&skip); err != nil {
					return p.fail("not valid JSON")
				}
				continue
			}
			if seen[name] {
				return p.fail("duplicate field %q in %s", name, what)
			}
			seen[name] = true
			if err := field(name); err != nil {
				return err
			}
		}
		if _, err := p.token(); err != nil { // '}'
			return err
		}
		for _, f := range fields {
			if !seen[f] {
				return p.fail("missing field %q in %s", f, what)
			}
		}
		return nil
	case json.Delim('['):
		for _, f := range fields {
			if !p.dec.More() {
				return p.fail("%s has too few elements", what)
			}
			if err := field(f); err != nil {
				return err
			}
		}
		if p.dec.More() {
			return p.fail("%s has too many elements", what)
		}
		_, err := p.token() // ']'
		return err
	default:
		return p.fail("%s is not an object", what)
	}
}

func (p *plainParser) pairs() ([]EnvVar, error) {
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('[') {
		return nil, p.fail(`"env" is not an array`)
	}
	env := []EnvVar{}
	for p.dec.More() {
		var v EnvVar
		n := len(env)
		err := p.structure(fmt.Sprintf("env entry %d", n), []string{"key", "value"}, func(name string) error {
			s, err := p.str(name, n)
			if name == "key" {
				v.Key = s
			} else {
				v.Value = s
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		env = append(env, v)
	}
	if _, err := p.token(); err != nil { // ']'
		return nil, err
	}
	return env, nil
}

func (p *plainParser) str(field string, entry int) (string, error) {
	tok, err := p.token()
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", p.fail("%q of env entry %d is not a string", field, entry)
	}
	return s, nil
}

// validRawString reports whether the raw text of a JSON string (between its quotes)
// is valid UTF-8 and pairs every surrogate \u escape, as serde_json requires of a
// string it decodes. Go's decoder would instead substitute U+FFFD.
func validRawString(raw []byte) bool {
	if !utf8.Valid(raw) {
		return false
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++
		if i >= len(raw) || raw[i] != 'u' {
			continue
		}
		r, ok := hex4(raw[i+1:])
		if !ok {
			return false
		}
		i += 4
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return false
		case r >= 0xD800 && r <= 0xDBFF:
			if i+2 >= len(raw) || raw[i+1] != '\\' || raw[i+2] != 'u' {
				return false
			}
			r2, ok := hex4(raw[i+3:])
			if !ok || r2 < 0xDC00 || r2 > 0xDFFF {
				return false
			}
			i += 6
		}
	}
	return true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

// jsonDepth returns the deepest nesting of arrays and objects in src, ignoring
// brackets inside strings. Malformed input gives some number; the decoder rejects it.
func jsonDepth(src []byte) int {
	depth, maxDepth := 0, 0
	inString := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			depth++
			maxDepth = max(maxDepth, depth)
		case ']', '}':
			depth--
		}
	}
	return maxDepth
}
