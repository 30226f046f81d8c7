package streaming

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/websocket"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

// The port-forward protocols: SPDY, SPDY tunnelled in WebSocket
// messages (client-go's WebSocket dialer), and WebSocket channels.
const (
	pfProtocolV1      = "portforward.k8s.io"
	pfProtocolTunnel  = "SPDY/3.1+portforward.k8s.io"
	headerPort        = "port"
	headerRequestID   = "requestID"
	typeData          = "data"
	pfProtocolBase64  = "v4.base64.channel.k8s.io"
	pfProtocolChannel = "v4.channel.k8s.io"
)

func (s *Server) servePortForward(w http.ResponseWriter, r *http.Request) {
	req, ok := take[*runtimeapi.PortForwardRequest](s, w, r)
	if !ok {
		return
	}
	s.session(w, func() {
		switch {
		case wsstream.IsWebSocketRequestWithTunnelingProtocol(r):
			s.forwardTunnel(w, r, req)
		case wsstream.IsWebSocketRequest(r):
			s.forwardWebSocket(w, r, req)
		default:
			s.forwardSPDY(w, r, req)
		}
	})
}

// forwardSPDY serves portforward.k8s.io on the upgraded connection.
func (s *Server) forwardSPDY(w http.ResponseWriter, r *http.Request, req *runtimeapi.PortForwardRequest) {
	if _, err := httpstream.Handshake(r, w, []string{pfProtocolV1}); err != nil {
		return
	}
	streams, done := make(chan streamAndReply), make(chan struct{})
	defer close(done)
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, streamHandler(streams, done))
	if conn == nil {
		return
	}
	s.forwardStreams(conn, streams, req)
}

// forwardTunnel serves portforward.k8s.io over SPDY carried in the
// binary messages of a WebSocket.
func (s *Server) forwardTunnel(w http.ResponseWriter, r *http.Request, req *runtimeapi.PortForwardRequest) {
	websocket.Server{
		Handshake: func(cfg *websocket.Config, _ *http.Request) error {
			if !slices.Contains(cfg.Protocol, pfProtocolTunnel) {
				return fmt.Errorf("subprotocols %v: want %s", cfg.Protocol, pfProtocolTunnel)
			}
			cfg.Protocol = []string{pfProtocolTunnel}
			return nil
		},
		Handler: func(ws *websocket.Conn) {
			ws.PayloadType = websocket.BinaryFrame
			streams, done := make(chan streamAndReply), make(chan struct{})
			defer close(done)
			conn, err := spdy.NewServerConnection(ws, streamHandler(streams, done))
			if err != nil {
				return
			}
			s.forwardStreams(conn, streams, req)
		},
	}.ServeHTTP(w, r)
}

// streamHandler hands a connection's new streams to streams until done.
func streamHandler(streams chan<- streamAndReply, done <-chan struct{}) httpstream.NewStreamHandler {
	return func(st httpstream.Stream, replySent <-chan struct{}) error {
		select {
		case streams <- streamAndReply{st, replySent}:
			return nil
		case <-done:
			return errors.New("connection closing")
		}
	}
}

// pfPair is one forwarded connection's data and error streams.
type pfPair struct {
	data, errs streamAndReply
	created    time.Time
}

// forwardStreams pairs the client's data and error streams by request
// ID and forwards each pair, until the connection closes.
func (s *Server) forwardStreams(conn httpstream.Connection, streams <-chan streamAndReply, req *runtimeapi.PortForwardRequest) {
	defer conn.Close()
	conn.SetIdleTimeout(s.cfg.IdleTimeout)
	var wg sync.WaitGroup
	defer wg.Wait()
	pairs := map[string]*pfPair{}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-conn.CloseChan():
			return
		case <-s.ctx.Done():
			return
		case <-tick.C:
			for id, p := range pairs {
				if time.Since(p.created) > s.cfg.StreamCreationTimeout {
					p.reset()
					delete(pairs, id)
				}
			}
		case st := <-streams:
			id := requestID(st.Stream)
			p := pairs[id]
			if p == nil {
				p = &pfPair{created: time.Now()}
				pairs[id] = p
			}
			switch typ := st.Headers().Get(headerStreamType); {
			case typ == typeData && p.data.Stream == nil:
				p.data = st
			case typ == typeError && p.errs.Stream == nil:
				p.errs = st
			default: // unknown, or a second one for the request
				_ = st.Reset()
				continue
			}
			if p.data.Stream != nil && p.errs.Stream != nil {
				delete(pairs, id)
				wg.Add(1)
				go func() {
					defer wg.Done()
					s.forwardPair(conn, p, req)
				}()
			}
		}
	}
}

