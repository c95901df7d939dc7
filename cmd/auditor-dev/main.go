// Command auditor-dev holds the development tools of the auditor: the
// synthetic capture generator (gen) and the replay benchmark against peer
// tools (bench). They are kept out of the shipped auditor binary, which
// neither links the generator nor starts other programs.
package main

import (
	"context"
	"flag"
	"github.com/ccaudit/auditor/internal/cli"
	"os"
	"os/signal"
	"syscall"
)

// streams are a command's standard streams.
type streams = cli.Streams

// Exit codes: 0 success, 1 runtime error, 2 usage error.
const (
	exitOK      = cli.ExitOK
	exitFailure = cli.ExitFailure
	exitUsage   = cli.ExitUsage
)

func commands() []cli.Command {
	return []cli.Command{
		{Name: "gen", Summary: "write a deterministic synthetic contact-center capture", Run: runGen},
		{Name: "bench", Summary: "measure auditor replay against tshark, ndpiReader and heplify on a generated capture", Run: runBench},
	}
}

func usagef(format string, args ...any) error { return cli.Usagef(format, args...) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, streams{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

// run runs the command of args and returns the process's exit code: 0
// success, 1 runtime error, 2 usage error.
func run(ctx context.Context, s streams, args []string) int {
	p := cli.Program{Name: "auditor-dev", Title: "development tools of the auditor (not shipped)",
		Synopsis: "<command> [flags]", Commands: commands()}
	return p.Run(ctx, s, args)
}

func newFlagSet(s streams, name, synopsis string) *flag.FlagSet {
	return cli.NewFlagSet(s.Stderr, "auditor-dev", name, synopsis)
}

func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) { return cli.ParseFlags(fs, args) }

func humanBytes(n uint64) string { return cli.HumanBytes(n) }
