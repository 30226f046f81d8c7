package distribution

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/berth-dev/berth/credentials"
)

// challenge is one parsed WWW-Authenticate header.
type challenge struct {
	scheme string
	params map[string]string
}

// parseChallenges parses WWW-Authenticate values such as
// `Bearer realm="https://auth",service="reg",scope="repository:x:pull"`.
func parseChallenges(values []string) []challenge {
	var out []challenge
	for _, v := range values {
		scheme, rest, _ := strings.Cut(strings.TrimSpace(v), " ")
		ch := challenge{scheme: strings.ToLower(scheme), params: map[string]string{}}
		for rest != "" {
			rest = strings.TrimLeft(rest, " ,")
			k, after, ok := strings.Cut(rest, "=")
			if !ok {
				break
			}
			k = strings.ToLower(strings.TrimSpace(k))
			var val string
			if strings.HasPrefix(after, `"`) {
				end := strings.IndexByte(after[1:], '"')
				if end < 0 {
					val, rest = after[1:], ""
				} else {
					val, rest = after[1:end+1], after[end+2:]
				}
			} else {
				val, rest, _ = strings.Cut(after, ",")
			}
			ch.params[k] = val
		}
		out = append(out, ch)
	}
	return out
}

// authorize answers a 401 challenge: basic credentials, or a bearer token
// fetched (anonymously or with credentials) from the challenge's realm.
func (c *Client) authorize(ctx context.Context, r request, values []string) error {
	creds, err := c.o.Credentials(r.domain)
	if err != nil {
		return fmt.Errorf("%s: credentials: %w", r.op, err)
	}
	for _, ch := range parseChallenges(values) {
		switch ch.scheme {
		case "basic":
			if creds.Username == "" && creds.Password == "" {
				return fmt.Errorf("%s: %w: registry %s requires credentials", r.op, ErrUnauthorized, r.domain)
			}
			c.setToken(r, "Basic "+base64.StdEncoding.EncodeToString([]byte(creds.Username+":"+creds.Password)))
			return nil
		case "bearer":
			tok, err := c.fetchToken(ctx, r, ch, creds)
			if err != nil {
				return err
			}
			c.setToken(r, "Bearer "+tok)
			return nil
		}
	}
	return fmt.Errorf("%s: %w: no supported auth challenge from %s", r.op, ErrUnauthorized, r.domain)
}

func (c *Client) setToken(r request, v string) {
	c.mu.Lock()
	c.tokens[r.host.Host+" "+r.scope] = v
	c.mu.Unlock()
}

func (c *Client) fetchToken(ctx context.Context, r request, ch challenge, creds credentials.Credentials) (string, error) {
	realm := ch.params["realm"]
	u, err := url.Parse(realm)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("%s: bad token realm %q", r.op, realm)
	}
	q := u.Query()
	if s := ch.params["service"]; s != "" {
		q.Set("service", s)
	}
	scopes := strings.Fields(r.scope)
	if s := ch.params["scope"]; s != "" && !slices.Contains(scopes, s) {
		scopes = append(scopes, s)
	}
	for _, s := range scopes {
		q.Add("scope", s)
	}
	req, err := tokenRequest(ctx, u, q, scopes, creds)
	if err != nil {
		return "", fmt.Errorf("%s: token request: %w", r.op, err)
	}
	req.Header.Set("User-Agent", c.o.UserAgent)
	resp, err := r.host.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: token server %s: %v", ErrUnreachable, u.Host, err)
	}
	if resp.StatusCode != http.StatusOK {
		err := statusError(r.op+": token", resp)
		if resp.StatusCode == 401 || resp.StatusCode == 403 {
			return "", fmt.Errorf("%w: %v", ErrUnauthorized, err)
		}
		return "", err
	}
	defer resp.Body.Close()
	var tok struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tok); err != nil {
		return "", fmt.Errorf("%s: token response: %w", r.op, err)
	}
	if tok.Token == "" {
		tok.Token = tok.AccessToken
	}
	if tok.Token == "" {
		return "", fmt.Errorf("%s: token server returned no token", r.op)
	}
	return tok.Token, nil
}

// tokenRequest builds the token request: an identity token is exchanged as
// an OAuth2 refresh token (POST grant_type=refresh_token, as the Docker
// CLI does); otherwise a GET, with basic credentials when there are any.
func tokenRequest(ctx context.Context, u *url.URL, q url.Values, scopes []string, creds credentials.Credentials) (*http.Request, error) {
	if creds.IdentityToken == "" {
		u.RawQuery = q.Encode()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err == nil && (creds.Username != "" || creds.Password != "") {
			req.SetBasicAuth(creds.Username, creds.Password)
		}
		return req, err
	}
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {creds.IdentityToken},
		"client_id":     {"berth"},
		"service":       {q.Get("service")},
		"scope":         {strings.Join(scopes, " ")},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	if err == nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return req, err
}
