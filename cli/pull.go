package cli

import (
	"fmt"
	"io"
	"os"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/platforms"
	"github.com/berth-dev/berth/reference"
	"github.com/spf13/cobra"
)

func newPull(g *globals) *cobra.Command {
	var (
		quiet    bool
		platform string
		noUnpack bool
		foreign  bool
	)
	cmd := &cobra.Command{
		Use:   "pull [flags] NAME[:TAG|@DIGEST]",
		Short: "Pull an image from a registry and unpack it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			auth, err := authFor(args[0])
			if err != nil {
				return err
			}
			req := &apiv1.PullRequest{Ref: args[0], NoUnpack: noUnpack, AllowForeignLayers: foreign, Auth: auth}
			if platform != "" {
				p, err := platforms.Parse(platform)
				if err != nil {
					return err
				}
				req.Platform = &apiv1.Platform{Os: p.OS, Architecture: p.Architecture, Variant: p.Variant}
			}
			if _, err := reference.Parse(args[0]); err != nil {
				return err
			}
			c, err := g.clients()
			if err != nil {
				return err
			}
			img, err := g.pullStream(cmd, c, req, quiet)
			if err != nil {
				return err
			}
			if img == nil {
				return fmt.Errorf("pull %s: berthd ended the stream without a result", args[0])
			}
			if quiet {
				fmt.Fprintln(cmd.OutOrStdout(), img.GetTarget().GetDigest())
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Digest: %s\n%s\n", img.GetTarget().GetDigest(), img.GetName())
			return nil
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the digest")
	cmd.Flags().StringVar(&platform, "platform", "", "platform to pull, os/arch[/variant] (default: this host's)")
	cmd.Flags().BoolVar(&noUnpack, "no-unpack", false, "only download, do not unpack")
	cmd.Flags().BoolVar(&foreign, "allow-foreign-layers", false, "download non-distributable layers too, from the URLs their manifest gives")
	return cmd
}

// pullStream runs a pull, showing progress on stderr unless quiet, and
// returns the image berthd recorded.
func (g *globals) pullStream(cmd *cobra.Command, c *clients, req *apiv1.PullRequest, quiet bool) (*apiv1.ImageInfo, error) {
	stream, err := c.transfer.Pull(g.ctx(cmd), req)
	if err != nil {
		return nil, err
	}
	var view *progressView
	if !quiet {
		view = newProgressView(os.Stderr)
	}
	var img *apiv1.ImageInfo
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			if view != nil {
				view.wait(true)
			}
			return nil, err
		}
		if p := ev.GetProgress(); p != nil && view != nil {
			view.update(p)
		}
		if i := ev.GetImage(); i != nil {
			img = i
		}
	}
	if view != nil {
		view.wait(false)
	}
	return img, nil
}
