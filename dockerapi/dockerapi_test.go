package dockerapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/berth-dev/berth/errdefs"
	dcontainer "github.com/moby/moby/api/types/container"
)

func TestCheckVersion(t *testing.T) {
	for v, ok := range map[string]bool{"1.24": true, "1.50": true, "1.41": true, "1.9": false, "1.23": false, "1.51": false, "2.0": false} {
		if err := checkVersion(v); (err == nil) != ok || (err != nil && !errors.Is(err, errdefs.ErrInvalidArgument)) {
			t.Errorf("checkVersion(%s) = %v", v, err)
		}
	}
}

func TestHTTPStatus(t *testing.T) {
	for err, want := range map[error]int{
		fmt.Errorf("x: %w", errdefs.ErrNotFound):           404,
		fmt.Errorf("x: %w", errdefs.ErrAlreadyExists):      409,
		fmt.Errorf("x: %w", errdefs.ErrFailedPrecondition): 409,
		fmt.Errorf("x: %w", errdefs.ErrInvalidArgument):    400,
		fmt.Errorf("x: %w", errdefs.ErrNotImplemented):     501,
		errors.New("plain"):                                500,
	} {
		if got := HTTPStatus(err); got != want {
			t.Errorf("HTTPStatus(%v) = %d, want %d", err, got, want)
		}
	}
}

// TestRouterAnswersJSON drives the router without an engine: the
// version check, 404 and 501 (and an unknown exec's 404) answer before
// any handler needs one.
func TestRouterAnswersJSON(t *testing.T) {
	s := &Server{}
	h := s.handler()
	for path, want := range map[string]int{"/v1.99/_ping": 400, "/v1.50/swarm": 501, "/exec/x/json": 404, "/nope": 404, "/v1.40/_ping": 200} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want || rec.Header().Get("Api-Version") != MaxAPIVersion {
			t.Errorf("GET %s: %d %v, want %d", path, rec.Code, rec.Header(), want)
		}
		if want != 200 {
			var m errorResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || m.Message == "" {
				t.Errorf("GET %s: body %q is not Docker's error", path, rec.Body)
			}
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("HEAD", "/_ping", nil))
	if rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Pragma") != "no-cache" {
		t.Errorf("HEAD /_ping: %d %q %v", rec.Code, rec.Body, rec.Header())
	}
}

func TestMuxFraming(t *testing.T) {
	var buf bytes.Buffer
	out, errw := newMux(&buf)
	_, _ = out.Write([]byte("hi\n"))
	_, _ = errw.Write([]byte("oops"))
	want := append([]byte{1, 0, 0, 0, 0, 0, 0, 3}, "hi\n"...)
	want = append(want, append([]byte{2, 0, 0, 0, 0, 0, 0, 4}, "oops"...)...)
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("framed %q, want %q", buf.Bytes(), want)
	}
}

func TestParseFilters(t *testing.T) {
	for _, raw := range []string{`{"status":{"exited":true},"label":{"a=b":true}}`, `{"status":["exited"],"label":["a=b"]}`} {
		f, err := parseFilters(raw)
		if err != nil || !slices.Equal(f["status"], []string{"exited"}) || !slices.Equal(f["label"], []string{"a=b"}) {
			t.Errorf("parseFilters(%s) = %v, %v", raw, f, err)
		}
	}
	if _, err := parseFilters(`{"status":1}`); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("a bad filter: %v", err)
	}
	if err := (filters{"bogus": {"x"}}).check("status"); err == nil {
		t.Error("an unknown filter key was accepted")
	}
}

func TestLogOptions(t *testing.T) {
	o, err := logOptions("1700000000.5", "", "10")
	if err != nil || !o.Since.Equal(time.Unix(1700000000, 5e8)) || !o.Until.IsZero() || o.Tail != 10 {
		t.Errorf("logOptions = %+v, %v", o, err)
	}
	if o, _ := logOptions("", "", "all"); o.Tail != -1 {
		t.Errorf("tail all = %d", o.Tail)
	}
	for _, bad := range [][3]string{{"x", "", ""}, {"", "-1", ""}, {"", "", "-3"}, {"", "", "many"}} {
		if _, err := logOptions(bad[0], bad[1], bad[2]); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("logOptions%v = %v", bad, err)
		}
	}
}

func TestToConfig(t *testing.T) {
	var req dcontainer.CreateRequest
	body := `{"Image":"busybox","Cmd":["true"],"Labels":{"a":"b"},"StopTimeout":3,
	 "HostConfig":{"Binds":["/tmp:/host:ro"],"AutoRemove":true,"Memory":67108864,"NanoCpus":500000000,
	  "CapAdd":["NET_ADMIN"],"Privileged":false,"ReadonlyRootfs":true,"Init":true,"NetworkMode":"none",
	  "RestartPolicy":{"Name":"on-failure","MaximumRetryCount":2},"Tmpfs":{"/run":"size=1m"},
	  "PortBindings":{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8080"}]}}}`
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatal(err)
	}
	c, err := toConfig("n", req)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "n" || c.Image != "busybox" || !c.AutoRemove || !c.ReadOnly || !c.Init || c.NetworkMode != "none" ||
		c.Resources.Memory != 64<<20 || c.Resources.NanoCPUs != 5e8 || c.Restart.Name != "on-failure" || c.Restart.MaxRetries != 2 ||
		*c.StopTimeout != 3*time.Second || !slices.Equal(c.Publish, []string{"127.0.0.1:8080:80/tcp"}) || len(c.Mounts) != 2 ||
		!c.Mounts[0].ReadOnly || c.Mounts[0].Type != "bind" || c.Mounts[1].Type != "tmpfs" {
		t.Errorf("toConfig = %+v", c)
	}
	for _, bad := range []string{`{}`, `{"Image":"b","HostConfig":{"Binds":["/x:relative"]}}`, `{"Image":"b","HostConfig":{"RestartPolicy":{"Name":"sometimes"}}}`,
		`{"Image":"b","HostConfig":{"Mounts":[{"Type":"npipe","Target":"/x"}]}}`, `{"Image":"b","StopSignal":"SIGNOPE"}`} {
		var req dcontainer.CreateRequest
		if err := json.Unmarshal([]byte(bad), &req); err != nil {
			t.Fatal(err)
		}
		if _, err := toConfig("", req); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("toConfig(%s) = %v, want invalid", bad, err)
		}
	}
}

