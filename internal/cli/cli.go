// Package cli holds what the project's commands (auditor, auditor-dev)
// share about their command lines: subcommand dispatch and exit codes,
// usage errors, flag sets that report instead of exiting, flags after
// positional arguments, and sizes for people.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// UsageError is the user's mistake on the command line; commands map it to
// their usage exit code.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef formats a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{fmt.Sprintf(format, args...)}
}

// NewFlagSet returns a flag set for "prog name" that reports errors instead
// of exiting, so the caller maps them to exit codes; usage text goes to
// stderr.
func NewFlagSet(stderr io.Writer, prog, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(prog+" "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s %s %s\n\nFlags:\n", prog, name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// ParseFlags parses args, turning flag errors into usage errors. It
// accepts flags after positional arguments too (auditor replay file.pcap
// --json), as users of tcpdump-like tools expect; "--" ends the flags.
func ParseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &UsageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// HumanBytes prints a size with binary units: "512 B", "1.3 MiB".
func HumanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
