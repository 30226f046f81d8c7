package streaming

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"github.com/berth-dev/berth/errdefs"
)

// ErrTooManyRequests is returned when maxTokens requests wait for their
// stream.
var ErrTooManyRequests = errdefs.New(errdefs.ErrResourceExhausted, "too many streaming requests waiting")

// tokenCache keeps validated requests under single-use random tokens
// until they expire.
type tokenCache struct {
	ttl time.Duration
	max int

	mu sync.Mutex
	m  map[string]tokenEntry
}

type tokenEntry struct {
	req     any
	expires time.Time
}

func newTokenCache(ttl time.Duration, maxEntries int) *tokenCache {
	return &tokenCache{ttl: ttl, max: maxEntries, m: map[string]tokenEntry{}}
}

// insert keeps req and returns its token.
func (c *tokenCache) insert(req any) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("streaming token: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if now.After(e.expires) {
			delete(c.m, k)
		}
	}
	if len(c.m) >= c.max {
		return "", ErrTooManyRequests
	}
	c.m[tok] = tokenEntry{req: req, expires: now.Add(c.ttl)}
	return tok, nil
}

// consume returns and forgets token's request, if it has not expired.
func (c *tokenCache) consume(tok string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[tok]
	if !ok {
		return nil, false
	}
	delete(c.m, tok)
	if time.Now().After(e.expires) {
		return nil, false
	}
	return e.req, true
}
