// Package safetext makes strings learnt from the wire safe to write where
// valid UTF-8 is required (Parquet STRING columns, JSON), without losing
// a byte.
//
// The mapping is reversible: a string that is valid UTF-8 and holds no
// backslash is written as it is (the common case, checked without
// allocating); otherwise every byte that is not part of a valid UTF-8
// sequence becomes \xHH (two upper-case hex digits) and every backslash
// becomes \\. Unescape restores the original bytes. A value holding a
// backslash is thus one that was escaped or had one; in DuckDB,
// contains(sni, '\') finds them.
//
// A literal backslash has to be escaped too, or a name that really
// contained the four characters \xBA could not be told from one that
// contained the byte 0xBA.
package safetext

import (
	"errors"
	"strings"
	"unicode/utf8"
)

const hexUpper = "0123456789ABCDEF"

// Clean reports whether s is written as it is: valid UTF-8 without a
// backslash.
func Clean(s string) bool {
	return strings.IndexByte(s, '\\') < 0 && utf8.ValidString(s)
}

// String returns s escaped; s itself, without allocating, when it is
// Clean.
func String(s string) string {
	if Clean(s) {
		return s
	}
	return string(appendEscaped(make([]byte, 0, len(s)+8), s))
}

// Append appends s escaped to dst.
func Append(dst []byte, s string) []byte {
	if Clean(s) {
		return append(dst, s...)
	}
	return appendEscaped(dst, s)
}

func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c == '\\' {
			dst = append(dst, '\\', '\\')
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, '\\', 'x', hexUpper[c>>4], hexUpper[c&0xf])
			i++
			continue
		}
		dst = append(dst, s[i:i+size]...)
		i += size
	}
	return dst
}

// EscapedLen is the length of String(s[:n]) for the longest n whose escape
// fits max bytes; s[:n] never ends inside a UTF-8 sequence, so the cut
// never splits an escape or a character.
func EscapedLen(s string, max int) (n, escaped int) {
	for i := 0; i < len(s); {
		c := s[i]
		w, size := 1, 1
		switch {
		case c == '\\':
			w = 2
		case c >= utf8.RuneSelf:
			r, sz := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && sz == 1 {
				w = 4
			} else {
				w, size = sz, sz
			}
		}
		if escaped+w > max {
			return i, escaped
		}
		escaped += w
		i += size
	}
	return len(s), escaped
}

// ErrSyntax is returned by Unescape for a string String cannot have made.
var ErrSyntax = errors.New("safetext: invalid escape")

// Unescape reverses String: Unescape(String(s)) == s for every s.
func Unescape(s string) (string, error) {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b = append(b, c)
			continue
		}
		switch {
		case i+1 < len(s) && s[i+1] == '\\':
			b = append(b, '\\')
			i++
		case i+3 < len(s) && s[i+1] == 'x':
			hi, ok1 := unhex(s[i+2])
			lo, ok2 := unhex(s[i+3])
			if !ok1 || !ok2 {
				return "", ErrSyntax
			}
			b = append(b, hi<<4|lo)
			i += 3
		default:
			return "", ErrSyntax
		}
	}
	return string(b), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
