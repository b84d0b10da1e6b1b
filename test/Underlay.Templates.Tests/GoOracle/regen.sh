#!/bin/sh
# Regenerates goldens.json from cases/*.cases with Go's text/template and Sprig.
# Needs Debian's golang-go and golang-github-masterminds-sprig-dev (Go 1.19, Sprig 3.2.3):
#   apt-get install -y golang-go golang-github-masterminds-sprig-dev
# Tests never run this; they read the committed goldens.json.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
gocode=/usr/share/gocode/src/github.com/Masterminds
# Debian installs the v3 modules without their /v3 suffix; GOPATH mode needs a
# tree where the import paths exist, so link one up in a scratch GOPATH.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/github.com/Masterminds/sprig" "$work/src/github.com/Masterminds/semver"
ln -s "$gocode/sprig" "$work/src/github.com/Masterminds/sprig/v3"
ln -s "$gocode/semver" "$work/src/github.com/Masterminds/semver/v3"
cd "$here"
GO111MODULE=off GOPATH="$work:/usr/share/gocode" GOFLAGS= GOCACHE="${GOCACHE:-$work/cache}" \
  go run oracle.go "${CASES:-cases}" "${GOLDEN:-goldens.json}"
