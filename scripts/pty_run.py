#!/usr/bin/env python3
"""Runs a command on a real pseudo-terminal, as a person at a terminal would.

The command gets a new session whose controlling terminal is the pty (COLUMNS x ROWS),
so `isatty` is true, TIOCGWINSZ gives the size, and a Ctrl-C typed into the terminal
(`--interrupt-after TEXT`: the byte 0x03, once TEXT has appeared in the output) is
turned into SIGINT by the terminal's line discipline, exactly as at a keyboard.

Prints one JSON object: {"status": exit status (128 + signal when killed),
"output": everything the terminal showed, stdout and stderr interleaved}.

  pty_run.py [--columns N] [--rows N] [--interrupt-after TEXT] [--timeout S] -- CMD ARG...
"""
import argparse
import json
import os
import pty
import select
import signal
import struct
import sys
import termios
import fcntl
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--columns", type=int, default=80)
    parser.add_argument("--rows", type=int, default=24)
    parser.add_argument("--interrupt-after", default=None)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command

    pid, master = pty.fork()
    if pid == 0:
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", args.rows, args.columns, 0, 0))
    output = bytearray()
    interrupted = args.interrupt_after is None
    deadline = time.monotonic() + args.timeout
    status = None
    while True:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                chunk = b""
            output += chunk
            if not chunk:
                break
        if not interrupted and args.interrupt_after.encode() in output:
            os.write(master, b"\x03")
            interrupted = True
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            status = code
            # Read what is left.
            while select.select([master], [], [], 0.1)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
            break
    if status is None:
        _, status = os.waitpid(pid, 0)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    json.dump({"status": code, "output": output.decode("utf-8", "replace")}, sys.stdout)


if __name__ == "__main__":
    main()
