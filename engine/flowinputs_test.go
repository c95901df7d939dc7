package engine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// badPcap writes a pcap whose first record claims 2 GiB: a capture that
// yields no packet.
func badPcap(t *testing.T, dir string) string {
	t.Helper()
	bad := filepath.Join(dir, "bad.pcap")
	hdr := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f}
	if err := os.WriteFile(bad, hdr, 0o644); err != nil {
		t.Fatal(err)
	}
	return bad
}

// An output directory's flows files are used as they are; captures are
// replayed into a temporary directory that Close removes; a damaged
// capture among good ones makes the flows partial, naming it, and a
// replay that reads nothing is an error.
func TestOpenFlowInputs(t *testing.T) {
	const demo = "../testdata/demo.pcapng"
	prev := t.TempDir()
	cfg, _ := replayConfig(prev, demo)
	if _, err := Replay(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	bad := badPcap(t, t.TempDir())

	var notes []string
	in, err := OpenFlowInputs(context.Background(), FlowInputsConfig{Inputs: []string{prev, demo, bad}, Workers: 2,
		Notify: func(msg string) { notes = append(notes, msg) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Files) != 2 || in.Files[0] != filepath.Join(prev, "flows.parquet") || filepath.Base(in.Files[1]) != "flows.parquet" || filepath.Dir(in.Files[1]) == prev {
		t.Fatalf("files %q: want the output's flows.parquet, then the replay's", in.Files)
	}
	if !in.Partial || !slices.Equal(in.Damaged, []string{bad}) {
		t.Errorf("partial %v, damaged %q; want the damaged capture named", in.Partial, in.Damaged)
	}
	if !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, "bad.pcap") }) {
		t.Errorf("notes %q: want the damaged file's problem", notes)
	}
	if _, err := os.Stat(in.Files[1]); err != nil {
		t.Fatalf("the replay's flows: %v", err)
	}
	tmp := filepath.Dir(in.Files[1])
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("Close left %s: %v", tmp, err)
	}

	// Outputs alone: nothing replayed, nothing partial.
	in, err = OpenFlowInputs(context.Background(), FlowInputsConfig{Inputs: []string{prev}})
	if err != nil || in.Partial || !slices.Equal(in.Files, []string{filepath.Join(prev, "flows.parquet")}) || in.tmp != "" {
		t.Errorf("output only: %+v, %v", in, err)
	}

	if _, err := OpenFlowInputs(context.Background(), FlowInputsConfig{Inputs: []string{bad}}); err == nil || !strings.Contains(err.Error(), "replay "+bad) {
		t.Errorf("only a damaged capture: %v, want a replay error naming it", err)
	}
	if _, err := OpenFlowInputs(context.Background(), FlowInputsConfig{Inputs: []string{filepath.Join(prev, "nope")}}); err == nil || !strings.Contains(err.Error(), "input ") {
		t.Errorf("missing input: %v", err)
	}
}
