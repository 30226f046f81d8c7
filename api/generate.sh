#!/bin/sh
# Regenerates the Go code for Berth's API from api/v1/*.proto.
# Needs protoc (apt-get install protobuf-compiler) and
#   go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
#   go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1
set -eu
cd "$(dirname "$0")/v1"
PATH="$(go env GOPATH)/bin:$PATH"
protoc -I . -I /usr/include \
	--go_out=. --go_opt=paths=source_relative \
	--go-grpc_out=. --go-grpc_opt=paths=source_relative \
	./*.proto
