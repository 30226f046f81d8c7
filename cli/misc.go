package cli

import (
	"fmt"
	"runtime"
	"text/tabwriter"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/version"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/emptypb"
)

func newNamespace(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "namespace", Aliases: []string{"ns"}, Short: "Manage namespaces"}
	cmd.AddCommand(&cobra.Command{
		Use: "ls", Aliases: []string{"list"}, Short: "List namespaces", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.clients()
			if err != nil {
				return err
			}
			r, err := c.ns.List(g.ctx(cmd), &emptypb.Empty{})
			if err != nil {
				return err
			}
			for _, n := range r.GetNamespaces() {
				fmt.Fprintln(cmd.OutOrStdout(), n)
			}
			return nil
		},
	}, &cobra.Command{
		Use: "create NAME...", Short: "Create namespaces", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.clients()
			if err != nil {
				return err
			}
			for _, a := range args {
				if _, err := c.ns.Create(g.ctx(cmd), &apiv1.CreateNamespaceRequest{Name: a}); err != nil {
					return err
				}
			}
			return nil
		},
	}, &cobra.Command{
		Use: "rm NAME...", Aliases: []string{"remove"}, Short: "Remove empty namespaces", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.clients()
			if err != nil {
				return err
			}
			for _, a := range args {
				if _, err := c.ns.Delete(g.ctx(cmd), &apiv1.DeleteNamespaceRequest{Name: a}); err != nil {
					return err
				}
			}
			return nil
		},
	})
	return cmd
}

func newVersion(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "version", Short: "Show client and daemon versions", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "Client:\n  Version: %s\n  Go: %s\n", version.Version, runtime.Version())
			c, err := g.clients()
			if err != nil {
				return err
			}
			v, err := c.version.Version(g.ctx(cmd), &emptypb.Empty{})
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "Server:\n  Version: %s\n  Go: %s\n  API: %s\n", v.GetVersion(), v.GetGoVersion(), v.GetApiVersion())
			return nil
		},
	}
}

func newInfo(g *globals) *cobra.Command {
	return &cobra.Command{
		Use: "info", Short: "Show daemon information", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.clients()
			if err != nil {
				return err
			}
			i, err := c.intro.Info(g.ctx(cmd), &emptypb.Empty{})
			if err != nil {
				return err
			}
			p := i.GetPlatform()
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 8, 1, ' ', 0)
			fmt.Fprintf(tw, "Version:\t%s\nRoot:\t%s\nState:\t%s\nAddress:\t%s\nSnapshotter:\t%s\nPID:\t%d\nPlatform:\t%s/%s%s\nNamespaces:\t%v\nContent:\t%d blobs, %s\n",
				i.GetVersion(), i.GetRoot(), i.GetState(), i.GetAddress(), i.GetSnapshotter(), i.GetPid(),
				p.GetOs(), p.GetArchitecture(), variant(p.GetVariant()), i.GetNamespaces(), i.GetContentBlobs(), humanSize(i.GetContentBytes()))
			return tw.Flush()
		},
	}
}

func variant(v string) string {
	if v == "" {
		return ""
	}
	return "/" + v
}
