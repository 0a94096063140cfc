//go:build !demo

package main

import (
	"context"
	"io"
)

// demoBuilt reports whether this binary holds the emulator demo. The demo
// links go-ethereum's simulated chain (four times the binary's size and its
// start-up memory), so only a build with -tags demo has it.
const demoBuilt = false

// runDemo explains how to run the demo: this build does not hold it.
func runDemo(context.Context, io.Writer, io.Writer) error {
	return usagef("this build of phala-replicate has no emulator demo (it would link a simulated chain); run it with: %s", demoCommand)
}
