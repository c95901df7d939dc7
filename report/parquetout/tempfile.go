package parquetout

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// tempMarker separates a final name from the writer's pid and random suffix
// in a temporary file name: flows.parquet.tmp-<pid>-<random>.
const tempMarker = ".tmp-"

// createTemp creates a new, empty temporary file beside path. os.CreateTemp
// opens with O_CREAT|O_EXCL: an existing file or symbolic link under the
// chosen name is never opened, and a clash just picks another name.
func createTemp(path string) (*os.File, error) {
	pattern := filepath.Base(path) + tempMarker + strconv.Itoa(os.Getpid()) + "-*"
	f, err := os.CreateTemp(filepath.Dir(path), pattern)
	if err != nil {
		return nil, err
	}
	// CreateTemp makes the file 0600; outputs are meant to be read by
	// the report and by analysts, as files written by os.Create are.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

// tempOwner returns the pid in a temporary file name written by this
// package (or its older form name.tmp-<pid>), and whether name is one.
// Only temporaries of Parquet files and manifests qualify: other tools'
// temporary names may end in random digits that are no pid.
func tempOwner(name string) (int, bool) {
	i := strings.LastIndex(name, tempMarker)
	if i < 0 {
		return 0, false
	}
	if base := name[:i]; !strings.HasSuffix(base, ".parquet") && !isManifestName(base) {
		return 0, false
	}
	rest := name[i+len(tempMarker):]
	if j := strings.IndexByte(rest, '-'); j >= 0 {
		rest = rest[:j]
	}
	pid, err := strconv.Atoi(rest)
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}

// processAlive says whether pid names a running process. EPERM means it
// exists under another user.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// RemoveStale removes, under dir and its subdirectories, the temporary
// files of writers whose process is gone (a crash, a kill, a power loss):
// they can never be finished, and only fill the disk. Files of running
// processes, this one included, are left alone; symbolic links are not
// followed. It returns the paths it removed. A dir that does not exist
// has nothing stale.
func RemoveStale(dir string) ([]string, error) {
	var removed []string
	var errs []error
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == dir {
				return fs.SkipAll
			}
			errs = append(errs, err)
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		pid, ok := tempOwner(d.Name())
		if !ok || processAlive(pid) {
			return nil
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			return nil
		}
		removed = append(removed, path)
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("remove stale temporary files under %s: %w", dir, err)
	}
	return removed, nil
}

// isManifestName recognises a replay's manifest.json and a capture
// window's manifest-<sensor>-<seq>.json.
func isManifestName(name string) bool {
	return name == ManifestName || strings.HasPrefix(name, "manifest-") && strings.HasSuffix(name, ".json")
}
