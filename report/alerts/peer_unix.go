//go:build unix

package alerts

import (
	"errors"
	"net"
	"syscall"
)

// peerOpen reports whether the receiver still holds the connection open.
// Syslog receivers never send, so a non-blocking read that finds EOF or an
// error means the receiver closed or reset it; anything it did send is
// discarded. A read deadline cannot do this: an expired deadline fails the
// read before it looks at the socket.
func peerOpen(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := true
	var buf [512]byte
	err = rc.Read(func(fd uintptr) bool {
		for {
			n, err := syscall.Read(int(fd), buf[:])
			switch {
			case n > 0, errors.Is(err, syscall.EINTR):
				continue
			case err == nil: // EOF
				open = false
			case errors.Is(err, syscall.EAGAIN):
			default:
				open = false
			}
			return true
		}
	})
	return open && err == nil
}
