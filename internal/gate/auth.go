package gate

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"golang.org/x/time/rate"
)

// grant is one token: its hash (the value itself is never kept), what it
// may write and its limits.
type grant struct {
	name     string
	hash     [sha256.Size]byte
	topic    string   // of its Import API requests
	topics   []string // it may write with /v1/topics
	tables   []string
	maxBytes int64
	rate     float64 // requests a second; 0: no limit
	burst    int
	limiter  *rate.Limiter
}

func (g *grant) mayTopic(topic string) bool { return matches(g.topics, topic) }
func (g *grant) mayTable(table string) bool { return matches(g.tables, table) }

func matches(list []string, s string) bool {
	for _, x := range list {
		if x == "*" || x == s {
			return true
		}
	}
	return false
}

// allow takes one request from the token's rate.
func (g *grant) allow() bool { return g.limiter == nil || g.limiter.Allow() }

// authenticator finds the grant of a bearer token.
type authenticator struct{ grants []*grant }

func newAuthenticator(grants []*grant) *authenticator {
	for _, g := range grants {
		if g.rate > 0 {
			g.limiter = rate.NewLimiter(rate.Limit(g.rate), g.burst)
		}
	}
	return &authenticator{grants: grants}
}

// bearer returns the token of an Authorization header ("" when none).
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// find returns the grant of a token, or nil. Every grant's hash is
// compared in constant time, whichever matches, so the time taken says
// nothing about the token.
func (a *authenticator) find(token string) *grant {
	h := sha256.Sum256([]byte(token))
	var found *grant
	for _, g := range a.grants {
		if subtle.ConstantTimeCompare(h[:], g.hash[:]) == 1 {
			found = g
		}
	}
	return found
}
