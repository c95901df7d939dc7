//go:build linux

package netnstest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/ccaudit/auditor/capture"
)

// Direction is one direction of a flow the traffic generator made, with
// the number of packets it carried when that number is certain (-1 when
// it depends on the TCP stack: ACK timing, delayed ACKs).
type Direction struct {
	Proto    uint8 // IP protocol number
	Src, Dst netip.AddrPort
	Packets  int
}

// Ports the generator uses; all fixed so tests can name the flows.
const (
	RTPPortA    = 40000
	RTPPortB    = 40002
	RTPPackets  = 40
	ClosedPortA = 41000
	ClosedPortB = 9
	StreamPortA = 42000
	StreamPortB = 8080
	DNSPortA    = 43000
	DNSQueries  = 3
)

// Traffic sends a small, fixed mix from A to B over the veth pair: an
// RTP-like UDP stream, a TCP connect to a closed port, a TCP connection
// exchanging a few messages, and DNS-like queries with replies. It returns
// every flow direction it made. The whole exchange takes well under a
// second and is bounded by a 5 s deadline.
func (p *Pair) Traffic() ([]Direction, error) {
	deadline := time.Now().Add(5 * time.Second)
	ap := func(a netip.Addr, port uint16) netip.AddrPort { return netip.AddrPortFrom(a, port) }
	var (
		rtpIn, dnsSrv *net.UDPConn
		tcpSrv        *net.TCPListener
	)
	err := p.B.Do(func() (err error) {
		if rtpIn, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(ap(p.AddrB, RTPPortB))); err != nil {
			return err
		}
		if dnsSrv, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(ap(p.AddrB, 53))); err != nil {
			return err
		}
		tcpSrv, err = net.ListenTCP("tcp4", net.TCPAddrFromAddrPort(ap(p.AddrB, StreamPortB)))
		return err
	})
	defer closeAll(rtpIn, dnsSrv, tcpSrv)
	if err != nil {
		return nil, fmt.Errorf("listen in %s: %w", p.B.Name, err)
	}
	for _, c := range []interface{ SetDeadline(time.Time) error }{rtpIn, dnsSrv, tcpSrv} {
		_ = c.SetDeadline(deadline)
	}
	go drainUDP(rtpIn)
	go serveDNS(dnsSrv)
	go serveEcho(tcpSrv, deadline)

	var dirs []Direction
	err = p.A.Do(func() error {
		// RTP-like: version 2, payload type 0 (PCMU), 160-byte frames.
		rtp, err := net.DialUDP("udp4", net.UDPAddrFromAddrPort(ap(p.AddrA, RTPPortA)), net.UDPAddrFromAddrPort(ap(p.AddrB, RTPPortB)))
		if err != nil {
			return err
		}
		defer rtp.Close()
		pkt := make([]byte, 12+160)
		for i := range RTPPackets {
			pkt[0], pkt[1] = 0x80, 0
			binary.BigEndian.PutUint16(pkt[2:], uint16(1000+i))
			binary.BigEndian.PutUint32(pkt[4:], uint32(160*i))
			binary.BigEndian.PutUint32(pkt[8:], 0xa0d1cafe)
			if _, err := rtp.Write(pkt); err != nil {
				return fmt.Errorf("rtp: %w", err)
			}
		}
		dirs = append(dirs, Direction{17, ap(p.AddrA, RTPPortA), ap(p.AddrB, RTPPortB), RTPPackets},
			Direction{17, ap(p.AddrB, RTPPortB), ap(p.AddrA, RTPPortA), 0})

		d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(ap(p.AddrA, ClosedPortA)), Deadline: deadline}
		if c, err := d.Dial("tcp4", ap(p.AddrB, ClosedPortB).String()); err == nil {
			c.Close()
			return errors.New("connect to closed port succeeded")
		}
		dirs = append(dirs, Direction{6, ap(p.AddrA, ClosedPortA), ap(p.AddrB, ClosedPortB), 1},
			Direction{6, ap(p.AddrB, ClosedPortB), ap(p.AddrA, ClosedPortA), 1})

		d.LocalAddr = net.TCPAddrFromAddrPort(ap(p.AddrA, StreamPortA))
		c, err := d.Dial("tcp4", ap(p.AddrB, StreamPortB).String())
		if err != nil {
			return fmt.Errorf("stream: %w", err)
		}
		buf := make([]byte, 64)
		for i := range 3 {
			msg := fmt.Sprintf("message %d", i)
			if _, err := c.Write([]byte(msg)); err != nil {
				c.Close()
				return fmt.Errorf("stream write: %w", err)
			}
			if _, err := io.ReadFull(c, buf[:len(msg)]); err != nil {
				c.Close()
				return fmt.Errorf("stream read: %w", err)
			}
		}
		if err := c.Close(); err != nil {
			return err
		}
		dirs = append(dirs, Direction{6, ap(p.AddrA, StreamPortA), ap(p.AddrB, StreamPortB), -1},
			Direction{6, ap(p.AddrB, StreamPortB), ap(p.AddrA, StreamPortA), -1})

		dns, err := net.DialUDP("udp4", net.UDPAddrFromAddrPort(ap(p.AddrA, DNSPortA)), net.UDPAddrFromAddrPort(ap(p.AddrB, 53)))
		if err != nil {
			return err
		}
		defer dns.Close()
		_ = dns.SetDeadline(deadline)
		for i := range DNSQueries {
			// A query for example.com A, ID i.
			q := []byte{0, byte(i), 1, 0, 0, 1, 0, 0, 0, 0, 0, 0,
				7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1}
			if _, err := dns.Write(q); err != nil {
				return fmt.Errorf("dns: %w", err)
			}
			if _, err := dns.Read(buf); err != nil {
				return fmt.Errorf("dns reply: %w", err)
			}
		}
		dirs = append(dirs, Direction{17, ap(p.AddrA, DNSPortA), ap(p.AddrB, 53), DNSQueries},
			Direction{17, ap(p.AddrB, 53), ap(p.AddrA, DNSPortA), DNSQueries})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("traffic from %s: %w", p.A.Name, err)
	}
	// Let the stream's last FIN and ACK cross the link.
	time.Sleep(100 * time.Millisecond)
	return dirs, nil
}

