package dockerapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/berth-dev/berth/container"
	"github.com/berth-dev/berth/engine"
	bnetwork "github.com/berth-dev/berth/network"
	"github.com/moby/moby/api/types/network"
)

func (s *Server) routeNetworks(mux *http.ServeMux) {
	mux.HandleFunc("GET /networks", s.listNetworks)
	mux.HandleFunc("POST /networks/create", s.createNetwork)
	mux.HandleFunc("POST /networks/prune", s.pruneNetworks)
	mux.HandleFunc("GET /networks/{id}", s.inspectNetwork)
	mux.HandleFunc("DELETE /networks/{id}", s.removeNetwork)
	mux.HandleFunc("POST /networks/{id}/connect", s.connectNetwork)
	mux.HandleFunc("POST /networks/{id}/disconnect", s.disconnectNetwork)
}

// networkDriver is the one network driver served.
const networkDriver = "bridge"

// networkOf is an engine network in Docker's shape, without its
// containers (what the list shows).
func networkOf(n engine.NetworkInfo) network.Network {
	out := network.Network{
		Name: n.Name, ID: n.ID, Created: n.Created, Scope: "local", Driver: networkDriver,
		EnableIPv4: true, EnableIPv6: n.IPv6, Internal: n.Internal, Labels: n.Labels,
		IPAM:    network.IPAM{Driver: "default", Options: map[string]string{}, Config: []network.IPAMConfig{}},
		Options: map[string]string{"com.docker.network.bridge.name": n.Bridge},
	}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	if n.Isolate {
		out.Options["isolate"] = "true"
	}
	for _, sg := range [][2]string{{n.Subnet, n.Gateway}, {n.Subnet6, n.Gateway6}} {
		subnet, err := netip.ParsePrefix(sg[0])
		if err != nil {
			continue
		}
		c := network.IPAMConfig{Subnet: subnet}
		c.Gateway, _ = netip.ParseAddr(sg[1])
		out.IPAM.Config = append(out.IPAM.Config, c)
	}
	return out
}

// networkInspectOf is a network in Docker's shape with its containers, by ID.
func networkInspectOf(n engine.NetworkInfo) network.Inspect {
	out := network.Inspect{Network: networkOf(n), Containers: map[string]network.EndpointResource{}}
	for _, a := range n.Attachments {
		ep := network.EndpointResource{}
		if len(a.Aliases) > 0 {
			ep.Name = a.Aliases[0] // the container's name
		}
		if hw, err := net.ParseMAC(a.MAC); err == nil {
			ep.MacAddress = network.HardwareAddr(hw)
		}
		for _, ip := range a.IPs {
			if ip.Addr().Is4() {
				ep.IPv4Address = ip
			} else {
				ep.IPv6Address = ip
			}
		}
		out.Containers[a.ContainerID] = ep
	}
	return out
}

