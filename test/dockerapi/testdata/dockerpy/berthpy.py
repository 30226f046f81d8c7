"""Helpers for the docker-py scripts: named steps and their failures.

Each script runs its checks in steps (``with step("name"):``); the first
exception in a step prints the step's name and the traceback on stderr
and exits 1, so the Go test that runs the script says which step failed.
"""
import contextlib
import faulthandler
import sys
import time
import traceback

import docker

current = ""

# A hang shows where it is before the Go test's two minutes run out.
faulthandler.dump_traceback_later(100, exit=True)


@contextlib.contextmanager
def step(name):
    """Runs the block as the step name: any exception ends the script."""
    global current
    current = name
    print("step: " + name, file=sys.stderr, flush=True)
    try:
        yield
    except Exception:  # noqa: BLE001 - every failure is the step's
        traceback.print_exc()
        print("step failed: " + name, file=sys.stderr)
        print("FAIL " + name)
        sys.exit(1)


def client(sock):
    """A docker-py client on berthd's socket, negotiating the version."""
    return docker.DockerClient(base_url="unix://" + sock, version="auto", timeout=60)


def check(cond, *what):
    """Raises AssertionError with what unless cond."""
    if not cond:
        raise AssertionError(" ".join(str(w) for w in what) or "check failed")


def raises(exc, status, fn, *args, **kwargs):
    """Calls fn, which must raise exc (with the HTTP status, if given);
    returns the exception."""
    try:
        got = fn(*args, **kwargs)
    except exc as e:
        if status is not None:
            check(getattr(e, "status_code", None) == status, "status", getattr(e, "status_code", None), "want", status, e)
        return e
    raise AssertionError("%s did not raise %s but returned %r" % (getattr(fn, "__name__", fn), exc.__name__, got))


def until(what, fn, tries=400):
    """Polls fn until it returns a true value (20 s at most); returns it."""
    for _ in range(tries):
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("never came: " + what)


def cgroup_file(pid, controller, v1, v2):
    """Reads file v1 of pid's cgroup in controller (cgroup v1), else file
    v2 of its unified cgroup (v2), stripped."""
    with open("/proc/%d/cgroup" % pid) as f:
        lines = f.read().split("\n")
    for ln in lines:
        f = ln.split(":", 2)
        if len(f) != 3:
            continue
        if controller in f[1].split(","):
            p = "/sys/fs/cgroup/%s%s/%s" % (f[1], f[2], v1)
        elif f[0] == "0" and f[1] == "":
            p = "/sys/fs/cgroup%s/%s" % (f[2], v2)
        else:
            continue
        try:
            with open(p) as cg:
                return cg.read().strip()
        except OSError:
            continue
    raise AssertionError("no %s cgroup file for pid %d" % (controller, pid))
