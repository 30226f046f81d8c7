package cli

import (
	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/credentials"
	"github.com/berth-dev/berth/reference"
)

// authFor returns the caller's credentials for ref's registry (Berth's
// auth file, then Docker's config.json with its credential helpers), to
// send along with a pull or push: berthd uses no credentials of its own
// user. A bad reference yields none (the daemon reports it).
func authFor(ref string) ([]*apiv1.RegistryAuth, error) {
	r, err := reference.Parse(ref)
	if err != nil {
		return nil, nil
	}
	c, err := credentials.FileCredentials(credentials.DefaultAuthFile(), credentials.DockerConfigFile())(r.Domain)
	if err != nil || c.Empty() {
		return nil, err
	}
	return []*apiv1.RegistryAuth{{Host: r.Domain, Username: c.Username, Password: c.Password, IdentityToken: c.IdentityToken}}, nil
}
