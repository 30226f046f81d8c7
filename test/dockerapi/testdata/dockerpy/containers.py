"""Drives berthd's containers with docker-py (Debian's python3-docker 5.0.3).

Usage: containers.py SOCKET REPOSITORY TAG

Runs, streams, execs, attaches, changes and copies containers and checks
that bad input raises what Docker's daemon makes docker-py raise. Each
check is a step; the first failing one prints "FAIL STEP" and exits 1.
Prints "containers ok" last when every step passed.
"""
import io
import re
import socket
import sys
import tarfile
import urllib.request

import docker
from docker.utils import socket as dsocket

from berthpy import cgroup_file, check, client, raises, step, until

sock, repo, tag = sys.argv[1:4]
ref = repo + ":" + tag
c = client(sock)

with step("ping and version"):
    check(c.ping() is True)
    check(c.version()["ApiVersion"] == "1.50", c.version())
    check(c.api.api_version == "1.50", c.api.api_version)

with step("pull"):
    img = c.images.pull(repo, tag=tag)
    check(ref in img.tags, img.tags)

with step("run attached with remove"):
    out = c.containers.run(ref, ["sh", "-c", "echo py; echo err >&2"], remove=True, stderr=True)
    # Two pipes: the order of the streams' lines is the container's race.
    check(sorted(out.splitlines()) == [b"err", b"py"], out)

with step("run attached exit code"):
    e = raises(docker.errors.ContainerError, None, c.containers.run, ref, ["sh", "-c", "exit 4"], remove=True)
    check(e.exit_status == 4, e.exit_status)

with step("run detached with env, labels, port, volume, auto_remove"):
    web = c.containers.run(
        ref, ["sh", "-c", 'echo "$GREETING" > /site/index.html && exec httpd -f -p 80 -h /site'],
        detach=True, name="pyweb", environment={"GREETING": "hello from py"}, labels={"by": "py"},
        ports={"80/tcp": ("127.0.0.1", None)}, volumes={"pyvol": {"bind": "/site", "mode": "rw"}},
        auto_remove=True)
    web.reload()
    check(web.status == "running", web.status)
    check(web.labels == {"by": "py"}, web.labels)
    check("GREETING=hello from py" in web.attrs["Config"]["Env"], web.attrs["Config"]["Env"])
    check(web.attrs["HostConfig"]["AutoRemove"] is True, web.attrs["HostConfig"])
    mounts = [(m["Type"], m["Name"], m["Destination"]) for m in web.attrs["Mounts"]]
    check(mounts == [("volume", "pyvol", "/site")], web.attrs["Mounts"])
    binds = web.ports["80/tcp"]
    check(len(binds) == 1 and binds[0]["HostIp"] == "127.0.0.1" and int(binds[0]["HostPort"]) > 0, binds)
    check([x.name for x in c.containers.list(filters={"label": "by=py"})] == ["pyweb"])

with step("published port answers"):
    url = "http://127.0.0.1:%s/index.html" % binds[0]["HostPort"]
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def fetch():
        try:
            return opener.open(url, timeout=5).read()
        except OSError:
            return None
    body = until("an answer on " + url, fetch)
    check(body == b"hello from py\n", body)

with step("stop removes an auto_remove container"):
    web.stop(timeout=1)
    until("pyweb removed", lambda: not c.containers.list(all=True, filters={"name": "pyweb"}))
    raises(docker.errors.NotFound, 404, c.containers.get, "pyweb")
    check(c.volumes.get("pyvol").name == "pyvol")
    # (docker-py 5.0.3 declares the target of "VOL:/www:ro" as "/": its
    # rstrip(':rw') eats a target's trailing r, w, o.)
    out = c.containers.run(ref, ["cat", "/site/index.html"], remove=True, volumes=["pyvol:/site:ro"])
    check(out == b"hello from py\n", out)
    c.volumes.get("pyvol").remove()

TS = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z (.*)$")

with step("logs stream follow timestamps"):
    lg = c.containers.run(
        ref, ["sh", "-c", "echo one; echo two >&2; until [ -e /tmp/go ]; do sleep 0.05; done; echo three; exit 3"],
        detach=True, name="pylogs")
    stream = lg.logs(stream=True, follow=True, timestamps=True)
    got = b""
    for chunk in stream:
        got += chunk
        if got.count(b"\n") == 2:
            break
    check(lg.exec_run(["busybox", "touch", "/tmp/go"]).exit_code == 0)
    for chunk in stream:
        got += chunk
    lines = got.splitlines()
    for ln in lines:
        check(TS.match(ln), "no timestamp:", ln)
    texts = [TS.match(ln).group(2) for ln in lines]
    check(sorted(texts[:2]) == [b"one", b"two"] and texts[2:] == [b"three"], texts)

