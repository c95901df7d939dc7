package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/ccaudit/auditor/catalog"
)

const catalogSynopsis = `<list|show|lookup|roles|validate|rules> [flags] [args]

  list     [--vendor V] [--json]                       list catalog entries
  roles    [VENDOR] [--json]                           the roles an inventory may give hosts, with
                                                       what they imply and the vendor's options
  show     ID [--json]                                 show one entry in full
  lookup   --proto tcp|udp --port N [--vendor V] [--json] [--dynamic] [--inventory FILE]
                                                       entries covering a port; no output when none
  validate [FILE...]                                   check catalog and inventory files (default:
                                                       the built-in catalog); every problem listed,
                                                       then warnings (overlapping host addresses)
  rules    --site FILE [--format csv|nft|iptables|ip6tables|json] [--vendor V]
                                                       the firewall allow-list the catalog and the
                                                       site imply, each rule citing its document

  --catalog FILE (repeatable) adds a user catalog to the built-in one.`

// fileList is a repeatable string flag.
type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

func runCatalog(ctx context.Context, s streams, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(s.Stderr, "Usage: auditor catalog %s\n", catalogSynopsis)
		if len(args) == 0 {
			return usagef("missing subcommand")
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "list":
		return catalogList(s, args[1:])
	case "show":
		return catalogShow(s, args[1:])
	case "lookup":
		return catalogLookup(s, args[1:])
	case "roles":
		return catalogRoles(s, args[1:])
	case "validate":
		return catalogValidate(s, args[1:])
	case "rules":
		return catalogRules(s, args[1:])
	}
	return usagef("unknown catalog subcommand %q (want list, show, lookup, roles, validate or rules)", args[0])
}

func catalogList(s streams, args []string) error {
	fs := newFlagSet(s, "catalog list", "[--vendor V] [--json] [--catalog FILE]...")
	vendor := fs.String("vendor", "", "only entries of this vendor `id`")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	var cats fileList
	fs.Var(&cats, "catalog", "user catalog `file` to add (repeatable)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("list takes no arguments, got %q", pos)
	}
	c, err := catalog.DefaultWith(cats)
	if err != nil {
		return err
	}
	if *vendor != "" {
		if _, ok := c.Vendor(*vendor); !ok {
			return usagef("unknown vendor %q", *vendor)
		}
	}
	out := newEntryWriter(s.Stdout, *asJSON)
	for _, e := range c.Entries() {
		if *vendor == "" || e.Vendor == *vendor {
			out.write(e, e.Ports)
		}
	}
	return out.err
}

func catalogShow(s streams, args []string) error {
	fs := newFlagSet(s, "catalog show", "ID [--json] [--catalog FILE]...")
	asJSON := fs.Bool("json", false, "print the entry as JSON")
	var cats fileList
	fs.Var(&cats, "catalog", "user catalog `file` to add (repeatable)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("show takes one entry ID, e.g. genesys-pureconnect/notifier-tls")
	}
	c, err := catalog.DefaultWith(cats)
	if err != nil {
		return err
	}
	e, ok := c.Entry(pos[0])
	if !ok {
		return fmt.Errorf("no catalog entry %q (see auditor catalog list)", pos[0])
	}
	if *asJSON {
		b, err := json.MarshalIndent(e, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(s.Stdout, "%s\n", b)
		return err
	}
	return showEntry(s.Stdout, e)
}

func showEntry(w io.Writer, e *catalog.Entry) error {
	var b bytes.Buffer
	field := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-13s %s\n", k+":", v)
		}
	}
	field("id", e.ID)
	field("vendor", e.Vendor)
	field("component", e.Component)
	field("from", e.From.String())
	field("to", e.To.String())
	field("direction", e.Direction.String())
	field("transport", e.Transport.String())
	field("ports", e.Ports.String())
	if !e.FromPorts.IsZero() {
		field("from ports", e.FromPorts.String())
	}
	if a := e.Area; a != nil {
		field("area", fmt.Sprintf("%s (default %d) + %d × %s (default %d)", a.First.Name, a.First.Default, a.PortsPer, a.Count.Name, a.Count.Default))
	}
	field("app", e.App)
	field("tls", e.TLS.String())
	field("configurable", strconv.FormatBool(e.Configurable))
	field("required", strconv.FormatBool(e.Required))
	field("one of", e.OneOf)
	for _, name := range slices.Sorted(maps.Keys(e.RequiredWhen)) {
		field("required if", name+" is "+strings.Join(e.RequiredWhen[name], " or "))
	}
	field("peers", e.Peers)
	field("fqdns", strings.Join(e.FQDNs, ", "))
	var cidrs []string
	for _, p := range e.CIDRs {
		cidrs = append(cidrs, p.String())
	}
	field("cidrs", strings.Join(cidrs, ", "))
	field("notes", e.Notes)
	field("source", e.Source.String())
	field("quote", e.Source.Quote)
	for _, a := range e.Source.Also {
		field("also", a)
	}
	_, err := w.Write(b.Bytes())
	return err
}

