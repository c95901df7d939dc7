package source

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// threePackets is a small classic pcap file's bytes.
func threePackets(t *testing.T, seed byte) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.pcap")
	var pkts []pkt
	for i := range 3 {
		pkts = append(pkts, pkt{t: t0.Add(time.Duration(i) * time.Second), data: payload(60+i, seed)})
	}
	writePcap(t, path, false, layers.LinkTypeEthernet, pkts)
	return readFile(t, path)
}

// "-" reads the given stdin, which cannot seek: the first frame read by
// the probe must not be read again or lost.
func TestStdinInput(t *testing.T) {
	data := threePackets(t, 's')
	r, frames := openAll(t, Options{Stdin: io.MultiReader(bytes.NewReader(data))}, "-")
	if len(frames) != 3 || frames[0].File != "-" || frames[0].Index != 1 || frames[2].Index != 3 {
		t.Fatalf("frames %+v", frames)
	}
	if errs := r.Errors(); len(errs) != 0 {
		t.Errorf("errors: %v", errs)
	}
}

// A FIFO (as a process substitution gives) is streamed, merged with a
// regular file by time.
func TestFIFOInput(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "in.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	data := threePackets(t, 'f')
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		// Written in small pieces, as a slow producer would.
		for i := 0; i < len(data); i += 7 {
			f.Write(data[i:min(i+7, len(data))])
		}
		f.Close()
	}()
	other := filepath.Join(dir, "other.pcap")
	writePcap(t, other, false, layers.LinkTypeEthernet, []pkt{{t: t0.Add(1500 * time.Millisecond), data: payload(50, 'o')}})
	r, frames := openAll(t, Options{}, fifo, other)
	var files []string
	for _, f := range frames {
		files = append(files, filepath.Base(f.File))
	}
	if want := []string{"in.fifo", "in.fifo", "other.pcap", "in.fifo"}; !slices.Equal(files, want) {
		t.Errorf("frames from %v, want %v", files, want)
	}
	if errs := r.Errors(); len(errs) != 0 {
		t.Errorf("errors: %v", errs)
	}
}

// A FIFO whose writer never comes, or never sends: a cancelled context
// ends the wait at once, in Open and in Next.
func TestFIFOInterrupted(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "in.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	t.Run("no writer", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := OpenContext(ctx, []string{fifo}, Options{})
		if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
			t.Errorf("Open: %v after %v", err, time.Since(start))
		}
	})
	t.Run("silent writer", func(t *testing.T) {
		w := make(chan *os.File, 1)
		go func() {
			f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
			if err == nil {
				// A header and one packet, then silence.
				data := threePackets(t, 'w')
				f.Write(data[:24+16+60+10])
			}
			w <- f
		}()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() {
			r, err := OpenContext(ctx, []string{fifo}, Options{})
			if err != nil {
				done <- err
				return
			}
			defer r.Close()
			for {
				if _, err := r.Next(); err != nil {
					done <- err
					return
				}
			}
		}()
		time.Sleep(200 * time.Millisecond)
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, io.EOF) && !errors.Is(err, context.Canceled) {
				t.Errorf("after cancel: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a read blocked on a FIFO ignored the cancelled context")
		}
		if f := <-w; f != nil {
			f.Close()
		}
	})
}

// Subdirectories are read with Recursive and named as skipped without.
func TestDirectoryRecursion(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "b-sub")
	if err := os.MkdirAll(filepath.Join(sub, "deeper"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(path string, sec int) {
		writePcap(t, path, false, layers.LinkTypeEthernet, []pkt{{t: t0.Add(time.Duration(sec) * time.Second), data: payload(50, 1)}})
	}
	write(filepath.Join(dir, "a.pcap"), 1)
	write(filepath.Join(sub, "c.pcap"), 2)
	write(filepath.Join(sub, "deeper", "d.pcap"), 3)
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o600); err != nil {
		t.Fatal(err)
	}

	r, frames := openAll(t, Options{}, dir)
	if len(frames) != 1 {
		t.Errorf("without Recursive: %d frames, want 1", len(frames))
	}
	skipped := strings.Join(r.SkippedEntries(), "\n")
	for _, want := range []string{sub + ": a subdirectory", filepath.Join(dir, "pipe") + ": not a regular file"} {
		if !strings.Contains(skipped, want) {
			t.Errorf("skipped entries %q lack %q", skipped, want)
		}
	}
	r, frames = openAll(t, Options{Recursive: true}, dir)
	if len(frames) != 3 {
		t.Errorf("with Recursive: %d frames, want 3", len(frames))
	}
	if s := r.SkippedEntries(); len(s) != 1 {
		t.Errorf("with Recursive, skipped %v; want only the FIFO", s)
	}
}
