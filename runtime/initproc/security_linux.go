package initproc

import (
	"encoding/json"
	"fmt"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/berth-dev/berth/runtime/proto"
	"github.com/berth-dev/berth/seccomp/load"
)

// loadSeccomp installs the compiled filter on this thread and, for notify
// filters, hands the listener descriptor to the runtime.
func loadSeccomp(conn *proto.Conn, p *load.Program) error {
	fd, err := load.Load(p)
	if err != nil {
		return fmt.Errorf("install seccomp filter: %w", err)
	}
	if fd >= 0 {
		defer unix.Close(fd)
		if err := conn.Send(proto.Message{Kind: proto.MsgSeccompFD}, fd); err != nil {
			return err
		}
	}
	return nil
}

// decodeSeccomp decodes the compiled filter the runtime sent, if any.
func decodeSeccomp(raw json.RawMessage) (*load.Program, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var p load.Program
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("decode seccomp program: %w", err)
	}
	return &p, nil
}

// applyLSM arranges for the AppArmor profile and SELinux label to apply
// at execve.
func applyLSM(p *specs.Process) error {
	return setLSM(p.ApparmorProfile, p.SelinuxLabel)
}

// filterAllows reports whether the profile s lets every call of syscall
// name through: no rule names it with another action, and a rule allows
// it without conditions or the default action does.
func filterAllows(s *specs.LinuxSeccomp, name string) bool {
	if s == nil {
		return true
	}
	allows := func(a specs.LinuxSeccompAction) bool { return a == specs.ActAllow || a == specs.ActLog }
	allowed := allows(s.DefaultAction)
	for _, r := range s.Syscalls {
		if !slices.Contains(r.Names, name) {
			continue
		}
		if !allows(r.Action) {
			return false
		}
		allowed = allowed || len(r.Args) == 0
	}
	return allowed
}
