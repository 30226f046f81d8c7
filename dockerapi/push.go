package dockerapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/reference"
	"github.com/moby/moby/api/types/jsonstream"
)

// pushImage serves POST /images/{name}/push?tag=: a push of name:tag,
// or of every tag of the repository name when neither names a tag
// (docker push --all-tags), with Docker's JSON progress stream. A
// missing image is an HTTP error; the push's own errors end the stream
// as an error message, as dockerd's.
func (s *Server) pushImage(w http.ResponseWriter, r *http.Request, name string) {
	q := r.URL.Query()
	if q.Get("platform") != "" {
		writeError(w, notImplemented("pushing one platform (platform) is not served yet"))
		return
	}
	ref, err := pullRef(name, q.Get("tag"))
	if err != nil {
		writeError(w, err)
		return
	}
	names, err := s.pushNames(r, ref, q.Get("tag") == "" && !hasTagOrDigest(name))
	if err != nil {
		writeError(w, err)
		return
	}
	auth, err := registryAuth(r.Header.Get("X-Registry-Auth"), ref.Domain)
	if err != nil {
		writeError(w, err)
		return
	}
	ps := newProgressStream(w, &streamMessage{Message: jsonstream.Message{Status: "The push refers to repository [" + reference.Familiar(ref.Name()) + "]"}})
	for _, n := range names {
		img, err := s.e.Push(r.Context(), Namespace, n.String(), "", auth, ps.pushProgress)
		if err != nil {
			ps.failInStream(err)
			return
		}
		d := img.Target
		ps.send(streamMessage{Message: jsonstream.Message{Status: fmt.Sprintf("%s: digest: %s size: %d", tagOrDigest(n), d.Digest, d.Size)}})
		aux, err := json.Marshal(map[string]any{"Tag": tagOrDigest(n), "Digest": d.Digest.String(), "Size": d.Size})
		if err == nil {
			raw := json.RawMessage(aux)
			ps.send(streamMessage{Message: jsonstream.Message{Progress: &jsonstream.Progress{}, Aux: &raw}})
		}
	}
}

// pushNames are the local images a push of ref sends: ref itself, or
// with all every tag of its repository.
func (s *Server) pushNames(r *http.Request, ref reference.Reference, all bool) ([]reference.Reference, error) {
	missing := errdefs.New(errdefs.ErrNotFound, "An image does not exist locally with the tag: "+reference.Familiar(ref.Name()))
	if !all {
		if _, err := s.e.Lookup(r.Context(), Namespace, ref.String()); errors.Is(err, errdefs.ErrNotFound) {
			return nil, missing
		} else if err != nil {
			return nil, err
		}
		return []reference.Reference{ref}, nil
	}
	list, err := s.e.List(r.Context(), Namespace)
	if err != nil {
		return nil, err
	}
	var out []reference.Reference
	for _, info := range list {
		if other, err := reference.Parse(info.Name); err == nil && other.Name() == ref.Name() && other.Tag != "" {
			out = append(out, other)
		}
	}
	if len(out) == 0 {
		return nil, missing
	}
	return out, nil
}

// hasTagOrDigest tells whether a reference names a tag or a digest (a
// colon after its last slash, or an @).
func hasTagOrDigest(name string) bool {
	return strings.Contains(name, "@") || strings.Contains(name[strings.LastIndexByte(name, '/')+1:], ":")
}
