package evidence

import (
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The leaf encoder writes RFC 8785 (JCS) canonical JSON for the one fixed
// shape of leafV1 directly, without a generic marshal-then-canonicalise pass:
// that pass cost more than all the database work of an append. Its output is
// checked against github.com/gowebpki/jcs in tests.

// appendString appends s as a JCS string: only '"', '\\' and control
// characters are escaped (the short forms where JSON has them, else \u00xx
// in lower-case hex); everything else, including U+2028 and non-ASCII, is
// literal UTF-8. Invalid UTF-8 becomes U+FFFD, as encoding/json does.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"':
				b = append(b, '\\', '"')
			case c == '\\':
				b = append(b, '\\', '\\')
			case c >= 0x20:
				b = append(b, c)
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			default:
				const hex = "0123456789abcdef"
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// compareUTF16 orders object keys as JCS does: by their UTF-16 code units.
func compareUTF16(a, b string) int {
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
}

func appendStringMap(b []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareUTF16)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, m[k])
	}
	return append(b, '}')
}

func appendStrings(b []byte, list []string) []byte {
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// encodeLeaf writes l's canonical bytes. Keys are written in JCS order,
// which for these ASCII names is byte order. l.Provenance must already be
// canonical JSON.
func encodeLeaf(l *leafV1) []byte {
	b := make([]byte, 0, 512+len(l.Provenance))
	b = append(b, `{"attributes":`...)
	b = appendStringMap(b, l.Attributes)
	b = append(b, `,"collected_at":`...)
	b = appendString(b, l.CollectedAt)
	b = append(b, `,"connector":`...)
	b = appendString(b, l.Connector)
	b = append(b, `,"controls":`...)
	b = appendStrings(b, l.Controls)
	b = append(b, `,"effective_at":`...)
	if l.EffectiveAt == nil {
		b = append(b, "null"...)
	} else {
		b = appendString(b, *l.EffectiveAt)
	}
	b = append(b, `,"id":`...)
	b = appendString(b, l.ID)
	b = append(b, `,"kind":`...)
	b = appendString(b, l.Kind)
	b = append(b, `,"media_type":`...)
	b = appendString(b, l.MediaType)
	b = append(b, `,"provenance":`...)
	b = append(b, l.Provenance...)
	b = append(b, `,"run":`...)
	b = appendString(b, l.Run)
	b = append(b, `,"sha256":`...)
	b = appendString(b, l.SHA256)
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, l.Size, 10)
	b = append(b, `,"source_url":`...)
	b = appendString(b, l.SourceURL)
	b = append(b, `,"subject":`...)
	b = appendString(b, l.Subject)
	b = append(b, `,"type":`...)
	b = appendString(b, l.Type)
	b = append(b, `,"v":`...)
	b = strconv.AppendInt(b, int64(l.V), 10)
	return append(b, '}')
}
