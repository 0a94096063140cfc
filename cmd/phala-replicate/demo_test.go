//go:build demo

package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunDemoInProcess runs the demo inside the test process, so that the
// race detector sees the command, the emulator and the chain together.
func TestRunDemoInProcess(t *testing.T) {
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, runDemo(ctx, &stdout, &stderr), "stderr:\n%s", stderr.String())
	assert.Contains(t, stdout.String(), "Done: 6 replicas created in ")
	assert.Contains(t, stderr.String(), "→ addComposeHash sent: tx ")
}
