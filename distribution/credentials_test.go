package distribution

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCredentialsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	berth := filepath.Join(dir, "berth", "auth.json")
	docker := filepath.Join(dir, "docker.json")
	if err := os.WriteFile(docker, []byte(`{"auths":{"https://index.docker.io/v1/":{"auth":"ZDpw"}},"credsStore":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := SaveCredentials(berth, "reg:5000", Credentials{Username: "u", Password: "p:w"}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(berth)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("auth file mode: %v %v", err, st.Mode())
	}
	creds := FileCredentials(berth, docker)
	if c, err := creds("reg:5000"); err != nil || c.Username != "u" || c.Password != "p:w" {
		t.Fatalf("berth creds: %+v %v", c, err)
	}
	if c, err := creds("docker.io"); err != nil || c.Username != "d" || c.Password != "p" {
		t.Fatalf("docker creds: %+v %v", c, err)
	}
	if ok, err := RemoveCredentials(berth, "reg:5000"); err != nil || !ok {
		t.Fatalf("remove: %v %v", ok, err)
	}
	if c, _ := creds("reg:5000"); c.Username != "" {
		t.Fatal("credentials survived logout")
	}
}
