package command

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/specgen/template"
)

func specCmd() *cobra.Command {
	var bundle string
	var rootless, hardened bool
	cmd := &cobra.Command{
		Use:   "spec [--rootless] [--hardened] [--bundle DIR]",
		Short: "write a default config.json: runc's template, or Docker's defaults with --hardened",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s := template.Default(rootless)
			if hardened {
				s = template.Hardened(rootless)
			}
			path := filepath.Join(bundle, "config.json")
			if _, err := os.Stat(path); err == nil {
				return fmt.Errorf("%s already exists: remove it first", path)
			} else if !errors.Is(err, os.ErrNotExist) {
				return err
			}
			b, err := json.MarshalIndent(s, "", "\t")
			if err != nil {
				return err
			}
			return os.WriteFile(path, append(b, '\n'), 0o644)
		},
	}
	cmd.Flags().StringVarP(&bundle, "bundle", "b", ".", "directory to write config.json to")
	cmd.Flags().BoolVar(&rootless, "rootless", false, "a config for an unprivileged user")
	cmd.Flags().BoolVar(&hardened, "hardened", false, "Docker's defaults instead of runc's: its 14 capabilities, its default seccomp profile, a cgroup namespace, /sys/devices/virtual/powercap masked")
	return cmd
}
