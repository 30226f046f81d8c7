package credentials

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/berth-dev/berth/reference"
)

// helperNotFound is what docker-credential-* helpers print when they hold
// nothing for a server.
const helperNotFound = "credentials not found in native keychain"

// HelperCredentials asks the Docker credential helper docker-credential-
// <name> (found on PATH) for host's credentials: "get" with the server URL
// on stdin, a JSON answer on stdout. A helper that is not installed or
// holds nothing for host yields zero Credentials; a Username of "<token>"
// marks the secret as an identity token.
func HelperCredentials(name, host string) (Credentials, error) {
	bin := "docker-credential-" + name
	if strings.ContainsRune(name, '/') {
		return Credentials{}, fmt.Errorf("credential helper %q: a name, not a path", name)
	}
	if _, err := exec.LookPath(bin); err != nil {
		return Credentials{}, nil
	}
	server := host
	if host == reference.DefaultDomain || host == "registry-1.docker.io" {
		server = "https://index.docker.io/v1/"
	}
	cmd := exec.Command(bin, "get")
	cmd.Stdin = strings.NewReader(server)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stdout.String() + " " + stderr.String())
		var ee *exec.ExitError
		if errors.As(err, &ee) && strings.Contains(msg, helperNotFound) {
			return Credentials{}, nil
		}
		if msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		return Credentials{}, fmt.Errorf("credential helper %s for %s: %w", bin, host, err)
	}
	var out struct {
		Username string `json:"Username"`
		Secret   string `json:"Secret"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return Credentials{}, fmt.Errorf("credential helper %s for %s: bad answer: %w", bin, host, err)
	}
	if out.Username == "<token>" {
		return Credentials{IdentityToken: out.Secret}, nil
	}
	return Credentials{Username: out.Username, Password: out.Secret}, nil
}
