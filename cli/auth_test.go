package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// TestAuthForUsesCredentialHelper: the CLI takes the credentials it sends
// with a pull or push from the credential helper its Docker config names
// (credHelpers), asked with the server on stdin, and sends an identity
// token from credsStore as one.
func TestAuthForUsesCredentialHelper(t *testing.T) {
	bin := t.TempDir()
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	docker := t.TempDir()
	t.Setenv("DOCKER_CONFIG", docker)
	helper := "#!/bin/sh\nread -r server\ncase \"$1 $server\" in\n" +
		"'get reg.example:5000') echo '{\"Username\":\"hu\",\"Secret\":\"hp\"}' ;;\n" +
		"'get https://index.docker.io/v1/') echo '{\"Username\":\"<token>\",\"Secret\":\"tok\"}' ;;\n" +
		"*) echo 'credentials not found in native keychain'; exit 1 ;;\nesac\n"
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-berthtest"), []byte(helper), 0o755); err != nil {
		t.Fatal(err)
	}
	conf := `{"credHelpers":{"reg.example:5000":"berthtest"},"credsStore":"berthtest"}`
	if err := os.WriteFile(filepath.Join(docker, "config.json"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	auth, err := authFor("reg.example:5000/team/app:v1")
	if err != nil || len(auth) != 1 || auth[0].GetHost() != "reg.example:5000" || auth[0].GetUsername() != "hu" || auth[0].GetPassword() != "hp" {
		t.Fatalf("credHelpers: %v %v", auth, err)
	}
	auth, err = authFor("busybox")
	if err != nil || len(auth) != 1 || auth[0].GetHost() != "docker.io" || auth[0].GetIdentityToken() != "tok" || auth[0].GetPassword() != "" {
		t.Fatalf("credsStore identity token: %v %v", auth, err)
	}
	if auth, err := authFor("other.example/app"); err != nil || auth != nil {
		t.Fatalf("no credentials: %v %v", auth, err)
	}
}
