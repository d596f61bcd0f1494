"""The image in qemu, driven through its serial console (pexpect).

Used by tools/image/test and by hand:

    /usr/bin/python3 tools/image/vm.py IMAGE 'cmd' ['cmd' ...]

boots the image (a debug one: root logged in on ttyAMA0), runs each shell
command, prints its output, and powers the VM off. Timings go to stderr.
"""
import os
import re
import sys
import time

import pexpect

HERE = os.path.dirname(os.path.abspath(__file__))
PROMPT = "WGSH# "


class VM:
    def __init__(self, image, log=None, net=""):
        e = dict(os.environ, WG_BOOT_NET=net)
        self.t0 = time.monotonic()
        self.p = pexpect.spawn(os.path.join(HERE, "boot"), [image], env=e,
                               encoding="utf-8", codec_errors="replace",
                               timeout=600)
        self.p.logfile_read = log

    def elapsed(self):
        return time.monotonic() - self.t0

    def expect(self, pat, timeout=600):
        return self.p.expect(pat, timeout=timeout)

    def drain(self, seconds=0.5):
        """Reads the console for a while: qemu stops when nobody reads it."""
        self.p.expect([pexpect.TIMEOUT, pexpect.EOF], timeout=seconds)

    def login(self, timeout=600):
        """Waits for the autologin shell; sets a prompt that is easy to find."""
        self.expect(r"root@wattgate:~# ", timeout)
        self.p.sendline("PS1='%s'; stty -echo cols 200" % PROMPT)
        self.expect(PROMPT)
        self.expect(PROMPT)

    def sh(self, cmd, timeout=120):
        """Runs cmd in the guest's shell: its output and exit status."""
        self.p.sendline("%s; echo \"@rc=$?\"" % cmd)
        self.expect(r"@rc=(\d+)\r*\n", timeout)
        out = self.p.before
        rc = int(self.p.match.group(1))
        self.expect(PROMPT)
        # Without the shell's own escapes (bracketed paste on and off).
        out = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)
        return re.sub(r"\r", "", out).strip(), rc

    def kill(self):
        self.p.terminate(force=True)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    vm = VM(sys.argv[1], log=sys.stdout)
    vm.login()
    sys.stderr.write("[login after %.1f s]\n" % vm.elapsed())
    for c in sys.argv[2:]:
        out, rc = vm.sh(c)
        sys.stderr.write("[%s: rc %d]\n" % (c, rc))
    vm.p.sendline("poweroff")
    vm.expect(pexpect.EOF, 120)


if __name__ == "__main__":
    main()
