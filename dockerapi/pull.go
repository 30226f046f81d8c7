package dockerapi

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"

	"github.com/berth-dev/berth/credentials"
	"github.com/berth-dev/berth/distribution"
	"github.com/berth-dev/berth/engine"
	"github.com/berth-dev/berth/platforms"
	"github.com/berth-dev/berth/reference"
	"github.com/moby/moby/api/types/jsonstream"
)

// streamMessage is one line of a JSON progress stream (pull, push,
// load); error is the field older clients read besides errorDetail.
type streamMessage struct {
	jsonstream.Message
	ErrorText string `json:"error,omitempty"`
}

// pullImage serves POST /images/create?fromImage=&tag=: a pull with
// Docker's JSON progress stream. An error before any progress is an
// HTTP error; later it ends the stream as an error message.
func (s *Server) pullImage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("fromSrc") != "" {
		writeError(w, notImplemented("importing an image (fromSrc) is not served yet"))
		return
	}
	ref, err := pullRef(q.Get("fromImage"), q.Get("tag"))
	if err != nil {
		writeError(w, err)
		return
	}
	opts := engine.PullOptions{}
	if p := q.Get("platform"); p != "" {
		plat, err := platforms.Parse(p)
		if err != nil {
			writeError(w, invalid("invalid platform %q: %v", p, err))
			return
		}
		opts.Platform = &plat
	}
	if opts.Auth, err = registryAuth(r.Header.Get("X-Registry-Auth"), ref.Domain); err != nil {
		writeError(w, err)
		return
	}
	ps := newProgressStream(w, &streamMessage{Message: jsonstream.Message{Status: "Pulling from " + reference.Familiar(ref.Name()), ID: tagOrDigest(ref)}})
	opts.Progress = ps.pullProgress
	_, lookErr := s.e.Lookup(r.Context(), Namespace, ref.String())
	img, err := s.e.Pull(r.Context(), Namespace, ref.String(), opts)
	if err != nil {
		ps.fail(err)
		return
	}
	ps.send(streamMessage{Message: jsonstream.Message{Status: "Digest: " + img.Target.Digest.String()}})
	status := "Status: Downloaded newer image for "
	if lookErr == nil {
		status = "Status: Image is up to date for "
	}
	ps.send(streamMessage{Message: jsonstream.Message{Status: status + reference.Familiar(ref.String())}})
}

// pullRef joins fromImage and tag (a tag or a digest) into a reference.
func pullRef(from, tag string) (reference.Reference, error) {
	if from == "" {
		return reference.Reference{}, invalid("fromImage must not be empty")
	}
	s := from
	switch {
	case strings.HasPrefix(tag, "sha256:"):
		s += "@" + tag
	case tag != "":
		s += ":" + tag
	}
	ref, err := reference.Parse(s)
	if err != nil {
		return ref, invalid("invalid reference format: %v", err)
	}
	return ref, nil
}

func tagOrDigest(ref reference.Reference) string {
	if ref.Tag != "" {
		return ref.Tag
	}
	return ref.Digest.String()
}

