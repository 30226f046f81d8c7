package streaming

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"k8s.io/streaming/pkg/httpstream"
	"k8s.io/streaming/pkg/httpstream/spdy"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

// The remote command protocols. SPDY offers v1 to v4; WebSocket the
// channel protocols, their base64 forms and v5 (which adds the close
// signal that half-closes stdin).
const (
	protocolV1       = "channel.k8s.io"
	protocolV2       = "v2.channel.k8s.io"
	protocolV3       = "v3.channel.k8s.io" // adds resize
	protocolV4       = "v4.channel.k8s.io" // adds the exit status
	protocolV5       = "v5.channel.k8s.io" // WebSocket only: stream close
	protocolBase64V1 = "base64.channel.k8s.io"
	protocolBase64V4 = "v4.base64.channel.k8s.io"
)

// SPDY stream types (the streamType header) and the WebSocket channels
// that carry them.
const (
	headerStreamType = "streamType"
	typeError        = "error"
	typeStdin        = "stdin"
	typeStdout       = "stdout"
	typeStderr       = "stderr"
	typeResize       = "resize"

	chanStdin, chanStdout, chanStderr, chanError, chanResize = 0, 1, 2, 3, 4
)

// streamOpts are the streams a request asked for.
type streamOpts struct{ stdin, stdout, stderr, tty bool }

// termSize is a resize message, as clients encode it.
type termSize struct{ Width, Height uint16 }

// rcSession is a remote command's open streams, whatever carries them.
type rcSession struct {
	stdin          io.Reader // nil: none
	stdout, stderr io.Writer // nil: none
	resize         io.Reader // JSON termSizes; nil: none
	errw           io.WriteCloser
	statusJSON     bool            // the protocol reports a status object (v4, v5)
	gone           <-chan struct{} // closed when the client goes away; nil: unknown
	close          func()
}

// openStreams upgrades r to a remote command session, by WebSocket or
// SPDY; on failure the response has said why.
func (s *Server) openStreams(w http.ResponseWriter, r *http.Request, o streamOpts) (*rcSession, error) {
	if wsstream.IsWebSocketRequest(r) {
		return s.openWebSocket(w, r, o)
	}
	return s.openSPDY(w, r, o)
}

// openWebSocket opens the channels stdin, stdout, stderr, error and
// resize, in this order, those not asked for ignored.
func (s *Server) openWebSocket(w http.ResponseWriter, r *http.Request, o streamOpts) (*rcSession, error) {
	chans := []wsstream.ChannelType{wsstream.IgnoreChannel, wsstream.IgnoreChannel, wsstream.IgnoreChannel, wsstream.WriteChannel, wsstream.IgnoreChannel}
	if o.stdin {
		chans[chanStdin] = wsstream.ReadChannel
	}
	if o.stdout {
		chans[chanStdout] = wsstream.WriteChannel
	}
	if o.stderr && !o.tty {
		chans[chanStderr] = wsstream.WriteChannel
	}
	if o.tty {
		chans[chanResize] = wsstream.ReadChannel
	}
	bin, b64 := wsstream.ChannelProtocolConfig{Binary: true, Channels: chans}, wsstream.ChannelProtocolConfig{Channels: chans}
	conn := wsstream.NewConn(map[string]wsstream.ChannelProtocolConfig{
		"": bin, protocolV1: bin, protocolBase64V1: b64, protocolV4: bin, protocolBase64V4: b64, protocolV5: bin,
	})
	conn.SetIdleTimeout(s.cfg.IdleTimeout)
	proto, ch, err := conn.Open(w, r)
	if err != nil {
		return nil, fmt.Errorf("websocket upgrade: %w", err)
	}
	sess := &rcSession{errw: ch[chanError], statusJSON: proto == protocolV4 || proto == protocolBase64V4 || proto == protocolV5,
		close: func() { _ = conn.Close() }}
	if o.stdin {
		sess.stdin = ch[chanStdin]
	}
	if o.stdout {
		sess.stdout = ch[chanStdout]
	}
	if o.stderr && !o.tty {
		sess.stderr = ch[chanStderr]
	}
	if o.tty {
		sess.resize = ch[chanResize]
	}
	// An empty message on the first channel the client reads tells it
	// the streams are ready.
	first := sess.errw
	switch {
	case sess.stdout != nil:
		first = ch[chanStdout]
	case sess.stderr != nil:
		first = ch[chanStderr]
	}
	if _, err := first.Write(nil); err != nil {
		conn.Close()
		return nil, fmt.Errorf("websocket: %w", err)
	}
	return sess, nil
}

