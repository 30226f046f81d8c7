package daemon

import (
	"io"

	apiv1 "github.com/berth-dev/berth/api/v1"
)

// Import receives an archive in chunks (the first message may carry a
// default name) and loads it.
func (s *transferService) Import(stream apiv1.Transfer_ImportServer) error {
	ns, err := namespace(stream.Context())
	if err != nil {
		return err
	}
	ctx, cancel := s.d.transferContext(stream.Context())
	defer cancel()
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() {
		if _, err := pw.Write(first.GetData()); err != nil {
			return
		}
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
	imgs, err := s.d.engine.Load(ctx, ns, pr, first.GetName())
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return err
	}
	resp := &apiv1.ImportResponse{}
	for _, img := range imgs {
		resp.Images = append(resp.Images, toImageInfo(s.d.engine.Describe(ctx, ns, img, nil)))
	}
	return stream.SendAndClose(resp)
}

// chunkWriter sends what is written as ExportResponse messages.
type chunkWriter struct {
	stream apiv1.Transfer_ExportServer
}

// Write implements io.Writer.
func (c chunkWriter) Write(p []byte) (int, error) {
	for off := 0; off < len(p); off += 1 << 20 {
		end := min(off+1<<20, len(p))
		if err := c.stream.Send(&apiv1.ExportResponse{Data: p[off:end]}); err != nil {
			return off, err
		}
	}
	return len(p), nil
}

// Export streams the named images as an archive.
func (s *transferService) Export(r *apiv1.ExportRequest, stream apiv1.Transfer_ExportServer) error {
	ns, err := namespace(stream.Context())
	if err != nil {
		return err
	}
	ctx, cancel := s.d.transferContext(stream.Context())
	defer cancel()
	return s.d.engine.Save(ctx, ns, r.GetNames(), r.GetFormat(), fromPlatform(r.GetPlatform()), chunkWriter{stream})
}
