#!/usr/bin/env python3
"""Server side of a cleartext-then-TLS dialogue, for making test captures.

upgrade_peer.py PROTO PORT CERT KEY

Accepts one connection on 127.0.0.1:PORT, speaks PROTO's cleartext part as
a server (or proxy) would, then runs a TLS server handshake on the same
socket with Python's ssl module (OpenSSL), answers a little and closes.
The client is a real program: openssl s_client -starttls, curl.
"""
import socket, ssl, struct, sys

proto, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

def recv_until(s, marker, limit=65536):
    buf = b""
    while marker not in buf and len(buf) < limit:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    return buf

def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            raise EOFError
        buf += d
    return buf

ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(1)
ls.settimeout(10)
c, _ = ls.accept()
c.settimeout(10)

if proto == "xmpp":
    recv_until(c, b">")  # the client's stream header
    c.sendall(b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
              b"xmlns:stream='http://etherx.jabber.org/streams' id='1' from='localhost' version='1.0'>"
              b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
              b"</stream:features>")
    recv_until(c, b"/>")
    c.sendall(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
elif proto == "ldap":
    req = recv_exact(c, 2)
    req += recv_exact(c, req[1])
    # ExtendedResponse, messageID 1, resultCode success, empty DN and
    # message, responseName the StartTLS OID.
    oid = b"1.3.6.1.4.1.1466.20037"
    body = b"\x0a\x01\x00\x04\x00\x04\x00" + b"\x8a" + bytes([len(oid)]) + oid
    op = b"\x78" + bytes([len(body)]) + body
    msg = b"\x02\x01\x01" + op
    c.sendall(b"\x30" + bytes([len(msg)]) + msg)
elif proto == "postgres":
    recv_exact(c, 8)
    c.sendall(b"S")
elif proto in ("socks4", "socks4a"):
    req = recv_exact(c, 8)
    user = recv_until(c, b"\x00")
    if req[4:7] == b"\x00\x00\x00" and req[7] != 0 and user.count(b"\x00") < 2:
        recv_until(c, b"\x00")
    c.sendall(b"\x00\x5a" + req[2:8])
elif proto in ("socks5", "socks5auth"):
    hdr = recv_exact(c, 2)
    methods = recv_exact(c, hdr[1])
    if proto == "socks5auth":
        c.sendall(b"\x05\x02")
        v = recv_exact(c, 2)
        recv_exact(c, v[1])
        pl = recv_exact(c, 1)
        recv_exact(c, pl[0])
        c.sendall(b"\x01\x00")
    else:
        c.sendall(b"\x05\x00")
    req = recv_exact(c, 4)
    if req[3] == 1:
        addr = recv_exact(c, 4)
    elif req[3] == 3:
        n = recv_exact(c, 1)
        addr = n + recv_exact(c, n[0])
    else:
        addr = recv_exact(c, 16)
    port_b = recv_exact(c, 2)
    c.sendall(b"\x05\x00\x00\x01\x7f\x00\x00\x01" + struct.pack(">H", port))
elif proto == "tls":
    pass
else:
    sys.exit("unknown protocol " + proto)

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.set_alpn_protocols(["http/1.1"]) if proto.startswith("socks") else None
t = ctx.wrap_socket(c, server_side=True)
try:
    data = t.recv(4096)
    if data.startswith(b"GET"):
        t.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    t.unwrap()
except (ssl.SSLError, OSError):
    pass
t.close()
