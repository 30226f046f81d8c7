package distribution

import (
	"context"
	"net/http"
)

// Ping checks that domain's registry answers /v2/ and accepts the
// configured credentials (used by login).
func (c *Client) Ping(ctx context.Context, domain string) error {
	hosts, err := c.Hosts(domain, CapResolve|CapPull|CapPush)
	if err != nil {
		return err
	}
	h := hosts[len(hosts)-1] // the server itself, not a mirror
	resp, err := c.do(ctx, request{host: h, domain: domain, op: "login to " + domain,
		build: func(ctx context.Context, base string) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
		}})
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}
