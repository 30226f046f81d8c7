package engine

import (
	"context"
	"errors"
	"strings"

	"github.com/berth-dev/berth/errdefs"
	"github.com/berth-dev/berth/events"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/snapshot"
)

// ValidateNamespace checks a namespace name (errdefs.ErrInvalidArgument).
func ValidateNamespace(ns string) error { return metadata.ValidateNamespace(ns) }

// Namespaces lists the namespaces.
func (e *Engine) Namespaces(ctx context.Context) ([]string, error) {
	return e.meta.Namespaces().List(ctx)
}

// CreateNamespace creates ns; an existing one is not an error.
func (e *Engine) CreateNamespace(ctx context.Context, ns string) error {
	if err := e.meta.Namespaces().Create(ctx, ns, nil); err != nil && !errors.Is(err, errdefs.ErrAlreadyExists) {
		return err
	}
	e.events.Publish(ns, events.TopicNamespaces, "create", nil)
	return nil
}

// DeleteNamespace deletes an empty namespace.
func (e *Engine) DeleteNamespace(ctx context.Context, ns string) error {
	if err := e.meta.Namespaces().Delete(ctx, ns); err != nil {
		return err
	}
	e.events.Publish(ns, events.TopicNamespaces, "delete", nil)
	return nil
}

// removeStaleExtracts removes the active "extract-" snapshots an unpack
// interrupted by a crash left behind (called before any unpack runs).
func (e *Engine) removeStaleExtracts(ctx context.Context) {
	nss, err := e.Namespaces(ctx)
	if err != nil {
		e.log.Warn("list namespaces", "err", err)
		return
	}
	for _, ns := range nss {
		sn, err := e.Snapshotter(ns)
		if err != nil {
			continue
		}
		var stale []string
		_ = sn.Walk(ctx, func(i snapshot.Info) error {
			if i.Kind == snapshot.KindActive && strings.HasPrefix(i.Name, "extract-") {
				stale = append(stale, i.Name)
			}
			return nil
		})
		for _, k := range stale {
			if err := sn.Remove(ctx, k); err != nil {
				e.log.Warn("remove interrupted unpack", "namespace", ns, "snapshot", k, "err", err)
				continue
			}
			e.log.Info("removed interrupted unpack", "namespace", ns, "snapshot", k)
		}
	}
}
