package daemon

import (
	"context"
	"fmt"
	"io"

	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/content"
	"github.com/opencontainers/go-digest"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

type contentService struct {
	apiv1.UnimplementedContentServer
	d *Daemon
}

// store returns the caller's namespaced content store and a parsed digest.
func (s *contentService) store(ctx context.Context, raw string) (content.Store, digest.Digest, error) {
	ns, err := namespace(ctx)
	if err != nil {
		return nil, "", err
	}
	dg, err := digest.Parse(raw)
	if err != nil {
		return nil, "", fmt.Errorf("%w: digest %q: %v", content.ErrInvalidArgument, raw, err)
	}
	return s.d.engine.Content(ns), dg, nil
}

func contentInfo(i content.Info) *apiv1.ContentInfo {
	return &apiv1.ContentInfo{Digest: i.Digest.String(), Size: i.Size, CreatedAt: timestamppb.New(i.CreatedAt), Labels: i.Labels}
}

// Info serves the Content.Info RPC.
func (s *contentService) Info(ctx context.Context, r *apiv1.ContentInfoRequest) (*apiv1.ContentInfo, error) {
	cs, dg, err := s.store(ctx, r.GetDigest())
	if err != nil {
		return nil, err
	}
	i, err := cs.Info(ctx, dg)
	if err != nil {
		return nil, err
	}
	return contentInfo(i), nil
}

// List serves the Content.List RPC.
func (s *contentService) List(ctx context.Context, _ *emptypb.Empty) (*apiv1.ListContentResponse, error) {
	ns, err := namespace(ctx)
	if err != nil {
		return nil, err
	}
	resp := &apiv1.ListContentResponse{}
	err = s.d.engine.Content(ns).Walk(ctx, func(i content.Info) error {
		resp.Blobs = append(resp.Blobs, contentInfo(i))
		return nil
	})
	return resp, err
}

// Delete serves the Content.Delete RPC: the namespace drops its reference;
// the collector deletes the blob once no namespace references it.
func (s *contentService) Delete(ctx context.Context, r *apiv1.ContentInfoRequest) (*emptypb.Empty, error) {
	cs, dg, err := s.store(ctx, r.GetDigest())
	if err != nil {
		return nil, err
	}
	if err := cs.Delete(ctx, dg); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// Read serves the Content.Read RPC.
func (s *contentService) Read(r *apiv1.ReadContentRequest, stream apiv1.Content_ReadServer) error {
	ctx := stream.Context()
	cs, dg, err := s.store(ctx, r.GetDigest())
	if err != nil {
		return err
	}
	ra, err := cs.ReaderAt(ctx, dg)
	if err != nil {
		return err
	}
	defer ra.Close()
	end := ra.Size()
	if r.GetSize() > 0 && r.GetOffset()+r.GetSize() < end {
		end = r.GetOffset() + r.GetSize()
	}
	buf := make([]byte, 1<<20)
	for off := r.GetOffset(); off < end; {
		n := int64(len(buf))
		if end-off < n {
			n = end - off
		}
		m, err := ra.ReadAt(buf[:n], off)
		if m > 0 {
			if err := stream.Send(&apiv1.ReadContentResponse{Offset: off, Data: buf[:m]}); err != nil {
				return err
			}
			off += int64(m)
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("read %s: %w", dg, err)
		}
		if m == 0 {
			break
		}
	}
	return nil
}
