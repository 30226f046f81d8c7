package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/platforms"
	"github.com/berth-dev/berth/reference"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/emptypb"
)

// imageRow is one line of berth images (and its JSON form).
type imageRow struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	Digest     string `json:"digest"`
	ID         string `json:"id"`
	Created    string `json:"created"`
	CreatedAt  string `json:"created_at,omitempty"`
	Size       int64  `json:"size"`
	Name       string `json:"name"`
}

func rowOf(i *apiv1.ImageInfo) imageRow {
	r := imageRow{Repository: i.GetName(), Tag: "<none>", Digest: i.GetTarget().GetDigest(), ID: i.GetId(), Size: i.GetSize(), Name: i.GetName()}
	if ref, err := reference.Parse(i.GetName()); err == nil {
		r.Repository = reference.Familiar(ref.Name())
		if ref.Tag != "" {
			r.Tag = ref.Tag
		}
	}
	if i.GetCreated() != nil && i.GetCreated().GetSeconds() > 0 {
		r.Created = humanDuration(i.GetCreated().AsTime())
		r.CreatedAt = i.GetCreated().AsTime().Format("2006-01-02T15:04:05Z07:00")
	} else {
		r.Created = "N/A"
	}
	return r
}

func newImages(g *globals) *cobra.Command {
	var (
		quiet   bool
		digests bool
		format  string
	)
	cmd := &cobra.Command{
		Use:     "images [flags]",
		Aliases: []string{"list"},
		Short:   "List images",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.clients()
			if err != nil {
				return err
			}
			resp, err := c.images.List(g.ctx(cmd), &apiv1.ListImagesRequest{})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			var rows []imageRow
			for _, i := range resp.GetImages() {
				rows = append(rows, rowOf(i))
			}
			switch {
			case format == "json":
				if rows == nil {
					rows = []imageRow{}
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			case format != "" && format != "table":
				return usageError("unknown --format %q (want table or json)", format)
			case quiet:
				seen := map[string]bool{}
				for _, r := range rows {
					id := shortID(r.ID)
					if !seen[id] {
						seen[id] = true
						fmt.Fprintln(out, id)
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
			if digests {
				fmt.Fprintln(tw, "REPOSITORY\tTAG\tDIGEST\tIMAGE ID\tCREATED\tSIZE")
			} else {
				fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE")
			}
			for _, r := range rows {
				if digests {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Repository, r.Tag, r.Digest, shortID(r.ID), r.Created, humanSize(r.Size))
				} else {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Repository, r.Tag, shortID(r.ID), r.Created, humanSize(r.Size))
				}
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "only show image IDs")
	cmd.Flags().BoolVar(&digests, "digests", false, "show digests")
	cmd.Flags().StringVar(&format, "format", "", "output format: table or json")
	return cmd
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if id == "" {
		return "<none>"
	}
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// newImageCmd is "berth image ls|rm|tag|inspect|pull|push".
func newImageCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "image", Short: "Manage images"}
	ls := newImages(g)
	ls.Use, ls.Aliases = "ls [flags]", []string{"list"}
	rm := newRmi(g)
	rm.Use, rm.Aliases = "rm [flags] IMAGE...", []string{"remove"}
	cmd.AddCommand(ls, rm, newTag(g), newInspect(g), newPull(g), newPush(g))
	return cmd
}

func newRmi(g *globals) *cobra.Command {
	var noPrune, force bool
	cmd := &cobra.Command{
		Use:   "rmi [flags] IMAGE...",
		Short: "Remove images (and, unless --no-prune, content and snapshots nothing uses any more)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.clients()
			if err != nil {
				return err
			}
			for i, a := range args {
				sync := !noPrune && i == len(args)-1
				if _, err := c.images.Delete(g.ctx(cmd), &apiv1.DeleteImageRequest{Name: a, Sync: sync, Force: force}); err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), "Untagged:", a)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&noPrune, "no-prune", false, "keep unreferenced content and snapshots")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "remove every name of an image given by ID, and its last name even if a container uses it")
	return cmd
}

func newTag(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE TARGET",
		Short: "Give an image another name",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.clients()
			if err != nil {
				return err
			}
			_, err = c.images.Tag(g.ctx(cmd), &apiv1.TagImageRequest{Source: args[0], Target: args[1]})
			return err
		},
	}
}

func newInspect(g *globals) *cobra.Command {
	var platform string
	cmd := &cobra.Command{
		Use:   "inspect [flags] CONTAINER|IMAGE...",
		Short: "Show containers or images as JSON (an image: record, manifest and config)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.clients()
			if err != nil {
				return err
			}
			req := &apiv1.GetImageRequest{}
			if platform != "" {
				p, err := platforms.Parse(platform)
				if err != nil {
					return err
				}
				req.Platform = &apiv1.Platform{Os: p.OS, Architecture: p.Architecture, Variant: p.Variant}
			}
			var out []map[string]any
			for _, a := range args {
				if ct, err := c.containers.Get(g.ctx(cmd), &apiv1.ContainerRequest{Id: a}); err == nil {
					out = append(out, containerDoc(ct))
					continue
				}
				req.Name = a
				resp, err := c.images.Get(g.ctx(cmd), req)
				if err != nil {
					return err
				}
				i := resp.GetImage()
				doc := map[string]any{
					"Name": i.GetName(), "Id": i.GetId(), "Target": i.GetTarget(), "Size": i.GetSize(), "Labels": i.GetLabels(),
				}
				if i.GetCreated() != nil {
					doc["Created"] = i.GetCreated().AsTime()
				}
				if len(resp.GetManifest()) > 0 {
					doc["Manifest"] = json.RawMessage(resp.GetManifest())
				}
				if len(resp.GetConfig()) > 0 {
					doc["Config"] = json.RawMessage(resp.GetConfig())
				}
				out = append(out, doc)
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
	cmd.Flags().StringVar(&platform, "platform", "", "platform manifest to show, os/arch[/variant]")
	return cmd
}

func newGC(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "gc",
		Short: "Remove content and snapshots no image references",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.clients()
			if err != nil {
				return err
			}
			r, err := c.images.GarbageCollect(g.ctx(cmd), &emptypb.Empty{})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %d blobs, %d snapshots\n", r.GetBlobs(), r.GetSnapshots())
			return nil
		},
	}
}
