package events

import "strings"

// DockerTypes maps the topic families to Docker's event types: a task's
// events are its container's. Families Docker has no type for are
// Berth's own names.
var DockerTypes = map[string]string{
	"containers": "container", "tasks": "container", "images": "image",
	"snapshots": "snapshot", "namespaces": "namespace", "gc": "gc",
	"networks": "network", "volumes": "volume",
}

// dockerActions renames the engine's actions as Docker names them.
var dockerActions = map[string]string{
	"exit": "die", "delete": "destroy", "paused": "pause", "resumed": "unpause", "exec-started": "exec_start",
}

// AttrVia is the attribute of an image "create" event naming the
// operation that made the name: "pull", "tag" or "load", Docker's
// actions for them.
const AttrVia = "via"

// DockerName is the Docker event type and action of an event on topic
// with attrs: /tasks/exit is a container's "die", /containers/delete its
// "destroy", a network's or a volume's delete is "destroy" too; an
// image's create is its AttrVia ("pull", "tag", "load") when set, its
// delete stays "delete". ok is false for a topic of no known family.
func DockerName(topic string, attrs map[string]string) (typ, action string, ok bool) {
	family, action, _ := strings.Cut(strings.TrimPrefix(topic, "/"), "/")
	typ, ok = DockerTypes[family]
	if a, renamed := dockerActions[action]; renamed && (typ == "container" || typ == "network" || typ == "volume" && action == "delete") {
		action = a
	}
	if via := attrs[AttrVia]; typ == "image" && action == "create" && via != "" {
		action = via
	}
	return typ, action, ok
}
