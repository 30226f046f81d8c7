"""Drives berthd's images, volumes, networks and system endpoints with
docker-py (Debian's python3-docker 5.0.3).

Usage: resources.py SOCKET REGISTRY NET1 SUBNET1 NET2 SUBNET2

REGISTRY holds test/busybox:v1 and takes pushes; NET1 and NET2 are free
network names with free /24 subnets. Each check is a step; the first
failing one prints "FAIL STEP" and exits 1. Prints "resources ok" last
when every step passed.
"""
import io
import ipaddress
import json
import sys
import tarfile
import time

import docker
from docker.types import IPAMConfig, IPAMPool

from berthpy import check, client, raises, step

sock, registry, net1, sub1, net2, sub2 = sys.argv[1:7]
repo = registry + "/test/busybox"
ref = repo + ":v1"
copy = registry + "/py/copy:v2"
c = client(sock)
t0 = int(time.time())

with step("system ping, version, info"):
    check(c.ping() is True)
    v = c.version()
    check(v["ApiVersion"] == "1.50" and v["MinAPIVersion"] == "1.24" and v["Os"] == "linux", v)
    info = c.info()
    check(info["Containers"] == 0 and info["Images"] == 0, info["Containers"], info["Images"])
    check(info["OSType"] == "linux" and info["ServerVersion"], info["OSType"], info["ServerVersion"])

# Images.

with step("images pull"):
    img = c.images.pull(repo, tag="v1")
    check(img.tags == [ref], img.tags)
    check(c.info()["Images"] == 1)

with step("images list with filters"):
    check([i.id for i in c.images.list()] == [img.id])
    check([i.id for i in c.images.list(name=repo)] == [img.id])
    check([i.id for i in c.images.list(filters={"reference": registry + "/test/*"})] == [img.id])
    check(c.images.list(filters={"reference": registry + "/nosuch/*"}) == [])
    check(c.images.list(filters={"dangling": True}) == [])
    check(c.images.list(filters={"label": "nosuch=label"}) == [])
    raises(docker.errors.APIError, 400, c.images.list, filters={"nosuchfilter": "x"})

with step("images tag"):
    check(img.tag(registry + "/py/copy", "v2") is True)
    img.reload()
    check(sorted(img.tags) == sorted([ref, copy]), img.tags)
    check(c.images.get(copy).id == img.id)

with step("images push"):
    lines = list(c.images.push(registry + "/py/copy", tag="v2", stream=True, decode=True))
    check(not any("error" in ln for ln in lines), lines)
    digests = [ln["aux"]["Digest"] for ln in lines if "aux" in ln]
    check(len(digests) == 1 and digests[0].startswith("sha256:"), lines)

with step("images remove a tag and pull it back"):
    res = c.api.remove_image(copy)
    check(res == [{"Untagged": copy}], res)
    raises(docker.errors.ImageNotFound, 404, c.images.get, copy)
    check(c.images.get(ref).id == img.id)
    back = c.images.pull(registry + "/py/copy", tag="v2")
    check(back.id == img.id, back.id, img.id)

with step("images history"):
    hist = img.history()
    check(len(hist) >= 1, hist)
    for h in hist:
        check({"Created", "CreatedBy", "Size", "Tags"} <= h.keys(), h)
    check(sum(h["Size"] for h in hist) > 0, hist)

with step("images save"):
    data = b"".join(c.images.get(copy).save(named=True))
    tf = tarfile.open(fileobj=io.BytesIO(data))
    manifest = json.load(tf.extractfile("manifest.json"))
    check(len(manifest) == 1 and manifest[0]["RepoTags"] == [copy], manifest)
    both = b"".join(c.api.get_image(ref))
    check(both[:512] and tarfile.open(fileobj=io.BytesIO(both)).getmember("manifest.json"))

with step("images remove the last tag"):
    c.images.remove(copy)
    res = c.api.remove_image(ref)
    check({"Untagged": ref} in res and {"Deleted": img.id} in res, res)
    check(c.images.list() == [])

with step("images load"):
    loaded = c.images.load(data)
    check([i.tags for i in loaded] == [[copy]], [i.tags for i in loaded])
    check(loaded[0].id == img.id)
    out = c.containers.run(copy, ["echo", "loaded"], remove=True)
    check(out == b"loaded\n", out)

with step("images remove in use is 409"):
    ct = c.containers.create(copy, ["true"], name="pyimguser")
    e = raises(docker.errors.APIError, 409, c.images.remove, copy)
    check("pyimguser" in str(e) or ct.id[:12] in str(e), e)