// Blast sends RTP-sized UDP datagrams from A to B until ctx ends or n are
// sent, and returns how many it sent.
func (p *Pair) Blast(ctx context.Context, n int) (int, error) {
	var sink *net.UDPConn
	err := p.B.Do(func() (err error) {
		sink, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.AddrB, RTPPortB)))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("listen in %s: %w", p.B.Name, err)
	}
	defer sink.Close()
	go drainUDP(sink)
	var sent int
	err = p.A.Do(func() error {
		c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.AddrB, RTPPortB)))
		if err != nil {
			return err
		}
		defer c.Close()
		pkt := make([]byte, 172)
		pkt[0] = 0x80
		for sent < n && ctx.Err() == nil {
			binary.BigEndian.PutUint16(pkt[2:], uint16(sent))
			if _, err := c.Write(pkt); err != nil {
				return err
			}
			sent++
			if sent%64 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		return nil
	})
	return sent, err
}

func drainUDP(c *net.UDPConn) {
	buf := make([]byte, 2048)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

func serveDNS(c *net.UDPConn) {
	buf := make([]byte, 512)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if n < 12 {
			continue
		}
		buf[2] |= 0x80 // a response with no answers: enough for a parser
		if _, err := c.WriteToUDPAddrPort(buf[:n], from); err != nil {
			return
		}
	}
}

func serveEcho(l *net.TCPListener, deadline time.Time) {
	c, err := l.Accept()
	if err != nil {
		return
	}
	defer c.Close()
	_ = c.SetDeadline(deadline)
	_, _ = io.Copy(c, c)
}

func closeAll(cs ...io.Closer) {
	for _, c := range cs {
		if c != nil && !isNilConn(c) {
			c.Close()
		}
	}
}

func isNilConn(c io.Closer) bool {
	switch v := c.(type) {
	case *net.UDPConn:
		return v == nil
	case *net.TCPListener:
		return v == nil
	}
	return false
}

// LiveSource is a capture engine as the pipeline sees it, with Close.
type LiveSource interface {
	capture.FrameSource
	Close() error
}

// CheckCloseMidTraffic runs a pipeline on src while A blasts traffic, closes
// src in the middle of it and checks the pipeline ends cleanly and promptly
// after having seen frames: the shutdown path of every engine.
func (p *Pair) CheckCloseMidTraffic(t testing.TB, src LiveSource) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	blastDone := make(chan struct{})
	go func() {
		defer close(blastDone)
		_, _ = p.Blast(ctx, 1_000_000)
	}()
	pipe, err := capture.New(capture.Config{})
	if err != nil {
		t.Fatal(err)
	}
	runDone := make(chan error, 1)
	go func() { runDone <- pipe.Run(ctx, src) }()
	time.Sleep(200 * time.Millisecond)
	if err := src.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case err := <-runDone:
		if err != nil {
			t.Errorf("pipeline ended with %v, want a clean end", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("pipeline still running 3 s after Close")
	}
	cancel()
	<-blastDone
	if pipe.Stats().Frames.Load() == 0 {
		t.Error("pipeline saw no frames before Close")
	}
}