// requestID is the stream's requestID header; clients before it paired
// an error stream with the data stream two IDs later.
func requestID(st httpstream.Stream) string {
	if id := st.Headers().Get(headerRequestID); id != "" {
		return id
	}
	n := st.Identifier()
	if st.Headers().Get(headerStreamType) == typeData && n >= 2 {
		n -= 2
	}
	return "stream-" + strconv.FormatUint(uint64(n), 10)
}

func (p *pfPair) reset() {
	for _, st := range []httpstream.Stream{p.data.Stream, p.errs.Stream} {
		if st != nil {
			_ = st.Reset()
		}
	}
}

// forwardPair forwards the pair's port and reports a failure on its
// error stream.
func (s *Server) forwardPair(conn httpstream.Connection, p *pfPair, req *runtimeapi.PortForwardRequest) {
	defer conn.RemoveStreams(p.data.Stream, p.errs.Stream)
	for _, r := range []<-chan struct{}{p.data.replySent, p.errs.replySent} {
		select {
		case <-r:
		case <-conn.CloseChan():
			return
		}
	}
	port, err := allowedPort(p.data.Headers().Get(headerPort), req.Port)
	if err == nil {
		err = s.forward(req.PodSandboxId, port, p.data)
	}
	if err != nil {
		_, _ = fmt.Fprintf(p.errs, "an error occurred forwarding %d -> %d: %v", port, port, err)
	}
	_ = p.data.Close()
	_ = p.errs.Close()
}

// allowedPort parses a port header; ports, when the request named
// some, are the only ones allowed.
func allowedPort(h string, ports []int32) (uint16, error) {
	n, err := strconv.ParseUint(h, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("invalid port %q", h)
	}
	if len(ports) > 0 && !slices.Contains(ports, int32(n)) {
		return uint16(n), fmt.Errorf("port %d was not requested", n)
	}
	return uint16(n), nil
}

// forward connects to port in the sandbox's network namespace and
// copies both ways until the connection there ends (or the client's
// stream, or the server).
func (s *Server) forward(sandbox string, port uint16, rw io.ReadWriter) error {
	path, err := s.cfg.SandboxNetNS(sandbox)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	c, err := dialInNetNS(ctx, path, port)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	go func() {
		// The client's end of input half-closes the connection; a
		// client that goes away closes it.
		if _, err := io.Copy(c, rw); err == nil {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
				return
			}
		}
		cancel()
	}()
	if _, err := io.Copy(rw, c); err != nil && ctx.Err() == nil {
		return fmt.Errorf("copy from the pod: %w", err)
	}
	return nil
}

// forwardWebSocket serves the kubelet's WebSocket port-forward: a data
// and an error channel per port, each opened by the port number (two
// bytes, little-endian).
func (s *Server) forwardWebSocket(w http.ResponseWriter, r *http.Request, req *runtimeapi.PortForwardRequest) {
	ports, err := wsPorts(r, req.Port)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	chans := make([]wsstream.ChannelType, 0, 2*len(ports))
	for range ports {
		chans = append(chans, wsstream.ReadWriteChannel, wsstream.WriteChannel)
	}
	bin, b64 := wsstream.ChannelProtocolConfig{Binary: true, Channels: chans}, wsstream.ChannelProtocolConfig{Channels: chans}
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{"": bin, pfProtocolV1: bin, pfProtocolChannel: bin, pfProtocolBase64: b64})
	conn.SetIdleTimeout(s.cfg.IdleTimeout)
	_, ch, err := conn.Open(w, r)
	if err != nil {
		return
	}
	defer conn.Close()
	var wg sync.WaitGroup
	for i, port := range ports {
		prefix := binary.LittleEndian.AppendUint16(nil, port)
		data, errs := ch[2*i], ch[2*i+1]
		if _, err := data.Write(prefix); err != nil {
			return
		}
		if _, err := errs.Write(prefix); err != nil {
			return
		}
		wg.Go(func() {
			if err := s.forward(req.PodSandboxId, port, data); err != nil {
				_, _ = fmt.Fprintf(errs, "an error occurred forwarding %d -> %d: %v", port, port, err)
			}
		})
	}
	wg.Wait()
}

// wsPorts are the ports of a WebSocket port-forward: the request's, else
// the URL's port parameters.
func wsPorts(r *http.Request, req []int32) ([]uint16, error) {
	var out []uint16
	for _, p := range req {
		out = append(out, uint16(p))
	}
	if len(out) > 0 {
		return out, nil
	}
	if q := r.URL.Query()["port"]; len(q) > maxPorts {
		return nil, fmt.Errorf("%d ports, at most %d per port-forward", len(q), maxPorts)
	}
	for _, v := range r.URL.Query()["port"] {
		p, err := allowedPort(v, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, errors.New("port-forward over WebSocket needs at least one port")
	}
	return out, nil
}
