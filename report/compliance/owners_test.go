package compliance_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/ccaudit/auditor/catalog"
	"github.com/ccaudit/auditor/classify/verdict"
	"github.com/ccaudit/auditor/report/compliance"
	"github.com/ccaudit/auditor/report/parquetout"
)

// The report's media judgements are their owners': documented media ports
// the verdict engine's (verdict.DocumentedMediaPorts), one-way, missing
// and poor voice quality the call tracker's (calls.parquet), and the
// site's verdict the findings'. Each test below fails if the report
// decides one on its own again.

const imagicleSite = `schema: 1
site: imagicle-site
vendors: [imagicle-ucx]
roles:
  ucx-server: [10.2.0.5]
  call-manager: [10.2.0.9]
`

func imagicleOptions(t *testing.T) compliance.Options {
	t.Helper()
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	inv, err := catalog.ReadInventory(strings.NewReader(imagicleSite), "imagicle-site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return compliance.Options{Catalog: cat, Sites: []*catalog.Inventory{inv}, Input: "imagicle"}
}

// Imagicle documents its RTP on ">1024" (and its server's side on
// ">=5000"): broad ranges, and still the documented media ranges, for the
// engine's port-only mode and for the report alike. A media flow on
// 40000 <-> 40002 is media in a documented range in both.
func TestReportBroadMediaRangeIsDocumented(t *testing.T) {
	opts := imagicleOptions(t)
	flow := rtp(at(9, 0), "10.2.0.5", 40002, "10.2.0.9", 40000, false)
	flow.Vendor, flow.EntryID = "imagicle-ucx", "imagicle-ucx/rtp"
	b := compliance.NewBuilder(opts)
	b.AddFlows(compliance.File{Path: "flows.parquet", Table: compliance.FlowsTable}, []parquetout.FlowRow{flow})
	r := b.Report()
	if in, unconstr, out := portCounts(r.Media); in != 2 || unconstr != 0 || out != 0 {
		t.Errorf("ports in range %d, unconstrained %d, out %d; want both endpoints in a documented range", in, unconstr, out)
	}
	for _, want := range []compliance.PortRange{
		{Entry: "imagicle-ucx/rtp", Lo: 1025, Hi: 65535},
		{Entry: "imagicle-ucx/rtp", Lo: 5000, Hi: 65535, Side: "from"},
	} {
		if !slices.Contains(r.Media.Ranges, want) {
			t.Errorf("documented ranges %+v lack %+v", r.Media.Ranges, want)
		}
	}
	if md := string(render(t, r, compliance.Markdown)); !strings.Contains(md, "5000-65535 (from side)") {
		t.Error("markdown does not mark the From side's range")
	}

	// The engine's definition (port-only mode judges by it, which the
	// verdict package's tests pin) holds the same ports.
	var entries []*catalog.Entry
	for _, e := range opts.Catalog.Entries() {
		if e.Vendor == "imagicle-ucx" {
			entries = append(entries, e)
		}
	}
	d := verdict.DocumentedMediaPorts(entries, nil)
	for _, p := range []uint16{40000, 40002, 1024, 80} {
		inReport := false
		for _, pr := range r.Media.Ranges {
			inReport = inReport || (p >= pr.Lo && p <= pr.Hi && pr.Parity == "")
		}
		if inReport != d.Contains(p) {
			t.Errorf("port %d: report documented %v, engine %v", p, inReport, d.Contains(p))
		}
	}
}

// Without call records, media one way by its flow's packet counts is not
// judged: the report says it has no call records, counts no one-way
// stream, and leaves the site compliant on that score.
func TestReportNoCallRecordsJudgesNoMedia(t *testing.T) {
	flows := []parquetout.FlowRow{
		rtp(at(9, 0), "10.10.3.20", 16500, "10.10.1.20", 16600, true), // packets one way only
		rtp(at(9, 1), "10.10.3.21", 16502, "10.10.1.20", 16602, false),
	}
	b := compliance.NewBuilder(options(t, "flows-only"))
	b.AddFlows(compliance.File{Path: "flows.parquet", Table: compliance.FlowsTable}, flows)
	r := b.Report()
	if r.Calls != nil || r.Media.Source != "flows" || r.Media.Streams != 2 {
		t.Fatalf("calls %+v, media %+v", r.Calls, r.Media)
	}
	if r.Media.OneWay != 0 || r.Media.Missing != 0 {
		t.Errorf("one-way %d, missing %d from flows: only call records judge them", r.Media.OneWay, r.Media.Missing)
	}
	for _, ex := range r.Media.Examples {
		t.Errorf("media example %+v judged from a flow", ex)
	}
	if !r.Compliant || len(r.Sites) != 1 || len(r.Sites[0].Issues) != 0 {
		t.Errorf("site %+v: a flow's packet counts made a media issue", r.Sites)
	}
	md := string(render(t, r, compliance.Markdown))
	if !strings.Contains(md, compliance.NoCallRecords) || !strings.Contains(md, "one-way and never seen not judged (no call records)") {
		t.Errorf("markdown does not say media judgements are unavailable:\n%s", md)
	}
	html := string(render(t, r, compliance.HTML))
	if !strings.Contains(html, "No call records in the window: media judgements unavailable") || !strings.Contains(html, "<b>0 / –</b>") {
		t.Error("HTML does not say media judgements are unavailable")
	}
}

// A call's problems are the call tracker's: a stream that lost 6% without
// being rated poor is no problem call; one the tracker rated poor is,
// with its rating; a stream the tracker marked one way is, whatever its
// packets.
func TestReportCallProblemsAreTheTrackers(t *testing.T) {
	stream := func(lost int64, poor, oneWay bool) parquetout.CallMediaRow {
		m := parquetout.CallMediaRow{Type: "audio", Proto: "RTP/AVP", CallerRTP: "10.10.3.20:16500", CalleeRTP: "10.10.1.20:16600",
			Packets: 1000, Lost: lost, PoorQuality: poor, OneWay: oneWay, Flows: 2}
		if poor {
			m.CallerToCallee = &parquetout.CallQualityRow{Expected: 1000, Lost: lost, LossPercent: 6, MOS: 3.05, WorstMOS: 2.9}
			m.CalleeToCaller = &parquetout.CallQualityRow{Expected: 1000, MOS: 4.4, WorstMOS: 4.4}
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		media  parquetout.CallMediaRow
		issues string // "" for no problem call
		oneWay int64
	}{
		{"6% lost, not rated poor", stream(60, false, false), "", 0},
		{"rated poor", stream(60, true, false), "audio stream 0 poor voice quality (MOS 3.05, 6.0% lost)", 0},
		{"one way by the tracker", stream(0, false, true), "audio stream 0 one-way", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			call := parquetout.CallRow{CallID: "c@test", CallerIP: "10.10.3.20", CalleeIP: "10.10.1.20", Start: at(9, 0), Answer: at(9, 0),
				FinalStatus: 200, Media: []parquetout.CallMediaRow{tc.media}}
			b := compliance.NewBuilder(options(t, "calls"))
			b.AddCalls(compliance.File{Path: "calls.parquet", Table: compliance.CallsTable}, []parquetout.CallRow{call})
			r := b.Report()
			var got string
			if len(r.Calls.Problems) > 0 {
				got = r.Calls.Problems[0].Issues
			}
			if got != tc.issues || len(r.Calls.Problems) > 1 {
				t.Errorf("problem calls %+v, want issues %q", r.Calls.Problems, tc.issues)
			}
			if r.Media.OneWay != tc.oneWay {
				t.Errorf("one-way streams %d, want %d", r.Media.OneWay, tc.oneWay)
			}
		})
	}
}

// A one-way stream is one problem for the site, counted by its finding:
// the call record behind it does not add it again under another name.
func TestReportMediaProblemCountedOnce(t *testing.T) {
	media := parquetout.CallMediaRow{Type: "audio", Proto: "RTP/AVP", CallerRTP: "10.10.3.22:16700", CalleeRTP: "10.10.1.20:16800",
		Packets: 4500, OneWay: true, Flows: 1}
	call := parquetout.CallRow{CallID: "one-way@test", CallerIP: "10.10.3.22", CalleeIP: "10.10.1.20", Start: at(10, 32), Answer: at(10, 32),
		FinalStatus: 200, Media: []parquetout.CallMediaRow{media}}
	finding := parquetout.FindingRow{Kind: string(verdict.KindMediaOneWay), Severity: "high", SeverityRank: 3, Proto: "udp",
		SrcIP: "10.10.3.22", DstIP: "10.10.1.20", DstPort: 16800, App: "rtp", CallID: "one-way@test", Count: 1,
		Reason: "media flowed from the caller only", FirstSeen: at(10, 32), LastSeen: at(10, 34), FindingID: "00000000000000cc"}
	b := compliance.NewBuilder(options(t, "one-way"))
	b.AddCalls(compliance.File{Path: "calls.parquet", Table: compliance.CallsTable}, []parquetout.CallRow{call})
	b.AddFindings(compliance.File{Path: "findings.parquet", Table: compliance.FindingsTable}, []parquetout.FindingRow{finding})
	r := b.Report()
	want := []compliance.Count{{Name: string(verdict.KindMediaOneWay), Count: 1}}
	if len(r.Sites) != 1 || !slices.Equal(r.Sites[0].Issues, want) {
		t.Errorf("site issues %+v, want %v", r.Sites, want)
	}
	if r.Media.OneWay != 1 {
		t.Errorf("one-way streams %d, want 1", r.Media.OneWay)
	}
}
