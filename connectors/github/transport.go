package github

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aimsvault/aimsvault/connectors"
)

// lowWater is the number of requests left in the primary rate limit at
// which the connector stops and waits for the reset, rather than running
// into a 403 (GitHub warns that requests made while limited may get an
// integration banned).
const lowWater = 10

// maxCachedBody bounds one cached response; larger ones (a big file) are
// passed through uncached.
const maxCachedBody = 4 << 20

// apiTransport sits under go-github and over the shared client's retrying
// transport. It sends credentials to the API host only, waits out a primary
// rate limit that runs low, and makes GET requests conditional: a 304 is
// answered from the cache as the 200 it stands for, marked X-From-Cache
// (which go-github knows), so the caller sees the previous content.
type apiTransport struct {
	base  http.RoundTripper
	host  string // scheme://host of base_url
	auth  func(ctx context.Context, req *http.Request) (string, error)
	cache etagCache
	log   *slog.Logger
	now   func() time.Time

	mu        sync.Mutex
	remaining int // -1: unknown
	reset     time.Time

	requests    atomic.Int64 // sent upstream
	notModified atomic.Int64 // answered 304
}

func (t *apiTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if origin(req.URL.Scheme, req.URL.Host) != t.host {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("refusing to send credentials to %s: only %s is configured", req.URL.Host, t.host)
	}
	ctx := req.Context()
	if err := t.waitRateLimit(ctx, req); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	r := req.Clone(ctx)
	tok, err := t.auth(ctx, req)
	if err != nil {
		return nil, err
	}
	r.Header.Set("Authorization", "Bearer "+tok)
	key := ""
	var cached *cacheEntry
	if r.Method == http.MethodGet && t.cache != nil {
		key = cacheKey(r)
		if immutable(r) {
			if e, ok := t.cache.get(absentPrefix + key); ok {
				return e.absent(req), nil
			}
		}
		if e, ok := t.cache.get(key); ok {
			cached = e
			r.Header.Set("If-None-Match", e.ETag)
		}
	}
	t.requests.Add(1)
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	t.noteRate(resp.Header)
	switch {
	case resp.StatusCode == http.StatusNotModified && cached != nil:
		t.notModified.Add(1)
		resp.Body.Close()
		return cached.response(req, resp), nil
	case resp.StatusCode == http.StatusOK && key != "" && resp.Header.Get("ETag") != "":
		return t.store(key, resp)
	case resp.StatusCode == http.StatusNotFound && key != "" && immutable(r):
		return t.storeAbsent(key, resp)
	}
	return resp, nil
}

// absentPrefix marks a cached 404 in the cache's key space.
const absentPrefix = "404 "

// immutable reports whether a request reads a file at a fixed commit: its
// answer, a 404 included, can never change.
func immutable(r *http.Request) bool {
	ref := r.URL.Query().Get("ref")
	return strings.Contains(r.URL.Path, "/contents/") && len(ref) == 40 && strings.Trim(ref, "0123456789abcdef") == ""
}

// storeAbsent remembers that a path does not exist at a commit, so the
// next run does not ask again.
func (t *apiTransport) storeAbsent(key string, resp *http.Response) (*http.Response, error) {
	buf, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(buf))
	if err := t.cache.put(absentPrefix+key, &cacheEntry{ETag: "absent", ContentType: resp.Header.Get("Content-Type"), Body: buf}); err != nil {
		t.log.Debug("etag cache write", "err", err)
	}
	return resp, nil
}

// store reads a 200 response (up to maxCachedBody) into the cache and hands
// back an equivalent response.
func (t *apiTransport) store(key string, resp *http.Response) (*http.Response, error) {
	buf, err := io.ReadAll(io.LimitReader(resp.Body, maxCachedBody+1))
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	if len(buf) > maxCachedBody {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(buf), resp.Body), resp.Body}
		return resp, nil
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(buf))
	stored := buf
	if isSecretScanning(resp.Request.URL.Path) {
		// Never keep a leaked secret, not even outside the vault.
		if red, _, err := redactSecretList(buf); err == nil {
			stored = red
		} else {
			return resp, nil
		}
	}
	e := &cacheEntry{
		ETag:        resp.Header.Get("ETag"),
		Link:        resp.Header.Get("Link"),
		ContentType: resp.Header.Get("Content-Type"),
		Body:        stored,
	}
	if err := t.cache.put(key, e); err != nil {
		t.log.Debug("etag cache write", "err", err)
	}
	return resp, nil
}

// noteRate remembers the core rate limit's state from a response.
func (t *apiTransport) noteRate(h http.Header) {
	if res := h.Get("X-RateLimit-Resource"); res != "" && res != "core" {
		return
	}
	rem, err := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Remaining")))
	if err != nil {
		return
	}
	reset, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64)
	if err != nil {
		return
	}
	t.mu.Lock()
	t.remaining, t.reset = rem, time.Unix(reset, 0)
	t.mu.Unlock()
}