with step("wait exit code"):
    w = lg.wait()
    check(w["StatusCode"] == 3 and not w.get("Error"), w)
    lg.reload()
    check(lg.status == "exited" and lg.attrs["State"]["ExitCode"] == 3, lg.attrs["State"])

with step("logs split and tail"):
    check(lg.logs(stdout=True, stderr=False) == b"one\nthree\n", lg.logs(stdout=True, stderr=False))
    check(lg.logs(stdout=False, stderr=True) == b"two\n", lg.logs(stdout=False, stderr=True))
    check(lg.logs(tail=1) == b"three\n", lg.logs(tail=1))
    lg.remove()

with step("exec_run exit code and output"):
    ops = c.containers.run(ref, ["sleep", "1000"], detach=True, name="pyops")
    r = ops.exec_run(["sh", "-c", "echo out; echo err >&2; exit 5"])
    check(r.exit_code == 5, r)
    check(sorted(r.output.splitlines()) == [b"err", b"out"], r.output)

with step("exec_run demux"):
    r = ops.exec_run(["sh", "-c", "echo out; echo err >&2; exit 6"], demux=True)
    check(r.exit_code == 6 and r.output == (b"out\n", b"err\n"), r)

with step("exec_run env, workdir, user"):
    r = ops.exec_run(["sh", "-c", 'echo "$X $(pwd) $(id -u)"'], environment={"X": "y"}, workdir="/tmp", user="1000")
    check(r == (0, b"y /tmp 1000\n"), r)

with step("exec_run stream"):
    r = ops.exec_run(["sh", "-c", "for i in 1 2 3; do echo $i; done"], stream=True)
    check(r.exit_code is None, r.exit_code)
    out = b"".join(r.output)
    check(out == b"1\n2\n3\n", out)

with step("exec_run stream demux"):
    r = ops.exec_run(["sh", "-c", "echo a; echo b >&2; echo c"], stream=True, demux=True)
    outs, errs = b"", b""
    for o, e in r.output:
        outs += o or b""
        errs += e or b""
    check((outs, errs) == (b"a\nc\n", b"b\n"), outs, errs)

with step("exec in an unknown command"):
    r = ops.exec_run(["nosuchcmd"])
    check(r.exit_code == 127, r)

with step("attach socket"):
    at = c.containers.create(ref, ["sh", "-c", "read line; echo got $line; echo bye >&2"], stdin_open=True, name="pyattach")
    at.start()
    s = at.attach_socket(params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
    raw = s._sock if hasattr(s, "_sock") else s
    raw.sendall(b"hello\n")
    frames = list(dsocket.frames_iter(s, tty=False))
    out = b"".join(d for k, d in frames if k == dsocket.STDOUT)
    err = b"".join(d for k, d in frames if k == dsocket.STDERR)
    check((out, err) == (b"got hello\n", b"bye\n"), frames)
    s.close()
    check(at.wait()["StatusCode"] == 0)
    at.remove()

with step("pause and unpause"):
    ops.pause()
    ops.reload()
    check(ops.status == "paused", ops.status)
    raises(docker.errors.APIError, 409, ops.exec_run, ["true"])
    raises(docker.errors.APIError, 409, ops.pause)
    ops.unpause()
    ops.reload()
    check(ops.status == "running", ops.status)
    raises(docker.errors.APIError, 409, ops.unpause)

with step("top"):
    top = ops.top()
    check("PID" in top["Titles"], top)
    cmds = [" ".join(p) for p in top["Processes"]]
    check(any("sleep 1000" in p for p in cmds), top)

with step("stats stream=False"):
    st = ops.stats(stream=False)
    check(st["name"] == "/pyops" and st["id"] == ops.id, st.get("name"), st.get("id"))
    check(st["memory_stats"]["usage"] > 0, st["memory_stats"])
    check(st["pids_stats"]["current"] >= 1, st["pids_stats"])
    check(st["cpu_stats"]["cpu_usage"]["total_usage"] > 0, st["cpu_stats"])
    check("system_cpu_usage" in st["precpu_stats"], st["precpu_stats"])

with step("update"):
    res = ops.update(mem_limit="64m", cpu_quota=50000, cpu_period=100000, restart_policy={"Name": "on-failure", "MaximumRetryCount": 2})
    check(isinstance(res, dict), res)
    ops.reload()
    hc = ops.attrs["HostConfig"]
    check(hc["Memory"] == 64 << 20, hc["Memory"])
    check(hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}, hc["RestartPolicy"])
    pid = ops.attrs["State"]["Pid"]
    mem = cgroup_file(pid, "memory", "memory.limit_in_bytes", "memory.max")
    check(mem == str(64 << 20), "memory cgroup", mem)
    cpu = cgroup_file(pid, "cpu", "cpu.cfs_quota_us", "cpu.max").split()[0]
    check(cpu == "50000", "cpu quota", cpu)

