package envcrypt

import (
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"
)

// ParseDotenv reads an env file in the dotenv syntax users expect and returns its
// variables in file order.
//
//   - NAME=value, with optional spaces or tabs around the name, the = and the value,
//     and an optional "export " in front.
//   - Names must match ^[A-Za-z_][A-Za-z0-9_]*$ and may appear only once.
//   - Unquoted values end at the end of the line; a # preceded by a space or tab starts
//     a comment, and trailing spaces and tabs are dropped. Quote characters inside an
//     unquoted value are kept as they are.
//   - 'single-quoted' values are literal and may span lines.
//   - "double-quoted" values may span lines and understand the escapes \n, \t, \r, \"
//     and \\; any other backslash is kept as written.
//   - A quoted value may be followed only by spaces, tabs and a # comment.
//   - Lines that are blank or start with # are ignored; CRLF line endings and a leading
//     UTF-8 byte order mark are accepted.
//
// No variable expansion is performed: $NAME and ${NAME} are kept literally, in every
// kind of value. Values must be valid UTF-8.
//
// Errors are [*ParseError] values carrying the line number; they never quote a value,
// and they quote a name only when it is well formed and followed by =.
func ParseDotenv(r io.Reader) ([]EnvVar, error) {
	raw, err := io.ReadAll(r)
	defer clear(raw)
	if err != nil {
		return nil, fmt.Errorf("envcrypt: reading dotenv: %w", err)
	}
	src := bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	if bytes.Contains(src, []byte("\r\n")) {
		src = bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))
		defer clear(src)
	}
	p := dotenvParser{src: src, line: 1, seen: map[string]int{}}
	return p.parse()
}

type dotenvParser struct {
	src  []byte
	i    int
	line int
	seen map[string]int // name -> line where it was set
	vars []EnvVar
}

func (p *dotenvParser) errorf(line int, sentinel error, format string, args ...any) error {
	return &ParseError{Line: line, Msg: fmt.Sprintf(format, args...), Err: sentinel}
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func (p *dotenvParser) skipBlanks() {
	for p.i < len(p.src) && isBlank(p.src[p.i]) {
		p.i++
	}
}

// skipLine moves past the rest of the current line and its newline.
func (p *dotenvParser) skipLine() {
	for p.i < len(p.src) && p.src[p.i] != '\n' {
		p.i++
	}
	if p.i < len(p.src) {
		p.i++
		p.line++
	}
}

func (p *dotenvParser) parse() ([]EnvVar, error) {
	p.vars = []EnvVar{}
	for p.i < len(p.src) {
		p.skipBlanks()
		if p.i >= len(p.src) {
			break
		}
		if c := p.src[p.i]; c == '\n' || c == '#' {
			p.skipLine()
			continue
		}
		if err := p.assignment(); err != nil {
			return nil, err
		}
	}
	return p.vars, nil
}

func (p *dotenvParser) word() string {
	start := p.i
	for p.i < len(p.src) {
		c := p.src[p.i]
		if c == '=' || c == '\n' || isBlank(c) {
			break
		}
		p.i++
	}
	return string(p.src[start:p.i])
}

func (p *dotenvParser) assignment() error {
	line := p.line
	name := p.word()
	if name == "export" {
		save := p.i
		p.skipBlanks()
		if p.i > save && p.i < len(p.src) && p.src[p.i] != '=' && p.src[p.i] != '\n' {
			name = p.word()
		} else {
			p.i = save
		}
	}
	p.skipBlanks()
	if p.i >= len(p.src) || p.src[p.i] != '=' {
		return p.errorf(line, nil, "expected NAME=value (missing '=')")
	}
	p.i++ // '='
	if !ValidName(name) {
		return p.errorf(line, ErrInvalidName, "invalid variable name: %s", describeBadByte(name))
	}
	if first, dup := p.seen[name]; dup {
		return p.errorf(line, ErrDuplicateName, "variable %q is already set on line %d", name, first)
	}
	p.skipBlanks()

	var value string
	var err error
	if p.i < len(p.src) && (p.src[p.i] == '"' || p.src[p.i] == '\'') {
		value, err = p.quoted(name)
	} else {
		value = p.unquoted()
	}
	if err != nil {
		return err
	}
	if !utf8.ValidString(value) {
		return p.errorf(line, ErrInvalidValue, "value of %q is not valid UTF-8", name)
	}
	p.seen[name] = line
	p.vars = append(p.vars, EnvVar{Key: name, Value: value})
	return nil
}

// unquoted reads to the end of the line, stopping at a # that follows a blank.
func (p *dotenvParser) unquoted() string {
	start := p.i
	end := start
	for p.i < len(p.src) && p.src[p.i] != '\n' {
		c := p.src[p.i]
		if c == '#' && isBlank(p.src[p.i-1]) {
			break
		}
		p.i++
		if !isBlank(c) {
			end = p.i
		}
	}
	value := string(p.src[start:end])
	p.skipLine()
	return value
}

// quoted reads a single- or double-quoted value, possibly over several lines, and the
// rest of its last line.
func (p *dotenvParser) quoted(name string) (string, error) {
	openLine := p.line
	q := p.src[p.i]
	p.i++
	start := p.i
	end := closingQuote(p.src, start, q)
	if end < 0 {
		kind := "double"
		if q == '\'' {
			kind = "single"
		}
		return "", p.errorf(openLine, nil, "value of %q: unterminated %s-quoted value", name, kind)
	}
	body := p.src[start:end]
	p.line += bytes.Count(body, []byte{'\n'})
	p.i = end + 1

	var value string
	if q == '\'' {
		value = string(body)
	} else {
		// Sized up front so the decoded secret is never copied by a growing append.
		buf := make([]byte, 0, len(body))
		for j := 0; j < len(body); j++ {
			c := body[j]
			if c == '\\' && j+1 < len(body) {
				switch e := body[j+1]; e {
				case 'n':
					c = '\n'
				case 't':
					c = '\t'
				case 'r':
					c = '\r'
				case '"', '\\':
					c = e
				default:
					buf = append(buf, c) // keep the backslash; the next byte is read on its own
					continue
				}
				j++
			}
			buf = append(buf, c)
		}
		value = string(buf)
		clear(buf)
	}

	p.skipBlanks()
	if p.i < len(p.src) && p.src[p.i] != '\n' && p.src[p.i] != '#' {
		return "", p.errorf(p.line, nil, "value of %q: unexpected text after the closing quote", name)
	}
	p.skipLine()
	return value, nil
}

// closingQuote returns the index of the quote q that closes a value starting at
// src[start], or -1. In double quotes a backslash escapes the next byte.
func closingQuote(src []byte, start int, q byte) int {
	if q == '\'' {
		if i := bytes.IndexByte(src[start:], q); i >= 0 {
			return start + i
		}
		return -1
	}
	for j := start; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case q:
			return j
		}
	}
	return -1
}
