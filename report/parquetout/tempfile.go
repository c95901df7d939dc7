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
	"time"
)

// tempMarker separates a final name from the writer's host, pid and
// random suffix in a temporary file name:
// flows.parquet.tmp-<host>-<pid>-<random>.
const tempMarker = ".tmp-"

// DefaultStaleAge is how long a temporary file must have gone unmodified
// before RemoveStale may take it for a dead writer's, on top of the lock
// test: a file system whose locks do not reach every writer (some
// network file systems) must not lose a live file to it.
const DefaultStaleAge = time.Hour

// DefaultStaleLookback bounds how far back in the Hive partitions a
// capture's RemoveStale looks: a sensor's leftovers are in the partitions
// of the windows it had open when it died, and reading every partition of
// a years-long lake at each start would cost more than the files are worth.
const DefaultStaleLookback = 7 * 24 * time.Hour

// hostTag names this host in temporary file names: the host name, with
// anything but letters, digits, '.', '_' and '-' replaced, so that a
// RemoveStale on another host sharing the directory leaves the file alone.
func hostTag() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown"
	}
	b := []byte(h)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// createTemp creates a new, empty temporary file beside path, named for
// this host and process, and holds an exclusive flock on it while it is
// open: the kernel drops the lock when the writer dies, however it dies,
// which is how RemoveStale tells a live writer's file from a dead one's.
// os.CreateTemp opens with O_CREAT|O_EXCL: an existing file or symbolic
// link under the chosen name is never opened, and a clash just picks
// another name.
func createTemp(path string) (*os.File, error) {
	pattern := filepath.Base(path) + tempMarker + hostTag() + "-" + strconv.Itoa(os.Getpid()) + "-*"
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
	// A file system without flock (ENOLCK, EOPNOTSUPP) still gets its
	// file: RemoveStale then goes by the pid and the file's age.
	_ = flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
	return f, nil
}

// flock applies flock(2) to f's descriptor.
func flock(f *os.File, how int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = syscall.Flock(int(fd), how) }); err != nil {
		return err
	}
	return ferr
}

// tempName is what a temporary file's name says about its writer.
type tempName struct {
	final string // the name it is renamed to
	host  string // empty in the older forms, which name no host
	pid   int
}

// parseTemp reads a temporary file name written by this package:
// <final>.tmp-<host>-<pid>-<random>, or the older forms
// <final>.tmp-<pid>-<random> and <final>.tmp-<pid>. Only temporaries of
// Parquet files and manifests qualify: other tools' temporary names may
// end in random digits that are no pid.
func parseTemp(name string) (tempName, bool) {
	i := strings.LastIndex(name, tempMarker)
	if i < 0 {
		return tempName{}, false
	}
	t := tempName{final: name[:i]}
	if !strings.HasSuffix(t.final, ".parquet") && !isManifestName(t.final) {
		return tempName{}, false
	}
	parts := strings.Split(name[i+len(tempMarker):], "-")
	var pid string
	switch n := len(parts); {
	case n == 1:
		pid = parts[0]
	case n == 2:
		pid = parts[0]
		if !allDigits(parts[1]) {
			return tempName{}, false
		}
	default:
		pid, t.host = parts[n-2], strings.Join(parts[:n-2], "-")
		if !allDigits(parts[n-1]) || t.host == "" {
			return tempName{}, false
		}
	}
	var err error
	if t.pid, err = strconv.Atoi(pid); err != nil || t.pid <= 0 {
		return tempName{}, false
	}
	return t, true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// processAlive says whether pid names a running process in this pid
// namespace. EPERM means it exists under another user.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// StaleScope says which temporary files RemoveStale may remove: those of
// this host (the host in their name), of the output this run writes, and
// old enough.
type StaleScope struct {
	// Dir is the output directory.
	Dir string
	// Sensor, when set, is a live capture's: only temporaries in the Hive
	// partitions Dir/date=YYYY-MM-DD/hour=HH of the last Lookback, of
	// files named for this sensor (<table>-<sensor>-<seq>.parquet,
	// manifest-<sensor>-<seq>.json), qualify. Empty: a replay's, the
	// temporaries of Parquet files and manifest.json directly in Dir.
	Sensor string
	// MinAge: a temporary modified less than MinAge ago is kept.
	MinAge time.Duration
	// Lookback: partitions whose hour ended more than Lookback ago are
	// not read (capture only). Zero means DefaultStaleLookback.
	Lookback time.Duration
	// Now is the time ages are measured from; zero means time.Now().
	Now time.Time
	// Host is the host tag files must carry; empty means this host's.
	Host string
}

// StaleResult is what RemoveStale removed and what it left, by reason.
type StaleResult struct {
	// Removed are the paths removed.
	Removed []string
	// Live: a writer holds the file's lock (or, where the file system
	// has no locks, its pid runs).
	Live int
	// Recent: modified less than MinAge ago.
	Recent int
	// OtherHost: named for another host, which may be writing it.
	OtherHost int
	// Unowned: an older name that says no host; left for an operator.
	Unowned int
}

// Left counts the temporaries in scope that were kept.
func (r *StaleResult) Left() int { return r.Live + r.Recent + r.OtherHost + r.Unowned }

// RemoveStale removes the temporary files a writer of this host left in
// scope when it died (a crash, a kill, a power loss): they can never be
// finished, and only fill the disk. A file is removed only when its name
// says this host wrote it, no process holds its lock, and it has not been
// modified for MinAge; on a directory several sensors, containers or hosts
// share, the others' files are never touched. Symbolic links are not
// followed. A Dir that does not exist has nothing stale.
func RemoveStale(s StaleScope) (StaleResult, error) {
	if s.Now.IsZero() {
		s.Now = time.Now()
	}
	if s.Host == "" {
		s.Host = hostTag()
	}
	if s.Lookback == 0 {
		s.Lookback = DefaultStaleLookback
	}
	var res StaleResult
	dirs, err := staleDirs(&s)
	if err != nil {
		return res, fmt.Errorf("remove stale temporary files under %s: %w", s.Dir, err)
	}
	var errs []error
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			t, ok := parseTemp(e.Name())
			if !ok || !s.owns(t.final) {
				continue
			}
			if err := removeIfStale(&s, filepath.Join(dir, e.Name()), t, &res); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("remove stale temporary files under %s: %w", s.Dir, err)
	}
	return res, nil
}

