package redact_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/phalaforge/phala-go/internal/redact"
)

type secret struct{ value string }

func (s secret) Format(f fmt.State, verb rune) {
	redact.Format(f, verb, "[REDACTED]", "secret{[REDACTED]}")
}

func TestFormatNeverPrintsTheValue(t *testing.T) {
	s := secret{value: "hunter2hunter2"}
	tests := []struct{ verb, want string }{
		{"%v", "[REDACTED]"},
		{"%+v", "[REDACTED]"},
		{"%s", "[REDACTED]"},
		{"%q", `"[REDACTED]"`},
		{"%x", fmt.Sprintf("%x", "[REDACTED]")},
		{"%X", fmt.Sprintf("%X", "[REDACTED]")},
		{"%#v", "secret{[REDACTED]}"},
		{"%d", "[REDACTED]"},
		{"%12v", "  [REDACTED]"},
		{"%-12s|", "[REDACTED]  |"},
	}
	for _, tt := range tests {
		got := fmt.Sprintf(tt.verb, s)
		assert.Equal(t, tt.want, got, tt.verb)
		assert.NotContains(t, got, "hunter2", tt.verb)
	}
}
