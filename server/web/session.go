package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"
)

// A session is a signed-in browser. It lives only in this process's memory:
// a restart signs everyone out. The cookie carries a random id; the store
// is keyed by the id's SHA-256, so the map never holds a usable cookie.
//
// The session keeps the token's secret (in memory only, never logged or
// sent back) so that every request re-authenticates it: a token revoked or
// expired after sign-in ends its sessions at once.
type session struct {
	secret  string
	csrf    string
	expires time.Time
}

type sessionStore struct {
	mu    sync.Mutex
	m     map[[32]byte]*session
	swept time.Time
}

func newSessionStore() *sessionStore { return &sessionStore{m: map[[32]byte]*session{}} }

// randomToken returns 32 random bytes, base64url.
func randomToken() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create stores a new session and returns its cookie id.
func (s *sessionStore) create(secret string, expires, now time.Time) (string, *session) {
	id := randomToken()
	sess := &session{secret: secret, csrf: randomToken(), expires: expires}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	s.m[sha256.Sum256([]byte(id))] = sess
	return id, sess
}

// get returns the live session of cookie id, or nil.
func (s *sessionStore) get(id string, now time.Time) *session {
	if id == "" {
		return nil
	}
	k := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.m[k]
	if sess == nil {
		return nil
	}
	if !now.Before(sess.expires) {
		delete(s.m, k)
		return nil
	}
	return sess
}

func (s *sessionStore) delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sha256.Sum256([]byte(id)))
}

func (s *sessionStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// sweep drops expired sessions, at most once a minute (s.mu held).
func (s *sessionStore) sweep(now time.Time) {
	if now.Sub(s.swept) < time.Minute {
		return
	}
	s.swept = now
	for k, sess := range s.m {
		if !now.Before(sess.expires) {
			delete(s.m, k)
		}
	}
}

// sameToken compares two CSRF tokens in constant time.
func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
