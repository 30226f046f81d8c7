package dockerapi

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/berth-dev/berth/platforms"
	"github.com/berth-dev/berth/reference"
	"github.com/moby/moby/api/types/jsonstream"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxDrain bounds what is read of a refused load's body so that the
// client, still sending, reads the answer rather than a reset.
const maxDrain = 256 << 20

// saveImages serves GET /images/get?names=…&names=…: docker save.
func (s *Server) saveImages(w http.ResponseWriter, r *http.Request) {
	s.save(w, r, r.URL.Query()["names"])
}

// saveImage serves GET /images/{name}/get, the older one-image save.
func (s *Server) saveImage(w http.ResponseWriter, r *http.Request, name string) {
	s.save(w, r, []string{name})
}

// save writes names as a docker save archive (manifest.json,
// repositories and the blobs) of the host's platform, or ?platform's.
// A missing image is a 404 before any byte; an error after the first
// byte cuts the response, so the client never takes a truncated
// archive for a whole one.
func (s *Server) save(w http.ResponseWriter, r *http.Request, names []string) {
	if len(names) == 0 {
		writeError(w, invalid("no image name given (names=)"))
		return
	}
	plat, err := queryPlatform(r.URL.Query().Get("platform"))
	if err != nil {
		writeError(w, err)
		return
	}
	for _, n := range names {
		if _, err := s.e.Lookup(r.Context(), Namespace, n); err != nil {
			writeError(w, noSuchImage(err, n))
			return
		}
	}
	lw := &lazyWriter{w: w, contentType: "application/x-tar"}
	if err := s.e.Save(r.Context(), Namespace, names, "docker", plat, lw); err != nil {
		if !lw.started {
			writeError(w, err)
			return
		}
		s.log.Warn("image save failed after the archive began", "names", names, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// queryPlatform reads a platform parameter: Docker's JSON-encoded OCI
// platform or os/arch[/variant]; nil when empty.
func queryPlatform(v string) (*ocispec.Platform, error) {
	if v == "" {
		return nil, nil
	}
	var p ocispec.Platform
	var err error
	if strings.HasPrefix(v, "{") {
		err = json.Unmarshal([]byte(v), &p)
	} else {
		p, err = platforms.Parse(v)
	}
	if err != nil || p.OS == "" {
		return nil, invalid("invalid platform %q", v)
	}
	return &p, nil
}

// lazyWriter sends the headers with the first write, so an error before
// it can still be an HTTP error.
type lazyWriter struct {
	w           http.ResponseWriter
	contentType string
	started     bool
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		l.w.Header().Set("Content-Type", l.contentType)
		l.w.WriteHeader(http.StatusOK)
	}
	return l.w.Write(p)
}

// loadImages serves POST /images/load: docker load of a docker save
// archive or an OCI layout (plain or compressed), answered with
// Docker's stream of "Loaded image: NAME" lines. A malformed archive
// stores nothing and is a 400 with the reason.
func (s *Server) loadImages(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("platform") != "" {
		writeError(w, notImplemented("loading one platform (platform) is not served yet"))
		return
	}
	imgs, err := s.e.Load(r.Context(), Namespace, r.Body, "")
	if err != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxDrain))
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	ps := newProgressStream(w, nil)
	for _, img := range imgs {
		ps.send(streamMessage{Message: jsonstream.Message{Stream: "Loaded image: " + reference.Familiar(img.Name) + "\n"}})
	}
}
