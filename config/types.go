package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration that is also written in days: "90d", "1d12h",
// "2160h", "15m". See ParseDuration.
type Duration time.Duration

// ParseDuration parses a duration as time.ParseDuration does, and also
// accepts the unit "d" (24 hours), alone or mixed with the others: "90d",
// "1d12h", "1.5d". Errors do not repeat the input.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, errors.New("empty duration: want a number and a unit, e.g. 15m, 36h, 90d")
	}
	neg := false
	body := in
	if body[0] == '-' || body[0] == '+' {
		neg = body[0] == '-'
		body = body[1:]
	}
	// Split off the day segments; hand the rest to time.ParseDuration.
	var days float64
	var rest strings.Builder
	for i := 0; i < len(body); {
		j := i
		for j < len(body) && (body[j] == '.' || body[j] >= '0' && body[j] <= '9') {
			j++
		}
		if j == i {
			return 0, errors.New("bad duration: want a number and a unit, e.g. 15m, 36h, 90d")
		}
		k := j
		for k < len(body) && body[k] != '.' && (body[k] < '0' || body[k] > '9') {
			k++
		}
		if body[j:k] == "d" {
			n, err := strconv.ParseFloat(body[i:j], 64)
			if err != nil {
				return 0, errors.New("bad number of days in duration")
			}
			days += n
		} else {
			rest.WriteString(body[i:k])
		}
		i = k
	}
	var d time.Duration
	if rest.Len() > 0 {
		var err error
		if d, err = time.ParseDuration(rest.String()); err != nil {
			// time's message quotes the input; say what is allowed instead.
			return 0, errors.New("bad duration: want a number and a unit (ns, us, ms, s, m, h, d), e.g. 15m, 36h, 90d")
		}
	}
	dayPart := days * float64(24*time.Hour)
	if dayPart > float64(math.MaxInt64-d) {
		return 0, errors.New("duration too long")
	}
	d += time.Duration(dayPart)
	if neg {
		d = -d
	}
	return d, nil
}

// String formats whole days as "90d", anything else as time.Duration does.
func (d Duration) String() string {
	td := time.Duration(d)
	if td != 0 && td%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(td/(24*time.Hour)), 10) + "d"
	}
	return td.String()
}

// UnmarshalYAML decodes a duration string (goccy/go-yaml InterfaceUnmarshaler,
// so it sees the value after ${VAR} expansion).
func (d *Duration) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	return d.UnmarshalText([]byte(s))
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Secret is a string from the config that must never be printed: a token, a
// password. Every way of printing it (fmt verbs, JSON, text, YAML, slog) gives
// "[redacted]", or "" when it is empty so that "unset" stays visible. Only
// Reveal returns the value.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret's value. Call it only where the value is sent to
// the system it is for.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]", or "" when the secret is empty.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString implements fmt.GoStringer (%#v).
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// Format implements fmt.Formatter, so no verb (%x, %q, %d...) prints the value.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.String())
}

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }

// MarshalText implements encoding.TextMarshaler.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalYAML implements goccy/go-yaml's BytesMarshaler.
func (s Secret) MarshalYAML() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Path is a filesystem path from the config. Load makes every relative Path
// absolute against the config file's folder, wherever it sits: in Config or in
// a connector's typed settings (struct fields, pointers, slices, arrays, map
// values). An empty Path stays empty.
type Path string

// String returns the path.
func (p Path) String() string { return string(p) }

// Duration returns d as a time.Duration.
func (d Duration) Duration() time.Duration { return time.Duration(d) }

// ByteSize is a size in bytes, written as a number of bytes or with a unit:
// "1GiB", "512MiB", "64KiB", "200MB", "10kB" (IEC units are powers of 1024,
// SI units powers of 1000).
type ByteSize int64

// ParseByteSize parses a ByteSize.
func ParseByteSize(s string) (ByteSize, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.TrimSpace(s[i:])
	}
	mult, ok := map[string]float64{"": 1, "B": 1, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
		"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}[unit]
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || num == "" || f < 0 || f*mult > 1<<62 {
		return 0, fmt.Errorf("size %q: want bytes or a number with a unit, e.g. 1GiB, 512MiB, 200MB", s)
	}
	return ByteSize(f * mult), nil
}

// UnmarshalYAML decodes a size (goccy/go-yaml InterfaceUnmarshaler).
func (b *ByteSize) UnmarshalYAML(unmarshal func(any) error) error {
	var v any
	if err := unmarshal(&v); err != nil {
		return err
	}
	return b.UnmarshalText([]byte(fmt.Sprint(v)))
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (b *ByteSize) UnmarshalText(t []byte) error {
	v, err := ParseByteSize(string(t))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// Bytes returns b as an int64.
func (b ByteSize) Bytes() int64 { return int64(b) }

// ParseIPPrefix parses an IP address (a one-address prefix) or a CIDR prefix.
func ParseIPPrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
