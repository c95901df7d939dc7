package parquetout

import (
	"bytes"
	"os"
	"testing"

	"github.com/ccaudit/auditor/report/parquetout/internal/schemagen"
)

// The wire forms and the flows and dns encoders' columns are generated
// from the row types: a column added to a row without `go generate
// ./report/parquetout` fails here.
func TestGeneratedCodeUpToDate(t *testing.T) {
	files, err := schemagen.Generate(".")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not what the row types generate; run go generate ./report/parquetout", name)
		}
	}
}