func catalogLookup(s streams, args []string) error {
	fs := newFlagSet(s, "catalog lookup", "--proto tcp|udp --port N [--vendor V] [--json] [--dynamic] [--inventory FILE] [--catalog FILE]...")
	protoName := fs.String("proto", "", "transport: tcp or udp (required)")
	port := fs.Int("port", -1, "destination `port` 0-65535 (required)")
	vendor := fs.String("vendor", "", "only entries of this vendor `id`")
	asJSON := fs.Bool("json", false, "one JSON object per line")
	dynamic := fs.Bool("dynamic", false, "also list entries whose port is negotiated at run time (RTP \"Dynamic\")")
	invFile := fs.String("inventory", "", "site inventory `file`: apply its port overrides, area parameters and allow rules")
	var cats fileList
	fs.Var(&cats, "catalog", "user catalog `file` to add (repeatable)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("lookup takes no arguments, got %q", pos)
	}
	if *protoName == "" || *port < 0 {
		return usagef("lookup needs --proto and --port")
	}
	if *port > 65535 {
		return usagef("--port %d: want 0-65535", *port)
	}
	proto, err := catalog.ParseProto(*protoName)
	if err != nil || (proto != 6 && proto != 17) {
		return usagef("--proto %q: want tcp or udp", *protoName)
	}
	c, err := catalog.DefaultWith(cats)
	if err != nil {
		return err
	}
	if *vendor != "" {
		if _, ok := c.Vendor(*vendor); !ok && *vendor != catalog.SiteVendor {
			return usagef("unknown vendor %q", *vendor)
		}
	}
	var inv *catalog.Inventory
	if *invFile != "" {
		if inv, err = catalog.LoadInventory(*invFile); err != nil {
			return err
		}
		if err := inv.Check(c); err != nil {
			return err
		}
	}
	out := newEntryWriter(s.Stdout, *asJSON)
	for _, m := range c.LookupPort(inv, catalog.PortQuery{Proto: proto, Port: uint16(*port), Vendor: *vendor, Dynamic: *dynamic}) {
		out.write(m.Entry, m.Ports)
	}
	return out.err
}

// entryWriter prints entries as aligned text lines or JSON lines, keeping
// the first write error.
type entryWriter struct {
	w      io.Writer
	asJSON bool
	err    error
}

func newEntryWriter(w io.Writer, asJSON bool) *entryWriter { return &entryWriter{w: w, asJSON: asJSON} }

