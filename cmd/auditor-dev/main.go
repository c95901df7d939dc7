// Command auditor-dev holds the development tools of the auditor: the
// synthetic capture generator (gen) and the replay benchmark against peer
// tools (bench). They are kept out of the shipped auditor binary, which
// neither links the generator nor starts other programs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/ccaudit/auditor/internal/cli"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes: 0 success, 1 runtime error, 2 usage error.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// streams are the command's standard streams, passed explicitly so commands
// are testable without touching the process's globals.
type streams struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, s streams, args []string) error
}

func commands() []command {
	return []command{
		{name: "gen", summary: "write a deterministic synthetic contact-center capture", run: runGen},
		{name: "bench", summary: "measure auditor replay against tshark, ndpiReader and heplify on a generated capture", run: runBench},
	}
}

// usageError marks errors that are the caller's fault: exit code 2.
// usageError is the user's mistake on the command line: exit code 2.
type usageError = cli.UsageError

func usagef(format string, args ...any) error { return cli.Usagef(format, args...) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, streams{os.Stdin, os.Stdout, os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, s streams, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(s.stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		return exitCode(s.stderr, c.name, c.run(ctx, s, args[1:]))
	}
	fmt.Fprintf(s.stderr, "auditor-dev: unknown command %q\n\n", args[0])
	usage(s.stderr)
	return exitUsage
}

func exitCode(stderr io.Writer, name string, err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "auditor-dev %s: %v\n", name, err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "auditor-dev %s: %v\n", name, err)
	return exitFailure
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "auditor-dev: development tools of the auditor (not shipped)")
	fmt.Fprintln(w, "\nUsage: auditor-dev <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-7s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'auditor-dev <command> --help' for a command's flags.")
}

func newFlagSet(s streams, name, synopsis string) *flag.FlagSet {
	return cli.NewFlagSet(s.stderr, "auditor-dev", name, synopsis)
}

func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) { return cli.ParseFlags(fs, args) }

func humanBytes(n uint64) string { return cli.HumanBytes(n) }
