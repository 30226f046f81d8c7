// Package cri serves the Kubernetes Container Runtime Interface (CRI v1,
// k8s.io/cri-api) over the engine: one more thin front end beside
// berthd's own gRPC API. Pods and containers live in the engine
// namespace "k8s.io"; a pod sandbox is an engine container running
// berth-pause (or the configured sandbox image), and its containers
// join its namespaces. See docs/cri.md.
package cri
