package files

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aimsvault/aimsvault/config"
)

// Config is the `files` connector's YAML block (beside name, type and
// schedule, which the config loader handles). See sample.yaml.
type Config struct {
	// Path is the folder to collect, recursively. Required. The config
	// loader resolves a relative path against the config file's folder.
	Path config.Path `yaml:"path"`

	// Include lists glob patterns of files to collect, matched against the
	// slash-separated path relative to Path. "*" matches within one path
	// segment and "**" matches any number of directories. Default ["**/*"]:
	// every file.
	Include []string `yaml:"include"`

	// Exclude lists glob patterns of files and folders to skip, in the same
	// form as Include; a pattern that matches a folder skips everything under
	// it. Default ["**/.*"]: hidden files and folders such as .git. Setting
	// Exclude replaces the default; keep "**/.*" in the list to go on
	// skipping hidden files.
	Exclude []string `yaml:"exclude"`

	// FollowSymlinks makes the connector collect the targets of symbolic
	// links. Default false: links are skipped (and logged at debug level).
	// Even when true, a link never leads outside Path: one that points
	// outside is reported as an error and not read.
	FollowSymlinks bool `yaml:"follow_symlinks"`

	// DefaultKind is the kind of a file whose front matter names none: the
	// artifact's kind is "file." + DefaultKind. Default "document". Lower-case
	// letters, digits, "_" and "." only.
	DefaultKind string `yaml:"default_kind"`
}

func defaultConfig() Config {
	return Config{
		Include:     []string{"**/*"},
		Exclude:     []string{"**/.*"},
		DefaultKind: "document",
	}
}

// kindRE is what may follow "file." in an artifact kind: dot-separated words
// of lower-case letters, digits and underscores.
var kindRE = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)*$`)

// normalizeKind turns a front matter or default kind ("ai_policy" or
// "file.ai_policy") into an artifact kind ("file.ai_policy").
func normalizeKind(k string) (string, error) {
	rest := strings.TrimPrefix(k, "file.")
	if !kindRE.MatchString(rest) {
		return "", fmt.Errorf("kind %q is not allowed: use lower-case letters, digits, _ and . (e.g. ai_policy)", k)
	}
	return "file." + rest, nil
}

// Validate reports every problem in c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Path == "" {
		errs = append(errs, errors.New("files: path is required: set it to the folder holding your documents"))
	}
	if len(c.Include) == 0 {
		errs = append(errs, errors.New("files: include is empty, so nothing would be collected: remove it to collect every file"))
	}
	for i, p := range c.Include {
		if _, err := compilePattern(p); err != nil {
			errs = append(errs, fmt.Errorf("files: include[%d] %q: %w", i, p, err))
		}
	}
	for i, p := range c.Exclude {
		if _, err := compilePattern(p); err != nil {
			errs = append(errs, fmt.Errorf("files: exclude[%d] %q: %w", i, p, err))
		}
	}
	if _, err := normalizeKind(c.DefaultKind); err != nil {
		errs = append(errs, fmt.Errorf("files: default_kind: %w", err))
	}
	return errors.Join(errs...)
}

func compileAll(ps []string) ([]pattern, error) {
	out := make([]pattern, 0, len(ps))
	for _, p := range ps {
		cp, err := compilePattern(p)
		if err != nil {
			return nil, fmt.Errorf("files: pattern %q: %w", p, err)
		}
		out = append(out, cp)
	}
	return out, nil
}
