package cli

import (
	apiv1 "github.com/berth-dev/berth/api/v1"
	"github.com/berth-dev/berth/distribution"
)

// authFor returns the caller's stored credentials for ref's registry, to
// send along with a pull or push (berthd may run as another user).
func authFor(ref string) []*apiv1.RegistryAuth {
	r, err := distribution.ParseReference(ref)
	if err != nil {
		return nil
	}
	c, err := distribution.FileCredentials(distribution.DefaultAuthFile(), distribution.DockerConfigFile())(r.Domain)
	if err != nil || (c.Username == "" && c.Password == "") {
		return nil
	}
	return []*apiv1.RegistryAuth{{Host: r.Domain, Username: c.Username, Password: c.Password}}
}
