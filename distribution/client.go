package distribution

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/berth-dev/berth/credentials"
)

// ClientOptions configures a Client.
type ClientOptions struct {
	Hosts       HostOptions
	Credentials credentials.CredentialFunc
	// Retries is how often a request is retried after a 5xx, 429 or
	// connection error (default 4; negative means none).
	Retries int
	// Backoff is the first retry delay, doubled each time (default 200ms).
	Backoff time.Duration
	// MaxLayerSize caps the declared size of any blob other than a
	// manifest, index or config (manifest.MaxSize caps those); 0 means
	// DefaultMaxLayerSize.
	MaxLayerSize int64
	UserAgent    string
	Logger       *slog.Logger
}

// Client talks to registries. It is safe for concurrent use and caches
// host configurations and auth tokens.
type Client struct {
	o      ClientOptions
	mu     sync.Mutex
	hosts  map[string][]*Host
	tokens map[string]string // host + " " + scope → Authorization value
}

// NewClient returns a Client.
func NewClient(o ClientOptions) *Client {
	if o.Retries == 0 {
		o.Retries = 4
	}
	if o.Retries < 0 {
		o.Retries = 0
	}
	if o.Backoff == 0 {
		o.Backoff = 200 * time.Millisecond
	}
	if o.MaxLayerSize <= 0 {
		o.MaxLayerSize = DefaultMaxLayerSize
	}
	if o.UserAgent == "" {
		o.UserAgent = "berth"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Credentials == nil {
		o.Credentials = func(string) (credentials.Credentials, error) { return credentials.Credentials{}, nil }
	}
	return &Client{o: o, hosts: map[string][]*Host{}, tokens: map[string]string{}}
}

// Hosts returns the endpoints of domain that have capability cp.
func (c *Client) Hosts(domain string, cp Capability) ([]*Host, error) {
	c.mu.Lock()
	all, ok := c.hosts[domain]
	c.mu.Unlock()
	if !ok {
		var err error
		all, err = ConfigureHosts(domain, c.o.Hosts)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.hosts[domain] = all
		c.mu.Unlock()
	}
	var out []*Host
	for _, h := range all {
		if h.Capabilities&cp != 0 {
			out = append(out, h)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no host of %s is configured for this operation", domain)
	}
	return out, nil
}

// request describes one registry call; build makes a fresh *http.Request
// for each attempt (bodies are re-read on retries).
type request struct {
	host   *Host
	domain string
	scope  string // e.g. "repository:library/busybox:pull"
	op     string // for error messages
	build  func(ctx context.Context, base string) (*http.Request, error)
}

// do sends a request with auth, retries and the loopback HTTP fallback.
// The caller closes the body of a returned response; non-2xx/3xx answers
// other than those handled here come back as *StatusError.
func (c *Client) do(ctx context.Context, r request) (*http.Response, error) {
	authTried := false
	delay := c.o.Backoff
	var lastErr error
	for attempt := 0; attempt <= c.o.Retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(delay):
			}
			delay *= 2
		}
		req, err := r.build(ctx, r.host.BaseURL())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.op, err)
		}
		req.Header.Set("User-Agent", c.o.UserAgent)
		c.mu.Lock()
		if a := c.tokens[r.host.Host+" "+r.scope]; a != "" {
			req.Header.Set("Authorization", a)
		}
		c.mu.Unlock()
		resp, err := r.host.Client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			var rh tls.RecordHeaderError
			if (errors.Is(err, http.ErrSchemeMismatch) || errors.As(err, &rh)) && r.host.useHTTP() {
				c.o.Logger.Debug("registry speaks plain HTTP, falling back", "host", r.host.Host)
				attempt--
				continue
			}
			lastErr = fmt.Errorf("%w: %s: %v", ErrUnreachable, r.host.Host, err)
			c.o.Logger.Debug("registry request failed, retrying", "op", r.op, "err", err)
			continue
		}
		switch {
		case resp.StatusCode == http.StatusUnauthorized && !authTried:
			authTried = true
			challenge := resp.Header.Values("WWW-Authenticate")
			drain(resp)
			if err := c.authorize(ctx, r, challenge); err != nil {
				return nil, err
			}
			attempt--
			continue
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			lastErr = statusError(r.op, resp)
			continue
		case resp.StatusCode >= 400:
			return nil, statusError(r.op, resp)
		}
		return resp, nil
	}
	return nil, lastErr
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64*1024))
	resp.Body.Close()
}

// statusError reads the registry's error document and closes the body.
func statusError(op string, resp *http.Response) error {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 16*1024))
	e := &StatusError{Op: op, Status: resp.StatusCode}
	var doc struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(b, &doc) == nil && len(doc.Errors) > 0 {
		e.Code, e.Msg = doc.Errors[0].Code, doc.Errors[0].Message
	}
	return e
}
