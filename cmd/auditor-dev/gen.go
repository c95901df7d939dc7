package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/ccaudit/auditor/internal/synth"
)

// runGen writes a synthetic capture (see internal/synth for the site it
// simulates). Hidden: it exists for tests, benchmarks and the README demo.
func runGen(ctx context.Context, s streams, args []string) error {
	fs := newFlagSet(s, "gen", "[--packets N] [--seed S] [--format pcap|pcapng] [--scenario NAME ...] [--demo] --out FILE")
	packets := fs.Int("packets", 0, "target packet count (0: one instance of each scenario)")
	seed := fs.Uint64("seed", 1, "random seed; the same flags give the same bytes")
	format := fs.String("format", "pcapng", "output format: pcap or pcapng")
	out := fs.String("out", "", "output file (- for standard output)")
	demo := fs.Bool("demo", false, "write the README demo capture (ignores the other content flags)")
	call := fs.Duration("call", 0, "mean call duration (default 30s)")
	wan := fs.Bool("wan-interface", false, "put traffic to and from beyond the router on a second pcapng interface")
	var scenarios scenarioList
	fs.Var(&scenarios, "scenario", "include this scenario (repeatable, or comma-separated; default all): "+strings.Join(scenarioNames(), ", "))
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *out == "" {
		return usagef("--out is required")
	}
	opts := synth.Options{Seed: *seed, Packets: *packets, Scenarios: scenarios, CallDuration: *call, WANInterface: *wan}
	if *demo {
		opts = synth.DemoOptions()
	}
	if opts.Format, err = synth.ParseFormat(*format); err != nil {
		return usagef("%v", err)
	}
	if *packets < 0 {
		return usagef("--packets must not be negative")
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	if *out == "-" {
		st, err := synth.Generate(s.Stdout, opts)
		if err != nil {
			return err
		}
		return report(s, st, "standard output")
	}
	st, err := synth.WriteFile(*out, opts)
	if err != nil {
		return err
	}
	return report(s, st, *out)
}

func report(s streams, st synth.Stats, name string) error {
	_, err := fmt.Fprintf(s.Stderr, "wrote %s: %d packets, %d bytes, %d calls, %d flows, %.1f%% RTP, %s\n",
		name, st.Packets, st.Bytes, st.Calls, st.TotalFlows(), 100*float64(st.RTPPackets)/float64(max(st.Packets, 1)), st.Last.Sub(st.First).Round(1e6))
	return err
}

// scenarioList collects --scenario flags.
type scenarioList []synth.Scenario

func (l *scenarioList) String() string {
	parts := make([]string, len(*l))
	for i, s := range *l {
		parts[i] = string(s)
	}
	return strings.Join(parts, ",")
}

func (l *scenarioList) Set(v string) error {
	for name := range strings.SplitSeq(v, ",") {
		s, err := synth.ParseScenario(strings.TrimSpace(name))
		if err != nil {
			return err
		}
		*l = append(*l, s)
	}
	return nil
}

// scenarioNames lists the default scenarios, then the opt-in ones (a SYN
// flood is never in the default mix).
func scenarioNames() []string {
	var names []string
	for _, s := range synth.Scenarios() {
		names = append(names, string(s))
	}
	for _, s := range synth.OptInScenarios() {
		names = append(names, string(s)+" (opt-in)")
	}
	return names
}
