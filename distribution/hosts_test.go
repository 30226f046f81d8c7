package distribution

import (
	"os"
	"path/filepath"
	"testing"
)

func TestConfigureHosts(t *testing.T) {
	dir := t.TempDir()
	hd := filepath.Join(dir, "reg.example:5000")
	if err := os.MkdirAll(hd, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := `server = "https://reg.example:5000"
[host."https://mirror.example/base"]
  capabilities = ["pull", "resolve"]
  override_path = true
[host."http://127.0.0.1:9"]
  capabilities = ["pull"]
`
	if err := os.WriteFile(filepath.Join(hd, "hosts.toml"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	hosts, err := ConfigureHosts("reg.example:5000", HostOptions{CertsDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != 3 {
		t.Fatalf("want 3 hosts, got %d", len(hosts))
	}
	got := []string{hosts[0].BaseURL(), hosts[1].BaseURL(), hosts[2].BaseURL()}
	want := []string{"http://127.0.0.1:9/v2", "https://mirror.example/base", "https://reg.example:5000/v2"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("host %d: got %s want %s", i, got[i], want[i])
		}
	}
	if hosts[0].Capabilities != CapPull || hosts[1].Capabilities != CapPull|CapResolve || hosts[2].Capabilities != CapAll {
		t.Errorf("capabilities: %v %v %v", hosts[0].Capabilities, hosts[1].Capabilities, hosts[2].Capabilities)
	}
	h, err := ConfigureHosts("docker.io", HostOptions{CertsDir: dir})
	if err != nil || len(h) != 1 || h[0].BaseURL() != "https://registry-1.docker.io/v2" || h[0].fallbackHTTP {
		t.Fatalf("docker.io: %v %+v", err, h)
	}
	h, err = ConfigureHosts("127.0.0.1:5000", HostOptions{CertsDir: dir})
	if err != nil || !h[0].fallbackHTTP {
		t.Fatalf("loopback should allow HTTP fallback: %v", err)
	}
	if err := os.WriteFile(filepath.Join(hd, "hosts.toml"), []byte(`ca = "missing.pem"`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ConfigureHosts("reg.example:5000", HostOptions{CertsDir: dir}); err == nil {
		t.Fatal("missing CA accepted")
	}
}
