package suggest

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ccaudit/auditor/catalog"
)

// WriteInventory writes rep as a site inventory in the current schema, the
// evidence for every host as comments above it, then the ambiguous and
// unknown hosts as comments. Roles are vendor-qualified when the report
// names several vendors, so the file stays valid whatever roles they share.
// chosen are the vendors asked for; they are the file's vendors when no
// host fits any.
func WriteInventory(w io.Writer, rep *Report, site string, chosen []string) error {
	vendors := rep.Vendors
	if len(vendors) == 0 {
		vendors = chosen
	}
	qualify := len(vendors) > 1
	byRole := make(map[string][]HostReport)
	guessOf := make(map[string]map[string]RoleGuess)
	for _, h := range rep.Hosts {
		for _, g := range h.Roles {
			key := g.Role
			if !qualify {
				_, key = catalog.SplitRole(g.Role)
			}
			byRole[key] = append(byRole[key], h)
			if guessOf[key] == nil {
				guessOf[key] = make(map[string]RoleGuess)
			}
			guessOf[key][h.Addr.String()] = g
		}
	}
	var b strings.Builder
	b.WriteString("# Site inventory suggested by `auditor inventory suggest` from observed flows.\n")
	b.WriteString("# Review it before use: every host carries the evidence it was placed by\n")
	b.WriteString("# (high: two or more of the role's distinctive ports; medium: one, with\n")
	b.WriteString("# several peers; low: generic ports only, used by hosts of the right roles).\n")
	b.WriteString("# Collapse client ranges into CIDRs, add standby, options and parameters.\n")
	b.WriteString("schema: 2\n")
	fmt.Fprintf(&b, "site: %s\n", yamlString(site))
	fmt.Fprintf(&b, "vendors: [%s]\n", strings.Join(vendors, ", "))
	if len(byRole) == 0 {
		b.WriteString("# No host fits a role of these vendors well enough to suggest it.\n")
		b.WriteString("roles: {}\n")
	} else {
		b.WriteString("roles:\n")
	}
	for _, role := range slices.Sorted(maps.Keys(byRole)) {
		fmt.Fprintf(&b, "  %s:\n", role)
		for _, h := range byRole[role] {
			g := guessOf[role][h.Addr.String()]
			for _, line := range evidenceLines(g, h) {
				fmt.Fprintf(&b, "    # %s\n", line)
			}
			fmt.Fprintf(&b, "    - %s\n", yamlString(h.Addr.String()))
		}
	}
	if len(rep.SameHosts) > 0 {
		b.WriteString("# Addresses one DNS name answered with, IPv4 and IPv6, each suggested for\n")
		b.WriteString("# the same roles: one dual-stack host each, paired once by the missing check.\n")
		b.WriteString("same_hosts:\n")
		for _, g := range rep.SameHosts {
			addrs := make([]string, len(g.Addrs))
			for i, ad := range g.Addrs {
				addrs[i] = yamlString(ad.String())
			}
			fmt.Fprintf(&b, "  # %s\n  - [%s]\n", g.Name, strings.Join(addrs, ", "))
		}
	}
	if len(rep.Ambiguities) > 0 {
		b.WriteString("\n# Ambiguous hosts: the traffic does not settle their role.\n")
		for _, am := range rep.Ambiguities {
			switch am.Kind {
			case "roles":
				fmt.Fprintf(&b, "#   %s is NOT listed: %s fit it equally (entries %s); choose one.\n", am.Addr, strings.Join(am.Roles, " and "), strings.Join(am.Entries, ", "))
			default:
				fmt.Fprintf(&b, "#   %s serves roles of several vendors (%s): confirm it runs both.\n", am.Addr, strings.Join(am.Roles, ", "))
			}
		}
	}
	if len(rep.Unknown) > 0 {
		b.WriteString("\n# Hosts that fit no role of these vendors (top ports of answered flows):\n")
		for _, u := range rep.Unknown {
			fmt.Fprintf(&b, "#   %s (%d flows):", u.Addr, u.Flows)
			if len(u.Serves) > 0 {
				fmt.Fprintf(&b, " serves %s;", portCounts(u.Serves))
			}
			if len(u.Uses) > 0 {
				fmt.Fprintf(&b, " uses %s;", portCounts(u.Uses))
			}
			if len(u.Hints) > 0 {
				fmt.Fprintf(&b, " weak match: %s;", strings.Join(u.Hints, ", "))
			}
			b.WriteString("\n")
		}
	}
	if rep.Unanswered > 0 {
		fmt.Fprintf(&b, "\n# %d flows were never answered (scans, blocked ports) and are not evidence.\n", rep.Unanswered)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func evidenceLines(g RoleGuess, h HostReport) []string {
	var parts []string
	for i, ev := range g.Evidence {
		if i == 4 {
			parts = append(parts, fmt.Sprintf("and %d more entries", len(g.Evidence)-4))
			break
		}
		p := fmt.Sprintf("%s %s (%s; %d flows, %d peers", ev.Side, ev.Ports, strings.Join(ev.Entries, ", "), ev.Flows, ev.Peers)
		if len(ev.PeerSample) > 0 {
			p += ": " + strings.Join(ev.PeerSample, " ")
			if ev.Peers > len(ev.PeerSample) {
				p += " ..."
			}
		}
		parts = append(parts, p+")")
	}
	lines := []string{fmt.Sprintf("%s: %s confidence; seen %s .. %s, %d flows", h.Addr, g.Confidence, stamp(h.First), stamp(h.Last), h.Flows)}
	for _, p := range parts {
		lines = append(lines, "  "+p)
	}
	if len(g.AlsoFits) > 0 {
		lines = append(lines, "  also fits (listens on more ports this host never served): "+strings.Join(g.AlsoFits, ", "))
	}
	return lines
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func portCounts(ps []PortCount) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = fmt.Sprintf("%s (%d)", p.Port, p.Flows)
	}
	return strings.Join(out, ", ")
}

// yamlString quotes s when YAML would read it as something else.
func yamlString(s string) string {
	if s == "" || strings.ContainsAny(s, ":#{}[],&*!|>'\"%@`") || strings.TrimSpace(s) != s {
		return fmt.Sprintf("%q", s)
	}
	return s
}
