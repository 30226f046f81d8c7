// Package daemon is berthd: the gRPC front end of an engine.Engine. It
// opens the engine from its configuration, serves Berth's API on a unix
// socket (each service decodes a request, calls the engine and encodes
// the answer; errors become status codes in one interceptor), and stops
// gracefully, leaving interrupted pulls resumable.
package daemon
