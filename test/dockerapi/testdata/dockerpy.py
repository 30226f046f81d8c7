"""Drives berthd's Docker API with docker-py (Debian's python3-docker).

Usage: dockerpy.py SOCKET REPOSITORY TAG; prints "ok" and exits 0 when every
step did what Docker's daemon does.
"""
import sys
import time

import docker

sock, repo, tag = sys.argv[1:4]
ref = repo + ":" + tag
client = docker.DockerClient(base_url="unix://" + sock, version="auto", timeout=60)

assert client.ping()
assert client.version()["ApiVersion"] == "1.50", client.version()
client.images.pull(repo, tag=tag)
assert ref in client.images.get(ref).tags, client.images.get(ref).tags

out = client.containers.run(ref, ["sh", "-c", "echo py; echo err >&2"], remove=True, stderr=True)
# Two pipes: the order of the streams' lines is the container's race.
assert sorted(out.splitlines()) == [b"err", b"py"], out

try:
    client.containers.run(ref, ["sh", "-c", "exit 4"], remove=True)
    raise AssertionError("a failing command did not raise ContainerError")
except docker.errors.ContainerError as e:
    assert e.exit_status == 4, e.exit_status

ct = client.containers.run(ref, ["sh", "-c", "echo bg; exec sleep 1000"], detach=True, name="pyc", labels={"by": "py"})
for _ in range(200):
    if ct.logs() == b"bg\n":
        break
    time.sleep(0.05)
assert ct.logs() == b"bg\n", ct.logs()
ct.reload()
assert ct.status == "running", ct.status
assert [c.name for c in client.containers.list(filters={"label": "by=py"})] == ["pyc"]

try:
    client.containers.create(ref, "true", name="pyc")
    raise AssertionError("a name in use was accepted")
except docker.errors.APIError as e:
    assert e.status_code == 409, e

ct.kill()
assert ct.wait()["StatusCode"] == 137
ct.remove()

try:
    client.containers.get("pyc")
    raise AssertionError("a removed container was found")
except docker.errors.NotFound:
    pass
assert client.containers.list(all=True) == []
print("ok")
