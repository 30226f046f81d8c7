// Package dockerapi serves the Docker Engine API over HTTP on a unix
// socket and, optionally, a loopback TCP port with TLS client auth
// (tls.go): a thin adapter over the engine, in the namespace the berth CLI
// uses, so that `docker ps` and `berth ps` agree. One file per group of
// endpoints (system, containers, attach, logs, wait, images, volumes,
// networks); the engine's error kinds map to HTTP statuses once
// (errors.go). What is not served answers 501 with Docker's JSON error.
// See docs/docker-api.md.
package dockerapi
