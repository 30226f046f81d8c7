package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/archive"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func newCp(g *globals) *cobra.Command {
	var archiveOwners bool
	cmd := &cobra.Command{
		Use:   "cp [flags] CONTAINER:SRC DEST|-\n  berth cp [flags] SRC|- CONTAINER:DEST",
		Short: "Copy files between a container and the host (- is a tar on stdin or stdout)",
		Long: "Copy files between a container and the host (- is a tar on stdin or stdout).\n\n" +
			"A running or paused container is copied to and from as its processes see it, volumes,\n" +
			"binds and tmpfs mounts included; a stopped container's root filesystem alone, and a\n" +
			"path at or under one of its mounts is refused. Paths and symlinks in the container are\n" +
			"resolved inside it.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			srcCtr, src := splitCopyArg(args[0])
			dstCtr, dst := splitCopyArg(args[1])
			switch {
			case srcCtr != "" && dstCtr != "":
				return usageError("copying between containers is not supported")
			case srcCtr == "" && dstCtr == "":
				return usageError("one of the paths must be CONTAINER:PATH")
			case src == "" || dst == "":
				return usageError("a path must not be empty")
			}
			conn, err := g.dial()
			if err != nil {
				return err
			}
			files := apiv1.NewContainerFilesClient(conn)
			if srcCtr != "" {
				return copyFrom(g, cmd, files, srcCtr, src, dst, archiveOwners)
			}
			return copyTo(g, cmd, files, src, dstCtr, dst, archiveOwners)
		},
	}
	cmd.Flags().BoolVarP(&archiveOwners, "archive", "a", false, "keep the files' owners (UID:GID)")
	return cmd
}

// splitCopyArg splits "CONTAINER:PATH"; a path with a colon is written
// with a "/" before it ("./a:b" or "/a:b").
func splitCopyArg(arg string) (ctr, path string) {
	i := strings.IndexByte(arg, ':')
	if i <= 0 || strings.ContainsRune(arg[:i], '/') {
		return "", arg
	}
	return arg[:i], arg[i+1:]
}

// hostPath makes p absolute without cleaning it: a trailing "/" or "/."
// carries meaning.
func hostPath(p string) (string, error) {
	if strings.HasPrefix(p, "/") {
		return p, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("current directory: %w", err)
	}
	return wd + "/" + p, nil
}

func copyFrom(g *globals, cmd *cobra.Command, files apiv1.ContainerFilesClient, ctr, src, dst string, owners bool) error {
	out := cmd.OutOrStdout()
	if f, ok := out.(*os.File); ok && dst == "-" && term.IsTerminal(int(f.Fd())) {
		return usageError("refusing to write a tar to a terminal: redirect stdout")
	}
	stream, err := files.CopyFrom(g.ctx(cmd), &apiv1.CopyFromRequest{Id: ctr, Path: src})
	if err != nil {
		return err
	}
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	st := first.GetStat()
	if st == nil {
		return errors.New("copy from container: berthd sent no stat")
	}
	pr, pw := io.Pipe()
	go func() {
		for {
			m, err := stream.Recv()
			if err == io.EOF {
				pw.Close()
				return
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			if _, err := pw.Write(m.GetData()); err != nil {
				return
			}
		}
	}()
	defer pr.Close()
	if dst == "-" {
		_, err := io.Copy(out, pr)
		return err
	}
	if dst, err = hostPath(dst); err != nil {
		return err
	}
	return archive.CopyIn(cmd.Context(), "/", dst, pr, archive.CopyInOptions{
		SrcName: st.GetName(), SrcIsDir: os.FileMode(st.GetMode()).IsDir(),
		CopyUIDGID: owners, UID: os.Getuid(), GID: os.Getgid(),
	})
}

func copyTo(g *globals, cmd *cobra.Command, files apiv1.ContainerFilesClient, src, ctr, dst string, owners bool) error {
	h := &apiv1.CopyToHeader{Id: ctr, Path: dst, CopyUidGid: owners}
	var r io.Reader
	if src == "-" {
		in := cmd.InOrStdin()
		if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return usageError("refusing to read a tar from a terminal: redirect stdin")
		}
		r, h.SrcName, h.SrcIsDir = in, ".", true
	} else {
		p, err := hostPath(src)
		if err != nil {
			return err
		}
		rc, st, err := archive.CopyOut(cmd.Context(), "/", p)
		if err != nil {
			return err
		}
		defer rc.Close()
		r, h.SrcName, h.SrcIsDir = rc, st.Name, st.Mode.IsDir()
	}
	stream, err := files.CopyTo(g.ctx(cmd))
	if err != nil {
		return err
	}
	if err := stream.Send(&apiv1.CopyToRequest{Part: &apiv1.CopyToRequest_Header{Header: h}}); err != nil {
		_, err = stream.CloseAndRecv()
		return err
	}
	buf := make([]byte, 1<<20)
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			if err := stream.Send(&apiv1.CopyToRequest{Part: &apiv1.CopyToRequest_Data{Data: buf[:n]}}); err != nil {
				break // the server's error comes with CloseAndRecv
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("read %s: %w", src, rerr)
		}
	}
	_, err = stream.CloseAndRecv()
	return err
}