with step("rename"):
    ops.rename("pyops2")
    ops.reload()
    check(ops.name == "pyops2", ops.name)
    check(c.containers.get("pyops2").id == ops.id)
    raises(docker.errors.NotFound, 404, c.containers.get, "pyops")

with step("put_archive"):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        data = b"hello\n"
        ti = tarfile.TarInfo("hello.txt")
        ti.size, ti.mode = len(data), 0o640
        tf.addfile(ti, io.BytesIO(data))
    check(ops.put_archive("/tmp", buf.getvalue()) is True)
    r = ops.exec_run(["busybox", "stat", "-c", "%a %s", "/tmp/hello.txt"])
    check(r == (0, b"640 6\n"), r)

with step("get_archive"):
    chunks, stat = ops.get_archive("/tmp/hello.txt")
    check(stat["name"] == "hello.txt" and stat["size"] == 6, stat)
    tf = tarfile.open(fileobj=io.BytesIO(b"".join(chunks)))
    check(tf.getnames() == ["hello.txt"], tf.getnames())
    check(tf.extractfile("hello.txt").read() == b"hello\n")
    raises(docker.errors.NotFound, 404, ops.get_archive, "/nosuch")

with step("diff"):
    changes = ops.diff()
    check({"Path": "/tmp/hello.txt", "Kind": 1} in changes, changes)

with step("export"):
    tf = tarfile.open(fileobj=io.BytesIO(b"".join(ops.export())))
    names = {n.lstrip("./") for n in tf.getnames()}
    check("tmp/hello.txt" in names and "bin/sh" in names, sorted(names)[:20])
    check(tf.extractfile([m for m in tf.getmembers() if m.name.lstrip("./") == "tmp/hello.txt"][0]).read() == b"hello\n")

with step("restart"):
    started = ops.attrs["State"]["StartedAt"]
    ops.restart(timeout=1)
    ops.reload()
    check(ops.status == "running" and ops.attrs["State"]["StartedAt"] != started, ops.attrs["State"])

with step("stop"):
    ops.stop(timeout=1)
    ops.reload()
    check(ops.status == "exited" and ops.attrs["State"]["ExitCode"] == 137, ops.attrs["State"])
    raises(docker.errors.APIError, 409, ops.kill)

with step("kill"):
    ops.start()
    ops.kill()
    check(ops.wait()["StatusCode"] == 137)
    ops.remove()
    raises(docker.errors.NotFound, 404, ops.reload)

with step("prune"):
    p1 = c.containers.create(ref, ["true"], labels={"prune": "py"})
    p2 = c.containers.create(ref, ["true"])
    # limit: the newest containers, stopped ones included.
    check([x.id for x in c.containers.list(limit=1)] == [p2.id], c.containers.list(limit=1))
    check([x.id for x in c.containers.list(limit=5)] == [p2.id, p1.id], c.containers.list(limit=5))
    check(c.containers.list() == [], c.containers.list())
    raises(docker.errors.APIError, 400, c.containers.list, limit="x")
    res = c.containers.prune(filters={"label": "prune=py"})
    check(res["ContainersDeleted"] == [p1.id], res)
    check(isinstance(res["SpaceReclaimed"], int), res)
    check([x.id for x in c.containers.list(all=True)] == [p2.id])
    res = c.containers.prune()
    check(res["ContainersDeleted"] == [p2.id], res)

with step("unknown container is NotFound"):
    raises(docker.errors.NotFound, 404, c.containers.get, "nosuch")
    raises(docker.errors.NotFound, 404, c.api.start, "nosuch")
    raises(docker.errors.NotFound, 404, c.api.remove_container, "nosuch")
    raises(docker.errors.NotFound, 404, c.api.logs, "nosuch")

with step("name in use is 409"):
    taken = c.containers.create(ref, "true", name="pytaken")
    e = raises(docker.errors.APIError, 409, c.containers.create, ref, "true", name="pytaken")
    check("already in use" in str(e), e)
    taken.remove()

with step("missing image is NotFound"):
    raises(docker.errors.ImageNotFound, 404, c.images.get, repo + ":nosuchtag")
    raises(docker.errors.NotFound, 404, c.containers.run, repo + ":nosuchtag", "true", remove=True)
    raises(docker.errors.NotFound, 404, c.images.pull, repo, tag="nosuchtag")

with step("malformed request is 400"):
    resp = c.api._post(c.api._url("/containers/create"), data='{"Image": ', headers={"Content-Type": "application/json"})
    e = raises(docker.errors.APIError, 400, c.api._raise_for_status, resp)
    check(e.is_client_error() and "malformed" in e.explanation, e.explanation)
    raises(docker.errors.APIError, 400, c.containers.list, filters={"nosuchfilter": "x"})
    raises(docker.errors.APIError, 400, c.containers.create, ref, "true", name="bad/name")

with step("nothing left"):
    check(c.containers.list(all=True) == [], c.containers.list(all=True))

print("containers ok")
