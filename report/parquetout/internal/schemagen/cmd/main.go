// Command schemagen writes the generated files of package parquetout in
// the current directory (go generate runs it there): see package
// schemagen.
package main

import (
	"fmt"
	"os"

	"github.com/ccaudit/auditor/report/parquetout/internal/schemagen"
)

func main() {
	files, err := schemagen.Generate(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
	for name, src := range files {
		if err := os.WriteFile(name, src, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "schemagen:", err)
			os.Exit(1)
		}
	}
}
