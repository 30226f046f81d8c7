// Package credentials reads and writes registry credentials: Berth's
// auth file, Docker's config.json and docker-credential-* helpers. It is
// a leaf so the CLI can look credentials up without the registry client.
package credentials

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/reference"
)

// Credentials are a username and password, or an identity token, for one
// registry.
type Credentials struct {
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// IdentityToken is an OAuth2 refresh token: it is exchanged at the
	// registry's token endpoint (grant_type=refresh_token), never sent as
	// a password.
	IdentityToken string `json:"identitytoken,omitempty"`
}

// Empty reports whether c holds no credentials.
func (c Credentials) Empty() bool {
	return c.Username == "" && c.Password == "" && c.IdentityToken == ""
}

// CredentialFunc returns the credentials for a registry host, or zero
// Credentials when there are none.
type CredentialFunc func(host string) (Credentials, error)

// authFile is the shape shared by Berth's auth file and Docker's
// config.json: {"auths": {"host": {"auth": base64(user:pass)}}}.
type authFile struct {
	Auths map[string]authEntry `json:"auths"`
	// CredsStore and CredHelpers name docker-credential-<name> helpers:
	// CredHelpers per host, CredsStore for every other host.
	CredsStore  string            `json:"credsStore,omitempty"`
	CredHelpers map[string]string `json:"credHelpers,omitempty"`
	// rest keeps unknown keys when rewriting.
	rest map[string]json.RawMessage
}

type authEntry struct {
	Auth          string `json:"auth,omitempty"`
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
}

// DefaultAuthFile is Berth's own credentials file for the current user:
// $XDG_CONFIG_HOME/berth/auth.json or ~/.config/berth/auth.json.
func DefaultAuthFile() string {
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "berth", "auth.json")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".config", "berth", "auth.json")
}

// DockerConfigFile is Docker's config.json ($DOCKER_CONFIG or ~/.docker).
func DockerConfigFile() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Join(d, "config.json")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".docker", "config.json")
}

func readAuthFile(path string) (*authFile, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &authFile{Auths: map[string]authEntry{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var f authFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &f.rest); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if f.Auths == nil {
		f.Auths = map[string]authEntry{}
	}
	return &f, nil
}

// lookupKeys are the keys a host may be stored under.
func lookupKeys(host string) []string {
	keys := []string{host, "https://" + host, "http://" + host}
	if host == reference.DefaultDomain || host == "registry-1.docker.io" {
		keys = append(keys, "https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")
	}
	return keys
}

func (f *authFile) lookup(host string) (Credentials, bool, error) {
	for _, k := range lookupKeys(host) {
		e, ok := f.Auths[k]
		if !ok {
			continue
		}
		if e.IdentityToken != "" {
			return Credentials{Username: e.Username, IdentityToken: e.IdentityToken}, true, nil
		}
		if e.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(e.Auth)
			if err != nil {
				return Credentials{}, false, fmt.Errorf("credentials for %s: bad base64: %w", host, err)
			}
			user, pass, ok := strings.Cut(string(raw), ":")
			if !ok {
				return Credentials{}, false, fmt.Errorf("credentials for %s: auth is not user:password", host)
			}
			if user == "" && pass == "" {
				continue // a placeholder beside a credential helper
			}
			return Credentials{Username: user, Password: pass}, true, nil
		}
		if e.Username != "" {
			return Credentials{Username: e.Username, Password: e.Password}, true, nil
		}
	}
	return Credentials{}, false, nil
}

// helper returns the credential helper a file names for host, if any.
func (f *authFile) helper(host string) string {
	for _, k := range lookupKeys(host) {
		if h := f.CredHelpers[k]; h != "" {
			return h
		}
	}
	return f.CredsStore
}

// FileCredentials looks credentials up in the given auth files in order
// (Berth's own first, then Docker's); missing files are skipped. Within a
// file, the credential helper it names for the host (credHelpers, else
// credsStore) is asked first, as the Docker CLI does, then its auths.
// Only a client uses this: berthd reads no home directory.
func FileCredentials(paths ...string) CredentialFunc {
	return func(host string) (Credentials, error) {
		for _, p := range paths {
			f, err := readAuthFile(p)
			if err != nil {
				return Credentials{}, err
			}
			if h := f.helper(host); h != "" {
				c, err := HelperCredentials(h, host)
				if err != nil || !c.Empty() {
					return c, err
				}
			}
			if c, ok, err := f.lookup(host); err != nil || ok {
				return c, err
			}
		}
		return Credentials{}, nil
	}
}

// StaticCredentials always returns c for host (for one-shot logins).
func StaticCredentials(host string, c Credentials) CredentialFunc {
	return func(h string) (Credentials, error) {
		if h == host {
			return c, nil
		}
		return Credentials{}, nil
	}
}

// SaveCredentials stores credentials for host in the auth file at path
// (created 0600, its directory 0700), keeping other entries and keys.
func SaveCredentials(path, host string, c Credentials) error {
	return editAuthFile(path, func(f *authFile) {
		f.Auths[host] = authEntry{Auth: base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + c.Password))}
	})
}

// RemoveCredentials deletes host's entry; it reports whether one existed.
func RemoveCredentials(path, host string) (bool, error) {
	found := false
	err := editAuthFile(path, func(f *authFile) {
		for _, k := range lookupKeys(host) {
			if _, ok := f.Auths[k]; ok {
				found = true
				delete(f.Auths, k)
			}
		}
	})
	return found, err
}

func editAuthFile(path string, edit func(*authFile)) error {
	f, err := readAuthFile(path)
	if err != nil {
		return err
	}
	edit(f)
	out := map[string]any{}
	for k, v := range f.rest {
		out[k] = v
	}
	out["auths"] = f.Auths
	b, err := json.MarshalIndent(out, "", "\t")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".auth-*.json")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
