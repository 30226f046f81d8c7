package cli

import (
	"fmt"
	"io"
	"os"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/platforms"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func newSave(g *globals) *cobra.Command {
	var (
		output   string
		format   string
		platform string
	)
	cmd := &cobra.Command{
		Use:   "save [flags] IMAGE...",
		Short: "Write images to a tar archive (OCI layout, or docker save format)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &apiv1.ExportRequest{Names: args, Format: format}
			if platform != "" {
				p, err := platforms.Parse(platform)
				if err != nil {
					return err
				}
				req.Platform = &apiv1.Platform{Os: p.OS, Architecture: p.Architecture, Variant: p.Variant}
			}
			w := cmd.OutOrStdout()
			if output == "" && w == os.Stdout && term.IsTerminal(int(os.Stdout.Fd())) {
				return usageError("refusing to write an archive to a terminal: use -o FILE or redirect")
			}
			c, err := g.clients()
			if err != nil {
				return err
			}
			stream, err := c.transfer.Export(g.ctx(cmd), req)
			if err != nil {
				return err
			}
			var f *os.File
			if output != "" {
				tmp := output + ".berth-tmp"
				if f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644); err != nil {
					return fmt.Errorf("create %s: %w", tmp, err)
				}
				defer os.Remove(tmp)
				defer f.Close()
				w = f
			}
			for {
				m, err := stream.Recv()
				if err == io.EOF {
					break
				}
				if err != nil {
					return err
				}
				if _, err := w.Write(m.GetData()); err != nil {
					return fmt.Errorf("write archive: %w", err)
				}
			}
			if f != nil {
				if err := f.Close(); err != nil {
					return fmt.Errorf("write %s: %w", output, err)
				}
				if err := os.Rename(f.Name(), output); err != nil {
					return fmt.Errorf("write %s: %w", output, err)
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to FILE instead of stdout")
	cmd.Flags().StringVar(&format, "format", "oci", "archive format: oci or docker")
	cmd.Flags().StringVar(&platform, "platform", "", "platform for the docker format, os/arch[/variant]")
	return cmd
}

func newLoad(g *globals) *cobra.Command {
	var (
		input string
		name  string
		quiet bool
	)
	cmd := &cobra.Command{
		Use:   "load [flags]",
		Short: "Load images from an OCI or docker save tar archive (optionally gzip/zstd compressed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r := cmd.InOrStdin()
			if f, ok := r.(*os.File); ok && input == "" && term.IsTerminal(int(f.Fd())) {
				return usageError("refusing to read an archive from a terminal: use -i FILE or redirect stdin")
			}
			if input != "" {
				f, err := os.Open(input)
				if err != nil {
					return fmt.Errorf("open %s: %w", input, err)
				}
				defer f.Close()
				r = f
			}
			c, err := g.clients()
			if err != nil {
				return err
			}
			stream, err := c.transfer.Import(g.ctx(cmd))
			if err != nil {
				return err
			}
			buf := make([]byte, 1<<20)
			first := true
			for {
				n, rerr := r.Read(buf)
				if n > 0 || first {
					msg := &apiv1.ImportRequest{Data: buf[:n]}
					if first {
						msg.Name, first = name, false
					}
					if err := stream.Send(msg); err != nil {
						break // the server's error comes with CloseAndRecv
					}
				}
				if rerr == io.EOF {
					break
				}
				if rerr != nil {
					return fmt.Errorf("read archive: %w", rerr)
				}
			}
			resp, err := stream.CloseAndRecv()
			if err != nil {
				return err
			}
			for _, i := range resp.GetImages() {
				if quiet {
					fmt.Fprintln(cmd.OutOrStdout(), i.GetName())
				} else {
					fmt.Fprintln(cmd.OutOrStdout(), "Loaded image:", i.GetName())
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&input, "input", "i", "", "read from FILE instead of stdin")
	cmd.Flags().StringVar(&name, "name", "", "name for images the archive does not name")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only image names")
	return cmd
}
