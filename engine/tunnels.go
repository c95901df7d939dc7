package engine

import (
	"fmt"

	"github.com/ccaudit/auditor/capture/decode"
	"github.com/ccaudit/auditor/report/parquetout"
)

// WriteTunnels writes the outer tunnel connections the decoder recorded
// (decode.Decoder.Tunnels) to a tunnels.parquet at path, each row stamped
// with sensor; meta is the file's extra metadata (the run id that makes
// it one of its run's set). The file is written even when there are none,
// so a query over an output directory always finds the table.
func WriteTunnels(path string, tunnels []decode.TunnelStats, sensor string, meta map[string]string) error {
	w, err := parquetout.CreateTunnels(path, parquetout.Options{Metadata: meta})
	if err != nil {
		return err
	}
	var row parquetout.TunnelRow
	for i := range tunnels {
		parquetout.FromTunnel(&tunnels[i], &row)
		row.Sensor = sensor
		if err := w.Write(&row); err != nil {
			w.Abort()
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
