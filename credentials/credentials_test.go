package credentials

import (
	"os"
	"path/filepath"
	"strings"
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

// writeHelper installs a fake docker-credential-<name> in dir: it logs the
// server URL it is asked for to dir/<name>.log and answers from answers
// (server URL → JSON), else "credentials not found in native keychain".
func writeHelper(t *testing.T, dir, name string, answers map[string]string) string {
	t.Helper()
	log := filepath.Join(dir, name+".log")
	script := "#!/bin/sh\n[ \"$1\" = get ] || exit 2\nread -r server\necho \"$server\" >> " + log + "\ncase \"$server\" in\n"
	for server, answer := range answers {
		script += "'" + server + "') echo '" + answer + "'; exit 0 ;;\n"
	}
	script += "esac\necho 'credentials not found in native keychain'\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "docker-credential-"+name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return log
}

// TestCredentialHelpers: credHelpers (per host) and credsStore (the rest)
// in a Docker config are asked as the Docker CLI asks them; "<token>"
// answers are identity tokens; a helper holding nothing falls back to the
// file's auths; a failing helper is an error.
func TestCredentialHelpers(t *testing.T) {
	bin := t.TempDir()
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	hostLog := writeHelper(t, bin, "berthtest-host", map[string]string{"reg.example:5000": `{"ServerURL":"reg.example:5000","Username":"hu","Secret":"hp"}`})
	storeLog := writeHelper(t, bin, "berthtest-store", map[string]string{"https://index.docker.io/v1/": `{"Username":"<token>","Secret":"hub-token"}`})
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-berthtest-broken"), []byte("#!/bin/sh\necho keychain locked >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(conf, []byte(`{
	"credsStore": "berthtest-store",
	"credHelpers": {"reg.example:5000": "berthtest-host", "broken.example": "berthtest-broken", "gone.example": "berthtest-not-installed"},
	"auths": {"reg.example:5000": {}, "fallback.example": {"auth": "Zjpw"}, "gone.example": {"auth": "Zzpw"}}
}`), 0o600); err != nil {
		t.Fatal(err)
	}
	creds := FileCredentials(conf)
	for _, tc := range []struct {
		host string
		want Credentials
	}{
		{"reg.example:5000", Credentials{Username: "hu", Password: "hp"}},
		{"docker.io", Credentials{IdentityToken: "hub-token"}},
		{"fallback.example", Credentials{Username: "f", Password: "p"}},
		{"gone.example", Credentials{Username: "g", Password: "p"}},
		{"none.example", Credentials{}},
	} {
		if c, err := creds(tc.host); err != nil || c != tc.want {
			t.Errorf("%s: got %+v, %v; want %+v", tc.host, c, err, tc.want)
		}
	}
	if _, err := creds("broken.example"); err == nil || !strings.Contains(err.Error(), "keychain locked") {
		t.Errorf("broken helper: want its error, got %v", err)
	}
	for log, want := range map[string]string{hostLog: "reg.example:5000\n", storeLog: "https://index.docker.io/v1/\nfallback.example\nnone.example\n"} {
		if b, err := os.ReadFile(log); err != nil || string(b) != want {
			t.Errorf("%s: helper asked for %q (%v), want %q", filepath.Base(log), b, err, want)
		}
	}
}