with step("images prune"):
    res = c.images.prune(filters={"dangling": False})
    check(not res["ImagesDeleted"], res)
    ct.remove()
    res = c.images.prune(filters={"dangling": False})
    check({"Untagged": copy} in res["ImagesDeleted"] and {"Deleted": img.id} in res["ImagesDeleted"], res)
    check(res["SpaceReclaimed"] > 0, res)
    check(c.images.list() == [])

with step("images missing are ImageNotFound"):
    raises(docker.errors.ImageNotFound, 404, c.images.get, copy)
    raises(docker.errors.ImageNotFound, 404, c.images.remove, copy)
    raises(docker.errors.NotFound, 404, c.images.pull, registry + "/py/nosuch", tag="v1")
    raises(docker.errors.NotFound, 404, lambda: b"".join(c.api.get_image(copy)))

# Volumes.

with step("volumes create"):
    img = c.images.pull(repo, tag="v1")
    v1 = c.volumes.create("pyv1", labels={"team": "a"})
    check(v1.name == "pyv1" and v1.attrs["Labels"] == {"team": "a"} and v1.attrs["Driver"] == "local", v1.attrs)
    v2 = c.volumes.create("pyv2")
    check(c.volumes.create("pyv2").id == v2.id)
    raises(docker.errors.APIError, 400, c.volumes.create, "bad/name")

with step("volumes list with filters"):
    def names(**kw):
        return sorted(v.name for v in c.volumes.list(**kw))
    check(names() == ["pyv1", "pyv2"], names())
    check(names(filters={"label": "team=a"}) == ["pyv1"])
    check(names(filters={"label": "team"}) == ["pyv1"])
    check(names(filters={"name": "pyv2"}) == ["pyv2"])
    check(names(filters={"driver": "local"}) == ["pyv1", "pyv2"])
    ct = c.containers.run(ref, ["sh", "-c", "echo 12345 > /vol/f"], volumes={"pyv1": {"bind": "/vol", "mode": "rw"}}, detach=True)
    check(ct.wait()["StatusCode"] == 0)
    check(names(filters={"dangling": True}) == ["pyv2"], names(filters={"dangling": True}))
    check(names(filters={"dangling": False}) == ["pyv1"])

with step("volumes inspect"):
    a = c.volumes.get("pyv1").attrs
    check(a["Name"] == "pyv1" and a["Mountpoint"].startswith("/") and a["Scope"] == "local", a)
    raises(docker.errors.NotFound, 404, c.volumes.get, "nosuch")

with step("system df"):
    df = c.df()
    check([i["Id"] for i in df["Images"]] == [img.id] and df["Images"][0]["Containers"] == 1, df["Images"])
    check([x["Id"] for x in df["Containers"]] == [ct.id], df["Containers"])
    vols = {x["Name"]: x["UsageData"] for x in df["Volumes"]}
    check(vols == {"pyv1": {"RefCount": 1, "Size": 6}, "pyv2": {"RefCount": 0, "Size": 0}}, vols)
    check(df["LayersSize"] > 0, df["LayersSize"])

with step("volumes remove in use is 409"):
    raises(docker.errors.APIError, 409, c.volumes.get("pyv1").remove)
    raises(docker.errors.APIError, 409, c.volumes.get("pyv1").remove, force=True)

with step("volumes prune"):
    anon = c.api.create_container(ref, "true", volumes=["/anon"])["Id"]
    mounts = c.containers.get(anon).attrs["Mounts"]
    check(len(mounts) == 1 and mounts[0]["Destination"] == "/anon", mounts)
    anon_vol = mounts[0]["Name"]
    c.api.remove_container(anon)
    ct.remove()
    res = c.volumes.prune()
    # From API 1.42 on only anonymous volumes go unless all=true.
    check(res["VolumesDeleted"] == [anon_vol], res)
    res = c.volumes.prune(filters={"all": True, "label": "team=a"})
    check(res["VolumesDeleted"] == ["pyv1"] and res["SpaceReclaimed"] >= 6, res)
    check(names() == ["pyv2"], names())

with step("volumes remove"):
    v2.remove()
    raises(docker.errors.NotFound, 404, v2.reload)
    check(c.volumes.list() == [])

# Networks. Events until t_cut (a whole second, as docker-py sends it)
# are the ones before them: the first one comes after it.
t_cut = int(time.time()) + 1
vol_ct = ct.id
while time.time() <= t_cut:
    time.sleep(0.05)


with step("networks create internal with subnet"):
    n1 = c.networks.create(net1, driver="bridge", internal=True, labels={"by": "py"},
                           ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=sub1)]))
    check(n1.name == net1 and n1.attrs["Internal"] is True and n1.attrs["Labels"] == {"by": "py"}, n1.attrs)
    check([p["Subnet"] for p in n1.attrs["IPAM"]["Config"]] == [sub1], n1.attrs["IPAM"])
    n2 = c.networks.create(net2, internal=True, ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=sub2)]))
    raises(docker.errors.APIError, 409, c.networks.create, net1, internal=True)

