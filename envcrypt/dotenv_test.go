package envcrypt_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phalaforge/phala-go/envcrypt"
)

func vars(kv ...string) []envcrypt.EnvVar {
	out := []envcrypt.EnvVar{}
	for i := 0; i < len(kv); i += 2 {
		out = append(out, envcrypt.EnvVar{Key: kv[i], Value: kv[i+1]})
	}
	return out
}

func TestParseDotenv(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []envcrypt.EnvVar
	}{
		{"empty file", "", vars()},
		{"blank lines and comments", "\n   \n# comment\n\t# indented comment\n", vars()},
		{"simple", "A=1\nB=two words\n", vars("A", "1", "B", "two words")},
		{"no final newline", "A=1", vars("A", "1")},
		{"empty value", "A=\nB=   \n", vars("A", "", "B", "")},
		{"equals in value", "URL=postgres://u:p@h/db?ssl=true&x=1", vars("URL", "postgres://u:p@h/db?ssl=true&x=1")},
		{"whitespace around key and value", "  A  =  1  \n\tB\t=\t2\t\n", vars("A", "1", "B", "2")},
		{"export", "export A=1\nexport\tB = 2\nexport  C=3", vars("A", "1", "B", "2", "C", "3")},
		{"variable named export", "export=1\nB=2", vars("export", "1", "B", "2")},
		{"variable named export with blanks", "export = 2x", vars("export", "2x")},
		{"inline comment", "A=1 # comment\nB=2\t#c\nC=3#not a comment\nD= # only a comment\n", vars("A", "1", "B", "2", "C", "3#not a comment", "D", "")},
		{"hash at value start without blank", "A=#x", vars("A", "#x")},
		{"quotes inside unquoted value kept", `A=it's "fine"`, vars("A", `it's "fine"`)},
		{"single quotes literal", `A='x \n $HOME "y" # z'`, vars("A", `x \n $HOME "y" # z`)},
		{"double quote escapes", `A="l1\nl2\tt\r\"q\" \\ \$x \a"`, vars("A", "l1\nl2\tt\r\"q\" \\ \\$x \\a")},
		{"dollar kept literally", "A=$HOME\nB=\"${HOME}\"\nC='$X'", vars("A", "$HOME", "B", "${HOME}", "C", "$X")},
		{"quoted with comment", "A=\"x y\" # c\nB='z'   \nC=\"w\"#c", vars("A", "x y", "B", "z", "C", "w")},
		{"empty quotes", "A=\"\"\nB=''", vars("A", "", "B", "")},
		{"multi-line double", "A=\"line1\nline2\n\"\nB=2", vars("A", "line1\nline2\n", "B", "2")},
		{"multi-line single", "A='-----BEGIN KEY-----\nabc\n-----END KEY-----'\nB=2", vars("A", "-----BEGIN KEY-----\nabc\n-----END KEY-----", "B", "2")},
		{"CRLF", "A=1\r\nB=\"x\r\ny\"\r\n# c\r\nC=3 # c\r\n", vars("A", "1", "B", "x\ny", "C", "3")},
		{"BOM", "\xef\xbb\xbfA=1\n", vars("A", "1")},
		{"unicode value", "A=héllo ✓", vars("A", "héllo ✓")},
		{"escaped backslash before quote", `A="x\\"`, vars("A", `x\`)},
		{"backslash newline kept", "A=\"x\\\ny\"", vars("A", "x\\\ny")},
		{"lone CR kept in unquoted value", "A=x\ry", vars("A", "x\ry")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := envcrypt.ParseDotenv(strings.NewReader(tc.in))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseDotenvErrors(t *testing.T) {
	cases := []struct {
		name     string
		in       string
		line     int
		sentinel error
	}{
		{"missing equals", "A=1\n" + secret + "\n", 2, nil},
		{"missing equals at EOF", "A=1\n\nB", 3, nil},
		{"export without assignment", "export A\n", 1, nil},
		{"invalid name", "A=1\nB-C=" + secret, 2, envcrypt.ErrInvalidName},
		{"name starting with digit", "\n\n1A=" + secret, 3, envcrypt.ErrInvalidName},
		{"empty name", "=" + secret, 1, envcrypt.ErrInvalidName},
		{"duplicate", "A=1\nB=2\n\nA=" + secret, 4, envcrypt.ErrDuplicateName},
		{"unterminated double quote", "A=1\nB=\"" + secret + "\nC=3\n", 2, nil},
		{"unterminated single quote", "A='" + secret, 1, nil},
		{"escaped closing quote leaves it open", `A="` + secret + `\"`, 1, nil},
		{"text after closing quote", "A=\"x\"" + secret, 1, nil},
		{"text after multi-line value", "A='x\ny'" + secret + "\n", 2, nil},
		{"text after closing quote with CRLF", "A=1\r\nB='x\r\ny' z" + secret + "\r\n", 3, nil},
		{"invalid UTF-8", "A=1\nB=\xff" + secret, 2, envcrypt.ErrInvalidValue},
		{"line count after multi-line value", "A=\"1\n2\n3\"\nB=\"" + secret, 4, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := envcrypt.ParseDotenv(strings.NewReader(tc.in))
			require.Error(t, err)
			assert.Nil(t, got)
			var pe *envcrypt.ParseError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tc.line, pe.Line, err.Error())
			if tc.sentinel != nil {
				assert.ErrorIs(t, err, tc.sentinel)
			}
			assert.NotContains(t, err.Error(), secret)
			assert.NotContains(t, err.Error(), "s3cr3t")
			assert.Contains(t, err.Error(), "line ")
		})
	}
}

func TestParseDotenvReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	_, err := envcrypt.ParseDotenv(iotest.ErrReader(boom))
	require.ErrorIs(t, err, boom)
	var pe *envcrypt.ParseError
	assert.False(t, errors.As(err, &pe))
}

func TestParseDotenvFeedsEncrypt(t *testing.T) {
	env, err := envcrypt.ParseDotenv(strings.NewReader("export DB_URL=\"postgres://x\"\nTOKEN='abc' # api token\n"))
	require.NoError(t, err)
	priv, pub := testKey(t, 1)
	blob, err := envcrypt.Encrypt(pub, env, envcrypt.WithAllowedEnvs([]string{"DB_URL", "TOKEN"}))
	require.NoError(t, err)
	got, err := envcrypt.DecryptEnv(priv, blob, []string{"DB_URL", "TOKEN"})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"DB_URL": "postgres://x", "TOKEN": "abc"}, got.Map())
}

// formatDotenv writes env in a form ParseDotenv must read back unchanged: every value
// double-quoted, with the escapes the parser understands.
func formatDotenv(env []envcrypt.EnvVar) string {
	var b strings.Builder
	for _, v := range env {
		b.WriteString(v.Key)
		b.WriteString(`="`)
		for i := 0; i < len(v.Value); i++ {
			switch c := v.Value[i]; c {
			case '\\':
				b.WriteString(`\\`)
			case '"':
				b.WriteString(`\"`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			default:
				b.WriteByte(c)
			}
		}
		b.WriteString("\"\n")
	}
	return b.String()
}

func FuzzParseDotenv(f *testing.F) {
	for _, s := range []string{
		"A=1\nB=2\n", "export A='x'\n", "A=\"a\\nb\"\r\n", "\xef\xbb\xbfA=1 # c", "A='\n'\nB=\"\n\\\"\"",
		"A=\"x\\\\\" #c\n", "A=\x00\xff", "# only\n\n", "export=1", "A = 'x' y", "A=\"\\",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		env, err := envcrypt.ParseDotenv(bytes.NewReader(in))
		if err != nil {
			var pe *envcrypt.ParseError
			require.ErrorAs(t, err, &pe)
			lines := bytes.Count(in, []byte("\n")) + 1
			require.True(t, pe.Line >= 1 && pe.Line <= lines, "line %d of %d", pe.Line, lines)
			return
		}
		seen := map[string]bool{}
		for _, v := range env {
			require.True(t, envcrypt.ValidName(v.Key), "%q", v.Key)
			require.True(t, utf8.ValidString(v.Value))
			require.False(t, seen[v.Key], "duplicate %q", v.Key)
			seen[v.Key] = true
		}
		again, err := envcrypt.ParseDotenv(strings.NewReader(formatDotenv(env)))
		require.NoError(t, err)
		require.Equal(t, env, again)
	})
}