// registryAuth decodes X-Registry-Auth (base64url JSON) into the
// engine's per-host credentials for host.
func registryAuth(h, host string) (engine.Auth, error) {
	if h == "" {
		return nil, nil
	}
	b, err := base64.URLEncoding.DecodeString(h)
	if err != nil {
		if b, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(h, "=")); err != nil {
			return nil, invalid("invalid X-Registry-Auth header: %v", err)
		}
	}
	var a struct {
		Username      string `json:"username"`
		Password      string `json:"password"`
		IdentityToken string `json:"identitytoken"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, invalid("invalid X-Registry-Auth header: %v", err)
	}
	if a.Username == "" && a.IdentityToken == "" {
		return nil, nil
	}
	return engine.Auth{host: credentials.Credentials{Username: a.Username, Password: a.Password, IdentityToken: a.IdentityToken}}, nil
}

// progressStream writes a pull's, push's or load's progress as Docker's
// JSON lines; the headers go with the first line.
type progressStream struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	opening *streamMessage // sent before the first progress line
	started bool
	broken  bool
	shown   map[string]bool // layers announced
}

// newProgressStream streams to w; opening (if not nil) goes first, with
// the first line sent.
func newProgressStream(w http.ResponseWriter, opening *streamMessage) *progressStream {
	return &progressStream{w: w, opening: opening, shown: map[string]bool{}}
}

func (p *progressStream) send(m streamMessage) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sendLocked(m)
}

func (p *progressStream) sendLocked(m streamMessage) {
	if p.broken {
		return
	}
	if !p.started {
		p.w.Header().Set("Content-Type", "application/json")
		p.w.WriteHeader(http.StatusOK)
		p.started = true
		if o := p.opening; o != nil {
			p.opening = nil
			p.sendLocked(*o)
		}
	}
	if err := jsonEncode(p.w, m); err != nil {
		p.broken = true // the client went away: the pull ends with its context
		return
	}
	if f, ok := p.w.(http.Flusher); ok {
		f.Flush()
	}
}

// pullProgress reports a layer's pull progress the way the Docker CLI
// renders it.
func (p *progressStream) pullProgress(pr distribution.Progress) {
	if pr.Kind != "layer" {
		return
	}
	id := shortDigest(pr.Digest)
	m := streamMessage{Message: jsonstream.Message{ID: id}}
	switch pr.State {
	case distribution.StateWaiting:
		m.Status = "Pulling fs layer"
	case distribution.StateDownloading:
		m.Status = "Downloading"
		m.Progress = &jsonstream.Progress{Current: pr.Offset, Total: pr.Total}
	case distribution.StateVerifying:
		m.Status = "Verifying Checksum"
	case distribution.StateUnpacking:
		m.Status = "Extracting"
	case distribution.StateExists:
		m.Status = "Already exists"
	case distribution.StateDone:
		m.Status = "Pull complete"
	default:
		return
	}
	announce := "Pulling fs layer"
	if m.Status == announce || m.Status == "Already exists" {
		announce = ""
	}
	p.layer(m, announce)
}

// pushProgress reports a layer's push progress the way the Docker CLI
// renders it.
func (p *progressStream) pushProgress(pr distribution.Progress) {
	if pr.Kind != "layer" {
		return
	}
	m := streamMessage{Message: jsonstream.Message{ID: shortDigest(pr.Digest)}}
	switch pr.State {
	case distribution.StateUploading:
		m.Status = "Pushing"
		m.Progress = &jsonstream.Progress{Current: pr.Offset, Total: pr.Total}
	case distribution.StateExists:
		m.Status = "Layer already exists"
	case distribution.StateDone:
		m.Status = "Pushed"
	default:
		return
	}
	p.layer(m, "Preparing")
}

// layer sends a layer's line m, preceded by announce (unless "") the
// first time that layer shows.
func (p *progressStream) layer(m streamMessage, announce string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.shown[m.ID] && announce != "" {
		p.sendLocked(streamMessage{Message: jsonstream.Message{ID: m.ID, Status: announce}})
	}
	p.shown[m.ID] = true
	p.sendLocked(m)
}

// fail reports err: as an HTTP error when nothing was sent yet (only the
// opening line is buffered until then), else in the stream.
func (p *progressStream) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.started {
		writeError(p.w, err)
		return
	}
	p.sendLocked(errorLine(err))
}

// failInStream reports err in the stream even when nothing was sent yet,
// after the opening line, as dockerd reports a push's errors: the Docker
// CLI answers an HTTP 401 to a push by prompting for a Docker Hub login
// instead of printing the registry's refusal.
func (p *progressStream) failInStream(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sendLocked(errorLine(err))
}

// errorLine is err as the stream's last line.
func errorLine(err error) streamMessage {
	return streamMessage{Message: jsonstream.Message{Error: &jsonstream.Error{Message: err.Error()}}, ErrorText: err.Error()}
}

func shortDigest(d string) string {
	_, hex, ok := strings.Cut(d, ":")
	if !ok {
		hex = d
	}
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return hex
}
