package access

import "errors"

var (
	// ErrNotFound means no token has the given name or id.
	ErrNotFound = errors.New("token not found")
	// ErrInvalidToken means a presented secret is unknown, expired or
	// revoked. Callers answer 401 and never say which.
	ErrInvalidToken = errors.New("invalid token")
	// ErrInvalid means a token request is malformed (bad role, scope on a
	// role that cannot have one, a name in use).
	ErrInvalid = errors.New("invalid token request")
)
