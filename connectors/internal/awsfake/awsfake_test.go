package awsfake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func signed(t *testing.T, secret, body string) *http.Request {
	t.Helper()
	r, _ := http.NewRequest("POST", "http://127.0.0.1:9/aws/", strings.NewReader(body))
	r.Header.Set("X-Amz-Target", "SageMaker.ListEndpoints")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), "sagemaker", "eu-west-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	r.Host = r.URL.Host
	return r
}

func TestVerifySigV4(t *testing.T) {
	t.Parallel()
	c, err := VerifySigV4(signed(t, SecretAccessKey, `{}`), []byte(`{}`), "sagemaker")
	if err != nil || c.Region != "eu-west-1" || c.AccessKeyID != AccessKeyID {
		t.Fatalf("a correctly signed request: %+v, %v", c, err)
	}
	for name, tc := range map[string]struct {
		r       *http.Request
		body    string
		service string
	}{
		"wrong secret":  {signed(t, "not-the-secret", `{}`), `{}`, "sagemaker"},
		"body changed":  {signed(t, SecretAccessKey, `{}`), `{"MaxResults":100}`, "sagemaker"},
		"wrong service": {signed(t, SecretAccessKey, `{}`), `{}`, "bedrock"},
		"no signature":  {func() *http.Request { r, _ := http.NewRequest("POST", "http://x/", nil); return r }(), ``, "sagemaker"},
	} {
		if _, err := VerifySigV4(tc.r, []byte(tc.body), tc.service); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPage_TokensBelongToTheirListing(t *testing.T) {
	t.Parallel()
	items := []int{1, 2, 3}
	p1, next, err := Page(items, "a", "", 0, 10, 2)
	if err != nil || len(p1) != 2 || next == "" {
		t.Fatalf("first page %v %q %v", p1, next, err)
	}
	if _, _, err := Page(items, "b", next, 0, 10, 2); err == nil {
		t.Error("a token of listing a was accepted for listing b")
	}
	p2, last, err := Page(items, "a", next, 0, 10, 2)
	if err != nil || len(p2) != 1 || last != "" {
		t.Errorf("second page %v %q %v", p2, last, err)
	}
}
