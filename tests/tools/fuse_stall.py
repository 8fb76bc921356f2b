#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A process whose counters mapping lives on a FUSE filesystem that stops answering.

Run as root in a mount namespace of its own (`unshare -m`): mounts a minimal FUSE filesystem (the
raw /dev/fuse protocol, no library) over its /dev/shm, maps /dev/shm/mptcpize-<pidns>-<pid> as
the shim would, then stops reading requests and prints "ready". Anything that then looks at that
file (stat, open, a path walk) waits forever; because the requests are never read, a waiter can
still be killed. On SIGTERM it answers again, unmaps and exits, so it never hangs on itself.
Used by tests/integration/status.sh: `mptcpize status PID` must still finish.
"""
import ctypes, mmap, os, select, signal, struct, sys, threading

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
dev = os.open("/dev/fuse", os.O_RDWR)
opts = "fd=%d,rootmode=40000,user_id=0,group_id=0" % dev
if libc.mount(b"stall", b"/dev/shm", b"fuse", 6, opts.encode()) != 0:  # MS_NOSUID|MS_NODEV
    sys.exit("mount: %s" % os.strerror(ctypes.get_errno()))
answering = threading.Event()
answering.set()


def attr(ino, mode, size):
    return struct.pack("<QQQQQQIIIIIIIIII", ino, size, 1, 0, 0, 0, 0, 0, 0, mode, 1, 0, 0, 0,
                       4096, 0)


def reply(unique, err=0, body=b""):
    os.write(dev, struct.pack("<IiQ", 16 + len(body), -err, unique) + body)


def serve():
    while True:
        if not answering.is_set():  # stalled: leave requests queued, unread
            answering.wait()
        if not select.select([dev], [], [], 0.05)[0]:
            continue
        try:
            req = os.read(dev, 1 << 20)
        except OSError:
            return  # unmounted
        _, op, unique, node = struct.unpack_from("<IIQQ", req)
        if op == 26:  # INIT
            reply(unique, 0, struct.pack("<IIIIHHIIHHI7I", 7, 31, 0, 0, 0, 0, 4096, 1, 0, 0, 0,
                                         *[0] * 7))
        elif op == 1:  # LOOKUP: every name is a 4 KiB regular file, never cached
            reply(unique, 0, struct.pack("<QQQQII", 2, 0, 0, 0, 0, 0) + attr(2, 0o100600, 4096))
        elif op == 3:  # GETATTR
            a = attr(1, 0o40755, 0) if node == 1 else attr(2, 0o100600, 4096)
            reply(unique, 0, struct.pack("<QII", 0, 0, 0) + a)
        elif op in (14, 27):  # OPEN, OPENDIR
            reply(unique, 0, struct.pack("<QII", 0, 0, 0))
        elif op in (25, 18, 29):  # FLUSH, RELEASE, RELEASEDIR
            reply(unique)
        elif op == 15:  # READ: zeros
            _, size = struct.unpack_from("<QI", req, 48)
            reply(unique, 0, bytes(size))
        else:
            reply(unique, 38)  # ENOSYS


threading.Thread(target=serve, daemon=True).start()
ns = int(os.readlink("/proc/self/ns/pid").split("[")[1].rstrip("]"))
fd = os.open("/dev/shm/mptcpize-%d-%d" % (ns, os.getpid()), os.O_RDONLY)
m = mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ)
os.close(fd)
done = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: done.set())
answering.clear()
threading.Event().wait(0.2)  # the serving thread notices within 50 ms
print("ready", flush=True)
while not done.wait(0.1):
    pass
answering.set()
m.close()
os._exit(0)
