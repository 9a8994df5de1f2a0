package github

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/aimsvault/aimsvault/connectors"
)

// loadPrivateKey reads an App's PEM private key (PKCS#1, as GitHub issues
// it, or PKCS#8).
func loadPrivateKey(file string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, connectors.ConfigErrorf("github: private_key_file: %v", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, connectors.ConfigErrorf("github: private_key_file %s holds no PEM block: download the App's private key (.pem) from its settings", file)
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, connectors.ConfigErrorf("github: private_key_file %s: not an RSA private key", file)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, connectors.ConfigErrorf("github: private_key_file %s: a %T, want an RSA key", file, k)
	}
	return rk, nil
}

// appJWT signs the JWT a GitHub App authenticates with (RFC 7519, RS256):
// issued 60 s in the past against clock drift, valid 9 minutes (GitHub's
// maximum is 10), issuer the App ID.
func appJWT(key *rsa.PrivateKey, appID int64, now time.Time) (string, error) {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
	claims, err := json.Marshal(struct {
		IAT int64  `json:"iat"`
		EXP int64  `json:"exp"`
		ISS string `json:"iss"`
	}{now.Add(-60 * time.Second).Unix(), now.Add(9 * time.Minute).Unix(), strconv.FormatInt(appID, 10)})
	if err != nil {
		return "", err
	}
	signing := header + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign app jwt: %w", err)
	}
	return signing + "." + enc.EncodeToString(sig), nil
}

// appTokens hands out installation tokens, fetching a new one when the
// current one has less than five minutes left.
type appTokens struct {
	key            *rsa.PrivateKey
	appID, instID  int64
	base           *url.URL
	http           *http.Client // the shared client
	mu             sync.Mutex
	token          string
	expires        time.Time
	renewWithinDur time.Duration
}

// jwt returns a fresh App JWT, for the /app endpoints.
func (a *appTokens) jwt() (string, error) { return appJWT(a.key, a.appID, time.Now()) }

// installationToken returns a valid installation token.
func (a *appTokens) installationToken(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.token != "" && time.Until(a.expires) > a.renewWithinDur {
		return a.token, nil
	}
	jwt, err := a.jwt()
	if err != nil {
		return "", err
	}
	u := a.base.JoinPath("app", "installations", strconv.FormatInt(a.instID, 10), "access_tokens")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+jwt)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", apiVersion)
	resp, err := a.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("create installation token: %w", err)
	}
	defer resp.Body.Close()
	if err := connectors.CheckResponse(resp); err != nil {
		return "", fmt.Errorf("create installation token for app %d, installation %d: %w", a.appID, a.instID, err)
	}
	var body struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil || body.Token == "" {
		return "", fmt.Errorf("create installation token: %w: no token in the answer", connectors.ErrBadResponse)
	}
	a.token, a.expires = body.Token, body.ExpiresAt
	return a.token, nil
}

// errNoAuth is never expected: every request gets a credential.
var errNoAuth = errors.New("github: no credential configured")
