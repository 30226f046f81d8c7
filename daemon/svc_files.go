package daemon

import (
	"context"
	"io"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/archive"
	"github.com/berth-dev/berth/errdefs"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

type filesService struct {
	apiv1.UnimplementedContainerFilesServer
	d *Daemon
}

// CopyFrom serves the ContainerFiles.CopyFrom RPC: the path's stat, then
// its tar in chunks.
func (s *filesService) CopyFrom(r *apiv1.CopyFromRequest, stream grpc.ServerStreamingServer[apiv1.CopyFromResponse]) error {
	ctx := stream.Context()
	ns, err := namespace(ctx)
	if err != nil {
		return err
	}
	rc, st, err := s.d.engine.CopyFromContainer(ctx, ns, r.GetId(), r.GetPath())
	if err != nil {
		return err
	}
	defer rc.Close()
	err = stream.Send(&apiv1.CopyFromResponse{Part: &apiv1.CopyFromResponse_Stat{Stat: &apiv1.PathStat{
		Name: st.Name, Size: st.Size, Mode: uint32(st.Mode), Mtime: timestamppb.New(st.Mtime), LinkTarget: st.LinkTarget,
	}}})
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for {
		n, rerr := rc.Read(buf)
		if n > 0 {
			if err := stream.Send(&apiv1.CopyFromResponse{Part: &apiv1.CopyFromResponse_Data{Data: buf[:n]}}); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// CopyTo serves the ContainerFiles.CopyTo RPC: a header, then a tar in
// chunks.
func (s *filesService) CopyTo(stream grpc.ClientStreamingServer[apiv1.CopyToRequest, emptypb.Empty]) error {
	ctx := stream.Context()
	ns, err := namespace(ctx)
	if err != nil {
		return err
	}
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	h := first.GetHeader()
	if h == nil {
		return errdefs.New(errdefs.ErrInvalidArgument, "copy to container: the first message holds no header")
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
	err = s.d.engine.CopyToContainer(ctx, ns, h.GetId(), h.GetPath(), pr, archive.CopyInOptions{
		SrcName: h.GetSrcName(), SrcIsDir: h.GetSrcIsDir(), CopyUIDGID: h.GetCopyUidGid(),
	})
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return err
	}
	return stream.SendAndClose(&emptypb.Empty{})
}

// Prune serves the ContainerFiles.Prune RPC.
func (s *filesService) Prune(ctx context.Context, _ *apiv1.PruneContainersRequest) (*apiv1.PruneContainersResponse, error) {
	ns, err := namespace(ctx)
	if err != nil {
		return nil, err
	}
	ids, err := s.d.engine.PruneContainers(ctx, ns, nil)
	if err != nil {
		return nil, err
	}
	return &apiv1.PruneContainersResponse{Ids: ids}, nil
}

// Changes serves the ContainerFiles.Changes RPC.
func (s *filesService) Changes(ctx context.Context, r *apiv1.ChangesRequest) (*apiv1.ChangesResponse, error) {
	ns, err := namespace(ctx)
	if err != nil {
		return nil, err
	}
	changes, err := s.d.engine.Changes(ctx, ns, r.GetId())
	if err != nil {
		return nil, err
	}
	resp := &apiv1.ChangesResponse{Changes: make([]*apiv1.FilesystemChange, 0, len(changes))}
	for _, c := range changes {
		resp.Changes = append(resp.Changes, &apiv1.FilesystemChange{Path: c.Path, Kind: apiv1.FilesystemChange_Kind(c.Kind)})
	}
	return resp, nil
}
