//go:build !demo

package main

import (
	"context"
	"io"
)

// demoCommand is how to run the emulator demo, which a build without the
// demo tag does not hold.
const demoCommand = "go run -tags demo github.com/phalaforge/phala-go/cmd/phala-replicate@latest demo"

// runDemo explains how to run the demo: this build does not hold it.
func runDemo(context.Context, io.Writer, io.Writer) error {
	return usagef("this build of phala-replicate has no emulator demo (it would link a simulated chain); run it with: %s", demoCommand)
}
