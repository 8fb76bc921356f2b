// SPDX-License-Identifier: MIT
// gopair: a static Go (CGO_ENABLED=0) server and client for the `mptcpize run --bpf` VM tests.
// Go makes its own socket() calls, so LD_PRELOAD never reaches it; Debian's Go 1.19 also
// ignores GODEBUG=multipathtcp. On each connection it sets TCP_USER_TIMEOUT and SO_OOBINLINE
// through syscall.RawConn and reads them back, reads SO_PROTOCOL, and asks the kernel whether
// the socket is MPTCP (TCP_IS_MPTCP, else MPTCP_INFO). The server sends SIZE bytes of a
// pattern, the client checks every byte. One line per end:
//   server mptcp=1 uto=5000 oob=1 proto=6 setuto=ok setoob=ok bytes=1048576 intact=1
//
// "hold" connects, sets TCP_USER_TIMEOUT=2000 after connect and keeps writing (a peer that then
// vanishes is the test's business); "sink" accepts and reads forever.
//
// usage: gopair server|client|hold|sink ADDR SIZE
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

const (
	tcpUserTimeout = 18
	tcpIsMptcp     = 43
	soProtocol     = 38
	solMptcp       = 284
	mptcpInfo      = 1
)

func pattern(i int) byte { return byte(i*7 + i/251) }

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// isMPTCP asks the kernel: TCP_IS_MPTCP (>= 5.16), else whether MPTCP_INFO answers.
func isMPTCP(fd int) int {
	if v, err := syscall.GetsockoptInt(fd, syscall.IPPROTO_TCP, tcpIsMptcp); err == nil {
		return v
	}
	buf := make([]byte, 256)
	l := uint32(len(buf))
	_, _, e := syscall.Syscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), solMptcp, mptcpInfo,
		uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&l)), 0)
	if e == 0 {
		return 1
	}
	return 0
}

func report(role string, c net.Conn) string {
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		return role + " syscallconn=" + err.Error()
	}
	var line string
	rc.Control(func(p uintptr) {
		fd := int(p)
		setuto := syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, tcpUserTimeout, 5000)
		setoob := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_OOBINLINE, 1)
		uto, _ := syscall.GetsockoptInt(fd, syscall.IPPROTO_TCP, tcpUserTimeout)
		oob, _ := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_OOBINLINE)
		proto, _ := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, soProtocol)
		line = fmt.Sprintf("%s mptcp=%d uto=%d oob=%d proto=%d setuto=%s setoob=%s", role,
			isMPTCP(fd), uto, oob, proto, errText(setuto), errText(setoob))
	})
	return line
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: gopair server|client ADDR SIZE")
		os.Exit(2)
	}
	addr := os.Args[2]
	size, _ := strconv.Atoi(os.Args[3])
	switch os.Args[1] {
	case "server":
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Println("server listen:", err)
			os.Exit(1)
		}
		c, err := ln.Accept()
		if err != nil {
			fmt.Println("server accept:", err)
			os.Exit(1)
		}
		line := report("server", c)
		buf := make([]byte, size)
		for i := range buf {
			buf[i] = pattern(i)
		}
		n, err := c.Write(buf)
		c.Close()
		fmt.Printf("%s bytes=%d write=%s\n", line, n, errText(err))
	case "client":
		var c net.Conn
		var err error
		for i := 0; i < 100; i++ { // the server may still be starting
			if c, err = net.Dial("tcp", addr); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			fmt.Println("client dial:", err)
			os.Exit(1)
		}
		line := report("client", c)
		data, err := io.ReadAll(c)
		intact := len(data) == size
		for i := 0; intact && i < len(data); i++ {
			intact = data[i] == pattern(i)
		}
		ok := 0
		if intact {
			ok = 1
		}
		fmt.Printf("%s bytes=%d intact=%d read=%s\n", line, len(data), ok, errText(err))
	case "sink":
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Println("sink listen:", err)
			os.Exit(1)
		}
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		io.Copy(io.Discard, c)
	case "hold":
		c, err := net.Dial("tcp", addr)
		if err != nil {
			fmt.Println("hold dial:", err)
			os.Exit(1)
		}
		rc, _ := c.(*net.TCPConn).SyscallConn()
		var setuto error
		rc.Control(func(p uintptr) {
			setuto = syscall.SetsockoptInt(int(p), syscall.IPPROTO_TCP, tcpUserTimeout, 2000)
		})
		fmt.Printf("hold connected setuto=%s\n", errText(setuto))
		buf := make([]byte, 16384)
		c.SetWriteDeadline(time.Now().Add(60 * time.Second))
		for {
			if _, err := c.Write(buf); err != nil {
				fmt.Println("hold write:", err)
				return
			}
		}
	default:
		os.Exit(2)
	}
}
