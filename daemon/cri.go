package daemon

import (
	"log/slog"

	"github.com/berth-dev/berth/cri"
	"github.com/berth-dev/berth/cri/streaming"
	"github.com/berth-dev/berth/engine"
)

// newCRI starts the CRI's streaming server and binds the CRI socket with
// it as the Streamer (docs/cri.md). A failure leaves neither behind.
func newCRI(cfg Config, e *engine.Engine, log *slog.Logger) (*cri.Server, *streaming.Server, error) {
	st, err := streaming.New(e, cri.Namespace, streaming.Config{Addr: cfg.CRI.StreamAddress})
	if err != nil {
		return nil, nil, err
	}
	if err := st.Start(); err != nil {
		return nil, nil, err
	}
	s, err := cri.New(cri.Config{Address: cfg.criAddress(), Engine: e, Network: cfg.CRI.Network,
		PauseBinary: cfg.CRI.PauseBinary, SandboxImage: cfg.CRI.SandboxImage, Streamer: st, Logger: log})
	if err != nil {
		_ = st.Stop()
		return nil, nil, err
	}
	log.Info("CRI streaming server", "address", st.Addr())
	return s, st, nil
}
