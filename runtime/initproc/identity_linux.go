package initproc

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/berth-dev/berth/capabilities"
)

// applyIdentity switches this thread to the process's user, groups and
// capabilities, and sets no_new_privs when asked.
func applyIdentity(p *specs.Process, _ []string) error {
	err := capabilities.ApplyIdentity(capabilities.Identity{
		UID:            p.User.UID,
		GID:            p.User.GID,
		AdditionalGids: p.User.AdditionalGids,
		Caps:           p.Capabilities,
		NoNewPrivs:     p.NoNewPrivileges,
	})
	if err != nil {
		return fmt.Errorf("set user %d:%d and capabilities: %w", p.User.UID, p.User.GID, err)
	}
	return nil
}
