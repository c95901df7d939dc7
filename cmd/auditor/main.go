// Command auditor audits contact-center network flows against the vendors'
// published port maps. It only wires packages together and formats output.
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
	"runtime/debug"
	"syscall"
)

// Exit codes (docs/operations.md lists them): 0 success, 1 runtime error
// (nothing usable was written), 2 usage error, 3 partial: the outputs were
// written, but some input was damaged or unreadable, or some alerts could
// not be delivered.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	exitPartial = 3
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
	hidden  bool
	run     func(ctx context.Context, s streams, args []string) error
}

func commands() []command {
	return []command{
		{name: "replay", summary: "read pcap/pcapng captures, judge every flow, write Parquet", run: runReplay},
		{name: "capture", summary: "capture live from an interface (eBPF or AF_PACKET), judge every flow, write Parquet", run: runCapture},
		{name: "catalog", summary: "list, show, look up and validate vendor port catalogs; firewall rules for a site", run: runCatalog},
		{name: "inventory", summary: "suggest a site inventory from observed flows, or diff one against them", run: runInventory},
		{name: "report", summary: "render a compliance report from Parquet output", run: runReport},
		{name: "version", summary: "print the version, VCS revision and Go toolchain of this build", run: runVersion},
	}
}

// tuneGC bounds the heap.
// The collector keeps Go's default pace (collect when the heap doubles).
// A lazier one (GOGC=400) was tried: on these virtual machines the first
// touch of every fresh page costs about 13 us, and the larger heap it lets
// grow (170 MiB against 120 MiB peak on the benchmark capture) cost more
// in page faults than the collections it saved. The soft limit keeps the
// heap inside the budget a million flows need (512 MiB) by collecting
// earlier as it nears it. GOMEMLIMIT in the environment wins.
func tuneGC() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(512 << 20)
	}
}

// usageError marks errors that are the caller's fault: exit code 2.
// usageError is the user's mistake on the command line: exit code 2.
type usageError = cli.UsageError

func usagef(format string, args ...any) error { return cli.Usagef(format, args...) }

// partialError marks a run that wrote its outputs but could not do all it
// was asked: exit code 3.
type partialError struct{ msg string }

func (e *partialError) Error() string { return e.msg }

func main() {
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, streams{os.Stdin, os.Stdout, os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, s streams, args []string) int {
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		args = append([]string{"version"}, args[1:]...)
	}
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
		err := c.run(ctx, s, args[1:])
		return exitCode(s.stderr, c.name, err)
	}
	fmt.Fprintf(s.stderr, "auditor: unknown command %q\n\n", args[0])
	usage(s.stderr)
	return exitUsage
}

func exitCode(stderr io.Writer, name string, err error) int {
	var ue *usageError
	var pe *partialError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "auditor %s: %v\n", name, err)
		return exitUsage
	case errors.As(err, &pe):
		fmt.Fprintf(stderr, "auditor %s: %v\n", name, err)
		return exitPartial
	}
	fmt.Fprintf(stderr, "auditor %s: %v\n", name, err)
	return exitFailure
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "auditor: passive flow auditor for contact-center networks")
	fmt.Fprintln(w, "\nUsage: auditor <command> [flags] [args]\n\nCommands:")
	for _, c := range commands() {
		if !c.hidden {
			fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
		}
	}
	fmt.Fprintln(w, "\nRun 'auditor <command> --help' for a command's flags.")
}

func newFlagSet(s streams, name, synopsis string) *flag.FlagSet {
	return cli.NewFlagSet(s.stderr, "auditor", name, synopsis)
}

func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) { return cli.ParseFlags(fs, args) }
