//go:build anvil && unix

package anvilcheck

import (
	"os/exec"
	"syscall"
)

// setGroup starts anvil in a process group of its own, so that killGroup
// also ends any child (an npm wrapper script starts the real binary).
func setGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

func killGroup(cmd *exec.Cmd) { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
