package evidence

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
	"time"

	"github.com/digitorus/timestamp"
)

// ErrTimestamp means the time-stamping authority did not give a usable
// token. The checkpoint itself is signed and kept; only its trusted time is
// missing.
var ErrTimestamp = errors.New("timestamp authority failed")

// TSA asks an RFC 3161 time-stamping authority to vouch for the time of each
// checkpoint. The token is kept beside the checkpoint and included in
// bundles, where `openssl ts -verify` checks it against the TSA's chain.
type TSA struct {
	URL    string
	Client *http.Client // default: one with a 30 s timeout
}

// maxTSR bounds a TSA's reply.
const maxTSR = 1 << 20

// Stamp returns the DER TimeStampResp for data (SHA-256 imprint, a fresh
// nonce, the TSA's certificate requested) after checking the reply: status
// granted, signature valid, imprint and nonce ours, a certificate with the
// timeStamping purpose.
func (t *TSA) Stamp(ctx context.Context, data []byte) ([]byte, time.Time, error) {
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, time.Time{}, err
	}
	req, err := timestamp.CreateRequest(bytes.NewReader(data), &timestamp.RequestOptions{Hash: crypto.SHA256, Certificates: true, Nonce: nonce})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: build request: %v", ErrTimestamp, err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(req))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: %v", ErrTimestamp, err)
	}
	hreq.Header.Set("Content-Type", "application/timestamp-query")
	hreq.Header.Set("Accept", "application/timestamp-reply")
	client := t.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(hreq)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: %v", ErrTimestamp, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTSR+1))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: read reply: %v", ErrTimestamp, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, time.Time{}, fmt.Errorf("%w: %s answered %s", ErrTimestamp, t.URL, resp.Status)
	}
	if len(body) > maxTSR {
		return nil, time.Time{}, fmt.Errorf("%w: reply larger than %d bytes", ErrTimestamp, maxTSR)
	}
	ts, err := CheckTimestamp(body, data)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: %v", ErrTimestamp, err)
	}
	if ts.Nonce == nil || ts.Nonce.Cmp(nonce) != 0 {
		return nil, time.Time{}, fmt.Errorf("%w: reply does not carry our nonce (a replayed token?)", ErrTimestamp)
	}
	return body, ts.Time, nil
}

// CheckTimestamp parses a DER TimeStampResp and checks that it is granted,
// validly signed by an embedded certificate with the timeStamping purpose,
// and stamps SHA-256(data). It does not check the TSA's chain to a root:
// that takes the TSA's CA, which only the reader can choose to trust
// (`openssl ts -verify -CAfile`).
func CheckTimestamp(tsr, data []byte) (*timestamp.Timestamp, error) {
	ts, err := timestamp.ParseResponse(tsr)
	if err != nil {
		return nil, fmt.Errorf("timestamp token: %v", err)
	}
	if len(ts.Certificates) == 0 {
		return nil, fmt.Errorf("timestamp token carries no certificate: its signature cannot be checked")
	}
	if !slices.Contains(ts.Certificates[0].ExtKeyUsage, x509.ExtKeyUsageTimeStamping) {
		return nil, fmt.Errorf("timestamp token signed by a certificate without the timeStamping purpose")
	}
	sum := sha256.Sum256(data)
	if ts.HashAlgorithm != crypto.SHA256 || !bytes.Equal(ts.HashedMessage, sum[:]) {
		return nil, fmt.Errorf("timestamp token is for other data than this checkpoint")
	}
	return ts, nil
}
