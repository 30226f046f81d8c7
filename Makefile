# Berth build. `make build` puts every binary in ./bin/.
GO      ?= go
PREFIX  ?= /usr/local
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -s -w -X github.com/berth-dev/berth/version.Version=$(VERSION) \
	-X github.com/berth-dev/berth/version.Commit=$(COMMIT)

# Every name here is a ./cmd/ directory; a missing one fails the build.
BINARIES := berth-runtime berth-seccomp berth-init berth-shim berth-reaper berth-pause berthd berth

.PHONY: build install lint test clean $(BINARIES)

build: $(BINARIES)

# berth-init runs inside containers: static, pure Go, as small as it can be.
# berth-shim runs once per container: static and small for the same reason.
# berth-reaper is PID 1 of containers run with --init: the same again.
# berth-pause is every pod sandbox's process (the CRI): the same again.
# berthd and berth need no C either (of libseccomp berthd uses only the
# default profile, which is data): static, they load no libc and start
# sooner (berth --version 3.9 -> 3.2 ms) and berthd holds less.
# bin/ and the binaries are 0755 whatever the umask: rootless runs and
# containers' mapped users execute them too.
# berth-runtime is pure Go too: a glibc-linked process pays about half a
# millisecond at each start on a VM (glibc probes CPU features and cache
# sizes with CPUID, which traps to the hypervisor), and berth-runtime
# starts several times per container (`list` 2.1 -> 1.6 ms, hyperfine).
berth-runtime berth-init berth-shim berth-reaper berth-pause berthd berth:
	@install -d -m 0755 bin
	CGO_ENABLED=0 GOEXPERIMENT=$(GOEXP_$@) $(GO) build -trimpath -tags '$(TAGS_$@)' -ldflags '$(LDFLAGS) $(ENTRY_$@)' -o bin/$@ ./cmd/$@
	@chmod 0755 bin/$@

# berth-runtime and berth-init each decode a container's whole OCI spec
# once, cold, on every start's path. encoding/json builds its codecs for
# the spec's every type on that first decode; with Go's json v2 under it
# (GOEXPERIMENT=jsonv2, the v1 API and behaviour kept) that costs less:
# 0.9 -> 0.7 ms of a process decoding berth-init's config (hyperfine,
# 200 runs), run --rm 0.2-1.5 ms shorter in six alternated rounds.
GOEXP_berth-runtime := jsonv2
GOEXP_berth-init := jsonv2

# grpcnotrace leaves golang.org/x/net/trace out of gRPC, and with it
# html/template and html, whose package inits every berth command paid
# for (about 45 of the ~715 page faults of `berth --version`, half a
# millisecond on a VM whose page faults cost 10 µs; gRPC's tracing is
# off by default and Berth never turns it on).
TAGS_berthd := grpcnotrace
TAGS_berth := grpcnotrace

# On amd64 berth-pause is entered at its assembly program
# (cmd/berth-pause/entry_amd64.s) and never starts the Go runtime: a
# pod's pause then holds about 12 kB of PSS instead of 690.
ENTRY_berth-pause := $(if $(filter amd64,$(shell $(GO) env GOARCH)),-E main.entry)
# berth-shim likewise (cmd/berth-shim/entry_amd64.s): `berth-shim idle`,
# what a shim with nothing to do becomes, runs there without the Go
# runtime (about 13 kB of PSS instead of 820); every other command goes
# on to Go's own entry.
ENTRY_berth-shim := $(ENTRY_berth-pause)

# berth-seccomp compiles seccomp filters with libseccomp (cgo), linked
# statically as runc's static build does (libseccomp.a from
# libseccomp-dev; Go's user and DNS code, not glibc's NSS): berth-runtime
# runs it beside itself only when its cache of compiled profiles misses.
berth-seccomp:
	@install -d -m 0755 bin
	$(GO) build -trimpath -tags osusergo,netgo -ldflags '$(LDFLAGS) -linkmode external -extldflags "-static"' -o bin/$@ ./cmd/$@
	@chmod 0755 bin/$@

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	for b in bin/*; do install -m 0755 $$b $(DESTDIR)$(PREFIX)/bin/; done

lint:
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) vet ./seccomp/... ./runtime/... ./cmd/berth-runtime
	$(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.6.2 run ./...

test: build
	./hack/test.sh

clean:
	rm -rf bin
