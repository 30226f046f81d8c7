package dockerapi

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/errdefs"
)

// The API versions served: the Docker CLI 28 speaks 1.50, Debian's
// docker-py 7.1 negotiates down from its 1.45 default, and 1.24 is the
// oldest the Docker CLI and docker-py still fall back to.
const (
	MinAPIVersion = "1.24"
	MaxAPIVersion = "1.50"
)

type versionKey struct{}

// versionOf is the request's API version: its path's, else the maximum.
func versionOf(r *http.Request) string {
	if v, ok := r.Context().Value(versionKey{}).(string); ok {
		return v
	}
	return MaxAPIVersion
}

var versionedPath = regexp.MustCompile(`^/v([0-9]+\.[0-9]+)(/.*)$`)

// handler routes requests: a /v1.NN prefix is checked and stripped, then
// the endpoints' mux answers; the rest answers 501 (a Docker endpoint
// not served yet) or 404.
func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	s.routeSystem(mux)
	s.routeContainers(mux)
	s.routeArchive(mux)
	s.routeChanges(mux)
	s.routeExec(mux)
	s.routeImages(mux)
	s.routeEvents(mux)
	s.routeVolumes(mux)
	s.routeNetworks(mux)
	s.routeAuth(mux)
	mux.HandleFunc("/", notServed)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", MaxAPIVersion)
		w.Header().Set("Docker-Experimental", "false")
		w.Header().Set("Ostype", "linux")
		w.Header().Set("Server", "Berth (linux)")
		if m := versionedPath.FindStringSubmatch(r.URL.Path); m != nil {
			if err := checkVersion(m[1]); err != nil {
				writeError(w, err)
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), versionKey{}, m[1]))
			r.URL.Path = m[2]
			r.URL.RawPath = ""
		}
		mux.ServeHTTP(w, r)
	})
}

// checkVersion refuses a version outside [MinAPIVersion, MaxAPIVersion]
// with Docker's messages.
func checkVersion(v string) error {
	switch {
	case compareVersions(v, MaxAPIVersion) > 0:
		return invalid("client version %s is too new. Maximum supported API version is %s", v, MaxAPIVersion)
	case compareVersions(v, MinAPIVersion) < 0:
		return invalid("client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", v, MinAPIVersion)
	}
	return nil
}

// compareVersions compares dotted version numbers: -1, 0 or 1.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// dockerResources are the first path segments of the Docker API's
// endpoints: what is under them and not routed is not served yet.
var dockerResources = map[string]bool{
	"containers": true, "images": true, "exec": true, "networks": true, "volumes": true,
	"build": true, "swarm": true, "nodes": true, "services": true, "tasks": true,
	"secrets": true, "configs": true, "plugins": true, "events": true, "system": true,
	"session": true, "distribution": true, "auth": true, "commit": true, "grpc": true,
}

// notServed answers a Docker endpoint berthd does not serve with 501,
// anything else with 404, as Docker's JSON error.
func notServed(w http.ResponseWriter, r *http.Request) {
	first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if dockerResources[first] {
		writeError(w, notImplemented(fmt.Sprintf("berthd does not serve %s %s yet", r.Method, r.URL.Path)))
		return
	}
	writeError(w, errdefs.New(errdefs.ErrNotFound, "page not found"))
}
