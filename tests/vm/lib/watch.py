#!/usr/bin/env python3
"""watch.py -- follow the serial consoles of one test-guest job while it runs.

Usage: watch.py --kver KVER --job JOB --scripts N [--every S] [--grace S]
                ROLE=PID [ROLE=PID]

tests/vm/run starts the guests of a job (one, or two joined by a link) in
the background and runs this in the foreground until they are gone. PID is
the process that runs a role's QEMU (the `timeout` wrapper; it ends when
QEMU ends). For each role it reads JOB/console-ROLE.log as it grows and

  * prints each scenario start and verdict as guest.sh announces them
    ("guest[a]: running NAME", "guest[a]: PASS|FAIL NAME (Ns) ..."), and a
    status line whenever it printed nothing for --every seconds, so a
    terminal is never silent for long;
  * prints, prefixed with kernel and role, every kernel trace: from a line
    that matches tests/vm/lib/kernel-errors (with the "cut here" or "===="
    line before it) to its end marker, a bounded number of lines, or a
    quiet moment; all of them are saved to JOB/traces-ROLE.txt;
  * on a crash (a "Kernel panic" line, or a die() line: "Oops", "[#1]",
    which panics at once since guests boot with oops=panic) saves the
    trace to JOB/crash-ROLE.txt (first line: the cause) and ends the job:
    stops that guest and its peer instead of leaving a wedged or waiting
    guest to time out;
  * when one guest of two ends, gives the other --grace seconds before
    stopping it (a peer stuck at a barrier must not hold the job);
  * kills a guest outright when a scenario asks for it: "the host died".

A scenario kills a host by creating JOB/shared/NAME/kill-host-ROLE (in the
guest: touch "$FERRY_SHARED/kill-host-a"; NAME is the scenario). The
watcher SIGKILLs that role's QEMU at once -- no SIGTERM, no shutdown: the
guest's kernel, disks and link vanish as with a power cut -- and, once the
process is gone, writes the Unix time to JOB/shared/NAME/killed-host-ROLE,
which the surviving guest waits for (over 9p). A killed guest is neither
a crash nor a stop, and its end starts no grace clock: the survivor may
have a restore and its checks ahead, and runs to its own end or time
limit. tests/vm/run judges the scenario by the survivor's verdict. Such a
scenario must be own-boot: the killed guest's later scripts never run.

At the end it writes JOB/watch.json (boot and scenario times, crashes,
stopped and killed roles) for tests/vm/run. Exit status: 0, 3 if a guest crashed, 4 if one did not come up within
--boot-limit seconds (a boot hang: the job was stopped).
"""
import argparse
import glob
import json
import os
import re
import signal
import sys
import time

POLL = 0.5		# seconds between reads; consoles are files, not pipes
QUIET = 2.0		# a trace with no new kernel line for this long is over
TRACE_LINES = 120	# a trace is cut here (the console log has all of it)
CRASH_LINES = 250	# a crash is kept to the end of the console, up to this
CRASH_WAIT = 15.0	# a crashing guest that neither ends nor panics: stop it
KILL_WAIT = 5.0		# SIGTERM, then SIGKILL after this long

# Escape sequences (CSI, OSC, two-byte) and other control characters that a
# serial console can carry; tabs stay.
ANSI = re.compile(r'\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])')
CTRL = re.compile(r'[\x00-\x08\x0b-\x1f\x7f]')
# printk's time stamp, with the caller id if the kernel has PRINTK_CALLER
STAMP = re.compile(r'\[\s*\d+\.\d+\](\[\s*[TC]\d+\])? ?')
GUEST = re.compile(r'guest\[(\w+)\]: (?:running (\S+)|(PASS|FAIL) (\S+) \((\d+)s\) ?(.*))$')
SEPARATOR = re.compile(r'^\s*(-+\[ cut here \]-+|={20,})\s*$')
END = re.compile(r'---\[ end (trace|Kernel panic)')
PANIC = re.compile(r'Kernel panic')
DIE = re.compile(r'Oops|: [0-9a-f]{4} \[#\d+\]')
# A CPU stuck this long does not come back: the guest is wedged (its
# scripts cannot be killed), as good as crashed. The watchdog reports
# every ~26 s, the first after 20-26 s.
WEDGED = re.compile(r'soft lockup - CPU#\d+ stuck for (\d+)s')
WEDGED_S = 120
# openers that name a crash better than the die() or panic line after them
CRASHY = re.compile(r'BUG|Oops|general protection fault|Kernel panic|: [0-9a-f]{4} \[#\d+\]')
KIND = re.compile(r'Kernel panic|Oops|general protection fault|KFENCE|WARNING|BUG|soft lockup|'
                  r'stall|corruption|Redzone|Poison|Call Trace')