// openSPDY negotiates a SPDY protocol, upgrades and waits for the
// client's streams.
func (s *Server) openSPDY(w http.ResponseWriter, r *http.Request, o streamOpts) (*rcSession, error) {
	proto, err := httpstream.Handshake(r, w, s.protocols)
	if err != nil {
		return nil, err
	}
	streams := make(chan streamAndReply)
	stop := make(chan struct{})
	conn := spdy.NewResponseUpgrader().UpgradeResponse(w, r, func(st httpstream.Stream, replySent <-chan struct{}) error {
		select {
		case streams <- streamAndReply{st, replySent}:
			return nil
		case <-stop:
			return errors.New("unexpected stream")
		}
	})
	if conn == nil {
		close(stop)
		return nil, errors.New("spdy upgrade failed")
	}
	conn.SetIdleTimeout(s.cfg.IdleTimeout)
	sess, err := s.collectStreams(conn, streams, proto, o)
	close(stop)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return sess, nil
}

type streamAndReply struct {
	httpstream.Stream
	replySent <-chan struct{}
}

// collectStreams waits for the streams protocol proto has the client
// create for o, and for their replies.
func (s *Server) collectStreams(conn httpstream.Connection, streams <-chan streamAndReply, proto string, o streamOpts) (*rcSession, error) {
	want := 1 // error
	for _, b := range []bool{o.stdin, o.stdout, o.stderr && !o.tty, o.tty && proto != protocolV1 && proto != protocolV2} {
		if b {
			want++
		}
	}
	sess := &rcSession{statusJSON: proto == protocolV4, close: func() { conn.Close() }}
	gone := make(chan struct{})
	go func() {
		<-conn.CloseChan()
		close(gone)
	}()
	sess.gone = gone
	timeout := time.NewTimer(s.cfg.StreamCreationTimeout)
	defer timeout.Stop()
	var replies []<-chan struct{}
	for got := 0; got < want; {
		select {
		case st := <-streams:
			if !sess.take(st.Stream) {
				_ = st.Reset()
				continue
			}
			got++
			replies = append(replies, st.replySent)
		case <-timeout.C:
			return nil, fmt.Errorf("timed out waiting for the client's streams (%d of %d)", len(replies), want)
		case <-gone:
			return nil, errors.New("client went away before its streams")
		case <-s.ctx.Done():
			return nil, s.ctx.Err()
		}
	}
	for _, r := range replies {
		select {
		case <-r:
		case <-timeout.C:
			return nil, errors.New("timed out replying to the client's streams")
		case <-gone:
			return nil, errors.New("client went away")
		}
	}
	if sess.errw == nil {
		return nil, errors.New("client sent no error stream")
	}
	return sess, nil
}

// take keeps st by its type and reports whether it was one more
// stream wanted.
func (r *rcSession) take(st httpstream.Stream) bool {
	switch st.Headers().Get(headerStreamType) {
	case typeError:
		if r.errw == nil {
			r.errw = st
			return true
		}
	case typeStdin:
		if r.stdin == nil {
			r.stdin = st
			return true
		}
	case typeStdout:
		if r.stdout == nil {
			r.stdout = st
			return true
		}
	case typeStderr:
		if r.stderr == nil {
			r.stderr = st
			return true
		}
	case typeResize:
		if r.resize == nil {
			r.resize = st
			return true
		}
	}
	return false
}

// finish reports how the command ended and closes the streams.
func (r *rcSession) finish(code int, err error) {
	defer r.close()
	st := statusOf(code, err)
	var b []byte
	if r.statusJSON {
		b, _ = json.Marshal(st)
	} else if st.Status != statusSuccess {
		b = []byte(st.Message)
	}
	if len(b) > 0 {
		_, _ = r.errw.Write(b)
	}
	_ = r.errw.Close()
}

// status is the part of Kubernetes' metav1.Status a remote command
// reports (v4 and v5).
type status struct {
	Kind       string         `json:"kind"`
	APIVersion string         `json:"apiVersion"`
	Metadata   struct{}       `json:"metadata"`
	Status     string         `json:"status"`
	Message    string         `json:"message,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	Details    *statusDetails `json:"details,omitempty"`
	Code       int32          `json:"code,omitempty"`
}

type statusDetails struct {
	Causes []statusCause `json:"causes,omitempty"`
}

type statusCause struct {
	Type    string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

const (
	statusSuccess = "Success"
	statusFailure = "Failure"
)

// statusOf is the status of a command that ended with code or err.
func statusOf(code int, err error) status {
	st := status{Kind: "Status", APIVersion: "v1", Status: statusSuccess}
	switch {
	case err != nil:
		st.Status, st.Code, st.Reason = statusFailure, http.StatusInternalServerError, "InternalError"
		st.Message = "Internal error occurred: " + err.Error()
	case code != 0:
		st.Status, st.Reason = statusFailure, "NonZeroExitCode"
		st.Message = fmt.Sprintf("command terminated with non-zero exit code: exit code %d", code)
		st.Details = &statusDetails{Causes: []statusCause{{Type: "ExitCode", Message: fmt.Sprint(code)}}}
	}
	return st
}
