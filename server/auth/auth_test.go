package auth

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	t.Parallel()
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, c := range []struct {
		name, peer, xff string
		trusted         []netip.Prefix
		want            string
	}{
		{"no proxies: XFF ignored", "203.0.113.7:5000", "198.51.100.1", nil, "203.0.113.7"},
		{"untrusted peer: XFF ignored", "203.0.113.7:5000", "198.51.100.1", proxies, "203.0.113.7"},
		{"trusted proxy", "10.0.0.5:5000", "198.51.100.1", proxies, "198.51.100.1"},
		{"rightmost untrusted hop", "10.0.0.5:5000", "192.0.2.66, 198.51.100.1, 10.0.0.9", proxies, "198.51.100.1"},
		{"malformed hop stops", "10.0.0.5:5000", "198.51.100.1, junk", proxies, "10.0.0.5"},
		{"trusted, no XFF", "10.0.0.5:5000", "", proxies, "10.0.0.5"},
		{"IPv4-mapped peer", "[::ffff:203.0.113.7]:5000", "", nil, "203.0.113.7"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := ClientIP(r, c.trusted); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
