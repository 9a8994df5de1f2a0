// Package aimsvault holds what the binary embeds from the repository's top
// level: the example ISO/IEC 42001 policy templates of examples/, which
// `aimsvault demo` collects. It lives here, not in examples/, because a Go
// file there would itself be collected as a document.
package aimsvault

import (
	"embed"
	"io/fs"
)

//go:embed examples
var examples embed.FS

// Examples returns the examples folder's contents (README.md,
// policies/ai-policy.md...).
func Examples() fs.FS {
	sub, err := fs.Sub(examples, "examples")
	if err != nil {
		panic(err) // the embed directive guarantees the folder
	}
	return sub
}
