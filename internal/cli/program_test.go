package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// TestProgramRun: each outcome of a command maps to its exit code, with
// the error prefixed by program and command; help and an unknown command
// print the usage, which leaves hidden commands out.
func TestProgramRun(t *testing.T) {
	errPartial := errors.New("partial")
	p := Program{Name: "prog", Title: "a test", Synopsis: "<command>",
		Commands: []Command{
			{Name: "ok", Summary: "succeeds", Run: func(context.Context, Streams, []string) error { return nil }},
			{Name: "bad", Summary: "fails", Run: func(context.Context, Streams, []string) error { return errors.New("boom") }},
			{Name: "usage", Summary: "misused", Run: func(context.Context, Streams, []string) error { return Usagef("no such flag") }},
			{Name: "part", Summary: "partly", Run: func(context.Context, Streams, []string) error { return errPartial }},
			{Name: "secret", Hidden: true, Run: func(_ context.Context, s Streams, args []string) error {
				_, err := s.Stdout.Write([]byte(strings.Join(args, ",")))
				return err
			}},
		},
		ExitCode: func(err error) (int, bool) { return 3, errors.Is(err, errPartial) },
	}
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string // a substring
	}{
		{nil, ExitUsage, "", "Usage: prog <command>"},
		{[]string{"--help"}, ExitOK, "", "  ok     succeeds"},
		{[]string{"ok"}, ExitOK, "", ""},
		{[]string{"bad"}, ExitFailure, "", "prog bad: boom\n"},
		{[]string{"usage"}, ExitUsage, "", "prog usage: no such flag\n"},
		{[]string{"part"}, 3, "", "prog part: partial\n"},
		{[]string{"secret", "a", "b"}, ExitOK, "a,b", ""},
		{[]string{"nope"}, ExitUsage, "", "prog: unknown command \"nope\""},
	} {
		var out, errb bytes.Buffer
		code := p.Run(context.Background(), Streams{Stdout: &out, Stderr: &errb}, tc.args)
		if code != tc.code || out.String() != tc.stdout || !strings.Contains(errb.String(), tc.stderr) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %d, %q, %q", tc.args, code, out.String(), errb.String(), tc.code, tc.stdout, tc.stderr)
		}
		if strings.Contains(errb.String(), "secret") {
			t.Errorf("%q: the hidden command is in the usage:\n%s", tc.args, errb.String())
		}
	}
}
