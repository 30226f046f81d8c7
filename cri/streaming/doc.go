// Package streaming serves the streams behind the CRI's Exec, Attach and
// PortForward calls over the engine.
//
// GetExec, GetAttach and GetPortForward validate a request, keep it under
// a single-use token for a short while and return an absolute URL
// (http://ADDR/exec/TOKEN, …) that the kubelet, the apiserver or crictl
// then open. The server speaks the Kubernetes remote command protocols
// over SPDY (channel.k8s.io v1 to v4: resize from v3, the exit code in a
// status message from v4) and over WebSocket (the channel protocols up to
// v5.channel.k8s.io with its stream close signal), and port forwarding
// over SPDY (portforward.k8s.io), over WebSocket channels (the kubelet's
// v4.channel.k8s.io framing) and as SPDY tunnelled in a WebSocket
// (SPDY/3.1+portforward.k8s.io, client-go's WebSocket dialer). The
// framing comes from k8s.io/streaming; the protocols on top of it are
// here, since Kubernetes v0.37 no longer publishes the kubelet's
// streaming server as a library.
//
// A forwarded port is dialled inside the pod's network namespace from a
// locked OS thread that enters the namespace only to make the socket.
package streaming
