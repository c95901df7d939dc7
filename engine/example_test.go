package engine_test

import (
	"context"
	"fmt"
	"log"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/ccaudit/auditor/capture"
	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/capture/flow"
	"github.com/ccaudit/auditor/capture/source"
	"github.com/ccaudit/auditor/engine"
	"github.com/ccaudit/auditor/report/parquetout"
)

// A replay: the demo capture judged against the demo site, with flows,
// calls and findings written to Parquet.
func Example() {
	dir, err := os.MkdirTemp("", "audit-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	aud, err := engine.New(engine.Config{Site: "../testdata/demo-site.yaml"})
	if err != nil {
		log.Fatal(err)
	}
	src, err := source.Open([]string{"../testdata/demo.pcapng"}, source.Options{LinkTypeSupported: decode.SupportsLinkType})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()

	flows, err := parquetout.Create(filepath.Join(dir, "flows.parquet"), parquetout.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer flows.Abort() // removes the file unless Close succeeded
	if err := aud.OpenCalls(filepath.Join(dir, "calls.parquet")); err != nil {
		log.Fatal(err)
	}
	sink := engine.NewFlowSink(flows, "")
	cfg := capture.Config{Table: flow.DefaultConfig()}
	aud.Configure(&cfg, sink) // dissectors, flow handler, shared state
	pipe, err := capture.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	runErr := pipe.Run(context.Background(), src)
	sink.Drain() // the pipeline has flushed every flow into the sink
	if runErr != nil || sink.Err() != nil {
		log.Fatal(runErr, sink.Err())
	}
	if err := flows.Close(); err != nil {
		log.Fatal(err)
	}
	res, err := aud.Finish(filepath.Join(dir, "findings.parquet"), 3)
	if err != nil {
		log.Fatal(err)
	}

	fmt.Println("site", res.Site, "flows", sink.Rows(), "SIP calls", res.Parsers.SIPCalls)
	for _, v := range slices.Sorted(maps.Keys(res.Verdicts)) {
		fmt.Println("verdict", v, res.Verdicts[v])
	}
	for _, k := range slices.Sorted(maps.Keys(res.Findings)) {
		fmt.Println("finding", k, res.Findings[k])
	}
	// Output:
	// site demo-contact-center flows 212 SIP calls 8
	// verdict blocked 3
	// verdict expected 192
	// verdict ignored 3
	// verdict negotiated 11
	// verdict unclassified 1
	// verdict unexpected 2
	// finding blocked 3
	// finding missing 5
	// finding unexpected 2
}