// TestToConfigAnonymousVolumes: Config.Volumes' paths become anonymous
// volumes unless a bind, mount or tmpfs covers them (Compose declares
// every service volume's path there too).
func TestToConfigAnonymousVolumes(t *testing.T) {
	var req dcontainer.CreateRequest
	body := `{"Image":"i","Volumes":{"/www":{},"/cache/":{},"/run":{},"/anon":{}},
	 "HostConfig":{"Binds":["data:/www:rw","/tmp:/cache"],"Tmpfs":{"/run":""}}}`
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatal(err)
	}
	c, err := toConfig("n", req)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range c.Mounts {
		got = append(got, m.Type+":"+m.Source+":"+m.Target)
	}
	slices.Sort(got)
	if want := []string{"bind:/tmp:/cache", "tmpfs::/run", "volume::/anon", "volume:data:/www"}; !slices.Equal(got, want) {
		t.Errorf("mounts %v, want %v", got, want)
	}
}

func TestDecodeJSONMalformed(t *testing.T) {
	r := httptest.NewRequest("POST", "/containers/create", bytes.NewBufferString(`{"Image":`))
	var req dcontainer.CreateRequest
	if err := decodeJSON(r, &req); HTTPStatus(err) != http.StatusBadRequest {
		t.Errorf("decodeJSON of a malformed body = %v", err)
	}
}

func TestNetworkConfig(t *testing.T) {
	decode := func(body string) createNetworkRequest {
		var req createNetworkRequest
		if err := json.Unmarshal([]byte(body), &req); err != nil {
			t.Fatalf("decode %s: %v", body, err)
		}
		return req
	}
	cfg, err := networkConfig(decode(`{"Name":"n1","Driver":"bridge","Internal":true,"EnableIPv6":true,"Labels":{"a":"b"},
		"Options":{"isolate":"true"},"IPAM":{"Driver":"default","Config":[{"Subnet":"10.9.0.0/24","Gateway":"10.9.0.254"},{"Subnet":"fd00:9::/64"}]}}`))
	if err != nil || cfg.Name != "n1" || !cfg.Internal || !cfg.IPv6 || !cfg.Isolate || cfg.Labels["a"] != "b" ||
		cfg.Subnet != "10.9.0.0/24" || cfg.Gateway != "10.9.0.254" || cfg.Subnet6 != "fd00:9::/64" {
		t.Errorf("networkConfig = %+v, %v", cfg, err)
	}
	// A bad subnet is passed on as written: the engine words the error.
	if cfg, err := networkConfig(decode(`{"Name":"n","IPAM":{"Config":[{"Subnet":"10.1.300.0/24"}]}}`)); err != nil || cfg.Subnet != "10.1.300.0/24" {
		t.Errorf("bad subnet: %+v, %v", cfg, err)
	}
	for _, body := range []string{
		`{}`, `{"Name":"n","Driver":"overlay"}`, `{"Name":"n","Scope":"swarm"}`, `{"Name":"n","EnableIPv4":false}`,
		`{"Name":"n","Options":{"com.docker.network.bridge.name":"x"}}`, `{"Name":"n","IPAM":{"Driver":"dhcp"}}`,
		`{"Name":"n","IPAM":{"Config":[{"Subnet":"10.1.0.0/24","IPRange":"10.1.0.0/25"}]}}`,
		`{"Name":"n","IPAM":{"Config":[{"Subnet":"10.1.0.0/24"},{"Subnet":"10.2.0.0/24"}]}}`,
		`{"Name":"n","IPAM":{"Config":[{"Subnet":"fd00::/64"}]}}`,
	} {
		if _, err := networkConfig(decode(body)); !errors.Is(err, errdefs.ErrInvalidArgument) {
			t.Errorf("networkConfig(%s) = %v, want invalid argument", body, err)
		}
	}
}

func TestEndpointsConfig(t *testing.T) {
	var req dcontainer.CreateRequest
	body := `{"Image":"i","Config":{"Image":"i"},"HostConfig":{"NetworkMode":"n1"},
		"NetworkingConfig":{"EndpointsConfig":{"n1":{"Aliases":["web"],"IPAMConfig":{"IPv4Address":"10.9.0.5"}}}}}`
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatal(err)
	}
	req.Config = &dcontainer.Config{Image: "i"}
	c, err := toConfig("x", req)
	if err != nil || c.NetworkMode != "n1" || !slices.Equal(c.NetworkAliases, []string{"web"}) || c.IPAddress != "10.9.0.5" {
		t.Errorf("toConfig = %+v, %v", c, err)
	}
	req.NetworkingConfig.EndpointsConfig["n2"] = nil
	if _, err := toConfig("x", req); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("two networks at create: %v, want invalid argument", err)
	}
}
