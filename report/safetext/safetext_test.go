package safetext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"sbc.example.net", "sbc.example.net"},
		{"h2", "h2"},
		{"\xba\xad", `\xBA\xAD`},
		{`a\b`, `a\\b`},
		{`\xBA`, `\\xBA`}, // the four characters, not the byte
		{"caf\u00e9", "caf\u00e9"},
		{"caf\xc3", `caf\xC3`},           // a sequence cut short
		{"\xed\xa0\x80", `\xED\xA0\x80`}, // a surrogate is not UTF-8
		{"\xf4\x90\x80\x80", `\xF4\x90\x80\x80`},
		{"a\x00b", "a\x00b"}, // NUL is valid UTF-8
		{"\xff\\", `\xFF\\`},
	} {
		if got := String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := string(Append([]byte("x"), tc.in)); got != "x"+tc.want {
			t.Errorf("Append(%q) = %q", tc.in, got)
		}
		back, err := Unescape(tc.want)
		if err != nil || back != tc.in {
			t.Errorf("Unescape(%q) = %q, %v, want %q", tc.want, back, err, tc.in)
		}
	}
}

func TestUnescapeRejects(t *testing.T) {
	for _, s := range []string{`\`, `a\`, `\x`, `\xB`, `\xGG`, `\n`, `\u00e9`} {
		if _, err := Unescape(s); err == nil {
			t.Errorf("Unescape(%q) accepted", s)
		}
	}
	if got, err := Unescape(`\xba`); err != nil || got != "\xba" {
		t.Errorf("lower-case hex: %q, %v", got, err)
	}
}

func TestCleanDoesNotAllocate(t *testing.T) {
	s := strings.Repeat("sip.example.com", 4)
	var out string
	if n := testing.AllocsPerRun(100, func() { out = String(s) }); n != 0 {
		t.Errorf("String of a clean string: %v allocations", n)
	}
	_ = out
}

func TestEscapedLen(t *testing.T) {
	for _, tc := range []struct {
		in         string
		max, n, el int
	}{
		{"abcdef", 4, 4, 4},
		{"ab\xbacd", 4, 2, 2}, // the escape does not fit
		{"ab\xbacd", 6, 3, 6}, // it does
		{"ab\\cd", 3, 2, 2},   // neither does \\ split
		{"a\u00e9b", 2, 1, 1}, // nor a character
		{"a\u00e9b", 3, 3, 3},
		{"short", 100, 5, 5},
	} {
		n, el := EscapedLen(tc.in, tc.max)
		if n != tc.n || el != tc.el {
			t.Errorf("EscapedLen(%q, %d) = %d, %d, want %d, %d", tc.in, tc.max, n, el, tc.n, tc.el)
		}
		if got := len(String(tc.in[:n])); got != el {
			t.Errorf("EscapedLen(%q, %d): escape of the prefix is %d bytes, said %d", tc.in, tc.max, got, el)
		}
	}
}

// FuzzRoundTrip: any input escapes to valid UTF-8 that unescapes to it,
// and a clean input is left alone.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"", "a", "\xba\xad", `\`, `\xBA`, "caf\u00e9", "\xc3", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := String(s)
		if !utf8.ValidString(e) {
			t.Fatalf("String(%q) = %q is not UTF-8", s, e)
		}
		if Clean(s) != (e == s) && Clean(s) {
			t.Fatalf("clean %q changed to %q", s, e)
		}
		back, err := Unescape(e)
		if err != nil || back != s {
			t.Fatalf("Unescape(String(%q)) = %q, %v", s, back, err)
		}
		n, el := EscapedLen(s, 16)
		if el > 16 || len(String(s[:n])) != el {
			t.Fatalf("EscapedLen(%q, 16) = %d, %d", s, n, el)
		}
	})
}