// waitRateLimit waits for the reset when the primary limit is nearly spent.
// A reset beyond the run's deadline fails at once, as rate_limited.
func (t *apiTransport) waitRateLimit(ctx context.Context, req *http.Request) error {
	t.mu.Lock()
	rem, reset := t.remaining, t.reset
	t.mu.Unlock()
	if rem < 0 || rem > lowWater {
		return nil
	}
	wait := reset.Sub(t.now()) + time.Second // GitHub's reset second is inclusive
	if wait <= 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && t.now().Add(wait).After(dl) {
		return &connectors.HTTPError{
			Method: req.Method, URL: connectors.RedactURL(req.URL.String()), Status: http.StatusForbidden,
			RetryAfter: wait, Class: connectors.ClassRateLimited,
			Body: fmt.Sprintf("not sent: primary rate limit has %d requests left until %s, after the run's deadline", rem, reset.UTC().Format(time.RFC3339)),
		}
	}
	t.log.Warn("rate limit low, waiting for reset", "remaining", rem, "reset", reset.UTC().Format(time.RFC3339), "wait", wait.Round(time.Second).String())
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
	}
	t.mu.Lock()
	if t.reset.Equal(reset) {
		t.remaining = -1
	}
	t.mu.Unlock()
	return nil
}

func origin(scheme, host string) string { return strings.ToLower(scheme + "://" + host) }

// cacheKey names a GET by its URL and Accept header (the raw and the JSON
// form of a file are different responses).
func cacheKey(r *http.Request) string {
	return r.Header.Get("Accept") + " " + r.URL.String()
}

// cacheEntry is what a 304 stands for: the last 200's body and the headers
// a reader of it needs (Link, for pagination).
type cacheEntry struct {
	ETag        string `json:"etag"`
	Link        string `json:"link,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Body        []byte `json:"body"`
}

func (e *cacheEntry) response(req *http.Request, notMod *http.Response) *http.Response {
	h := notMod.Header.Clone()
	h.Set("ETag", e.ETag)
	h.Set("X-From-Cache", "1")
	if e.Link != "" {
		h.Set("Link", e.Link)
	}
	if e.ContentType != "" {
		h.Set("Content-Type", e.ContentType)
	}
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: notMod.Proto,
		ProtoMajor: notMod.ProtoMajor, ProtoMinor: notMod.ProtoMinor,
		Header: h, Body: io.NopCloser(bytes.NewReader(e.Body)),
		ContentLength: int64(len(e.Body)), Request: req,
	}
}

// absent answers a request for a file known not to exist at its commit.
func (e *cacheEntry) absent(req *http.Request) *http.Response {
	h := http.Header{}
	h.Set("Content-Type", e.ContentType)
	h.Set("X-From-Cache", "1")
	return &http.Response{
		Status: "404 Not Found", StatusCode: http.StatusNotFound, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(e.Body)), ContentLength: int64(len(e.Body)), Request: req,
	}
}

// etagCache keeps ETags and bodies between runs, outside the vault.
type etagCache interface {
	get(key string) (*cacheEntry, bool)
	put(key string, e *cacheEntry) error
}

// memCacheLimit bounds the bytes one in-memory cache holds; past it new
// responses are not kept (set cache_dir for large owners).
const memCacheLimit = 64 << 20

type memCache struct {
	mu    sync.Mutex
	m     map[string]*cacheEntry
	bytes int
}

func (c *memCache) get(key string) (*cacheEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	return e, ok
}

func (c *memCache) put(key string, e *cacheEntry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[key]; ok {
		c.bytes -= len(old.Body)
	}
	if c.bytes+len(e.Body) > memCacheLimit {
		delete(c.m, key)
		return nil
	}
	c.m[key] = e
	c.bytes += len(e.Body)
	return nil
}

// memCaches holds one in-memory cache per connector scope for the life of
// the process, so that the runs of `serve` share it; connectors are rebuilt
// for every run.
var memCaches sync.Map // scope -> *memCache

func memCacheFor(scope string) *memCache {
	c, _ := memCaches.LoadOrStore(scope, &memCache{m: map[string]*cacheEntry{}})
	return c.(*memCache)
}

// dirCache keeps one file per response under dir.
type dirCache struct{ dir string }

func (c dirCache) file(key string) string {
	sum := sha256.Sum256([]byte(key))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(c.dir, h[:2], h)
}

func (c dirCache) get(key string) (*cacheEntry, bool) {
	b, err := os.ReadFile(c.file(key))
	if err != nil {
		return nil, false
	}
	var e cacheEntry
	if json.Unmarshal(b, &e) != nil || e.ETag == "" {
		return nil, false
	}
	return &e, true
}

func (c dirCache) put(key string, e *cacheEntry) error {
	p := c.file(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// cacheScope names whose view of GitHub a cache holds, without the
// credential itself.
func cacheScope(name, baseURL, credential string) string {
	sum := sha256.Sum256([]byte(name + "\x00" + baseURL + "\x00" + credential))
	return hex.EncodeToString(sum[:16])
}