func (s *Server) listNetworks(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		writeError(w, err)
		return
	}
	if err := f.check("name", "id", "driver", "label", "type", "scope", "dangling"); err != nil {
		writeError(w, err)
		return
	}
	for _, t := range f["type"] {
		if t != "custom" && t != "builtin" {
			writeError(w, invalid("invalid filter: 'type'='%s'", t))
			return
		}
	}
	list, err := s.e.Networks(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	out := []network.Summary{}
	for _, n := range list {
		if f.matchNetwork(n) {
			out = append(out, network.Summary{Network: networkOf(n)})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (f filters) matchNetwork(n engine.NetworkInfo) bool {
	builtin := n.Name == engine.DefaultNetwork
	return f.any("name", func(v string) bool { return strings.Contains(n.Name, v) }) &&
		f.any("id", func(v string) bool { return strings.HasPrefix(n.ID, v) }) &&
		f.any("driver", func(v string) bool { return v == networkDriver }) &&
		f.any("scope", func(v string) bool { return v == "local" }) &&
		f.any("type", func(v string) bool { return (v == "builtin") == builtin }) &&
		f.any("dangling", func(v string) bool { return boolParam(v) == (len(n.Attachments) == 0 && !builtin) }) &&
		f.matchLabels(n.Labels)
}

// createNetworkRequest is Docker's network create body with the IPAM
// addresses read as strings, so that a bad one gets the engine's
// message instead of a JSON decoding error.
type createNetworkRequest struct {
	network.CreateRequest
	IPAM *struct {
		Driver  string
		Options map[string]string
		Config  []struct {
			Subnet, IPRange, Gateway string
			AuxAddress               map[string]string `json:"AuxiliaryAddresses"`
		}
	}
}

func (s *Server) createNetwork(w http.ResponseWriter, r *http.Request) {
	var req createNetworkRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	cfg, err := networkConfig(req)
	if err != nil {
		writeError(w, err)
		return
	}
	n, err := s.e.CreateNetwork(r.Context(), cfg)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, network.CreateResponse{ID: n.ID})
}

// networkConfig turns a create request into the engine's; what a bridge
// network here cannot do is refused.
func networkConfig(req createNetworkRequest) (bnetwork.NetworkConfig, error) {
	cfg := bnetwork.NetworkConfig{Name: req.Name, Internal: req.Internal, Labels: req.Labels}
	switch {
	case req.Name == "":
		return cfg, invalid("network name must not be empty")
	case req.Driver != "" && req.Driver != networkDriver:
		return cfg, invalid("network driver %q is not served (only %s)", req.Driver, networkDriver)
	case req.Scope != "" && req.Scope != "local":
		return cfg, invalid("network scope %q is not served (only local)", req.Scope)
	case req.EnableIPv4 != nil && !*req.EnableIPv4:
		return cfg, invalid("IPv4 cannot be disabled")
	case req.Ingress || req.ConfigOnly || req.ConfigFrom != nil:
		return cfg, invalid("ingress and config-only networks are not served")
	}
	cfg.IPv6 = req.EnableIPv6 != nil && *req.EnableIPv6
	for k, v := range req.Options {
		if err := cfg.SetOption(k, v); err != nil {
			return cfg, err
		}
	}
	return cfg, ipamConfig(&cfg, req)
}

// ipamConfig applies the request's IPAM: at most one IPv4 subnet with
// its gateway and one IPv6 subnet.
func ipamConfig(cfg *bnetwork.NetworkConfig, req createNetworkRequest) error {
	if req.IPAM == nil {
		return nil
	}
	if d := req.IPAM.Driver; d != "" && d != "default" {
		return invalid("IPAM driver %q is not served (only default)", d)
	}
	if len(req.IPAM.Options) > 0 {
		return invalid("IPAM options are not served")
	}
	for _, c := range req.IPAM.Config {
		if c.IPRange != "" || len(c.AuxAddress) > 0 {
			return invalid("IP ranges and auxiliary addresses are not served")
		}
		switch {
		case !strings.Contains(c.Subnet, ":") && cfg.Subnet == "" && c.Subnet != "":
			cfg.Subnet, cfg.Gateway = c.Subnet, c.Gateway
		case strings.Contains(c.Subnet, ":") && cfg.Subnet6 == "":
			if c.Gateway != "" {
				return invalid("an IPv6 gateway is not served (it is the subnet's first address)")
			}
			if !cfg.IPv6 {
				return invalid("IPv6 subnet %s needs EnableIPv6", c.Subnet)
			}
			cfg.Subnet6 = c.Subnet
		case c.Subnet == "":
			return invalid("an IPAM config needs a subnet")
		default:
			return invalid("subnet %s: at most one IPv4 and one IPv6 subnet", c.Subnet)
		}
	}
	return nil
}

func (s *Server) inspectNetwork(w http.ResponseWriter, r *http.Request) {
	if sc := r.URL.Query().Get("scope"); sc != "" && sc != "local" {
		writeError(w, notFound("network %s not found in scope %s", r.PathValue("id"), sc))
		return
	}
	n, err := s.e.Network(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, networkInspectOf(n))
}

func (s *Server) removeNetwork(w http.ResponseWriter, r *http.Request) {
	if err := s.e.RemoveNetwork(r.Context(), r.PathValue("id")); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) pruneNetworks(w http.ResponseWriter, r *http.Request) {
	f, err := parseFilters(r.URL.Query().Get("filters"))
	if err != nil {
		writeError(w, err)
		return
	}
	if err := f.check("label", "label!"); err != nil {
		writeError(w, err)
		return
	}
	removed, err := s.e.PruneNetworks(r.Context(), labelFilters(f)...)
	if err != nil {
		writeError(w, err)
		return
	}
	if removed == nil {
		removed = []string{}
	}
	writeJSON(w, http.StatusOK, network.PruneReport{NetworksDeleted: removed})
}

func (s *Server) connectNetwork(w http.ResponseWriter, r *http.Request) {
	var req network.ConnectRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	ep, err := endpointConfig(r.PathValue("id"), req.EndpointConfig)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := s.e.ConnectNetwork(r.Context(), Namespace, req.Container, ep); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// endpointConfig is the engine's endpoint on the network name for Docker's
// endpoint settings: aliases and one fixed address.
func endpointConfig(name string, es *network.EndpointSettings) (container.Endpoint, error) {
	ep := container.Endpoint{Network: name}
	if es == nil {
		return ep, nil
	}
	switch {
	case len(es.Links) > 0:
		return ep, invalid("links are not served")
	case len(es.DriverOpts) > 0:
		return ep, invalid("endpoint driver options are not served")
	case len(es.MacAddress) > 0:
		return ep, invalid("a MAC address on connect is not served")
	}
	ep.Aliases = es.Aliases
	if c := es.IPAMConfig; c != nil {
		if c.IPv4Address.IsValid() && c.IPv6Address.IsValid() {
			return ep, invalid("one fixed address per endpoint (IPv4 or IPv6)")
		}
		for _, a := range []netip.Addr{c.IPv4Address, c.IPv6Address} {
			if a.IsValid() {
				ep.IP = a.String()
			}
		}
	}
	return ep, nil
}

func (s *Server) disconnectNetwork(w http.ResponseWriter, r *http.Request) {
	var req network.DisconnectRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if err := s.e.DisconnectNetwork(r.Context(), Namespace, req.Container, r.PathValue("id"), req.Force); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