// write prints e with ports, the ports in effect (a site override may
// differ from the catalog's).
func (o *entryWriter) write(e *catalog.Entry, ports catalog.PortSet) {
	if o.err != nil {
		return
	}
	if o.asJSON {
		cp := *e
		cp.Ports = ports
		// Encoder, not Marshal: ports such as ">=5000" stay readable
		// instead of becoming "\u003e=5000".
		enc := json.NewEncoder(o.w)
		enc.SetEscapeHTML(false)
		o.err = enc.Encode(&cp)
		return
	}
	arrow := "->"
	if e.Direction == catalog.BothWays {
		arrow = "<->"
	}
	_, o.err = fmt.Fprintf(o.w, "%-52s %-4s %-22s %s %s %s  [%s]\n",
		e.ID, e.Transport, ports, e.From, arrow, e.To, e.Source)
}

func catalogValidate(s streams, args []string) error {
	fs := newFlagSet(s, "catalog validate", "[FILE...] [--catalog FILE]...")
	var cats fileList
	fs.Var(&cats, "catalog", "user catalog `file` the inventories may refer to (repeatable)")
	files, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	v := catalog.Validate(append(append([]string(nil), cats...), files...))
	for _, p := range v.Problems {
		fmt.Fprintln(s.Stdout, p)
	}
	for _, w := range v.Warnings {
		fmt.Fprintln(s.Stdout, w)
	}
	if len(v.Problems) > 0 {
		return fmt.Errorf("%d problem(s)", len(v.Problems))
	}
	c := v.Catalog
	if len(files) == 0 && len(cats) == 0 {
		fmt.Fprintf(s.Stdout, "ok: built-in catalog, %d vendors, %d entries\n", len(c.Vendors()), len(c.Entries()))
		return nil
	}
	fmt.Fprintf(s.Stdout, "ok: %d file(s), %d vendors, %d entries, %d inventories\n", v.Files, len(c.Vendors()), len(c.Entries()), v.Inventories)
	return nil
}

func catalogRoles(s streams, args []string) error {
	fs := newFlagSet(s, "catalog roles", "[VENDOR] [--json] [--catalog FILE]...")
	asJSON := fs.Bool("json", false, "one JSON object per role, per line")
	var cats fileList
	fs.Var(&cats, "catalog", "user catalog `file` to add (repeatable)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("roles takes at most one vendor id, got %q", pos)
	}
	c, err := catalog.DefaultWith(cats)
	if err != nil {
		return err
	}
	vendors := c.Vendors()
	if len(pos) == 1 {
		v, ok := c.Vendor(pos[0])
		if !ok {
			return usagef("unknown vendor %q", pos[0])
		}
		vendors = []*catalog.Vendor{v}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for i, v := range vendors {
		if !*asJSON {
			if i > 0 {
				b.WriteByte('\n')
			}
			fmt.Fprintf(&b, "%s (%s): write a role as %s/ROLE where another deployed vendor has one of the same name\n", v.ID, v.Name, v.ID)
		}
		for _, ri := range c.VendorRoles(v.ID) {
			if *asJSON {
				if err := enc.Encode(ri); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(&b, "  %-30s %s", ri.Role, ri.Description)
			if len(ri.Implies) > 0 {
				fmt.Fprintf(&b, " (also plays %s)", strings.Join(ri.Implies, ", "))
			}
			if len(ri.ImpliedBy) > 0 {
				fmt.Fprintf(&b, " (played by every %s too)", strings.Join(ri.ImpliedBy, ", "))
			}
			fmt.Fprintf(&b, " [%d entries]\n", ri.Entries)
		}
		if *asJSON {
			continue
		}
		for _, g := range v.Cohost {
			fmt.Fprintf(&b, "  may share a host: %s\n", strings.Join(g, ", "))
		}
		for _, o := range v.Options {
			def := "undeclared: any alternative will do"
			if o.Default != "" {
				def = "default " + o.Default
			}
			fmt.Fprintf(&b, "  option %s: %s (%s)\n", o.Name, strings.Join(o.Values, " | "), def)
			if o.Doc != "" {
				fmt.Fprintf(&b, "    %s\n", o.Doc)
			}
		}
	}
	_, err = s.Stdout.Write(b.Bytes())
	return err
}
