// Package auth authenticates API requests and authorises them by role.
//
// A request carries "Authorization: Bearer avt_…"; Authenticate resolves it
// to a Principal (the token's id, name, role and scope) and puts that in the
// request's context, or answers 401. Require then answers 403 to a role not
// in its list. Handlers read the Principal with FromContext. A later sign-in
// with a session cookie (the web console) resolves to the same Principal,
// so handlers do not care how the caller proved who it is.
//
// 401 never says why (unknown, expired, revoked all read the same), and no
// route answers 404 before the caller is authorised: an unauthenticated
// caller learns nothing about what exists.
package auth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/aimsvault/aimsvault/server/access"
)

// Principal is who is calling.
type Principal struct {
	TokenID string
	Name    string
	Role    access.Role
	Scope   access.Scope // only auditors have one; empty: sees all
}

// Label names p in logs: "token:<name>".
func (p *Principal) Label() string { return "token:" + p.Name }

// PrincipalOf is the Principal of a live token: what a bearer token and a
// console session (package server/web) both resolve to.
func PrincipalOf(t *access.Token) *Principal {
	return &Principal{TokenID: t.ID, Name: t.Name, Role: t.Role, Scope: t.Scope}
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the request's Principal; nil when unauthenticated.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(ctxKey{}).(*Principal)
	return p
}

// Tokens resolves a bearer secret; *access.DB implements it.
type Tokens interface {
	Authenticate(ctx context.Context, secret string) (*access.Token, error)
}

// Authenticate wraps next: it answers 401 unless the request carries a live
// bearer token, and otherwise calls next with the Principal in the context.
// log receives lookup failures other than a bad token (nil: discard).
func Authenticate(tokens Tokens, log *slog.Logger, next http.Handler) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, secret, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
			unauthorized(w)
			return
		}
		t, err := tokens.Authenticate(r.Context(), strings.TrimSpace(secret))
		if errors.Is(err, access.ErrInvalidToken) {
			unauthorized(w)
			return
		}
		if err != nil {
			log.Error("token lookup failed", "err", err)
			writeError(w, http.StatusInternalServerError, "internal error")
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), PrincipalOf(t))))
	})
}

// Require wraps next: it answers 403 unless the Principal has one of roles
// (401 when there is none: Authenticate was not in front).
func Require(roles []access.Role, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := FromContext(r.Context())
		if p == nil {
			unauthorized(w)
			return
		}
		if !slices.Contains(roles, p.Role) {
			writeError(w, http.StatusForbidden, "forbidden: the "+string(p.Role)+" role may not do this")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="aimsvault"`)
	writeError(w, http.StatusUnauthorized, "unauthorized: send Authorization: Bearer <token> with a live token from `aimsvault token create`")
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(map[string]string{"error": msg})
}

// ClientIP returns the address a request came from. The peer address is
// used, unless the peer is one of trusted (reverse proxies): then the
// rightmost X-Forwarded-For address that is not a trusted proxy. With no
// trusted proxies X-Forwarded-For is ignored: any client can write it.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	addr := peer.Addr().Unmap()
	isTrusted := func(a netip.Addr) bool {
		return slices.ContainsFunc(trusted, func(p netip.Prefix) bool { return p.Contains(a) })
	}
	if !isTrusted(addr) {
		return addr.String()
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a malformed hop: trust nothing further left
		}
		a = a.Unmap()
		if !isTrusted(a) {
			return a.String()
		}
		addr = a
	}
	return addr.String()
}
