package dockerapi

import (
	"net/http"
	"strings"

	"github.com/berth-dev/berth/credentials"
	"github.com/berth-dev/berth/reference"
	"github.com/moby/moby/api/types/registry"
)

func (s *Server) routeAuth(mux *http.ServeMux) {
	mux.HandleFunc("POST /auth", s.auth)
}

// auth serves POST /auth (docker login): it checks the credentials
// against the registry and keeps nothing; the client stores them and
// sends them with each pull and push in X-Registry-Auth.
func (s *Server) auth(w http.ResponseWriter, r *http.Request) {
	var ac registry.AuthConfig
	if err := decodeJSON(r, &ac); err != nil {
		writeError(w, err)
		return
	}
	host := loginHost(ac.ServerAddress)
	c := credentials.Credentials{Username: ac.Username, Password: ac.Password, IdentityToken: ac.IdentityToken}
	if err := s.e.Login(r.Context(), host, c); err != nil {
		// Refused credentials are 401 "login to HOST: HTTP 401 …".
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, registry.AuthResponse{Status: "Login Succeeded"})
}

// loginHost is the registry host of a login's server address, which the
// Docker CLI sends as a bare host or, for Docker Hub, as
// https://index.docker.io/v1/.
func loginHost(addr string) string {
	h := strings.TrimPrefix(strings.TrimPrefix(addr, "https://"), "http://")
	h, _, _ = strings.Cut(h, "/")
	switch h {
	case "", "index.docker.io", "registry-1.docker.io", "docker.io":
		return reference.DefaultDomain
	}
	return h
}
