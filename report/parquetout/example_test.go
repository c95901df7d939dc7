package parquetout_test

import (
	"fmt"
	"log"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/report/parquetout"
)

// Flows leaving the flow table become rows of flows.parquet; the file
// appears under its name only when Close succeeds.
func ExampleCreate() {
	dir, err := os.MkdirTemp("", "parquetout-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "flows.parquet")

	w, err := parquetout.Create(path, parquetout.Options{CreatedBy: "auditor replay"})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Abort() // removes the temp file if we return before Close

	var row parquetout.FlowRow // reused for every flow
	var writeErr error
	table := flow.NewTable(flow.DefaultConfig(), func(f *flow.Flow) {
		parquetout.FromFlow(f, &row)
		row.Verdict, row.Sensor = "allowed", "site-a"
		if err := w.Write(&row); err != nil && writeErr == nil {
			writeErr = err
		}
	})
	agent := netip.MustParseAddrPort("10.20.0.7:5062")
	sbc := netip.MustParseAddrPort("192.0.2.10:5060")
	key, dir1 := flow.NewKey(flow.ProtoUDP, agent, sbc)
	table.Packet(&flow.Packet{Key: key, Dir: dir1, Time: 1_700_000_000_000_000_000, WireLen: 642, PayloadLen: 600})
	table.Packet(&flow.Packet{Key: key, Dir: dir1.Flip(), Time: 1_700_000_000_020_000_000, WireLen: 442, PayloadLen: 400})
	table.Flush(flow.EndFlush)
	if writeErr != nil {
		log.Fatal(writeErr)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	rows, err := parquetout.ReadFlows(path)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range rows {
		fmt.Println(r.FirstSeen, r.Proto, r.SrcIP, r.SrcPort, "->", r.DstIP, r.DstPort)
		fmt.Println(r.State, r.PacketsOut, r.BytesOut, r.PacketsIn, r.BytesIn, r.Verdict, r.Sensor)
	}
	md, err := parquetout.ReadMetadata(path)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(md[parquetout.MetaSchema], md[parquetout.MetaCreatedBy])
	// Output:
	// 2023-11-14 22:13:20 +0000 UTC udp 10.20.0.7 5062 -> 192.0.2.10 5060
	// SF 1 642 1 442 allowed site-a
	// flows/1 auditor replay
}
