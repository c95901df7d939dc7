package compliance_test

import (
	"strings"
	"testing"

	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/report/compliance"
	"github.com/ccaudit/auditor/report/parquetout"
)

// paritySite deploys the Sinch Communication Desktop, whose RTP holds the
// even ports of 5004-5030, with its RTCP moved away from 5005-5031: the
// odd ports of 5004-5030 are then inside the numbers of a documented
// range but in none of its members.
const paritySite = `schema: 1
site: parity-site
vendors: [sinch-contact-center]
roles:
  workstation: [10.20.0.0/24]
overrides:
  - entry: sinch-contact-center/cdt-rtcp
    ports: 7005-7031/odd
`

func parityOptions(t *testing.T) compliance.Options {
	t.Helper()
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	inv, err := catalog.ReadInventory(strings.NewReader(paritySite), "parity-site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return compliance.Options{Catalog: cat, Sites: []*catalog.Inventory{inv}, Input: "parity"}
}

func cdtRTP(src string, sport int32, dst string, dport int32) parquetout.FlowRow {
	r := rtp(at(9, 0), src, sport, dst, dport, false)
	r.Vendor, r.EntryID = "sinch-contact-center", "sinch-contact-center/cdt-rtp"
	return r
}

// portCounts sums the chart's bins: in a documented range, outside every
// range and unconstrained, judged out of range by a finding.
func portCounts(m compliance.Media) (in, unconstrained, out int64) {
	for _, b := range m.Ports {
		in, unconstrained, out = in+b.InRange, unconstrained+b.Unconstrained, out+b.OutOfRange
	}
	return in, unconstrained, out
}

// A port inside a range's numbers but of the wrong parity is not in the
// documented range: the catalog's membership decides, not lo <= p <= hi.
// And no port is out of range unless a finding judged it so.
func TestReportMediaParity(t *testing.T) {
	flows := []parquetout.FlowRow{
		cdtRTP("10.20.0.5", 5006, "10.20.0.6", 5008), // both even: documented
		cdtRTP("10.20.0.5", 5010, "10.20.0.7", 5007), // 5007: odd, in 5004-5030's numbers
	}
	outside := parquetout.FindingRow{
		Kind: "media-outside-documented-range", Severity: "medium", SeverityRank: 2, Proto: "udp",
		SrcIP: "10.20.0.5", DstIP: "10.20.0.7", DstPort: 5007, Vendor: "sinch-contact-center",
		EntryID: "sinch-contact-center/cdt-rtp", Reason: "outside 5004-5030/even", Count: 1,
		FirstSeen: at(9, 0), LastSeen: at(9, 1), FindingID: "00000000000000aa",
	}
	evenJudged := outside
	evenJudged.SrcIP, evenJudged.DstIP, evenJudged.DstPort, evenJudged.FindingID = "10.20.0.5", "10.20.0.6", 5008, "00000000000000bb"
	for _, tc := range []struct {
		name                 string
		findings             []parquetout.FindingRow
		in, unconstr, judged int64
	}{
		{"without a finding the odd port is only outside", nil, 3, 1, 0},
		{"the finding makes it out of range", []parquetout.FindingRow{outside}, 3, 0, 1},
		// The engine judges by the range of the host's role; another
		// entry's range holding the port does not overrule it.
		{"a finding on a port in some range is out of range", []parquetout.FindingRow{evenJudged}, 2, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := compliance.NewBuilder(parityOptions(t))
			b.AddFlows(compliance.File{Path: "flows.parquet", Table: compliance.FlowsTable}, flows)
			b.AddFindings(compliance.File{Path: "findings.parquet", Table: compliance.FindingsTable}, tc.findings)
			r := b.Report()
			in, unconstr, judged := portCounts(r.Media)
			if in != tc.in || unconstr != tc.unconstr || judged != tc.judged {
				t.Errorf("ports in range %d, unconstrained %d, judged out %d; want %d, %d, %d",
					in, unconstr, judged, tc.in, tc.unconstr, tc.judged)
			}
			if r.Media.OutOfRange != tc.judged {
				t.Errorf("out of range %d, want %d: only findings judge media ranges", r.Media.OutOfRange, tc.judged)
			}
			want := compliance.PortRange{Entry: "sinch-contact-center/cdt-rtp", Lo: 5004, Hi: 5030, Parity: "even"}
			found := false
			for _, pr := range r.Media.Ranges {
				found = found || pr == want
				if pr.Lo == 5005 {
					t.Errorf("range %+v: the inventory's override must replace the catalog's", pr)
				}
			}
			if !found {
				t.Errorf("ranges %+v lack %+v", r.Media.Ranges, want)
			}
			if md := string(render(t, r, compliance.Markdown)); !strings.Contains(md, "5004-5030/even") || !strings.Contains(md, "7005-7031/odd") {
				t.Error("markdown does not show the ranges' parity")
			}
		})
	}
}
