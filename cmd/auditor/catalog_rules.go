package main

import (
	"encoding/json"
	"fmt"

	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/catalog/rules"
)

// catalogRules writes the allow-list the catalog and a site inventory
// imply, for the firewall team.
func catalogRules(s streams, args []string) error {
	fs := newFlagSet(s, "catalog rules", "--site FILE [--vendor V]... [--format csv|nft|iptables|ip6tables|json] [--policy accept|drop] [--hook forward|input]")
	site := fs.String("site", "", "site inventory `file` (required)")
	var vendors, cats fileList
	fs.Var(&vendors, "vendor", "only entries of this vendor `id` (repeatable; default every deployed vendor; the site's allow rules are always included)")
	fs.Var(&cats, "catalog", "user catalog `file` to add (repeatable)")
	format := fs.String("format", "csv", "output: csv (change request), nft (nft -f), iptables (iptables-restore, IPv4), ip6tables (ip6tables-restore, IPv6) or json")
	policy := fs.String("policy", "accept", "nft/iptables: what the base chain does with flows the list does not cover: accept (count only, audit mode) or drop")
	hook := fs.String("hook", "forward", "nft/iptables: attach to the forward hook (a firewall between segments) or input (a host firewall)")
	table := fs.String("table", "auditor_rules", "nft table name; upper-cased with '-' it names the iptables chain")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *site == "" {
		fs.Usage()
		return usagef("--site is required")
	}
	o := rules.FormatOptions{Policy: rules.Policy(*policy), Hook: rules.Hook(*hook), Table: *table}
	switch o.Policy {
	case rules.PolicyAccept, rules.PolicyDrop:
	default:
		return usagef("--policy must be accept or drop, not %q", *policy)
	}
	switch o.Hook {
	case rules.HookForward, rules.HookInput:
	default:
		return usagef("--hook must be forward or input, not %q", *hook)
	}
	switch *format {
	case "csv", "nft", "iptables", "ip6tables", "json":
	default:
		return usagef("--format must be csv, nft, iptables, ip6tables or json, not %q", *format)
	}
	cat, err := catalog.DefaultWith(cats)
	if err != nil {
		return err
	}
	inv, err := catalog.LoadInventory(*site)
	if err != nil {
		return err
	}
	if err := inv.Check(cat); err != nil {
		return err
	}
	set, err := rules.Build(cat, inv, rules.Options{Vendors: vendors})
	if err != nil {
		return fmt.Errorf("%s: %w", *site, err)
	}
	switch *format {
	case "csv":
		return rules.WriteCSV(s.Stdout, set)
	case "nft":
		return rules.WriteNft(s.Stdout, set, o)
	case "iptables":
		return rules.WriteIptables(s.Stdout, set, o, 4)
	case "ip6tables":
		return rules.WriteIptables(s.Stdout, set, o, 6)
	}
	enc := json.NewEncoder(s.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(set)
}
