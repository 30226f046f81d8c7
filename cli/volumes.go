package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/cli/runopts"
	"github.com/spf13/cobra"
)

// volumesClient dials berthd's Volumes service.
func (g *globals) volumesClient() (apiv1.VolumesClient, error) {
	conn, err := g.dial()
	if err != nil {
		return nil, err
	}
	return apiv1.NewVolumesClient(conn), nil
}

func newVolumeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "volume", Short: "Manage volumes"}
	cmd.AddCommand(newVolumeCreate(g), newVolumeLs(g), newVolumeInspect(g), newVolumeRm(g), newVolumePrune(g))
	return cmd
}

func newVolumeCreate(g *globals) *cobra.Command {
	var labels []string
	cmd := &cobra.Command{
		Use:   "create [flags] [NAME]",
		Short: "Create a volume (an anonymous one without a name)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			vc, err := g.volumesClient()
			if err != nil {
				return err
			}
			req := &apiv1.CreateVolumeRequest{Labels: map[string]string{}}
			if len(args) == 1 {
				req.Name = args[0]
			}
			for _, l := range labels {
				k, v, _ := strings.Cut(l, "=")
				req.Labels[k] = v
			}
			v, err := vc.Create(g.ctx(cmd), req)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), v.GetName())
			return nil
		},
	}
	runopts.StringArrayVarP(cmd.Flags(), &labels, "label", "", "set a label KEY=VALUE")
	return cmd
}

func newVolumeLs(g *globals) *cobra.Command {
	var quiet bool
	var filters []string
	cmd := &cobra.Command{
		Use:     "ls [flags]",
		Aliases: []string{"list"},
		Short:   "List volumes",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			vc, err := g.volumesClient()
			if err != nil {
				return err
			}
			resp, err := vc.List(g.ctx(cmd), &apiv1.ListVolumesRequest{Filters: filters})
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 8, 3, ' ', 0)
			if !quiet {
				fmt.Fprintln(tw, "DRIVER\tVOLUME NAME")
			}
			for _, v := range resp.GetVolumes() {
				if quiet {
					fmt.Fprintln(tw, v.GetName())
				} else {
					fmt.Fprintf(tw, "local\t%s\n", v.GetName())
				}
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "only names")
	runopts.StringArrayVarP(cmd.Flags(), &filters, "filter", "f", "name=, label=KEY[=VALUE], dangling=true|false")
	return cmd
}

func newVolumeInspect(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect NAME...",
		Short: "Show volumes as JSON",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			vc, err := g.volumesClient()
			if err != nil {
				return err
			}
			out := []map[string]any{}
			for _, name := range args {
				v, err := vc.Get(g.ctx(cmd), &apiv1.VolumeRequest{Name: name})
				if err != nil {
					return err
				}
				out = append(out, map[string]any{
					"Name": v.GetName(), "Driver": "local", "Mountpoint": v.GetMountpoint(), "Scope": "local",
					"CreatedAt": v.GetCreated().AsTime().Format(time.RFC3339), "Labels": v.GetLabels(),
					"Anonymous": v.GetAnonymous(), "UsedBy": v.GetUsers(),
				})
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "    ")
			return enc.Encode(out)
		},
	}
}

func newVolumeRm(g *globals) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [flags] NAME...",
		Aliases: []string{"remove"},
		Short:   "Remove volumes no container uses",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			vc, err := g.volumesClient()
			if err != nil {
				return err
			}
			var first error
			for _, name := range args {
				if _, err := vc.Remove(g.ctx(cmd), &apiv1.RemoveVolumeRequest{Name: name, Force: force}); err != nil {
					if first == nil {
						first = err
					} else {
						fmt.Fprintln(cmd.ErrOrStderr(), "berth:", Explain(err))
					}
					continue
				}
				fmt.Fprintln(cmd.OutOrStdout(), name)
			}
			return first
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "no error for a missing volume")
	return cmd
}

func newVolumePrune(g *globals) *cobra.Command {
	var force, all bool
	cmd := &cobra.Command{
		Use:   "prune [flags]",
		Short: "Remove the volumes no container uses (anonymous ones unless --all)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !force {
				what := "anonymous local volumes"
				if all {
					what = "all local volumes"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "WARNING! This will remove %s not used by at least one container.\nAre you sure you want to continue? [y/N] ", what)
				answer, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if a := strings.TrimSpace(strings.ToLower(answer)); a != "y" && a != "yes" {
					return nil
				}
			}
			vc, err := g.volumesClient()
			if err != nil {
				return err
			}
			resp, err := vc.Prune(g.ctx(cmd), &apiv1.PruneVolumesRequest{All: all})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(resp.GetRemoved()) > 0 {
				fmt.Fprintln(out, "Deleted Volumes:")
				for _, n := range resp.GetRemoved() {
					fmt.Fprintln(out, n)
				}
				fmt.Fprintln(out)
			}
			fmt.Fprintln(out, "Total reclaimed space:", humanSize(int64(resp.GetSpaceReclaimed()))) //nolint:gosec // sizes fit
			return nil
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not ask for confirmation")
	cmd.Flags().BoolVarP(&all, "all", "a", false, "named volumes too")
	return cmd
}
