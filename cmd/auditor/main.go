// Command auditor audits contact-center network flows against the vendors'
// published port maps. It only wires packages together and formats output.
package main

import (
	"context"
	"errors"
	"flag"
	"github.com/ccaudit/auditor/internal/cli"
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
	exitOK      = cli.ExitOK
	exitFailure = cli.ExitFailure
	exitUsage   = cli.ExitUsage
	exitPartial = 3
)

// streams are a command's standard streams.
type streams = cli.Streams

func commands() []cli.Command {
	return []cli.Command{
		{Name: "replay", Summary: "read pcap/pcapng captures, judge every flow, write Parquet", Run: runReplay},
		{Name: "capture", Summary: "capture live from an interface (eBPF or AF_PACKET), judge every flow, write Parquet", Run: runCapture},
		{Name: "catalog", Summary: "list, show, look up and validate vendor port catalogs; firewall rules for a site", Run: runCatalog},
		{Name: "inventory", Summary: "suggest a site inventory from observed flows, or diff one against them", Run: runInventory},
		{Name: "report", Summary: "render a compliance report from Parquet output", Run: runReport},
		{Name: "version", Summary: "print the version, VCS revision and Go toolchain of this build", Run: runVersion},
	}
}

// tuneGC bounds the heap.
// The collector keeps Go's default pace (collect when the heap doubles):
// a lazier one lets the heap grow, and the first touch of each fresh page
// costs more than the collections it saves. The soft limit keeps the
// heap inside the budget a million flows need (512 MiB) by collecting
// earlier as it nears it. GOMEMLIMIT in the environment wins.
func tuneGC() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(512 << 20)
	}
}

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
	code := run(ctx, streams{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run runs the command of args and returns the process's exit code.
func run(ctx context.Context, s streams, args []string) int {
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		args = append([]string{"version"}, args[1:]...)
	}
	p := cli.Program{Name: "auditor", Title: "passive flow auditor for contact-center networks",
		Synopsis: "<command> [flags] [args]", Commands: commands(), ExitCode: partialExit}
	return p.Run(ctx, s, args)
}

// partialExit maps a partialError to exitPartial.
func partialExit(err error) (int, bool) {
	var pe *partialError
	return exitPartial, errors.As(err, &pe)
}

func newFlagSet(s streams, name, synopsis string) *flag.FlagSet {
	return cli.NewFlagSet(s.Stderr, "auditor", name, synopsis)
}

func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) { return cli.ParseFlags(fs, args) }