with step("networks list with filters"):
    def nets(**kw):
        return sorted(n.name for n in c.networks.list(**kw))
    check(nets() == sorted(["bridge", net1, net2]), nets())
    check(nets(filters={"label": "by=py"}) == [net1])
    check(nets(names=[net2]) == [net2])
    check(nets(ids=[n1.id]) == [net1])
    check(nets(filters={"type": "custom"}) == sorted([net1, net2]))
    check(nets(filters={"driver": "bridge"}) == sorted(["bridge", net1, net2]))

with step("networks two containers resolve each other"):
    a = c.containers.run(ref, ["sleep", "1000"], detach=True, name="pya", network=net1)
    b = c.containers.run(ref, ["sleep", "1000"], detach=True, name="pyb", network=net1)
    for x, y in ((a, "pyb"), (b, "pya")):
        r = x.exec_run(["busybox", "ping", "-c1", "-W2", y])
        check(r.exit_code == 0, x.name, "ping", y, r)
    n1.reload()
    check(sorted(x.name for x in n1.containers) == ["pya", "pyb"], n1.attrs["Containers"])
    a.reload()
    ip = a.attrs["NetworkSettings"]["Networks"][net1]["IPAddress"]
    check(ipaddress.ip_address(ip) in ipaddress.ip_network(sub1), ip, sub1)

with step("networks connect with aliases"):
    n2.connect(a, aliases=["pyalias"])
    a.reload()
    check("pyalias" in a.attrs["NetworkSettings"]["Networks"][net2]["Aliases"], a.attrs["NetworkSettings"]["Networks"])
    out = c.containers.run(ref, ["busybox", "ping", "-c1", "-W2", "pyalias"], network=net2, remove=True)
    check(b"1 packets received" in out, out)
    n2.reload()
    check([x.name for x in n2.containers] == ["pya"], n2.attrs["Containers"])

with step("networks disconnect"):
    n2.disconnect(a)
    a.reload()
    check(sorted(a.attrs["NetworkSettings"]["Networks"]) == [net1], a.attrs["NetworkSettings"]["Networks"])
    n2.reload()
    check(n2.containers == [], n2.attrs["Containers"])

with step("networks remove in use is 409"):
    raises(docker.errors.APIError, 409, n1.remove)

with step("networks prune"):
    res = c.networks.prune(filters={"label": "by=py"})
    check(not res["NetworksDeleted"], res)
    a.remove(force=True)
    b.remove(force=True)
    res = c.networks.prune(filters={"label": "by=py"})
    check(res["NetworksDeleted"] == [net1], res)
    raises(docker.errors.NotFound, 404, c.networks.get, net1)

with step("networks remove"):
    n2.remove()
    raises(docker.errors.NotFound, 404, c.networks.get, net2)
    raises(docker.errors.NotFound, 404, c.api.remove_network, "nosuchnet")
    check([n.name for n in c.networks.list()] == ["bridge"])

# Events.

with step("events since until with filters"):
    until = int(time.time()) + 1
    evs = list(c.events(since=t0, until=until, decode=True, filters={"type": "container", "event": "start"}))
    started = sorted(e["Actor"]["Attributes"]["name"] for e in evs)
    check(["pya", "pyb"] == [n for n in started if n in ("pya", "pyb")], started)
    check(all(e["Type"] == "container" and e["Action"] == "start" for e in evs), evs)
    evs = list(c.events(since=t0, until=until, decode=True, filters={"type": "network", "network": net2}))
    acts = [e["Action"] for e in evs]
    check(acts[0] == "create" and "connect" in acts and "disconnect" in acts and acts[-1] == "destroy", acts)
    evs = list(c.events(since=t0, until=until, decode=True, filters={"type": "volume", "event": "create"}))
    check({"pyv1", "pyv2"} <= {e["Actor"]["ID"] for e in evs}, evs)
    evs = list(c.events(since=t0, until=until, decode=True, filters={"type": "image", "image": copy}))
    acts = [e["Action"] for e in evs]
    check("tag" in acts and "push" in acts and "delete" in acts and all(e["Type"] == "image" for e in evs), evs)
    evs = list(c.events(since=t0, until=t_cut, decode=True, filters={"type": "container"}))
    check(all(e["time"] <= t_cut for e in evs), evs)
    check(("create", vol_ct) in [(e["Action"], e["Actor"]["ID"]) for e in evs], evs)
    check("pya" not in json.dumps(evs), evs)

with step("nothing left"):
    c.images.remove(ref)
    check(c.containers.list(all=True) == [] and c.images.list() == [] and c.volumes.list() == [])

print("resources ok")
