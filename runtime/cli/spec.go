package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/runtime"
	"github.com/berth-dev/berth/seccomp"
)

func specCmd() *cobra.Command {
	var bundle string
	var rootless bool
	cmd := &cobra.Command{
		Use:   "spec [--rootless] [--bundle DIR]",
		Short: "write a default config.json (with Docker's default seccomp profile)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s := runtime.DefaultSpec(rootless)
			s.Linux.Seccomp = seccomp.DefaultProfile(s)
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
	return cmd
}
