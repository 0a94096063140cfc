// Package mainrun runs an example's main function the way `go run
// ./examples/<name>` would: in a child process (the test binary itself), with
// its own arguments and environment, so tests can check what main reads from
// flags and environment variables and what it prints. It is test support for
// the examples, not part of what users copy.
package mainrun

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

const (
	childVar = "PHALA_GO_EXAMPLE_RUN_MAIN" // set to 1 in the child process
	argsVar  = "PHALA_GO_EXAMPLE_ARGS"     // the child's arguments, a JSON array
)

// Dispatch is the body of an example's TestMain: in a child started by Run
// it calls main with the arguments Run was given and exits 0 when main
// returns (main exits non-zero itself on failure); otherwise it runs the
// tests.
func Dispatch(m *testing.M, main func()) {
	if os.Getenv(childVar) != "1" {
		os.Exit(m.Run())
	}
	var args []string
	if err := json.Unmarshal([]byte(os.Getenv(argsVar)), &args); err != nil {
		fmt.Fprintf(os.Stderr, "mainrun: bad %s: %v\n", argsVar, err)
		os.Exit(2)
	}
	os.Args = append([]string{os.Args[0]}, args...)
	main()
	os.Exit(0)
}

// Run runs the example's main (through Dispatch) with args and, as its whole
// environment, env plus an empty HOME: nothing leaks in from the developer's
// shell, such as a real PHALA_CLOUD_API_KEY. It returns stdout and stderr
// together, and the error of a non-zero exit.
func Run(ctx context.Context, t testing.TB, env map[string]string, args ...string) (string, error) {
	t.Helper()
	encoded, err := json.Marshal(args)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = []string{childVar + "=1", argsVar + "=" + string(encoded), "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}
