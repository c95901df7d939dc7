package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

// Exit codes every command shares; a program may add its own (ExitCode).
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// Streams are a command's standard streams, passed explicitly so commands
// are testable without touching the process's globals.
type Streams struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Command is one subcommand of a Program.
type Command struct {
	Name    string
	Summary string
	Hidden  bool // left out of the usage text
	Run     func(ctx context.Context, s Streams, args []string) error
}

// Program is a command line of subcommands: "prog <command> [flags]".
type Program struct {
	Name     string // "auditor"
	Title    string // one line under the name in the usage text
	Synopsis string // "<command> [flags] [args]"
	Commands []Command
	// ExitCode, if set, maps a command's error to an exit code of the
	// program's own (ok false: the shared mapping applies).
	ExitCode func(err error) (code int, ok bool)
}

// Run runs the command args name and returns the exit code: 0 on success
// or help, 2 for a usage error or an unknown command, 1 for any other
// error, which goes to s.Stderr prefixed with the program and command.
func (p *Program) Run(ctx context.Context, s Streams, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		p.Usage(s.Stderr)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	for _, c := range p.Commands {
		if c.Name == args[0] {
			return p.exitCode(s.Stderr, c.Name, c.Run(ctx, s, args[1:]))
		}
	}
	fmt.Fprintf(s.Stderr, "%s: unknown command %q\n\n", p.Name, args[0])
	p.Usage(s.Stderr)
	return ExitUsage
}

func (p *Program) exitCode(stderr io.Writer, name string, err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	fmt.Fprintf(stderr, "%s %s: %v\n", p.Name, name, err)
	var ue *UsageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	if p.ExitCode != nil {
		if code, ok := p.ExitCode(err); ok {
			return code
		}
	}
	return ExitFailure
}

// Usage writes the program's usage text: its commands and their summaries.
func (p *Program) Usage(w io.Writer) {
	width := 0
	for _, c := range p.Commands {
		if !c.Hidden {
			width = max(width, len(c.Name))
		}
	}
	fmt.Fprintf(w, "%s: %s\n", p.Name, p.Title)
	fmt.Fprintf(w, "\nUsage: %s %s\n\nCommands:\n", p.Name, p.Synopsis)
	for _, c := range p.Commands {
		if !c.Hidden {
			fmt.Fprintf(w, "  %-*s  %s\n", width, c.Name, c.Summary)
		}
	}
	fmt.Fprintf(w, "\nRun '%s <command> --help' for a command's flags.\n", p.Name)
}