// staleDirs lists the directories in scope: Dir itself for a replay, the
// recent Hive partitions for a capture.
func staleDirs(s *StaleScope) ([]string, error) {
	if s.Sensor == "" {
		return []string{s.Dir}, nil
	}
	dates, err := os.ReadDir(s.Dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	oldest := s.Now.Add(-s.Lookback)
	var dirs []string
	for _, d := range dates {
		day, ok := partitionTime(d, "date=", "2006-01-02")
		if !ok || day.Add(24*time.Hour).Before(oldest) {
			continue
		}
		hours, err := os.ReadDir(filepath.Join(s.Dir, d.Name()))
		if err != nil {
			return nil, err
		}
		for _, h := range hours {
			hour, ok := partitionTime(h, "hour=", "15")
			if !ok || day.Add(time.Duration(hour.Hour()+1)*time.Hour).Before(oldest) {
				continue
			}
			dirs = append(dirs, filepath.Join(s.Dir, d.Name(), h.Name()))
		}
	}
	return dirs, nil
}

// partitionTime parses a Hive partition directory's value.
func partitionTime(d fs.DirEntry, key, layout string) (time.Time, bool) {
	v, ok := strings.CutPrefix(d.Name(), key)
	if !ok || !d.IsDir() {
		return time.Time{}, false
	}
	t, err := time.Parse(layout, v)
	return t, err == nil
}

// owns says whether final is a name the scope's writer gives its files.
func (s *StaleScope) owns(final string) bool {
	if s.Sensor == "" {
		return true
	}
	stem, ok := strings.CutSuffix(final, ".parquet")
	if !ok {
		if stem, ok = strings.CutSuffix(final, ".json"); !ok {
			return false
		}
	}
	// <table>-<sensor>-<seq>: a table name has no '-', so a sensor
	// "1" does not own the files of a sensor "edge-1".
	table, rest, ok := strings.Cut(stem, "-")
	if !ok || table == "" || strings.Trim(table, "abcdefghijklmnopqrstuvwxyz") != "" {
		return false
	}
	j := strings.LastIndexByte(rest, '-')
	return j >= 0 && rest[:j] == s.Sensor && allDigits(rest[j+1:])
}

// removeIfStale removes path when its writer is gone and it is old enough,
// counting it in res either way. The lock is taken before the age is read
// and held across the removal, so a writer cannot start on the file in
// between (none does: names are never reused).
func removeIfStale(s *StaleScope, path string, t tempName, res *StaleResult) error {
	switch {
	case t.host == "":
		res.Unowned++
		return nil
	case t.host != s.Host:
		res.OtherHost++
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	switch err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); {
	case errors.Is(err, syscall.EWOULDBLOCK):
		res.Live++
		return nil
	case err != nil && processAlive(t.pid):
		// No locks here: the pid is all there is to go by.
		res.Live++
		return nil
	}
	if s.Now.Sub(info.ModTime()) < s.MinAge {
		res.Recent++
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	res.Removed = append(res.Removed, path)
	return nil
}

// isManifestName recognises a replay's manifest.json and a capture
// window's manifest-<sensor>-<seq>.json.
func isManifestName(name string) bool {
	return name == ManifestName || strings.HasPrefix(name, "manifest-") && strings.HasSuffix(name, ".json")
}
