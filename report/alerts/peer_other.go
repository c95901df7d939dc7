//go:build !unix

package alerts

import "net"

// peerOpen cannot look at the socket without blocking here; a dead
// receiver is found by the next write failing instead.
func peerOpen(net.Conn) bool { return true }
