package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"runtime"
	"strings"

	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/engine"
	"github.com/ccaudit/auditor/report/suggest"
)

const inventorySynopsis = `<suggest|diff> [flags] FILE|DIR...

  suggest [--vendor V]... [--site-name NAME] [--json] FILE|DIR...
                 propose a site inventory from observed flows, with the evidence
  diff    SITE.yaml [--vendor V]... [--json] FILE|DIR...
                 where observed traffic contradicts a written inventory

  FILE|DIR: a replay's output directory or flows.parquet, a live capture's
  output directory (its date=/hour= partitions), or pcap/pcapng captures,
  which are replayed first (port-only) into a temporary directory.`

func runInventory(ctx context.Context, s streams, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(s.Stderr, "Usage: auditor inventory %s\n", inventorySynopsis)
		if len(args) == 0 {
			return usagef("missing subcommand")
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "suggest":
		return inventorySuggest(ctx, s, args[1:])
	case "diff":
		return inventoryDiff(ctx, s, args[1:])
	}
	return usagef("unknown inventory subcommand %q (want suggest or diff)", args[0])
}

// analyzeInputs reads the flows of every input into a new analyzer: the
// engine replays the captures among them, without an inventory.
func analyzeInputs(ctx context.Context, s streams, cat *catalog.Catalog, vendors []string, inputs []string) (*suggest.Analyzer, error) {
	an, err := suggest.New(suggest.Config{Catalog: cat, Vendors: vendors})
	if err != nil {
		return nil, &usageError{Msg: err.Error()}
	}
	in, err := engine.OpenFlowInputs(ctx, engine.FlowInputsConfig{
		Inputs: inputs, Stdin: s.Stdin, Workers: runtime.GOMAXPROCS(0),
		Notify: func(msg string) { fmt.Fprintf(s.Stderr, "auditor replay: %s\n", msg) },
	})
	if err != nil {
		return nil, err
	}
	defer in.Close()
	if in.Partial {
		// The flows of what could be read were written: a damaged capture
		// among good ones still tells which roles the readable traffic
		// shows. Each file's problem is on stderr above; the files are
		// named again here.
		names := "some input"
		if len(in.Damaged) > 0 {
			names = strings.Join(in.Damaged, ", ")
		}
		fmt.Fprintf(s.Stderr, "auditor inventory: warning: damaged or unreadable input, using the flows that could be read: %s\n", names)
	}
	st, err := suggest.ReadParquet(an, in.Files)
	return an, readDone(s, st, err)
}

func readDone(s streams, st suggest.ReadStats, err error) error {
	for _, u := range st.Unreadable {
		fmt.Fprintf(s.Stderr, "auditor inventory: skipped %s\n", u)
	}
	if st.BadRows > 0 {
		fmt.Fprintf(s.Stderr, "auditor inventory: skipped %d rows with unparsable addresses\n", st.BadRows)
	}
	return err
}

func inventorySuggest(ctx context.Context, s streams, args []string) error {
	fs := newFlagSet(s, "inventory suggest", "[--vendor V]... [--site-name NAME] [--json] FILE|DIR...")
	var vendors, cats fileList
	fs.Var(&vendors, "vendor", "suggest roles of this vendor `id` only (repeatable; default every vendor)")
	fs.Var(&cats, "catalog", "user catalog `file` to add (repeatable)")
	siteName := fs.String("site-name", "suggested-site", "the site: name of the written inventory")
	asJSON := fs.Bool("json", false, "write the suggestion and its evidence as JSON instead of YAML")
	inputs, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(inputs) == 0 {
		fs.Usage()
		return usagef("no flows or capture given")
	}
	cat, err := catalog.DefaultWith(cats)
	if err != nil {
		return err
	}
	an, err := analyzeInputs(ctx, s, cat, vendors, inputs)
	if err != nil {
		return err
	}
	rep := an.Suggest()
	if *asJSON {
		enc := json.NewEncoder(s.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return suggest.WriteInventory(s.Stdout, rep, *siteName, an.Vendors())
}

func inventoryDiff(ctx context.Context, s streams, args []string) error {
	fs := newFlagSet(s, "inventory diff", "SITE.yaml [--vendor V]... [--json] FILE|DIR...")
	var vendors, cats fileList
	fs.Var(&vendors, "vendor", "check roles of this vendor `id` only (repeatable; default the site's vendors)")
	fs.Var(&cats, "catalog", "user catalog `file` to add (repeatable)")
	asJSON := fs.Bool("json", false, "one JSON object per contradiction")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		fs.Usage()
		return usagef("want the site inventory and at least one flows output or capture")
	}
	cat, err := catalog.DefaultWith(cats)
	if err != nil {
		return err
	}
	inv, err := catalog.LoadInventory(pos[0])
	if err != nil {
		return err
	}
	if err := inv.Check(cat); err != nil {
		return err
	}
	if len(vendors) == 0 {
		vendors = inv.Vendors
	}
	an, err := analyzeInputs(ctx, s, cat, vendors, pos[1:])
	if err != nil {
		return err
	}
	cs, err := an.Diff(inv, an.Suggest())
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(s.Stdout)
		for _, c := range cs {
			if err := enc.Encode(c); err != nil {
				return err
			}
		}
		return nil
	}
	if len(cs) == 0 {
		fmt.Fprintf(s.Stdout, "no contradiction: every listed role shows in the traffic, and no host serves a role it is not listed in\n")
		return nil
	}
	for _, c := range cs {
		role := ""
		if c.Role != "" {
			role = " " + c.Role
		}
		fmt.Fprintf(s.Stdout, "%-14s %s%s: %s\n", c.Kind, c.Host, role, c.Detail)
	}
	return nil
}
