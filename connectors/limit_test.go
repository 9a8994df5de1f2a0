package connectors

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLimitBodies(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", len(r.URL.Path)-1)))
	}))
	defer srv.Close()
	hc := LimitBodies(srv.Client(), 10)
	for path, ok := range map[string]bool{"/0123456789": true, "/01234567890": false} {
		resp, err := hc.Get(srv.URL + path + "?access_token=SECRETVALUE")
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if ok && (err != nil || len(b) != 10) {
			t.Errorf("%s: a body of exactly the cap: %d bytes, %v", path, len(b), err)
		}
		if !ok {
			if !errors.Is(err, ErrBadResponse) || Classify(err) != ClassBadResponse || len(b) > 10 {
				t.Errorf("%s: over the cap: %d bytes, %v", path, len(b), err)
			}
			if err != nil && strings.Contains(err.Error(), "SECRETVALUE") {
				t.Errorf("error leaks the token: %v", err)
			}
		}
	}
}