def wedged(msg):
    m = WEDGED.search(msg)
    return m is not None and int(m.group(1)) >= WEDGED_S


def load_errors(path):
    pats = []
    with open(path) as f:
        for line in f:
            line = line.rstrip('\n')
            if line and not line.startswith('#'):
                pats.append(line)
    return re.compile('|'.join('(?:%s)' % p for p in pats))


def clean(raw):
    text = raw.decode('utf-8', errors='replace').replace('\r', '')
    return CTRL.sub('', ANSI.sub('', text))


def alive(pid):
    """True while pid runs (a zombie not yet reaped counts as gone)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            state = f.read().rsplit(')', 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ('Z', 'X')


class Out:
    """Everything printed goes through here: one flushed line at a time."""

    def __init__(self):
        self.last = time.monotonic()

    def __call__(self, line):
        sys.stdout.write(line + '\n')
        sys.stdout.flush()
        self.last = time.monotonic()


class Trace:
    def __init__(self, lines, cause, script, ruled):
        self.lines = lines
        self.cause = cause	# the kernel message that opened it
        kind = KIND.search(cause)
        self.kind = kind.group(0) if kind else 'error'
        self.script = script	# scenario running when it started
        self.ruled = ruled	# opened by a "====" line: the next one ends it
        self.fatal = False
        self.panicked = False
        self.last = time.monotonic()
        self.closed = False


class Role:
    def __init__(self, w, name, pid):
        self.w, self.name, self.pid = w, name, pid
        self.path = os.path.join(w.job, 'console-%s.log' % name)
        self.fd = None
        self.partial = b''
        self.tag = 'vm[%s %s]' % (w.kver, name)
        self.script = None	# scenario now running
        self.script_t = None
        self.booted = None	# seconds from job start to the first scenario
        self.done = 0
        self.finished = False	# after its last verdict
        self.times = {}
        self.prev = ''		# previous kernel message (for "cut here")
        self.trace = None
        self.traces = []
        self.crash = None	# the Trace that crashed the guest
        self.crash_t = None
        self.ended = None	# monotonic time its process was found gone
        self.stopped = None	# why we stopped it, if we did
        self.term_t = None
        self.killed = None	# the scenario that had it killed outright
        self.killed_t = None
        self.kill_noted = False	# killed-host-ROLE written for the survivor

    # -- reading -----------------------------------------------------------
    def poll(self, final=False):
        if self.fd is None:
            try:
                self.fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                return
        while True:
            chunk = os.read(self.fd, 65536)
            if not chunk:
                break
            self.partial += chunk
        *lines, self.partial = self.partial.split(b'\n')
        if final and self.partial:
            lines.append(self.partial)	# the guest is gone: no more to come
            self.partial = b''
        for raw in lines:
            self.line(clean(raw))

    def line(self, text):
        w = self.w
        g = GUEST.search(text)
        if g and g.group(1) == self.name:
            self.guest_event(g)
            text = text[:g.start()]	# kernel text the line may start with
        elif re.match(r'(guest\[%s\]|init): ' % self.name, text):
            w.out('%s %s' % (self.tag, text))	# the harness in the guest speaks
            return
        m = STAMP.search(text)
        if m:
            self.kernel_line(text[m.start():], text[m.end():])
        elif self.trace and text.strip():
            self.add(text)		# a continuation inside a trace

    def guest_event(self, g):
        w, now = self.w, time.monotonic()
        if g.group(2):
            if self.booted is None:
                self.booted = round(now - w.start)
                w.out('%s up after %ds' % (self.tag, self.booted))
            self.script, self.script_t = g.group(2), now
            w.out('%s running %s (%d of %d)' % (self.tag, self.script, self.done + 1, w.nscripts))
        else:
            verdict, name, secs, why = g.group(3), g.group(4), int(g.group(5)), g.group(6).strip()
            self.times[name] = secs
            self.done += 1
            self.script = None
            self.finished = self.done >= w.nscripts
            w.out('%s %s %s (%ds)%s' % (self.tag, verdict, name, secs, ': ' + why if why else ''))

    # -- traces ------------------------------------------------------------
    def kernel_line(self, line, msg):
        t = self.trace
        if t is None:
            if self.w.errors.search(msg):
                self.open(line, msg)
            self.prev = line
            return
        self.add(line)
        if DIE.search(msg) or PANIC.search(msg) or wedged(msg):
            self.make_fatal(t, msg)
        if t.fatal:
            if 'end Kernel panic' in msg:
                self.close()
            elif len(t.lines) >= CRASH_LINES:
                self.close('crash trace cut at %d lines' % CRASH_LINES)
        elif END.search(msg) or (t.ruled and SEPARATOR.match(msg)):
            self.close()
        elif len(t.lines) >= TRACE_LINES:
            self.close('trace cut at %d lines' % TRACE_LINES)
        self.prev = line

    def open(self, line, msg):
        # the "cut here" or "====" line printed just before belongs to it
        ruled = SEPARATOR.match(STAMP.sub('', self.prev, count=1)) is not None
        t = Trace([self.prev, line] if ruled else [line], msg.strip(), self.script, ruled)
        self.trace = t
        where = ' during %s' % t.script if t.script else ''
        self.w.out('%s kernel trace (%s)%s, console-%s.log:' % (self.tag, t.kind, where, self.name))
        for l in t.lines:
            self.w.out('%s | %s' % (self.tag, l))
        if DIE.search(msg) or PANIC.search(msg) or wedged(msg):
            self.make_fatal(t, msg)

    def add(self, line):
        t = self.trace
        t.lines.append(line)
        t.last = time.monotonic()
        self.w.out('%s | %s' % (self.tag, line))

    def make_fatal(self, t, msg):
        """msg (a die(), panic or wedged line) in trace t: the guest is going down."""
        t.fatal = True
        t.panicked = t.panicked or PANIC.search(msg) is not None
        if not CRASHY.search(t.cause) or wedged(msg):
            t.cause = msg.strip()	# a warning's trace that ended in a crash,
            # or the report that says how long the CPU has been stuck
        if self.crash is t:
            self.crash_t = time.monotonic()	# the crash goes on: a panic line
        elif self.crash is None:
            self.crash, self.crash_t = t, time.monotonic()
            self.w.out('%s KERNEL CRASH%s: %s -- ending the job' %
                       (self.tag, ' during %s' % t.script if t.script else '', t.cause))

    def close(self, why=None):
        t = self.trace
        if t is None:
            return
        if why:
            self.w.out('%s | (%s; the whole console is in console-%s.log)' % (self.tag, why, self.name))
        t.closed = True
        self.trace = None
        self.prev = ''
        self.traces.append(t)
        self.save()

    def save(self):
        """traces-ROLE.txt: every trace; crash-ROLE.txt: the cause, then all."""
        body = ''
        for t in self.traces + ([self.trace] if self.trace else []):
            body += '\n'.join(t.lines) + '\n\n'
        with open(os.path.join(self.w.job, 'traces-%s.txt' % self.name), 'w') as f:
            f.write(body)
        if self.crash:
            with open(os.path.join(self.w.job, 'crash-%s.txt' % self.name), 'w') as f:
                f.write(self.crash.cause + '\n\n' + body)

    def tick(self, now):
        """Time-based ends: a quiet trace, a guest that crashed but lingers."""
        t = self.trace
        if t and now - t.last >= QUIET and not (t.fatal and self.ended is None and not t.panicked):
            self.close()
        if self.crash and not self.w.stopping:
            if self.ended is not None or self.crash.closed or now - self.crash_t >= CRASH_WAIT:
                self.w.stop_all('the guest kernel crashed on %s' % self.name)

    # -- process -----------------------------------------------------------
    def check_alive(self, now):
        if self.ended is None and not alive(self.pid):
            self.ended = now
        return self.ended is None

    def stop(self, why):
        """SIGTERM the role's QEMU, SIGKILL it if it is still there later."""
        if self.ended is not None:
            return
        if self.stopped is None:
            self.stopped = why
            self.w.out('%s stopping the guest: %s' % (self.tag, why))
        sig = signal.SIGTERM
        if self.term_t is None:
            self.term_t = time.monotonic()
        elif time.monotonic() - self.term_t >= KILL_WAIT:
            sig = signal.SIGKILL
        else:
            return
        for pid in (self.qemu_pid(), self.pid):
            if pid:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
                if sig == signal.SIGTERM:
                    break	# timeout(1) passes a SIGTERM on to QEMU anyway

    def kill_request(self):
        """The scenario that asked for this guest's death, if one did."""
        asks = sorted(glob.glob(os.path.join(glob.escape(self.w.job), 'shared', '*',
                                             'kill-host-%s' % self.name)))
        return os.path.basename(os.path.dirname(asks[0])) if asks else None

    def kill(self, scenario):
        """SIGKILL the role's QEMU: a host dying, not shutting down."""
        self.killed, self.killed_t = scenario, time.monotonic()
        self.w.out('%s killing the guest outright (SIGKILL of QEMU), as scenario %s asked'
                   % (self.tag, scenario))
        # the wrapper's pid only if QEMU's is unknown: a SIGKILL of
        # timeout(1) is not passed on
        try:
            os.kill(self.qemu_pid() or self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def note_killed(self):
        """Tell the survivor, once the killed guest is gone for good (its
        wrapper ends after QEMU). Written to a .tmp first: the survivor
        polls over 9p and must not read an empty file."""
        d = os.path.join(self.w.job, 'shared', self.killed)
        path = os.path.join(d, 'killed-host-%s' % self.name)
        with open(path + '.tmp', 'w') as f:
            f.write('%d\n' % time.time())
        os.rename(path + '.tmp', path)
        self.kill_noted = True
        self.w.out('%s killed; %s written for the peer'
                   % (self.tag, os.path.relpath(path, self.w.job)))

    def qemu_pid(self):
        """QEMU's own pid (from its -pidfile), if it is this job's QEMU."""
        try:
            with open(os.path.join(self.w.job, 'qemu-%s.pid' % self.name)) as f:
                pid = int(f.read().strip())
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                cmd = f.read()
        except (OSError, ValueError):
            return None
        mark = ('ferry.job=%s ferry.role=%s' % (self.w.job, self.name)).encode()
        return pid if mark in cmd else None

    def status(self, now):
        if self.ended is not None:
            return '%s: %s' % (self.name, 'crashed' if self.crash else
                               'stopped' if self.stopped else
                               'killed (by %s)' % self.killed if self.killed else 'ended')
        if self.script:
            return '%s: %s for %ds (%d of %d)' % (self.name, self.script, now - self.script_t,
                                                 self.done + 1, self.w.nscripts)
        if self.booted is None:
            return '%s: booting' % self.name
        return '%s: %s (%d of %d done)' % (self.name, 'finishing' if self.finished else
                                          'between scripts', self.done, self.w.nscripts)


class Watch:
    def __init__(self, a):
        self.kver, self.job, self.nscripts = a.kver, a.job, a.scripts
        self.every, self.grace = a.every, a.grace
        self.errors = load_errors(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                               'kernel-errors'))
        self.out = Out()
        self.start = time.monotonic()
        self.roles = []
        for spec in a.roles:
            name, pid = spec.split('=', 1)
            self.roles.append(Role(self, name, int(pid)))
        self.stopping = None
        self.crash_end = None
        self.boot_limit = a.boot_limit
        self.boot_hang = None	# the role that did not come up in time

    def stop_all(self, why):
        if self.stopping is None:
            self.stopping = why
        for r in self.roles:
            r.stop(why)

    def run(self):
        while True:
            now = time.monotonic()
            running = [r for r in self.roles if r.check_alive(now)]
            for r in self.roles:
                r.poll(final=r.ended is not None)
                r.tick(now)
                if r.killed and r.ended is not None and not r.kill_noted:
                    r.note_killed()
            if not running:
                break
            if not self.stopping:	# a job that is ending anyway: no more kills
                for r in running:
                    if r.killed is None and r.term_t is None:
                        scenario = r.kill_request()
                        if scenario:
                            r.kill(scenario)
            if not self.stopping and self.boot_limit:
                hung = [r for r in running if r.booted is None and r.ended is None]
                if hung and now - self.start >= self.boot_limit:
                    self.boot_hang = hung[0].name
                    self.out('vm[%s] %s did not come up within %ds: stopping the job'
                             % (self.kver, hung[0].name, self.boot_limit))
                    self.stop_all('%s did not come up within %ds (boot hang)'
                                  % (hung[0].name, self.boot_limit))
            if self.stopping:
                self.stop_all(self.stopping)	# escalates to SIGKILL
            else:
                # a guest killed on request starts no clock: its peer
                # outlives it on purpose
                ends = [r.ended for r in self.roles if r.ended is not None and not r.killed]
                if ends and running and now - min(ends) >= self.grace:
                    for r in running:
                        r.stop('still running %ds after its peer ended' % self.grace)
            if now - self.out.last >= self.every:
                self.out('vm[%s] %ds: %s' % (self.kver, now - self.start,
                                             ', '.join(r.status(now) for r in self.roles)))
            time.sleep(POLL)
        for r in self.roles:	# a panic's trace ends with the guest: no note
            cut = r.trace and not r.trace.panicked
            r.close('the guest ended in the middle of this trace' if cut else None)
        return self.report()

    def report(self):
        end = time.monotonic()
        crashed = [r for r in self.roles if r.crash]
        info = {
            'kver': self.kver,
            'seconds': round(end - self.start),
            'boot_hang': self.boot_hang,
            'roles': {r.name: {
                'booted_after_s': r.booted,
                'script_s': r.times,
                'running': r.script,	# the scenario a crash or stop cut short
                'crash': r.crash.cause if r.crash else None,
                'stopped': r.stopped,
                'killed_by': r.killed,	# the scenario that had it killed
                'killed_after_s': round(r.killed_t - self.start) if r.killed else None,
                'traces': len(r.traces),
            } for r in self.roles},
        }
        if crashed:
            first = min(r.crash_t for r in crashed)
            info['crash_to_end_s'] = round(end - first, 1)
            self.out('vm[%s] job ended %.1fs after the crash' % (self.kver, end - first))
        with open(os.path.join(self.job, 'watch.json'), 'w') as f:
            json.dump(info, f, indent=1)
        return 3 if crashed else 4 if self.boot_hang else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--kver', required=True)
    p.add_argument('--job', required=True)
    p.add_argument('--scripts', type=int, required=True)
    p.add_argument('--every', type=float, default=30)
    p.add_argument('--grace', type=float, default=120)
    p.add_argument('--boot-limit', type=float, default=0,
                   help='seconds for every guest to start its first script; '
                        'then the job is stopped and the exit status is 4 (0: no limit)')
    p.add_argument('roles', nargs='+', metavar='ROLE=PID')
    a = p.parse_args()
    # tests/vm/run may be stopped with Ctrl-C: the guests go with it
    w = Watch(a)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    try:
        return w.run()
    except (KeyboardInterrupt, SystemExit):
        for r in w.roles:
            if alive(r.pid):
                r.ended = r.term_t = None
                r.stop('the test run was interrupted')
        return 130


if __name__ == '__main__':
    sys.exit(main())
