package command

import (
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/capabilities"
	"github.com/berth-dev/berth/rootfs"
	"github.com/berth-dev/berth/version"
)

func featuresCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "features",
		Short: "print what this runtime supports, as JSON",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t := true
			f := features.Features{
				OCIVersionMin: "1.0.0",
				OCIVersionMax: version.OCIRuntimeSpec,
				Hooks:         []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"},
				MountOptions:  rootfs.MountOptions(),
				Linux: &features.Linux{
					Namespaces:   []string{"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"},
					Capabilities: capabilities.Names(),
					// Idmapped bind mounts, where the kernel and the
					// source's file system support them.
					MountExtensions: &features.MountExtensions{IDMap: &features.IDMap{Enabled: &t}},
					Cgroup:          &features.Cgroup{V1: &t, V2: &t},
					Seccomp: &features.Seccomp{
						Enabled:        &t,
						Actions:        []string{"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"},
						Operators:      []string{"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"},
						Archs:          []string{"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"},
						SupportedFlags: []string{"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"},
					},
				},
				Annotations: map[string]string{"io.github.berth.version": version.Version},
			}
			return printJSON(f)
		},
	}
}
